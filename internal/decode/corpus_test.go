package decode

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/genesys-sip/genesys-sip/internal/sip"
	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// tsharkMessages returns, per frame number, the sorted methods/status codes
// and the sorted Call-IDs of the SIP messages tshark finds (default
// reassembly on).
func tsharkMessages(t *testing.T, tshark, path string, extra ...string) map[uint64][2][]string {
	t.Helper()
	args := append([]string{"-r", path}, extra...)
	args = append(args, "-Y", "sip", "-T", "fields",
		"-e", "frame.number", "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.Call-ID",
		"-E", "occurrence=a", "-E", "separator=/t", "-E", "aggregator=|")
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", filepath.Base(path), err)
	}
	res := map[uint64][2][]string{}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		for len(f) < 4 {
			f = append(f, "")
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			t.Fatalf("tshark output %q: %v", line, err)
		}
		var labels, ids []string
		for _, s := range []string{f[1], f[2]} {
			if s != "" {
				labels = append(labels, strings.Split(s, "|")...)
			}
		}
		if f[3] != "" {
			ids = strings.Split(f[3], "|")
		}
		slices.Sort(labels)
		slices.Sort(ids)
		res[n] = [2][]string{labels, ids}
	}
	return res
}

// TestCorpusMatchesTshark decodes every capture of the shared corpus and
// compares, frame by frame, the SIP messages found with tshark's: the same
// frames complete messages, with the same methods/status codes and
// Call-IDs. The decoder gets no port hints at all, so the port-6060 TCP
// capture must be found by content (tshark needs -d tcp.port==6060,sip).
func TestCorpusMatchesTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	for _, path := range testenv.CaptureFiles(t) {
		name := filepath.Base(path)
		if strings.HasPrefix(name, "voipshark__") {
			// SIP over TLS: without a StreamHandler (internal/tlsdec) the
			// decoder finds nothing, like tshark without the key. Checked
			// below in TestCorpusTLSIsCounted.
			continue
		}
		t.Run(name, func(t *testing.T) {
			var extra []string
			if strings.Contains(name, "port6060") {
				extra = []string{"-d", "tcp.port==6060,sip"}
			}
			want := tsharkMessages(t, tshark, path, extra...)
			frames := readCapture(t, path)
			msgs, d := decodeAll(t, Config{PortHints: []uint16{}}, frames)

			// The identity comes from sip.Parse, as every command sees it:
			// a message Parse rejects is a difference, and one it accepts
			// as malformed (bad Content-Length, odd header line) must
			// still agree with tshark, which shows it with an expert note.
			got := map[uint64][2][]string{}
			var sm sip.Message
			malformed := 0
			for _, m := range msgs {
				var label, id string
				if err := sip.Parse(m.Data, &sm); err != nil && !errors.Is(err, sip.ErrShortBody) {
					label, id = "Parse: "+err.Error(), ""
				} else {
					label, id = parsedLabel(&sm), string(sm.CallID)
					if sm.Malformed != "" {
						malformed++
					}
				}
				g := got[m.Frame]
				g[0] = append(g[0], label)
				g[1] = append(g[1], id)
				got[m.Frame] = g
			}
			for n, g := range got {
				slices.Sort(g[0])
				slices.Sort(g[1])
				got[n] = g
			}
			var diffs []string
			for n, w := range want {
				g := got[n]
				if !slices.Equal(g[0], w[0]) || !slices.Equal(g[1], w[1]) {
					diffs = append(diffs, fmt.Sprintf("frame %d: got %v %v, tshark %v %v", n, g[0], g[1], w[0], w[1]))
				}
			}
			for n, g := range got {
				if _, ok := want[n]; !ok {
					diffs = append(diffs, fmt.Sprintf("frame %d: got %v %v, tshark nothing", n, g[0], g[1]))
				}
			}
			slices.Sort(diffs)
			if len(diffs) > 0 {
				if len(diffs) > 20 {
					diffs = append(diffs[:20], fmt.Sprintf("... %d more", len(diffs)-20))
				}
				t.Errorf("%d SIP messages, tshark %d frames; differences:\n%s", len(msgs), len(want), strings.Join(diffs, "\n"))
			}
			// Default port hints change nothing here.
			if msgs2, _ := decodeAll(t, Config{}, frames); len(msgs2) != len(msgs) {
				t.Errorf("default hints: %d messages, without hints %d", len(msgs2), len(msgs))
			}
			st := d.Stats()
			total := uint64(0)
			for _, n := range st.Messages {
				total += n
			}
			if total != uint64(len(msgs)) {
				t.Errorf("Stats counts %d messages, returned %d", total, len(msgs))
			}
			t.Logf("%d messages %v, %d malformed; stats %+v", len(msgs), st.Messages, malformed, st)
		})
	}
}

// parsedLabel is what tshark's sip.Method or sip.Status-Code shows.
func parsedLabel(m *sip.Message) string {
	if m.IsResponse() {
		return strconv.Itoa(m.StatusCode)
	}
	return string(m.Method)
}

// TestCorpusTLSIsCounted checks that the SIP-over-TLS capture is reported
// as TLS rather than silently yielding nothing.
func TestCorpusTLSIsCounted(t *testing.T) {
	path := filepath.Join(testenv.Captures(t), "voipshark__sip-over-tls-rsa_rtp_full-call.pcap")
	frames := readCapture(t, path)
	msgs, d := decodeAll(t, Config{}, frames)
	if len(msgs) != 0 {
		t.Errorf("found %d SIP messages in TLS without a handler", len(msgs))
	}
	if d.Stats().TLSStreams == 0 {
		t.Errorf("TLS connection not counted: %+v", d.Stats())
	}
}
