package decode

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// xorHandler stands in for a TLS decryptor: "records" are the payload
// XORed with 0x5a, and it only attaches to connections whose first byte is
// 0x16 (a TLS handshake record type), which it drops once.
type xorHandler struct {
	feeds, gaps, closes int
	started             bool
}

func (h *xorHandler) Feed(f Flow, payload []byte, out []byte) ([]byte, error) {
	h.feeds++
	if !h.started && len(payload) > 0 {
		h.started, payload = true, payload[1:]
	}
	for _, c := range payload {
		out = append(out, c^0x5a)
	}
	return out, nil
}

func (h *xorHandler) Gap(Flow) { h.gaps++ }
func (h *xorHandler) Close()   { h.closes++ }

func xorString(s string) string {
	b := []byte(s)
	for i := range b {
		b[i] ^= 0x5a
	}
	return string(b)
}

func TestStreamHandler(t *testing.T) {
	h := &xorHandler{}
	var offered int
	cfg := Config{StreamHandler: func(f Flow, first []byte) StreamHandler {
		offered++
		if len(first) > 0 && first[0] == 0x16 {
			return h
		}
		return nil
	}}
	enc := xorString(sipInvite + sip200)
	segs := []tcpSeg{
		syn(1000, false),
		{seq: 1001, payload: "\x16" + enc[:100], dport: 5061},
		{seq: 1102, payload: enc[100:], dport: 5061, fin: true},
		// A plain connection is offered too, and left to the decoder.
		{seq: 1, payload: sipInvite, sport: 40001},
	}
	frames := make([][]byte, len(segs))
	for i, sg := range segs {
		if sg.dport == 0 {
			sg.dport = 5061
		}
		frames[i] = tcpFrame(t, sg)
	}
	msgs, d := run(t, cfg, layers.LinkTypeEthernet, frames...)
	if len(msgs) != 3 || msgs[0].Transport != TLS || msgs[1].Transport != TLS || msgs[2].Transport != TCP {
		t.Fatalf("got %d messages: %+v", len(msgs), msgs)
	}
	if string(msgs[0].Data) != sipInvite || string(msgs[1].Data) != sip200 || msgs[0].Frame != 3 || msgs[0].Pieces != nil {
		t.Errorf("TLS messages %q %q", msgs[0].Data, msgs[1].Data)
	}
	if offered != 2 || h.feeds != 2 || h.closes != 0 {
		t.Errorf("offered %d, feeds %d, closes %d", offered, h.feeds, h.closes)
	}
	d.Reset()
	if h.closes != 1 {
		t.Errorf("Close not called on Reset")
	}
}
