package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/alert"
	"github.com/genesys-sip/genesys-sip/internal/genesys"
	"github.com/genesys-sip/genesys-sip/internal/redact"
)

// argType is an extcap argument type (doc/extcap.adoc in Wireshark).
type argType string

const (
	typeString     argType = "string"
	typeDouble     argType = "double"
	typeUnsigned   argType = "unsigned"
	typeBoolean    argType = "boolean"  // arrives as "--x true|false" (two words)
	typeBoolflag   argType = "boolflag" // arrives as a bare "--x", only when true
	typeFileselect argType = "fileselect"
	typeSelector   argType = "selector"
	typePassword   argType = "password"
)

// value is one entry of a selector argument.
type value struct {
	Value, Display string
	Default        bool
}

// arg describes one capture argument. The table below is the only
// definition: it produces the --extcap-config output, the flags of the
// top level and of `genesys-sip capture`, and the README's argument table
// (`genesys-sip args --markdown`).
type arg struct {
	Call    string // "--replay-file"
	Display string // label in Wireshark's interface options
	Type    argType
	Default string // as Wireshark shows it and as applied when absent
	// DefaultText describes a default computed at run time (README, help).
	DefaultText string
	Group       string // tab in Wireshark's interface options
	Tooltip     string // one sentence; also the CLI usage text
	Range       string // "min,max" for numbers
	FileExt     string // fileselect filter, Qt syntax
	// MustExist asks Wireshark to check a fileselect path exists.
	MustExist bool
	// Reload lets Wireshark refresh a selector's values.
	Reload bool
	// Values lists a selector's choices; dynamic ones come from values().
	Values []value
	// values, when set, computes the choices at --extcap-config time.
	values func() []value
	// NoSave keeps Wireshark from storing the value (secrets).
	NoSave bool
	// set stores the parsed value into the capture options.
	set func(o *captureOptions, v string) error
}

// name returns the call without dashes, the way tshark spells it in
// -o extcap.genesys_sip.<name>:<value>.
func (a *arg) name() string { return strings.ReplaceAll(strings.TrimLeft(a.Call, "-"), "-", "") }

// flag returns the call without leading dashes, the CLI flag name.
func (a *arg) flag() string { return strings.TrimLeft(a.Call, "-") }

// captureOptions is what the arguments configure.
type captureOptions struct {
	Device        string
	ReplayFile    string
	ReplaySpeed   float64
	ReplayLoop    int
	ReplayRebase  bool
	CaptureFilter string

	TraceFile       string
	Region          string
	ClientID        string
	ClientSecret    string // GUI password argument: the last resort
	CredentialsFile string
	APIURL          string
	LoginURL        string
	TraceFilter     string
	PollInterval    time.Duration
	GenesysPCAP     bool

	CorrelationHeaders []string
	ClockOffset        *time.Duration // nil: auto

	Redact         bool
	RedactKeep     int
	RedactCallIDs  bool
	RedactKey      string
	RedactHeaders  []string
	TLSKeylog      string
	TLSRSAKey      string
	InjectSecrets  bool
	AlertCodes     alert.Codes
	AlertCodesText string
	AlertWebhook   string

	LogLevel string
	LogFile  string
}

// argTable lists every capture argument, grouped as Wireshark shows them.
// Only arguments whose feature works are listed.
func argTable() []arg {
	return []arg{
		{
			Call: "--replay-file", Display: "Replay file", Type: typeFileselect, Group: "Source",
			Tooltip:   "Saved capture (pcap or pcapng) to replay instead of capturing live",
			MustExist: true, FileExt: "Capture files (*.pcap *.pcapng *.cap *.pcap.gz);;All files (*)",
			set: func(o *captureOptions, v string) error { o.ReplayFile = v; return nil },
		},
		{
			Call: "--replay-speed", Display: "Replay speed", Type: typeDouble, Default: "1.0", Group: "Source",
			Tooltip: "1 keeps the original timing, N replays N times faster, 0 as fast as possible",
			Range:   "0,1000000",
			set: func(o *captureOptions, v string) (err error) {
				o.ReplaySpeed, err = parseSpeed(v)
				return err
			},
		},
		{
			Call: "--replay-loop", Display: "Replay loops", Type: typeUnsigned, Default: "1", Group: "Source",
			Tooltip: "How many times the file is replayed",
			Range:   "1,1000000",
			set: func(o *captureOptions, v string) (err error) {
				o.ReplayLoop, err = parseUnsigned(v, 1, 1000000)
				return err
			},
		},
		{
			Call: "--replay-rebase", Display: "Re-base timestamps to now", Type: typeBoolflag, Group: "Source",
			Tooltip: "Shift timestamps so the replay appears to happen now (default: keep the original timestamps)",
			set: func(o *captureOptions, v string) (err error) {
				o.ReplayRebase, err = parseBool(v)
				return err
			},
		},
		{
			Call: "--device", Display: "Capture interface", Type: typeSelector, Group: "Source", Reload: true,
			Tooltip:     "Network interface for a live capture, used when no replay file is chosen",
			DefaultText: "first non-loopback interface that is up",
			values:      deviceValues,
			set:         func(o *captureOptions, v string) error { o.Device = v; return nil },
		},
		{
			Call: "--trace-file", Display: "Trace file", Type: typeFileselect, Group: "Genesys",
			Tooltip:   "Genesys Cloud SIP trace records (siptraces API response, JSON array, NDJSON or trace export)",
			MustExist: true, FileExt: "JSON files (*.json *.ndjson *.jsonl);;All files (*)",
			set: func(o *captureOptions, v string) error { o.TraceFile = v; return nil },
		},
		{
			Call: "--genesys-region", Display: "Genesys Cloud region", Type: typeSelector, Group: "Genesys",
			Tooltip:     "Region of your Genesys Cloud organization (its domain)",
			DefaultText: "`" + genesys.DefaultRegion + "`",
			values:      regionValues,
			set: func(o *captureOptions, v string) error {
				if v == "" {
					o.Region = genesys.DefaultRegion
					return nil
				}
				if _, err := genesys.LookupRegion(v); err != nil {
					return err
				}
				o.Region = v
				return nil
			},
		},
		{
			Call: "--genesys-client-id", Display: "OAuth client ID", Type: typeString, Group: "Genesys",
			Tooltip: "Client credentials grant with permission telephony:pcap:view (or set GENESYS_CLIENT_ID)",
			set:     func(o *captureOptions, v string) error { o.ClientID = strings.TrimSpace(v); return nil },
		},
		{
			Call: "--genesys-client-secret", Display: "OAuth client secret", Type: typePassword, Group: "Genesys", NoSave: true,
			Tooltip: "Last resort: prefer GENESYS_CLIENT_SECRET or a credentials file (tshark cannot pass passwords)",
			set:     func(o *captureOptions, v string) error { o.ClientSecret = v; return nil },
		},
		{
			Call: "--genesys-credentials-file", Display: "Credentials file", Type: typeFileselect, Group: "Genesys",
			Tooltip: "File with client_id= and client_secret= lines, readable by you only (chmod 600)",
			set:     func(o *captureOptions, v string) error { o.CredentialsFile = v; return nil },
		},
		{
			Call: "--genesys-api-url", Display: "API URL (advanced)", Type: typeString, Group: "Genesys",
			Tooltip: "Override the API host of the region, e.g. for a proxy",
			set:     func(o *captureOptions, v string) error { o.APIURL = v; return nil },
		},
		{
			Call: "--genesys-login-url", Display: "Login URL (advanced)", Type: typeString, Group: "Genesys",
			Tooltip: "Override the OAuth host of the region, e.g. for a proxy",
			set:     func(o *captureOptions, v string) error { o.LoginURL = v; return nil },
		},
		{
			Call: "--trace-filter", Display: "Destination filter", Type: typeString, Group: "Genesys",
			Tooltip: "Keep trace records whose To or Request-URI user matches, e.g. +1555* (trailing * = prefix)",
			set: func(o *captureOptions, v string) error {
				if _, err := genesys.ParsePattern(v); err != nil {
					return err
				}
				o.TraceFilter = v
				return nil
			},
		},
		{
			Call: "--poll-interval", Display: "Poll interval (s)", Type: typeUnsigned, Default: "300", Group: "Genesys",
			Tooltip: "Live capture: seconds between fetches of new trace records (at least 60)",
			Range:   "60,86400",
			set: func(o *captureOptions, v string) error {
				n, err := parseUnsigned(v, 60, 86400)
				o.PollInterval = time.Duration(n) * time.Second
				return err
			},
		},
		{
			Call: "--genesys-pcap", Display: "Merge Genesys-side PCAP", Type: typeBoolflag, Group: "Genesys",
			Tooltip: "Also download the Genesys-side capture of the same window and merge it as its own interface",
			set: func(o *captureOptions, v string) (err error) {
				o.GenesysPCAP, err = parseBool(v)
				return err
			},
		},
		{
			Call: "--correlation-headers", Display: "Correlation headers", Type: typeString, Default: "X-Genesys-Call-ID,x-inin-cnv", Group: "Correlation",
			Tooltip: "SIP headers that join packets to trace records, in priority order (Call-ID is the flagged fallback)",
			set: func(o *captureOptions, v string) (err error) {
				o.CorrelationHeaders, err = parseHeaderList(v)
				return err
			},
		},
		{
			Call: "--clock-offset", Display: "Clock offset", Type: typeString, Default: "auto", Group: "Correlation",
			Tooltip: "Genesys clock minus capture clock: auto (estimated from matching messages) or a duration such as -2.3s",
			set: func(o *captureOptions, v string) error {
				if strings.EqualFold(strings.TrimSpace(v), "auto") || strings.TrimSpace(v) == "" {
					o.ClockOffset = nil
					return nil
				}
				d, err := parseDuration(v)
				if err != nil {
					return err
				}
				o.ClockOffset = &d
				return nil
			},
		},
		{
			Call: "--redact", Display: "Redact phone numbers", Type: typeBoolean, Default: "true", Group: "Privacy",
			Tooltip: "Replace phone numbers with consistent same-length tokens in packets, comments and logs",
			set: func(o *captureOptions, v string) (err error) {
				o.Redact, err = parseBool(v)
				return err
			},
		},
		{
			Call: "--redact-keep-digits", Display: "Keep trailing digits", Type: typeUnsigned, Default: "0", Group: "Privacy",
			Tooltip: "How many trailing digits of each number stay readable (4 or more reveal part of the number)",
			Range:   "0,15",
			set: func(o *captureOptions, v string) (err error) {
				o.RedactKeep, err = parseUnsigned(v, 0, 15)
				return err
			},
		},
		{
			Call: "--redact-call-ids", Display: "Redact call identifiers", Type: typeBoolflag, Group: "Privacy",
			Tooltip: "Also replace Call-ID, X-Genesys-Call-ID and x-inin-cnv values (consistently)",
			set: func(o *captureOptions, v string) (err error) {
				o.RedactCallIDs, err = parseBool(v)
				return err
			},
		},
		{
			Call: "--redact-key", Display: "Redaction key", Type: typePassword, Group: "Privacy", NoSave: true,
			Tooltip: "Key for the tokens (default: GENESYS_SIP_REDACT_KEY, else random per run); the same key gives the same tokens",
			set:     func(o *captureOptions, v string) error { o.RedactKey = v; return nil },
		},
		{
			// The default is the redactor's own list, spelled out so the
			// dialog shows it (and tshark passes it back unchanged).
			Call: "--redact-headers", Display: "Headers to redact", Type: typeString, Group: "Privacy",
			Default: strings.Join(redact.DefaultHeaders(), ","),
			Tooltip: "Comma-separated headers whose numbers are redacted (Request-URI included by name)",
			set: func(o *captureOptions, v string) (err error) {
				if strings.TrimSpace(v) == "" {
					o.RedactHeaders = nil
					return nil
				}
				o.RedactHeaders, err = parseHeaderList(v)
				return err
			},
		},
		{
			Call: "--tls-keylog", Display: "TLS key log", Type: typeFileselect, Group: "TLS",
			Tooltip: "NSS key log (SSLKEYLOGFILE) to decrypt SIP over TLS; followed while capturing live",
			set:     func(o *captureOptions, v string) error { o.TLSKeylog = v; return nil },
		},
		{
			Call: "--tls-rsa-key", Display: "TLS RSA server key", Type: typeFileselect, Group: "TLS",
			Tooltip: "PEM private key of a server using RSA key exchange (TLS_RSA_* suites only)",
			set:     func(o *captureOptions, v string) error { o.TLSRSAKey = v; return nil },
		},
		{
			Call: "--inject-secrets", Display: "Inject TLS secrets", Type: typeBoolflag, Group: "TLS",
			Tooltip: "Write the keys into the output (Decryption Secrets Block) so Wireshark decrypts the original packets; refused with redaction on",
			set: func(o *captureOptions, v string) (err error) {
				o.InjectSecrets, err = parseBool(v)
				return err
			},
		},
		{
			Call: "--alert-codes", Display: "Alert on responses", Type: typeString, Default: alert.DefaultCodes, Group: "Alerts",
			Tooltip: "SIP response codes (or ranges like 500-599) that get an alert comment; empty for none",
			set: func(o *captureOptions, v string) (err error) {
				o.AlertCodes, err = alert.ParseCodes(v)
				o.AlertCodesText = v
				return err
			},
		},
		{
			Call: "--alert-webhook", Display: "Alert webhook URL", Type: typeString, Group: "Alerts",
			Tooltip: "POST each alert as JSON to this URL (never blocks the capture)",
			set:     func(o *captureOptions, v string) error { o.AlertWebhook = strings.TrimSpace(v); return nil },
		},
		{
			Call: "--log-level", Display: "Log level", Type: typeSelector, Group: "Debug",
			Tooltip: "How much the log file receives",
			Values: []value{
				{Value: "message", Display: "Message", Default: true},
				{Value: "info", Display: "Info"},
				{Value: "debug", Display: "Debug"},
				{Value: "noisy", Display: "Noisy"},
			},
			set: func(o *captureOptions, v string) error {
				if _, err := parseLogLevel(v); err != nil {
					return err
				}
				o.LogLevel = v
				return nil
			},
		},
		{
			Call: "--log-file", Display: "Log file", Type: typeFileselect, Group: "Debug",
			Tooltip: "File that receives diagnostics (Wireshark shows anything on stderr as an error)",
			set:     func(o *captureOptions, v string) error { o.LogFile = v; return nil },
		},
	}
}

// selectArgs returns the arguments of table that keep accepts, in order: the
// subset a subcommand takes.
func selectArgs(table []arg, keep func(a *arg) bool) []arg {
	var sub []arg
	for i := range table {
		if keep(&table[i]) {
			sub = append(sub, table[i])
		}
	}
	return sub
}

// outputPrivacy accepts the Privacy arguments that apply to what a command
// prints (the key and call-id choices), not to rewriting packets.
func outputPrivacy(a *arg) bool {
	return a.Group == "Privacy" && a.Call != "--redact-keep-digits" && a.Call != "--redact-headers"
}

// defaultValue returns the value applied when an argument is absent: its
// Default, or a selector's default entry (Wireshark does not pass those).
func (a *arg) defaultValue() string {
	if a.Default != "" {
		return a.Default
	}
	vals := a.Values
	if vals == nil && a.values != nil && !a.Reload {
		// A list computed from tables (the regions), not from the
		// machine: cheap, and its default entry applies like a static one.
		vals = a.values()
	}
	for _, v := range vals {
		if v.Default {
			return v.Value
		}
	}
	return ""
}

// helpDefault is the default --help shows: the description of a default
// computed at run time, else the value applied when the flag is absent.
func (a *arg) helpDefault() string {
	if a.DefaultText != "" {
		return strings.Trim(a.DefaultText, "`")
	}
	return a.defaultValue()
}

// parseBool accepts the spellings Wireshark and people use: true/false,
// 1/0, yes/no, on/off, in any case.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on", "t", "y":
		return true, nil
	case "false", "0", "no", "off", "f", "n", "":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use true or false)", v)
}

func parseSpeed(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	if f < 0 || f > 1e6 {
		return 0, fmt.Errorf("%g is out of range (0 = as fast as possible, 1 = original pace, up to 1000000)", f)
	}
	return f, nil
}

func parseUnsigned(v string, lo, hi int) (int, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 31)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", v)
	}
	if int(n) < lo || int(n) > hi {
		return 0, fmt.Errorf("%d is out of range %d…%d", n, lo, hi)
	}
	return int(n), nil
}

// parseDuration accepts Go durations ("-2.3s", "850ms") and bare seconds.
func parseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if d, err := time.ParseDuration(v); err == nil {
		return d, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e9 {
		return time.Duration(f * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("%q is not a duration (examples: auto, -2.3s, 850ms, 1.5)", v)
}

// parseHeaderList reads comma-separated SIP header names.
func parseHeaderList(v string) ([]string, error) {
	var out []string
	for _, h := range strings.Split(v, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		for _, c := range h {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._!%*+`'~", c)) {
				return nil, fmt.Errorf("%q is not a SIP header name", h)
			}
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no header names in %q", v)
	}
	return out, nil
}

// regionValues lists the Genesys Cloud regions for the selector.
func regionValues() []value {
	var vals []value
	for _, r := range genesys.Regions() {
		vals = append(vals, value{Value: r.Domain, Display: r.Domain + " (" + r.Name + ")", Default: r.Domain == genesys.DefaultRegion})
	}
	return vals
}
