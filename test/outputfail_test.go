package e2e

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// What "valid" means for an output cut short by a failure: the file is a
// pcapng that pcapgo's NgReader reads packet after packet up to a clean
// io.EOF (no io.ErrUnexpectedEOF, no partial block: the file ends at a
// block boundary), and that tshark -r reads without any complaint.

// readValid reads a pcapng with pcapgo to a clean EOF and returns its
// packet count, failing the test on any error.
func readValid(t *testing.T, file string) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatalf("%s: not a pcapng: %v", file, err)
	}
	n := 0
	for {
		_, _, err := r.ReadPacketData()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("%s: pcapgo fails after %d packets: %v", file, n, err)
		}
		n++
	}
}

// checkValid checks file with pcapgo and with tshark and returns how many
// packets it holds.
func checkValid(t *testing.T, file string) int {
	t.Helper()
	n := readValid(t, file)
	if msg := tsharkErrors(t, testenv.Tool(t, "tshark"), file); msg != "" {
		t.Fatalf("tshark cannot read %s cleanly: %s", file, msg)
	}
	return n
}

// needRoot: mounting needs root; CI runs as root and must not skip.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if testenv.InCI() {
		t.Fatal("the output-failure tests mount tmpfs: they need root in CI")
	}
	t.Skip("mounting a tmpfs needs root; skipping")
}

// mountTmpfs mounts a tmpfs with the given options on a new directory and
// unmounts it when the test ends.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	needRoot(t)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount -t tmpfs -o %s: %v\n%s", opts, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

// bigCapture is the largest shared capture (about 1.1 MB of pcap, more as
// pcapng), looped to outgrow a 1 MB disk.
func bigCapture(t *testing.T) string {
	return filepath.Join(testenv.Captures(t), "voipshark__sip-over-tls-rsa_rtp_full-call.pcap")
}

// TestDiskFullLeavesValidOutput: the output disk fills up mid-replay. One
// error names the file and says why, the exit status is non-zero, and the
// file holds every block that fit, ending at a block boundary. Before the
// fix the file ended inside a block (tshark: "cut short in the middle of a
// packet").
func TestDiskFullLeavesValidOutput(t *testing.T) {
	dir := mountTmpfs(t, "size=1m")
	out := filepath.Join(dir, "out.pcapng")
	h := &home{dir: t.TempDir()}
	r := h.run(t, 60*time.Second, binPath, "capture", "--replay-file", bigCapture(t), "--replay-speed", "0", "--replay-loop", "3", "-w", out)
	if r.err == nil {
		t.Fatal("exit status 0 on a full disk")
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "genesys-sip: ") || !strings.HasSuffix(lines[0], out+": no space left on device") {
		t.Errorf("want one error line ending %q, got:\n%s", out+": no space left on device", r.stderr)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	n := checkValid(t, out)
	// The disk holds 1 MiB: all but at most one block's worth of it is
	// used, not given up.
	if n == 0 || st.Size() < 1<<20-70000 {
		t.Errorf("%d packets, %d bytes kept of a 1 MiB disk", n, st.Size())
	}
}

// TestReadOnlyOutput: the output path is on a read-only file system. One
// error names the path, the exit status is non-zero, nothing is written.
// (As root a 0444 file is writable, hence the read-only mount.)
func TestReadOnlyOutput(t *testing.T) {
	dir := mountTmpfs(t, "ro,size=1m")
	out := filepath.Join(dir, "out.pcapng")
	h := &home{dir: t.TempDir()}
	r := h.run(t, 60*time.Second, binPath, "capture", "--replay-file", bigCapture(t), "--replay-speed", "0", "-w", out)
	if r.err == nil {
		t.Fatal("exit status 0 writing to a read-only file system")
	}
	if want := "genesys-sip: -w " + out + ": read-only file system\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the output exists: %v", err)
	}
}

// TestReaderClosesEarly: `genesys-sip capture ... -w - | head -c 1000`:
// the reader going away ends the capture quietly, exit 0.
func TestReaderClosesEarly(t *testing.T) {
	bash := testenv.Tool(t, "bash")
	dir := t.TempDir()
	errFile, headOut := filepath.Join(dir, "stderr"), filepath.Join(dir, "head")
	h := &home{dir: dir}
	r := h.run(t, 60*time.Second, bash, "-c", `"$0" capture --replay-file "$1" --replay-speed 0 --replay-loop 5 -w - 2>"$2" | head -c 1000 >"$3"; exit "${PIPESTATUS[0]}"`,
		binPath, bigCapture(t), errFile, headOut)
	stderr, _ := os.ReadFile(errFile)
	if r.err != nil || len(stderr) > 0 {
		t.Errorf("after the reader left: %v, stderr %q", r.err, stderr)
	}
	head, _ := os.ReadFile(headOut)
	if len(head) != 1000 || string(head[:4]) != "\x0a\x0d\x0d\x0a" {
		t.Errorf("head got %d bytes starting % x, want 1000 of a pcapng", len(head), head[:min(4, len(head))])
	}
}

// TestSIGTERMMidReplay: a paced replay stopped by SIGTERM exits 0 and
// leaves a valid pcapng holding what was replayed so far, to a file and
// to stdout.
func TestSIGTERMMidReplay(t *testing.T) {
	in := filepath.Join(testenv.Captures(t), "sngrep__aaa_udp-register-invite-cancel-4xx-with-rtp.pcap") // 26 min long
	for _, toStdout := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "out.pcapng")
		target := out
		var stdout *os.File
		if toStdout {
			target = "-"
			f, err := os.Create(out)
			if err != nil {
				t.Fatal(err)
			}
			stdout = f
		}
		cmd := exec.Command(binPath, "capture", "--replay-file", in, "--replay-speed", "1", "-w", target)
		if stdout != nil {
			cmd.Stdout = stdout
		}
		p := startBG(t, cmd)
		time.Sleep(2 * time.Second)
		err := p.stop(t, syscall.SIGTERM)
		if stdout != nil {
			stdout.Close()
		}
		if err != nil || p.stderr.Len() > 0 {
			t.Errorf("-w %s: after SIGTERM: %v, stderr %q", target, err, p.stderr.String())
		}
		if n := checkValid(t, out); n == 0 {
			t.Errorf("-w %s: no packets before SIGTERM", target)
		}
	}
}

// TestSIGTERMMidLive: a live capture on loopback stopped by SIGTERM while
// SIP flows exits 0 and leaves a valid pcapng.
func TestSIGTERMMidLive(t *testing.T) {
	needCapture(t)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	const port = 35071
	p := startBG(t, exec.Command(binPath, "capture", "--device", "lo", "--capture-filter", "udp port 35071", "-w", out))
	conn, err := net.Dial("udp", "127.0.0.1:35071")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := "OPTIONS sip:+15550100@127.0.0.1:35071 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:35070;branch=z9hG4bK-term\r\n" +
		"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:+15550100@127.0.0.1>\r\nCall-ID: sigterm-live\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	stop := make(chan struct{})
	sent := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				sent <- n
				return
			default:
			}
			conn.Write([]byte(msg))
			n++
			time.Sleep(5 * time.Millisecond)
		}
	}()
	time.Sleep(2 * time.Second) // libpcap open, then traffic
	err = p.stop(t, syscall.SIGTERM)
	close(stop)
	<-sent
	if err != nil || unexpectedStderr(p.stderr.String()) != "" {
		t.Errorf("after SIGTERM: %v, stderr %q", err, p.stderr.String())
	}
	if n := checkValid(t, out); n == 0 {
		t.Errorf("no packets captured on lo port %d", port)
	}
}
