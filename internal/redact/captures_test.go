package redact

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// captureMessages returns the UDP and TCP payloads of a capture file that
// start with a SIP start line. TCP segments are not reassembled: a message
// split over segments is redacted as far as it goes, which is also a test.
func captureMessages(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type reader interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var rd reader
	var link layers.LinkType
	if filepath.Ext(path) == ".pcapng" {
		ng, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		rd, link = ng, ng.LinkType()
	} else {
		pr, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		rd, link = pr, pr.LinkType()
	}
	start := regexp.MustCompile(`^(SIP/2\.0 [0-9]{3} |[A-Z]+ \S+ SIP/2\.0\r?\n)`)
	var msgs [][]byte
	for {
		data, _, err := rd.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		p := gopacket.NewPacket(data, link, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		var payload []byte
		if l := p.Layer(layers.LayerTypeUDP); l != nil {
			payload = l.LayerPayload()
		} else if l := p.Layer(layers.LayerTypeTCP); l != nil {
			payload = l.LayerPayload()
		}
		if start.Match(payload) {
			msgs = append(msgs, bytes.Clone(payload))
		}
	}
	return msgs
}

// oracle finds the numbers a human would call PII in the identity headers and
// the Request-URI, independently of the redactor's scanner: digit strings of
// 4 or more digits right after a sip:, sips: or tel: scheme (optionally with
// a +). It returns them and the message with their digits blanked.
func oracle(msg []byte) (nums []string, skeleton []byte) {
	re := regexp.MustCompile(`(?im)^(?:[A-Z]+ |(?:From|f|To|t|Contact|m|P-Asserted-Identity|P-Preferred-Identity|Remote-Party-ID|Diversion|History-Info|Refer-To|r|Referred-By|b)\s*:.*?)`)
	num := regexp.MustCompile(`(?i)(?:sips?|tel):(?:\+|%2B)?([0-9][0-9().-]*[0-9])`)
	skeleton = bytes.Clone(msg)
	for _, line := range re.FindAllIndex(msg, -1) {
		end := bytes.IndexByte(msg[line[0]:], '\n')
		if end < 0 {
			end = len(msg) - line[0]
		}
		seg := msg[line[0] : line[0]+end]
		for _, m := range num.FindAllSubmatchIndex(seg, -1) {
			var d []byte
			for k := m[2]; k < m[3]; k++ {
				if isDigit(seg[k]) {
					d = append(d, seg[k])
					skeleton[line[0]+k] = 'X'
				}
			}
			if len(d) >= window {
				nums = append(nums, string(d))
			}
		}
	}
	return nums, skeleton
}

// TestCaptures redacts every SIP message of the shared capture corpus and
// checks length, structure, that identity numbers are gone and that Via,
// Call-ID, CSeq and tags are unchanged.
func TestCaptures(t *testing.T) {
	dir := testenv.Captures(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	r := newTest(t, Config{})
	keepLine := regexp.MustCompile(`(?im)^(Via|v|Call-ID|i|CSeq|X-Genesys-Call-ID|Content-Length|l)\s*:.*$|tag=[^;>,\s]+|branch=[^;>,\s]+`)
	total, numbers := 0, 0
	for _, path := range files {
		for _, msg := range captureMessages(t, path) {
			total++
			out := bytes.Clone(msg)
			r.Message(out)
			checkSIP(t, msg, out)
			nums, skeleton := oracle(msg)
			numbers += len(nums)
			for _, n := range nums {
				if l := leaksBut(out, n, skeleton); len(l) > 0 {
					t.Errorf("%s: %s leaks %v in\n%s", filepath.Base(path), n, l, out)
				}
			}
			for _, m := range keepLine.FindAll(msg, -1) {
				if !bytes.Contains(out, m) {
					t.Errorf("%s: %q changed", filepath.Base(path), m)
				}
			}
			again := bytes.Clone(msg)
			if r.Message(again); !bytes.Equal(again, out) {
				t.Errorf("%s: unstable", filepath.Base(path))
			}
		}
	}
	if total < 100 || numbers < 50 {
		t.Errorf("only %d messages, %d numbers found in %s", total, numbers, dir)
	}
	t.Logf("%d files, %d messages, %d numbers", len(files), total, numbers)
}
