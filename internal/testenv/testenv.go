// Package testenv lets tests find the real components they drive (tshark,
// sipp, editcap, the shared capture corpus) and decides what happens when one
// is missing: on a developer machine the test skips and says what to
// install; under CI (CI=true) it fails, because CI must never pass by
// skipping.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// InCI reports whether the tests run under continuous integration.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1" || v == "yes"
}

// missing skips the test locally and fails it in CI.
func missing(t testing.TB, what, hint string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is required in CI but missing: %s", what, hint)
	}
	t.Skipf("%s not available (%s); skipping", what, hint)
}

// packages maps a tool to the Debian package that provides it.
var packages = map[string]string{
	"tshark":   "tshark",
	"editcap":  "wireshark-common",
	"mergecap": "wireshark-common",
	"capinfos": "wireshark-common",
	"sipp":     "sip-tester",
	"lua5.2":   "lua5.2",
	"lua5.4":   "lua5.4",
	"openssl":  "openssl",
	// The Wireshark GUI tests.
	"wireshark": "wireshark-qt",
	"Xvfb":      "xvfb",
	"xdotool":   "xdotool",
	"import":    "imagemagick",
}

// Tool returns the absolute path of a command-line tool, or skips/fails.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		pkg := packages[name]
		if pkg == "" {
			pkg = name
		}
		missing(t, name, "install it with: apt-get install -y "+pkg)
	}
	return p
}

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testenv: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Captures returns the directory of the shared third-party capture corpus:
// $GENESYS_SIP_CAPTURES, or ../shared/captures beside the repository.
func Captures(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("GENESYS_SIP_CAPTURES")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared", "captures")
	}
	if st, err := os.Stat(filepath.Join(dir, "MANIFEST.md")); err != nil || st.IsDir() {
		missing(t, "the shared capture corpus", "expected at "+dir+" (set GENESYS_SIP_CAPTURES)")
	}
	return dir
}

// CaptureFiles lists the capture files (.pcap, .pcapng) of the shared corpus.
func CaptureFiles(t testing.TB) []string {
	t.Helper()
	dir := Captures(t)
	var out []string
	for _, pat := range []string{"*.pcap", "*.pcapng"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		out = append(out, m...)
	}
	if len(out) == 0 {
		missing(t, "capture files", "none found in "+dir)
	}
	return out
}
