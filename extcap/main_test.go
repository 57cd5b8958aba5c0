package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
