// Package e2e holds the end-to-end tests: they build the genesys-sip binary,
// install it into a throw-away HOME and drive it through the real tshark
// (4.0 in CI), as an analyst would.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// binPath is the genesys-sip binary built once for all tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "genesys-sip-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "genesys-sip")
	cmd := exec.Command("go", "build", "-o", binPath, "./extcap")
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building genesys-sip: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// home is a HOME with genesys-sip installed for the tshark found.
type home struct {
	dir    string
	tshark string
}

// installHome installs the binary and the dissector into a fresh HOME.
func installHome(t *testing.T) *home {
	t.Helper()
	h := &home{dir: t.TempDir(), tshark: testenv.Tool(t, "tshark")}
	out, err := h.command(context.Background(), binPath, "install", "--tshark", h.tshark).CombinedOutput()
	if err != nil {
		t.Fatalf("genesys-sip install: %v\n%s", err, out)
	}
	return h
}

// command runs name with HOME pointing at the test home and no XDG
// overrides, so tshark finds only what the test installed.
func (h *home) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "HOME="+h.dir)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

type result struct {
	stdout, stderr string
	err            error
	elapsed        time.Duration
}

// run runs a command under the test home with a deadline; a command that
// outlives it is a hang and fails the test.
func (h *home) run(t *testing.T, timeout time.Duration, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := h.command(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), err: err, elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after %s (hang)\nstderr: %s", name, strings.Join(args, " "), timeout, r.stderr)
	}
	return r
}

// tsharkCapture runs `tshark -i genesys-sip` with extcap preferences
// (name → value, e.g. "replayfile" → path) and writes to out.
func (h *home) tsharkCapture(t *testing.T, out string, prefs map[string]string, extra ...string) result {
	t.Helper()
	args := []string{"-i", "genesys-sip", "-w", out}
	for k, v := range prefs {
		args = append(args, "-o", "extcap.genesys_sip."+k+":"+v)
	}
	args = append(args, extra...)
	return h.run(t, 90*time.Second, h.tshark, args...)
}

// frames lists, per frame as tshark reads the file, its timestamp, lengths,
// MD5 of the bytes and encapsulation: an equality check that does not rely
// on our own reader.
func frames(t *testing.T, tshark, file string, extra ...string) []string {
	t.Helper()
	args := append([]string{"-r", file, "-o", "frame.generate_md5_hash:TRUE", "-T", "fields",
		"-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.md5_hash", "-e", "frame.encap_type"}, extra...)
	cmd := exec.Command(tshark, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v\n%s", file, err, stderr.String())
	}
	s := strings.TrimRight(string(out), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// tsharkErrors returns tshark's complaints when reading file (empty if it
// reads cleanly).
func tsharkErrors(t *testing.T, tshark, file string) string {
	t.Helper()
	cmd := exec.Command(tshark, "-r", file, "-q")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	msg := strings.TrimSpace(strings.ReplaceAll(stderr.String(), `Running as user "root" and group "root". This could be dangerous.`, ""))
	if err != nil && msg == "" {
		msg = err.Error()
	}
	return msg
}
