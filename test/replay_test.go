package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

func TestTsharkListsGenesysSIP(t *testing.T) {
	h := installHome(t)
	r := h.run(t, 30*time.Second, h.tshark, "-D")
	if r.err != nil {
		t.Fatalf("tshark -D: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stdout, "genesys-sip (Genesys SIP)") {
		t.Fatalf("tshark -D does not list Genesys SIP:\n%s", r.stdout)
	}
}

// replayInputs are the files the identity test replays: every shared
// capture plus generated pcap (µs and ns) and multi-interface pcapng.
func replayInputs(t *testing.T) []string {
	dir := t.TempDir()
	start := time.Date(2026, 11, 25, 10, 5, 1, 0, time.UTC)
	pkts := callPackets(t, start, 20)

	us := filepath.Join(dir, "generated-us.pcap")
	var usPkts []testPacket
	for _, p := range pkts {
		p.ts = p.ts.Truncate(time.Microsecond)
		usPkts = append(usPkts, p)
	}
	writePcap(t, us, false, layers.LinkTypeEthernet, usPkts)

	ns := filepath.Join(dir, "generated-ns.pcap")
	writePcap(t, ns, true, layers.LinkTypeEthernet, pkts)

	ng := filepath.Join(dir, "generated-multi-iface.pcapng")
	var mixed []testPacket
	for i, p := range pkts {
		if i%2 == 1 {
			p.iface, p.data = 1, rawIPv4(p.data)
		}
		mixed = append(mixed, p)
	}
	writePcapng(t, ng, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw}, mixed)

	return append([]string{us, ns, ng}, testenv.CaptureFiles(t)...)
}

// TestReplayThroughTsharkIsIdentical replays each input through
// `tshark -i genesys-sip` with redaction off and checks, with tshark reading
// both files, that every packet's bytes, lengths, timestamp and link type
// are unchanged.
func TestReplayThroughTsharkIsIdentical(t *testing.T) {
	h := installHome(t)
	for _, in := range replayInputs(t) {
		t.Run(filepath.Base(in), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.pcapng")
			r := h.tsharkCapture(t, out, map[string]string{"replayfile": in, "replayspeed": "0", "redact": "false"})
			if r.err != nil {
				t.Fatalf("tshark capture: %v\n%s", r.err, r.stderr)
			}
			want := frames(t, h.tshark, in)
			got := frames(t, h.tshark, out)
			if len(want) == 0 {
				t.Fatalf("%s: no frames", in)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d frames, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("frame %d differs:\n got %s\nwant %s", i+1, got[i], want[i])
				}
			}
		})
	}
}

// TestReplayKeepsPacketComments checks that comments of the input pcapng
// reach the output.
func TestReplayKeepsPacketComments(t *testing.T) {
	h := installHome(t)
	in := replayInputs(t)[2] // the generated pcapng; its first packet has a comment
	out := filepath.Join(t.TempDir(), "out.pcapng")
	if r := h.tsharkCapture(t, out, map[string]string{"replayfile": in, "replayspeed": "0"}); r.err != nil {
		t.Fatalf("tshark capture: %v\n%s", r.err, r.stderr)
	}
	r := h.run(t, 30*time.Second, h.tshark, "-r", out, "-Y", `frame.comment contains "comment kept"`, "-T", "fields", "-e", "frame.number")
	if strings.TrimSpace(r.stdout) != "1" {
		t.Fatalf("comment of frame 1 lost; frames with it: %q %s", r.stdout, r.stderr)
	}
}
