package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
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
	Group   string // tab in Wireshark's interface options
	Tooltip string // one sentence; also the CLI usage text
	Range   string // "min,max" for numbers
	FileExt string // fileselect filter, Qt syntax
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
	LogLevel      string
	LogFile       string
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

// defaultValue returns the value applied when an argument is absent: its
// Default, or a selector's default entry (Wireshark does not pass those).
func (a *arg) defaultValue() string {
	if a.Default != "" {
		return a.Default
	}
	for _, v := range a.Values {
		if v.Default {
			return v.Value
		}
	}
	return ""
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
