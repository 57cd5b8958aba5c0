package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// expectation mirrors one record of the scenario's expect.json.
type expectation struct {
	Record int    `json:"record"`
	Frame  int    `json:"frame"` // input frame, 0 when only Genesys saw it
	Call   string `json:"call"`
	Key    string `json:"key"`
	Match  string `json:"match"`
	Event  string `json:"event"`
	CSeq   string `json:"cseq"`
	Dir    string `json:"dir"`
}

type groundTruth struct {
	ClockOffsetNs int64         `json:"clockOffsetNs"`
	Frames        int           `json:"frames"`
	Records       []expectation `json:"records"`
	Calls         []struct {
		Label    string `json:"label"`
		WireOnly bool   `json:"wireOnly"`
	} `json:"calls"`
	Messages []struct {
		Frame int    `json:"frame"`
		Call  string `json:"call"`
	} `json:"messages"`
	Numbers []string `json:"numbers"`
}

// outFrame is one frame of the annotated output as tshark shows it.
type outFrame struct {
	number   int
	iface    string
	comments []string
	skew     string
}

func readOutput(t *testing.T, h *home, file string) []outFrame {
	t.Helper()
	r := h.run(t, 60*time.Second, h.tshark, "-r", file, "-T", "fields", "-E", "separator=\t", "-E", "aggregator=\x1f",
		"-e", "frame.number", "-e", "frame.interface_name", "-e", "frame.comment", "-e", "genesys.trace.skew")
	if r.err != nil || strings.Contains(r.stderr, "Lua") {
		t.Fatalf("tshark -r: %v\n%s", r.err, r.stderr)
	}
	var out []outFrame
	for _, line := range strings.Split(strings.TrimRight(r.stdout, "\n"), "\n") {
		f := strings.Split(line, "\t")
		n, _ := strconv.Atoi(f[0])
		o := outFrame{number: n, iface: f[1], skew: f[3]}
		if f[2] != "" {
			o.comments = strings.Split(f[2], "\x1f")
		}
		out = append(out, o)
	}
	return out
}

// pairs parses a genesys: comment.
func commentPairs(c string) map[string]string {
	m := map[string]string{}
	s := strings.TrimPrefix(c, "genesys:")
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ")
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		k := s[:eq]
		s = s[eq+1:]
		var v string
		if strings.HasPrefix(s, `"`) {
			end := 1
			for end < len(s) && (s[end] != '"' || s[end-1] == '\\') {
				end++
			}
			v, s = strings.ReplaceAll(s[1:end], `\"`, `"`), s[min(end+1, len(s)):]
		} else {
			sp := strings.IndexByte(s, ' ')
			if sp < 0 {
				sp = len(s)
			}
			v, s = s[:sp], s[sp:]
		}
		m[k] = v
	}
	return m
}

// TestCorrelationScenarioThroughTshark is the acceptance test of the
// correlation feature: the generated scenario (UDP, TCP split and
// coalesced, IPv6 compact headers, a fragmented INVITE, a B2BUA with a
// rewritten Call-ID, x-inin-cnv and Call-ID fallbacks, Genesys-only records
// and a wire-only call) replayed through tshark with --trace-file.
func TestCorrelationScenarioThroughTshark(t *testing.T) {
	h := installHome(t)
	dir := t.TempDir()
	if r := h.run(t, 60*time.Second, binPath, "sample", "--kind", "correlation", "-o", dir); r.err != nil {
		t.Fatalf("sample: %v %s", r.err, r.stderr)
	}
	var truth groundTruth
	b, err := os.ReadFile(filepath.Join(dir, "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.pcapng")
	r := h.tsharkCapture(t, out, map[string]string{
		"replayfile": filepath.Join(dir, "sample.pcap"), "replayspeed": "0",
		"tracefile": filepath.Join(dir, "sample-trace.json"),
	})
	if r.err != nil {
		t.Fatalf("tshark capture: %v\n%s", r.err, r.stderr)
	}
	frames := readOutput(t, h, out)

	// Output wire frames keep the input order; Genesys-only frames are on
	// their own interface between them.
	var wire []outFrame
	var genesysOnly []outFrame
	for _, f := range frames {
		if f.iface == "Genesys Cloud" {
			genesysOnly = append(genesysOnly, f)
		} else {
			wire = append(wire, f)
		}
	}
	if len(wire) != truth.Frames {
		t.Fatalf("%d wire frames, want %d", len(wire), truth.Frames)
	}

	// Every record is a comment on its frame, or a Genesys-only frame.
	onlyWant := map[string]int{}
	for _, e := range truth.Records {
		if e.Frame == 0 {
			onlyWant[e.Event+"|"+e.CSeq]++
			continue
		}
		found := false
		for _, c := range wire[e.Frame-1].comments {
			p := commentPairs(c)
			if !strings.HasPrefix(c, "genesys:") || p["event"] != e.Event || p["cseq"] != e.CSeq {
				continue
			}
			found = true
			if p["key"] != e.Key {
				t.Errorf("record %d (%s) on frame %d: key=%s, want %s", e.Record, e.Call, e.Frame, p["key"], e.Key)
			}
			if (p["match"] == "order") != (e.Match == "order") {
				t.Errorf("record %d (%s) on frame %d: match=%q, want %s", e.Record, e.Call, e.Frame, p["match"], e.Match)
			}
			if e.Dir != "" && p["dir"] != e.Dir {
				t.Errorf("record %d (%s) on frame %d: dir=%q, want %s", e.Record, e.Call, e.Frame, p["dir"], e.Dir)
			}
			if e.Key == "call-id" && p["warn"] == "" {
				t.Errorf("record %d: a Call-ID match without warn=", e.Record)
			}
		}
		if !found {
			t.Errorf("record %d (%s, %s %s) not annotated on frame %d; comments there: %q", e.Record, e.Call, e.Event, e.CSeq, e.Frame, wire[e.Frame-1].comments)
		}
	}
	onlyGot := map[string]int{}
	for _, f := range genesysOnly {
		for _, c := range f.comments {
			p := commentPairs(c)
			onlyGot[p["event"]+"|"+p["cseq"]]++
		}
	}
	for k, n := range onlyWant {
		if onlyGot[k] != n {
			t.Errorf("Genesys-only %s: %d frames, want %d", k, onlyGot[k], n)
		}
	}
	if len(genesysOnly) == 0 {
		t.Error("no Genesys-only frames")
	}

	// The wire-only call carries no comment.
	wireOnly := map[string]bool{}
	for _, c := range truth.Calls {
		wireOnly[c.Label] = c.WireOnly
	}
	for _, m := range truth.Messages {
		if wireOnly[m.Call] {
			for _, c := range wire[m.Frame-1].comments {
				if strings.HasPrefix(c, "genesys:") {
					t.Errorf("wire-only call %s annotated on frame %d: %s", m.Call, m.Frame, c)
				}
			}
		}
	}

	// The estimated offset is within 5 ms of the truth.
	for _, f := range frames {
		if f.skew == "" {
			continue
		}
		est, err := strconv.ParseFloat(strings.Split(f.skew, "\x1f")[0], 64)
		if err != nil {
			t.Fatalf("genesys.trace.skew %q", f.skew)
		}
		if d := est - float64(truth.ClockOffsetNs)/1e9; d > 0.005 || d < -0.005 {
			t.Fatalf("estimated offset %.6f s, truth %.6f s", est, float64(truth.ClockOffsetNs)/1e9)
		}
		break
	}

	// The README's filters work.
	for filter, want := range map[string]bool{
		`frame.comment contains "408"`:                              true,
		`genesys.trace.status == 408`:                               true,
		`genesys.call_id == "` + truth.Records[0].keyValue(b) + `"`: true,
		`genesys.genesys_only`:                                      true,
		`genesys.trace.match == "order"`:                            true,
		`genesys.trace.key == "call-id"`:                            true,
	} {
		r := h.run(t, 30*time.Second, h.tshark, "-r", out, "-Y", filter, "-T", "fields", "-e", "frame.number")
		if got := strings.TrimSpace(r.stdout) != ""; got != want || r.err != nil {
			t.Errorf("-Y '%s': matched=%v, want %v (%v %s)", filter, got, want, r.err, r.stderr)
		}
	}

	// Redaction is on by default: no phone number of the scenario is left
	// in the output, and every checksum redaction touched is valid.
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range truth.Numbers {
		digits := strings.TrimPrefix(n, "+")
		if strings.Contains(string(data), digits) {
			t.Errorf("phone number %s left in the output", n)
		}
	}
	bad := h.run(t, 30*time.Second, h.tshark, "-r", out, "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-Y", "udp.checksum.status==0 || tcp.checksum.status==0 || ip.checksum.status==0")
	if strings.TrimSpace(bad.stdout) != "" {
		t.Errorf("bad checksums after redaction:\n%s", bad.stdout)
	}
}

// keyValue returns the X-Genesys-Call-ID of the expectation from the raw
// ground truth (its keyValue field).
func (e expectation) keyValue(raw []byte) string {
	var all struct {
		Records []struct {
			KeyValue string `json:"keyValue"`
			Key      string `json:"key"`
		} `json:"records"`
	}
	json.Unmarshal(raw, &all)
	for _, r := range all.Records {
		if r.Key == "x-genesys-call-id" && r.KeyValue != "" {
			return r.KeyValue
		}
	}
	return ""
}

var _ = testenv.InCI
