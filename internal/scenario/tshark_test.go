package scenario

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// tshark runs the real tshark on file with args and returns its stdout.
func tshark(t *testing.T, file string, args ...string) string {
	t.Helper()
	bin := testenv.Tool(t, "tshark")
	cmd := exec.Command(bin, append([]string{"-n", "-r", file}, args...)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out.String()
}

// checksumArgs make tshark verify checksums and show the frames
// where IP, UDP or TCP checksum is invalid.
var checksumArgs = []string{
	"-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
	"-Y", "udp.checksum.status==0 || tcp.checksum.status==0 || ip.checksum.status==0",
}

// sipFrames lists what tshark dissects as SIP: one line per message, as
// "frame cseq call-id", with reassembly on (the default).
func sipFrames(t *testing.T, file string) []string {
	t.Helper()
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(tshark(t, file, "-Y", "sip", "-T", "fields",
		"-e", "frame.number", "-e", "sip.CSeq", "-e", "sip.Call-ID")), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("tshark line %q", line)
		}
		cseqs, ids := strings.Split(f[1], ","), strings.Split(f[2], ",")
		if len(cseqs) != len(ids) {
			t.Fatalf("tshark line %q: %d CSeq, %d Call-ID", line, len(cseqs), len(ids))
		}
		for i := range cseqs {
			got = append(got, f[0]+" "+cseqs[i]+" "+ids[i])
		}
	}
	return got
}

func TestTshark(t *testing.T) {
	testenv.Tool(t, "tshark")
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		s    *Scenario
	}{{"demo", Demo(DefaultOptions())}, {"correlation", Correlation(DefaultOptions())}} {
		var want []string
		for _, m := range tc.s.Messages {
			want = append(want, fmt.Sprintf("%d %s %s", m.Frame, m.CSeq, m.CallID))
		}
		slices.Sort(want)
		for _, format := range []string{"pcap", "pcap-ns", "pcapng"} {
			file := filepath.Join(dir, tc.name+"."+format)
			if err := os.WriteFile(file, output(t, tc.s, format), 0o644); err != nil {
				t.Fatal(err)
			}
			got := sipFrames(t, file)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: tshark shows %d SIP messages, generated %d\n got %q\nwant %q", tc.name, format, len(got), len(want), got, want)
			}
			if format != "pcapng" {
				continue
			}
			if n := strings.Count(tshark(t, file, "-T", "fields", "-e", "frame.number"), "\n"); n != len(tc.s.Frames) {
				t.Errorf("%s: tshark reads %d frames, wrote %d", tc.name, n, len(tc.s.Frames))
			}
			if bad := tshark(t, file, checksumArgs...); bad != "" {
				t.Errorf("%s: bad checksums:\n%s", tc.name, bad)
			}
			if warn := tshark(t, file, "-Y", "_ws.expert.severity >= warning || _ws.malformed"); warn != "" {
				t.Errorf("%s: expert warnings:\n%s", tc.name, warn)
			}
		}
		// Every record's frame is one tshark shows carrying that message.
		wireCallID := map[string]string{}
		for _, c := range tc.s.Calls {
			wireCallID[c.Label] = c.WireCallID
		}
		for _, e := range tc.s.Expect {
			if line := fmt.Sprintf("%d %s %s", e.Frame, e.WireCSeq, wireCallID[e.Call]); e.Frame > 0 && !slices.Contains(want, line) {
				t.Errorf("%s: record %d points at frame %d, tshark shows no %q there", tc.name, e.Record, e.Frame, line)
			}
		}
	}
}

func TestTsharkBulk(t *testing.T) {
	testenv.Tool(t, "tshark")
	const n = 3000
	for _, format := range []string{"pcap", "pcapng"} {
		var b bytes.Buffer
		if err := Bulk(&b, format, n, 7); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "bulk."+format)
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := len(sipFrames(t, file)); got != n {
			t.Errorf("%s: tshark shows %d SIP messages, want %d", format, got, n)
		}
		if bad := tshark(t, file, checksumArgs...); bad != "" {
			t.Errorf("%s: bad checksums:\n%s", format, bad[:min(len(bad), 500)])
		}
	}
}
