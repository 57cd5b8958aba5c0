package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/genesys-sip/genesys-sip/internal/genesys"
	"github.com/genesys-sip/genesys-sip/internal/redact"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"genesys-sip"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestExtcapInterfaces(t *testing.T) {
	code, out, _ := runCLI(t, "--extcap-interfaces", "--extcap-version=4.0")
	if code != 0 || !strings.Contains(out, "interface {value=genesys-sip}{display=Genesys SIP}\n") ||
		!strings.HasPrefix(out, "extcap {version=") {
		t.Fatalf("code %d:\n%s", code, out)
	}
}

// sentence matches one extcap config line: a keyword and {key=value} pairs.
var sentence = regexp.MustCompile(`^(arg|value|dlt|interface|extcap) (\{[a-z]+=[^{}]*\})+$`)

func TestExtcapConfig(t *testing.T) {
	code, out, errOut := runCLI(t, "--extcap-interface", "genesys-sip", "--extcap-config")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	args := 0
	for _, l := range lines {
		if !sentence.MatchString(l) {
			t.Errorf("malformed config line: %s", l)
		}
		if strings.HasPrefix(l, "arg ") {
			args++
			if !strings.Contains(l, "{group=") {
				t.Errorf("argument without a tab (group): %s", l)
			}
		}
	}
	if args != len(argTable()) {
		t.Errorf("%d arg lines for %d arguments", args, len(argTable()))
	}
	// Reload answers only with the values of that argument.
	code, out, _ = runCLI(t, "--extcap-interface", "genesys-sip", "--extcap-config", "--extcap-reload-option", "log-level")
	if code != 0 || strings.Contains(out, "arg ") || !strings.Contains(out, "value {arg=") {
		t.Fatalf("reload answer:\n%s", out)
	}
	if code, _, errOut := runCLI(t, "--extcap-interface", "other", "--extcap-config"); code == 0 || !strings.Contains(errOut, `unknown extcap interface "other"`) {
		t.Fatalf("unknown interface accepted: %d %s", code, errOut)
	}
}

func TestCaptureFilterValidation(t *testing.T) {
	code, out, _ := runCLI(t, "--extcap-interface", "genesys-sip", "--extcap-capture-filter", "udp port 5060 or (ip[6:2] & 0x3fff != 0)")
	if code != 0 || out != "" {
		t.Fatalf("valid filter: code %d, output %q", code, out)
	}
	code, out, _ = runCLI(t, "--extcap-interface", "genesys-sip", "--extcap-capture-filter", "udp prot 5060")
	if code != 0 || !strings.Contains(out, "udp prot 5060") {
		t.Fatalf("invalid filter: code %d, output %q", code, out)
	}
}

func TestParseBool(t *testing.T) {
	for _, s := range []string{"true", "TRUE", "True", "1", "yes"} {
		if v, err := parseBool(s); err != nil || !v {
			t.Errorf("%q: %v %v", s, v, err)
		}
	}
	for _, s := range []string{"false", "FALSE", "False", "0", "no", ""} {
		if v, err := parseBool(s); err != nil || v {
			t.Errorf("%q: %v %v", s, v, err)
		}
	}
	if _, err := parseBool("maybe"); err == nil {
		t.Error("maybe accepted")
	}
}

// TestReadmeArgumentTable keeps the README's table identical to the code's.
func TestReadmeArgumentTable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	begin, end := strings.Index(s, "<!-- args:begin -->\n"), strings.Index(s, "<!-- args:end -->")
	if begin < 0 || end < begin {
		t.Fatal("README.md lacks the args:begin/args:end markers")
	}
	got := s[begin+len("<!-- args:begin -->\n") : end]
	var want bytes.Buffer
	writeMarkdownTable(&want, argTable())
	if got != want.String() {
		t.Fatalf("README argument table is stale; replace it with the output of `genesys-sip args`:\n%s", want.String())
	}
}

func TestDefaultExtcapDir(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "")
	if got := defaultExtcapDir("/h", "4.0.17"); got != "/h/.config/wireshark/extcap" {
		t.Errorf("4.0: %s", got)
	}
	if got := defaultExtcapDir("/h", "4.4.1"); got != "/h/.local/lib/wireshark/extcap" {
		t.Errorf("4.4: %s", got)
	}
	if !versionBefore("3.6.2", 4, 1) || versionBefore("4.2.0", 4, 1) || versionBefore("x", 4, 1) {
		t.Error("versionBefore")
	}
}

// oneLine fails the test unless s is exactly one line of printable text.
func oneLine(t *testing.T, what, s string) string {
	t.Helper()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Fatalf("%s: want one line, got %q", what, s)
	}
	for _, r := range s[:len(s)-1] {
		if !unicode.IsPrint(r) {
			t.Fatalf("%s: unprintable %q in %q", what, r, s)
		}
	}
	return strings.TrimSuffix(s, "\n")
}

// TestUsageErrors: a mistake in the call is one line on stderr, nothing on
// stdout (no help text burying it), exit status 2, with a suggestion for a
// near miss; --help works at every level, also after a positional argument.
func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // the whole line, or what it contains when prefixed by ~
	}{
		{[]string{"mesages", "x"}, `genesys-sip: unknown command "mesages"; did you mean messages? (genesys-sip --help lists the commands)`},
		{[]string{"mesages"}, "~did you mean messages?"},
		{[]string{"corelate", "--csv", "x"}, "~did you mean correlate?"},
		{[]string{"frobnicate"}, `genesys-sip: unknown command "frobnicate" (genesys-sip --help lists the commands)`},
		{[]string{"help", "nosuch"}, `~unknown command "nosuch"`},
		{[]string{"capture"}, "genesys-sip capture: -w/--write is required (the output pcapng file, or - for stdout)"},
		{[]string{"capture", "--replay-fle", "in.pcap", "-w", "out.pcapng"}, "genesys-sip capture: unknown flag --replay-fle; did you mean --replay-file? (see genesys-sip capture --help)"},
		{[]string{"capture", "-w"}, "genesys-sip capture: -w/--write needs a value (the output pcapng file, or - for stdout)"},
		{[]string{"capture", "-w", "out.pcapng", "extra"}, `~unexpected argument "extra"`},
		{[]string{"redact", "in.pcap"}, "genesys-sip redact: -w/--write is required (the output pcapng file, or - for stdout)"},
		{[]string{"messages"}, "~genesys-sip messages: give one capture file (got 0 arguments)"},
		{[]string{"messages", "--format", "xml", "x.pcap"}, `genesys-sip messages: --format: "xml" is not text or jsonl`},
		{[]string{"calls", "a", "b"}, "~genesys-sip calls: give one capture file (got 2 arguments)"},
		{[]string{"correlate", "--csv", "p.csv"}, "genesys-sip correlate: --trace is required (Genesys Cloud trace records (any format the trace loaders read))"},
		{[]string{"traces", "fetch", "--from", "-1h"}, "~genesys-sip traces: -o/--output is required"},
		{[]string{"--bogus"}, "genesys-sip: unknown flag --bogus (see genesys-sip --help)"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, c.args...)
			if code != 2 || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and nothing on stdout", code, out, errOut)
			}
			line := oneLine(t, "stderr", errOut)
			if want, ok := strings.CutPrefix(c.want, "~"); ok {
				if !strings.Contains(line, want) {
					t.Fatalf("stderr %q lacks %q", line, want)
				}
			} else if line != c.want {
				t.Fatalf("stderr\n %q, want\n %q", line, c.want)
			}
		})
	}
	for _, args := range [][]string{
		{"--help"}, {"capture", "--help"}, {"traces", "--help"}, {"traces", "fetch", "--help"},
		{"traces", "pcap", "-h"}, {"messages", "x.pcap", "--help"}, {"help", "correlate"}, {"help"},
	} {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "USAGE:") {
			t.Errorf("%v: exit %d, stderr %q, stdout %.80q", args, code, errOut, out)
		}
	}
}

// TestHelpShowsDefaults: every argument with a default shows it in the
// --help of each command that takes it, computed defaults included.
func TestHelpShowsDefaults(t *testing.T) {
	table := argTable()
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	checked := 0
	for _, cmd := range app.Commands {
		code, out, _ := runCLI(t, cmd.Name, "--help")
		if code != 0 {
			t.Fatalf("%s --help: exit %d", cmd.Name, code)
		}
		for i := range table {
			a := &table[i]
			def := a.helpDefault()
			if def == "" || a.Type == typeBoolflag {
				continue
			}
			for _, l := range strings.Split(out, "\n") {
				if !strings.Contains(l, "--"+a.flag()+" ") || !strings.Contains(l, a.Tooltip) {
					continue // not there, or the command's own flag of that name
				}
				checked++
				if !strings.Contains(l, "(default: "+def+")") {
					t.Errorf("%s --help: %s does not show its default %q", cmd.Name, a.Call, def)
				}
			}
		}
	}
	if _, out, _ := runCLI(t, "sample", "--help"); !strings.Contains(out, `(default: "2.333s")`) {
		t.Error("sample --clock-offset lost its own default")
	}
	if checked < 20 {
		t.Fatalf("only %d defaults checked", checked)
	}
	for _, want := range []string{"(default: " + genesys.DefaultRegion + ")", "(default: " + strings.Join(redact.DefaultHeaders(), ",") + ")"} {
		if _, out, _ := runCLI(t, "capture", "--help"); !strings.Contains(out, want) {
			t.Errorf("capture --help lacks %q", want)
		}
	}
}

// TestExtcapConfigPrivacyDefault: Wireshark's dialog shows the headers
// redacted by default, and the value tshark then passes back (it passes a
// string argument's default when the user leaves it) configures exactly
// the built-in list.
func TestExtcapConfigPrivacyDefault(t *testing.T) {
	_, out, _ := runCLI(t, "--extcap-interface", "genesys-sip", "--extcap-config")
	want := "{default=" + strings.Join(redact.DefaultHeaders(), ",") + "}"
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "{call=--redact-headers}") {
			line = l
		}
	}
	if !strings.Contains(line, want) || !strings.Contains(line, "{group=Privacy}") {
		t.Fatalf("--redact-headers config line %q lacks %s", line, want)
	}
	table := argTable()
	for i := range table {
		if a := &table[i]; a.Call == "--redact-headers" {
			var o captureOptions
			if err := a.set(&o, a.defaultValue()); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(o.RedactHeaders, redact.DefaultHeaders()) {
				t.Fatalf("the default configures %v, the redactor's own default is %v", o.RedactHeaders, redact.DefaultHeaders())
			}
		}
	}
}

// demoSample writes the demo sample into a temporary folder.
func demoSample(t *testing.T) (capture, traceFile string) {
	t.Helper()
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "sample", "--kind", "demo", "-o", dir); code != 0 {
		t.Fatalf("sample: %s", errOut)
	}
	return filepath.Join(dir, "sample.pcap"), filepath.Join(dir, "sample-trace.json")
}

// TestCLIWarningsArePlain: on the command line a warning is one line in
// plain words; the structured log goes to --log-file only (stderr gets it
// only at --log-level debug). In extcap mode nothing is logged to stderr.
func TestCLIWarningsArePlain(t *testing.T) {
	capture, traceFile := demoSample(t)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	args := []string{"capture", "--replay-file", capture, "--replay-speed", "0", "--trace-file", traceFile, "--redact-keep-digits", "4", "-w", out}
	code, _, errOut := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("want the keep-digits and clock warnings, got %q", errOut)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "genesys-sip: warning: ") || strings.Contains(l, "level=") || strings.Contains(l, "msg=") {
			t.Errorf("not a plain warning line: %q", l)
		}
	}
	if !strings.Contains(errOut, "genesys-sip: warning: --redact-keep-digits 4 keeps 4 digits of every number readable\n") {
		t.Errorf("keep-digits warning missing: %q", errOut)
	}
	logFile := filepath.Join(t.TempDir(), "log.txt")
	code, _, errOut2 := runCLI(t, append(args, "--log-file", logFile)...)
	logged, err := os.ReadFile(logFile)
	if code != 0 || err != nil || errOut2 != errOut || !strings.Contains(string(logged), "level=WARN") || !strings.Contains(string(logged), "level=INFO") {
		t.Fatalf("with --log-file: exit %d, stderr %q (want as without), log %q", code, errOut2, logged)
	}
	code, _, errOut = runCLI(t, append(args, "--log-level", "debug")...)
	if code != 0 || !strings.Contains(errOut, "level=INFO") {
		t.Errorf("--log-level debug: exit %d, stderr lacks the structured log: %q", code, errOut)
	}
	var stderr bytes.Buffer
	log, _, closeLog, err := newLogger("message", "", false, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	log.Warn("a warning", "err", "x")
	closeLog()
	if stderr.Len() != 0 {
		t.Errorf("extcap mode logged to stderr: %q", stderr.String())
	}
}

// TestWarningHandlerRepeats: a warning repeated per packet is shown a few
// times, then once more saying the rest are not shown.
func TestWarningHandlerRepeats(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(newWarningHandler(&b))
	for i := range 10 {
		log.Warn("alert webhook failed", "status", 503, "err", fmt.Sprintf("try %d", i))
	}
	log.Info("not shown")
	log.Error("not shown either: the command returns it")
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != maxRepeats+1 || lines[0] != "genesys-sip: warning: alert webhook failed: try 0 (status=503)" ||
		!strings.Contains(lines[maxRepeats], "further warnings like this are not shown") {
		t.Fatalf("%q", lines)
	}
}

// TestCorrelateInputErrors: a capture, JSON or binary file given as the
// CSV, and a CSV without the columns correlate needs, each give one line
// naming the input, what it is and the tshark command that makes the right
// CSV, never the input's raw bytes.
func TestCorrelateInputErrors(t *testing.T) {
	capture, traceFile := demoSample(t)
	dir := t.TempDir()
	prose := filepath.Join(dir, "prose.csv") // the columns the README's prose named
	os.WriteFile(prose, []byte("frame.time_epoch,sip.CSeq,genesys.call_id\n\"1795600800.156179000\",\"1 INVITE\",\"260a129b\"\n"), 0o644)
	binFile := filepath.Join(dir, "x.bin")
	os.WriteFile(binFile, []byte("\x7fELF\x02\x01\x01\x00\x1b[31mred"), 0o644)
	ng := filepath.Join(dir, "x.pcapng")
	os.WriteFile(ng, []byte("\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a"), 0o644)
	tsharkCmd := "tshark -r CAPTURE -Y sip -T fields -E separator=, -E header=y -E quote=d -e frame.number -e frame.time_epoch -e sip.Call-ID -e sip.CSeq -e sip.Method -e sip.Status-Code"
	for _, c := range []struct {
		csv, trace string
		want       []string
	}{
		{capture, traceFile, []string{"--csv " + capture + " is a pcap capture; correlate reads a CSV packet list", "tshark -r " + capture + " -Y sip", "genesys-sip capture --replay-file " + capture + " --trace-file " + traceFile}},
		{ng, traceFile, []string{"is a pcapng capture"}},
		{traceFile, traceFile, []string{"is JSON", tsharkCmd}},
		{binFile, traceFile, []string{"is not text", `"\x7fELF`, tsharkCmd}},
		{prose, traceFile, []string{"prose.csv: missing columns: the method and status (sip.Method and sip.Status-Code", tsharkCmd}},
		{prose, capture, []string{"--trace " + capture + " is a pcap capture"}},
	} {
		code, out, errOut := runCLI(t, "correlate", "--csv", c.csv, "--trace", c.trace)
		if code != 1 || out != "" {
			t.Errorf("%s: exit %d, stdout %q", c.csv, code, out)
			continue
		}
		line := oneLine(t, c.csv, errOut)
		for _, w := range c.want {
			if !strings.Contains(line, w) {
				t.Errorf("%s: %q lacks %q", c.csv, line, w)
			}
		}
	}
}

// TestCorrelateFixedWidthTimes: the report's times always carry six
// fractional digits, so the columns line up (10:00:01.5131 was printed
// without its trailing zeros).
func TestCorrelateFixedWidthTimes(t *testing.T) {
	capture, traceFile := demoSample(t)
	code, jsonl, errOut := runCLI(t, "messages", "--format", "jsonl", "--redact", "false", capture)
	if code != 0 {
		t.Fatal(errOut)
	}
	var b strings.Builder
	b.WriteString("frame.number,frame.time_epoch,sip.Call-ID,sip.CSeq,sip.Method,sip.Status-Code,genesys.call_id\n")
	for _, l := range strings.Split(strings.TrimSpace(jsonl), "\n") {
		var m sipMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		ts, _ := time.Parse(time.RFC3339Nano, m.Time)
		status := ""
		if m.Status != 0 {
			status = strconv.Itoa(m.Status)
		}
		fmt.Fprintf(&b, "%d,%d.%09d,%s,%s,%s,%s,%s\n", m.Frame, ts.Unix(), ts.Nanosecond(), m.CallID, m.CSeq, m.Method, status, m.Correlation["X-Genesys-Call-ID"])
	}
	csvPath := filepath.Join(t.TempDir(), "p.csv")
	os.WriteFile(csvPath, []byte(b.String()), 0o644)
	code, out, errOut := runCLI(t, "correlate", "--csv", csvPath, "--trace", traceFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	stamp := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[.0-9]*Z`)
	fixed := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	n := 0
	for _, s := range stamp.FindAllString(out, -1) {
		n++
		if !fixed.MatchString(s) {
			t.Errorf("time %s is not fixed-width", s)
		}
	}
	if n < 40 {
		t.Fatalf("%d times in:\n%s", n, out)
	}
}
