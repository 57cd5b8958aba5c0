package e2e

import (
	"encoding/binary"
	"os"
	"os/exec"
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
			want: "replay file " + cut + ": file is truncated: cut inside frame 22 (21 frames before it are intact)", packets: 21},
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
	if r.err == nil || !strings.Contains(r.stderr, "unknown flag --replay-fil; did you mean --replay-file?") {
		t.Fatalf("want an unknown-flag error, got err=%v stderr=%q", r.err, r.stderr)
	}
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
		t.Errorf("want a single line, got:\n%s", r.stderr)
	}
}

// damagedCopy writes a copy of a real capture with frame (1-based, counting
// packet blocks or records) damaged by mutate, which gets the whole file
// and the offset of that frame's EPB (pcapng) or record header (pcap).
func damagedCopy(t *testing.T, src string, frame int, mutate func(b []byte, off int) []byte) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	off, n := 0, 0
	if binary.LittleEndian.Uint32(b) == 0x0A0D0D0A {
		for off < len(b) {
			if binary.LittleEndian.Uint32(b[off:]) == 6 {
				if n++; n == frame {
					break
				}
			}
			off += int(binary.LittleEndian.Uint32(b[off+4:]))
		}
	} else {
		for off = 24; n+1 < frame; n++ {
			off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
		}
	}
	p := filepath.Join(t.TempDir(), "damaged-"+filepath.Base(src))
	if err := os.WriteFile(p, mutate(b, off), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDamagedFramesCostOnlyThemselves (issue 13): a capture with one
// damaged frame replays in full — the damaged frame repaired (with a
// warning naming the file and the frame, and a comment on the frame) or
// dropped — and damage that leaves no way to find the next block stops the
// replay with one error naming the file, after every frame before it.
// Before the fix a frame whose original length was below its captured
// length failed the output (exit 1, 0 packets written, the input not
// named); one whose captured length ran past its block was reported as a
// truncated file.
func TestDamagedFramesCostOnlyThemselves(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	h := &home{dir: t.TempDir()}
	caps := testenv.Captures(t)
	erspan := filepath.Join(caps, "heplify__erspan_sip_ipv4_udp.pcapng") // 140 frames, SIP in ERSPAN/GRE
	sngrep := filepath.Join(caps, "sngrep__aaa_udp-register-invite-cancel-4xx-with-rtp.pcap")
	u32, u16 := binary.LittleEndian.PutUint32, binary.BigEndian.PutUint16
	// Frame 11 of the ERSPAN capture: 617 bytes; the inner IPv4 header
	// starts at byte 56, its UDP header at 76; EPB data at off+28.
	const inner = 28 + 56
	for _, tc := range []struct {
		name    string
		in      string
		mutate  func(b []byte, off int) []byte
		frames  int
		warning string // on stderr, with the file; empty: none wanted
		comment string // on a frame of the output
		err     string // the error, when the replay must stop
	}{
		{name: "pcapng original length below captured", in: erspan, frames: 140,
			mutate:  func(b []byte, off int) []byte { u32(b[off+24:], 609); return b },
			warning: ": frame 11: original length 609 is less than the captured length 617; original length set to 617",
			comment: "genesys-sip: input frame 11 was damaged: original length 609"},
		{name: "pcapng captured length past its block", in: erspan, frames: 139,
			mutate:  func(b []byte, off int) []byte { u32(b[off+20:], 717); return b },
			warning: ": frame 11: captured length 717 does not fit in its block of 652 bytes; frame dropped",
			comment: "genesys-sip: input frame 11 was damaged: captured length 717"},
		{name: "pcapng captured length short", in: erspan, frames: 140,
			mutate:  func(b []byte, off int) []byte { u32(b[off+20:], 517); return b },
			warning: ": frame 11: its options are unreadable"},
		{name: "inner IPv4 length short", in: erspan, frames: 140,
			mutate:  func(b []byte, off int) []byte { u16(b[off+inner+2:], 521); return b },
			warning: "scrubbing them"},
		{name: "inner IPv4 length long", in: erspan, frames: 140,
			mutate: func(b []byte, off int) []byte { u16(b[off+inner+2:], 601); return b }},
		{name: "inner UDP length long", in: erspan, frames: 140,
			mutate:  func(b []byte, off int) []byte { u16(b[off+inner+24:], 600); return b },
			warning: "scrubbing them"},
		{name: "inner UDP length below its header", in: erspan, frames: 140,
			mutate: func(b []byte, off int) []byte { u16(b[off+inner+24:], 4); return b }},
		{name: "outer IPv4 length long", in: erspan, frames: 140,
			mutate: func(b []byte, off int) []byte { u16(b[off+28+16:], 700); return b }},
		{name: "pcap original length below captured", in: sngrep, frames: 691,
			mutate: func(b []byte, off int) []byte {
				u32(b[off+12:], binary.LittleEndian.Uint32(b[off+8:])-8)
				return b
			},
			warning: ": frame 11: original length"},
		{name: "pcapng block trailer disagrees", in: erspan, frames: 140,
			mutate: func(b []byte, off int) []byte {
				l := binary.LittleEndian.Uint32(b[off+4:])
				u32(b[off+int(l)-4:], l+4)
				return b
			},
			warning: ": frame 11: block length 652 at its start but 656 at its end; the start is right"},
		{name: "pcapng block length disagrees", in: erspan, frames: 10,
			mutate: func(b []byte, off int) []byte { u32(b[off+4:], 656); return b },
			err:    ": the block at byte 8332 (after frame 10): block length 656 at its start but"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := damagedCopy(t, tc.in, 11, tc.mutate)
			out := filepath.Join(t.TempDir(), "out.pcapng")
			r := h.run(t, 60*time.Second, binPath, "capture", "--replay-file", in, "--replay-speed", "0", "-w", out)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if tc.err != "" {
				last := lines[len(lines)-1]
				if r.err == nil || !strings.HasPrefix(last, "genesys-sip: replay file "+in+": ") || !strings.Contains(last, tc.err) {
					t.Fatalf("exit %v, last stderr line %q; want an error naming %s and saying %q", r.err, last, in, tc.err)
				}
			} else if r.err != nil {
				t.Fatalf("exit %v for a file with one damaged frame; stderr:\n%s", r.err, r.stderr)
			}
			if tc.warning != "" && (!strings.Contains(r.stderr, tc.warning) || !strings.Contains(r.stderr, in)) {
				t.Errorf("stderr lacks a warning naming %s and saying %q:\n%s", in, tc.warning, r.stderr)
			}
			if tc.warning == "" && tc.err == "" && r.stderr != "" {
				t.Errorf("unexpected stderr:\n%s", r.stderr)
			}
			if got := countPackets(t, tshark, out); got != tc.frames {
				t.Errorf("%d frames in the output, want %d", got, tc.frames)
			}
			if tc.comment != "" {
				cmd := exec.Command(tshark, "-r", out, "-Y", "frame.number == 11", "-T", "fields", "-e", "frame.comment")
				b, err := cmd.Output()
				if err != nil || !strings.Contains(string(b), tc.comment) {
					t.Errorf("frame 11 comments %q (%v), want %q", b, err, tc.comment)
				}
			}
		})
	}
}
