package e2e

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// spanCapture writes n packets spread evenly over span.
func spanCapture(t *testing.T, n int, span time.Duration) string {
	t.Helper()
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	pkts := callPackets(t, start, n)
	for i := range pkts {
		pkts[i].ts = start.Add(span * time.Duration(i) / time.Duration(n-1))
	}
	p := filepath.Join(t.TempDir(), "span.pcap")
	writePcap(t, p, true, layers.LinkTypeEthernet, pkts)
	return p
}

func TestReplayPace(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	in := spanCapture(t, 21, 2*time.Second)
	h := &home{dir: t.TempDir()}
	for _, tc := range []struct {
		speed    string
		min, max time.Duration
	}{
		{"1", 1900 * time.Millisecond, 4 * time.Second},
		{"4", 450 * time.Millisecond, 2 * time.Second},
		{"0", 0, 1500 * time.Millisecond},
	} {
		t.Run("speed="+tc.speed, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.pcapng")
			r := h.run(t, 30*time.Second, binPath, "capture", "--replay-file", in, "--replay-speed", tc.speed, "-w", out)
			if r.err != nil {
				t.Fatalf("capture: %v\n%s", r.err, r.stderr)
			}
			if r.elapsed < tc.min || r.elapsed > tc.max {
				t.Errorf("took %s, want between %s and %s", r.elapsed, tc.min, tc.max)
			}
			if got := countPackets(t, tshark, out); got != 21 {
				t.Errorf("%d packets, want 21", got)
			}
		})
	}
}

func TestReplayLoopAndRebase(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	in := spanCapture(t, 5, 100*time.Millisecond)
	h := &home{dir: t.TempDir()}
	out := filepath.Join(t.TempDir(), "out.pcapng")
	before := time.Now()
	r := h.run(t, 30*time.Second, binPath, "capture", "--replay-file", in, "--replay-speed", "0", "--replay-loop", "3", "--replay-rebase", "-w", out)
	if r.err != nil {
		t.Fatalf("capture: %v\n%s", r.err, r.stderr)
	}
	fs := frames(t, tshark, out)
	if len(fs) != 15 {
		t.Fatalf("%d packets, want 15 (3 loops of 5)", len(fs))
	}
	var prev float64
	for i, f := range fs {
		epoch, _ := strconv.ParseFloat(strings.Split(f, "\t")[0], 64)
		if i == 0 {
			if d := epoch - float64(before.UnixNano())/1e9; d < -1 || d > 5 {
				t.Fatalf("first re-based timestamp is %.3f s from now", d)
			}
		} else if epoch <= prev {
			t.Fatalf("frame %d: timestamps not increasing across loops (%.6f after %.6f)", i+1, epoch, prev)
		}
		prev = epoch
	}
}

// TestSIGTERMLeavesValidOutput stops a paced replay, writing to a FIFO like
// Wireshark's, and checks the process exits 0 promptly and the output read
// so far is valid pcapng.
func TestSIGTERMLeavesValidOutput(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	in := spanCapture(t, 200, 20*time.Second)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.pcapng")
	collected := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			collected <- nil
			return
		}
		b, _ := io.ReadAll(f)
		collected <- b
	}()
	cmd := exec.Command(binPath, "--capture", "--extcap-interface", "genesys-sip", "--fifo", fifo,
		"--replay-file", in, "--replay-speed", "1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v (stderr %q)", err, stderr.String())
		}
		if d := time.Since(sent); d > time.Second {
			t.Errorf("took %s to stop after SIGTERM", d)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("did not stop within 10 s of SIGTERM")
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr not empty (Wireshark would show it as an error): %q", stderr.String())
	}
	b := <-collected
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	n := countPackets(t, tshark, out)
	if n < 5 || n >= 200 {
		t.Fatalf("%d packets before SIGTERM; want some, not all", n)
	}
}

// TestReaderGoneStopsQuietly: a consumer that stops reading (EPIPE) ends
// the capture with status 0 and no error, for stdout and for the FIFO.
func TestReaderGoneStopsQuietly(t *testing.T) {
	in := spanCapture(t, 2000, 200*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", `"$0" capture --replay-file "$1" --replay-speed 0 -w - | head -c 100 >/dev/null; exit "${PIPESTATUS[0]}"`, binPath, in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || ctx.Err() != nil {
		t.Fatalf("pipeline: %v, stderr %q", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr: %q", stderr.String())
	}

	// The extcap FIFO: the reader closes after a few bytes during a paced
	// replay; the extcap must notice and exit 0 without waiting for its
	// next packet (due in 100 ms here).
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			return
		}
		buf := make([]byte, 64)
		io.ReadFull(f, buf)
		f.Close()
	}()
	ext := exec.CommandContext(ctx, binPath, "--capture", "--extcap-interface", "genesys-sip", "--fifo", fifo,
		"--replay-file", in, "--replay-speed", "1")
	var extErr bytes.Buffer
	ext.Stderr = &extErr
	start := time.Now()
	if err := ext.Run(); err != nil {
		t.Fatalf("extcap after reader left: %v, stderr %q", err, extErr.String())
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s to notice the reader left", d)
	}
}
