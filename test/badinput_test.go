package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

type badInput struct {
	name  string
	prefs map[string]string // extcap preferences (tshark spelling)
	args  []string          // the same for `genesys-sip capture`
	want  string            // the error line must contain this
	// intact packets delivered before the error
	packets int
}

func badInputs(t *testing.T) []badInput {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	text := filepath.Join(dir, "notes.pcap")
	os.WriteFile(text, []byte("this is not a capture file\n"), 0o644)
	good := filepath.Join(testenv.Captures(t), "sngrep__aaa_udp-register-invite-cancel-4xx-with-rtp.pcap")
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	os.WriteFile(cut, data[:3000], 0o644) // inside packet 22
	missing := filepath.Join(dir, "missing.pcap")
	return []badInput{
		{name: "missing", prefs: map[string]string{"replayfile": missing}, args: []string{"--replay-file", missing}, want: missing + ": no such file"},
		{name: "directory", prefs: map[string]string{"replayfile": dir}, args: []string{"--replay-file", dir}, want: "is a directory, not a capture file"},
		{name: "empty", prefs: map[string]string{"replayfile": empty}, args: []string{"--replay-file", empty}, want: "empty file, not a capture"},
		{name: "not-a-capture", prefs: map[string]string{"replayfile": text}, args: []string{"--replay-file", text}, want: "not a pcap or pcapng capture file"},
		{name: "truncated", prefs: map[string]string{"replayfile": cut, "replayspeed": "0"}, args: []string{"--replay-file", cut, "--replay-speed", "0"},
			want: "file is truncated: cut inside packet 22 (21 packets before it are intact)", packets: 21},
		{name: "bad-speed", prefs: map[string]string{"replayfile": good, "replayspeed": "fast"}, args: []string{"--replay-file", good, "--replay-speed", "fast"}, want: `--replay-speed: "fast" is not a number`},
		{name: "bad-loop", prefs: map[string]string{"replayfile": good, "replayloop": "0"}, args: []string{"--replay-file", good, "--replay-loop", "0"}, want: "--replay-loop: 0 is out of range"},
		{name: "bad-log-level", prefs: map[string]string{"replayfile": good, "loglevel": "loud"}, args: []string{"--replay-file", good, "--log-level", "loud"}, want: `--log-level: "loud" is not a log level`},
	}
}

// countPackets counts the frames tshark reads from file, failing if tshark
// reports the file damaged.
func countPackets(t *testing.T, tshark, file string) int {
	t.Helper()
	if msg := tsharkErrors(t, tshark, file); msg != "" {
		t.Fatalf("tshark cannot read %s cleanly: %s", file, msg)
	}
	return len(frames(t, tshark, file))
}

func TestBadInputThroughTshark(t *testing.T) {
	h := installHome(t)
	for _, bi := range badInputs(t) {
		t.Run(bi.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.pcapng")
			r := h.tsharkCapture(t, out, bi.prefs) // fails the test on a hang
			if !strings.Contains(r.stderr, "Error by extcap pipe: genesys-sip: ") || !strings.Contains(r.stderr, bi.want) {
				t.Fatalf("tshark stderr lacks the error %q:\n%s", bi.want, r.stderr)
			}
			if n := strings.Count(r.stderr, "genesys-sip: "); n != 1 {
				t.Errorf("want one error line, got %d:\n%s", n, r.stderr)
			}
			if bi.packets > 0 {
				if got := countPackets(t, h.tshark, out); got != bi.packets {
					t.Errorf("delivered %d packets before the error, want %d", got, bi.packets)
				}
			}
		})
	}
}

func TestBadInputThroughCLI(t *testing.T) {
	h := &home{dir: t.TempDir()}
	tshark := testenv.Tool(t, "tshark")
	for _, bi := range badInputs(t) {
		t.Run(bi.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.pcapng")
			r := h.run(t, 60*time.Second, binPath, append([]string{"capture", "-w", out}, bi.args...)...)
			if r.err == nil {
				t.Fatalf("exit status 0 for bad input; stderr: %s", r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "genesys-sip: ") || !strings.Contains(last, bi.want) {
				t.Fatalf("last stderr line %q lacks %q", last, bi.want)
			}
			if bi.packets > 0 {
				if got := countPackets(t, tshark, out); got != bi.packets {
					t.Errorf("delivered %d packets before the error, want %d", got, bi.packets)
				}
			}
		})
	}
}

func TestUnknownFlagIsOneClearError(t *testing.T) {
	h := &home{dir: t.TempDir()}
	r := h.run(t, 30*time.Second, binPath, "capture", "-w", "-", "--replay-fil", "x.pcap")
	if r.err == nil || !strings.Contains(r.stderr, "flag provided but not defined: -replay-fil") {
		t.Fatalf("want an unknown-flag error, got err=%v stderr=%q", r.err, r.stderr)
	}
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
		t.Errorf("want a single line, got:\n%s", r.stderr)
	}
}
