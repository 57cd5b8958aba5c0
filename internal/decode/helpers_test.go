package decode

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// capFrame is one frame read from a capture file.
type capFrame struct {
	link layers.LinkType
	ts   time.Time
	data []byte
}

// readCapture reads every frame of a pcap or pcapng file.
func readCapture(tb testing.TB, path string) []capFrame {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	frames, err := parseCapture(raw)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return frames
}

func parseCapture(raw []byte) ([]capFrame, error) {
	var out []capFrame
	if len(raw) >= 4 && bytes.Equal(raw[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, err
		}
		for {
			data, ci, err := r.ReadPacketData()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			out = append(out, capFrame{link: layers.LinkType(ci.AncillaryData[0].(layers.LinkType)), ts: ci.Timestamp, data: data})
		}
	}
	r, err := pcapgo.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, capFrame{link: r.LinkType(), ts: ci.Timestamp, data: data})
	}
}

// sipLabel returns the method of a request or the status code of a
// response, and the Call-ID (long or compact form).
func sipLabel(msg []byte) (label, callID string) {
	line, rest, _ := bytes.Cut(msg, []byte("\n"))
	line = bytes.TrimRight(line, "\r")
	f := strings.Fields(string(line))
	if len(f) >= 2 {
		if strings.EqualFold(f[0], "SIP/2.0") {
			label = f[1]
		} else {
			label = f[0]
		}
	}
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\n"))
		l = bytes.TrimRight(l, "\r")
		if len(l) == 0 {
			break
		}
		name, val, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		n := strings.TrimSpace(string(name))
		if strings.EqualFold(n, "call-id") || strings.EqualFold(n, "i") {
			return label, strings.TrimSpace(string(val))
		}
	}
	return label, ""
}

// decodeAll runs a fresh decoder over frames and checks invariants.
func decodeAll(tb testing.TB, cfg Config, frames []capFrame) (msgs []Message, d *Decoder) {
	tb.Helper()
	d = NewDecoder(cfg)
	var buf []Message
	for i, f := range frames {
		n := uint64(i + 1)
		buf = d.Decode(n, f.ts, f.link, f.data, buf[:0])
		for _, m := range buf {
			checkPieces(tb, m, frames)
			m.Data = append([]byte(nil), m.Data...)
			m.Pieces = append([]Piece(nil), m.Pieces...)
			msgs = append(msgs, m)
		}
		if o, ok := d.Oldest(); ok && o > n {
			tb.Fatalf("frame %d: Oldest %d is in the future", n, o)
		}
		checkHolds(tb, d)
	}
	return msgs, d
}

// checkPieces verifies that the pieces of m cover Data exactly and that
// each piece's bytes (unmasked) equal the frame bytes.
func checkPieces(tb testing.TB, m Message, frames []capFrame) {
	tb.Helper()
	if len(m.Pieces) == 0 {
		if m.Transport != TLS && m.Transport != WSS {
			tb.Fatalf("frame %d: %s message without pieces", m.Frame, m.Transport)
		}
		return
	}
	off := 0
	for _, p := range m.Pieces {
		if p.MsgOff != off {
			tb.Fatalf("frame %d: piece at %d, want %d", m.Frame, p.MsgOff, off)
		}
		if p.Frame == 0 || p.Frame > uint64(len(frames)) || p.Frame > m.Frame {
			tb.Fatalf("frame %d: piece in frame %d", m.Frame, p.Frame)
		}
		fb := frames[p.Frame-1].data
		if p.FrameOff < 0 || p.FrameOff+p.Len > len(fb) {
			tb.Fatalf("frame %d: piece out of frame %d", m.Frame, p.Frame)
		}
		for i := 0; i < p.Len; i++ {
			b := fb[p.FrameOff+i]
			if p.Masked {
				b ^= p.Mask[i&3]
			}
			if b != m.Data[p.MsgOff+i] {
				tb.Fatalf("frame %d: piece byte %d differs from frame %d", m.Frame, p.MsgOff+i, p.Frame)
			}
		}
		off += p.Len
	}
	if off != len(m.Data) {
		tb.Fatalf("frame %d: pieces cover %d of %d bytes", m.Frame, off, len(m.Data))
	}
}

// checkHolds recomputes the frame holds from the decoder's state and
// compares them with the incremental counts.
func checkHolds(tb testing.TB, d *Decoder) {
	tb.Helper()
	var want holds
	for _, dg := range d.frags.m {
		for _, fr := range dg.frags {
			want.pieces(fr.pcs, 1)
		}
	}
	for c := d.tcp.head; c != nil; c = c.next {
		for di := range c.dirs {
			td := &c.dirs[di]
			for _, s := range td.ooo {
				want.pieces(s.pcs, 1)
			}
			want.pieces(td.up.pcs, 1)
			want.pieces(td.up.ws.pcs, 1)
		}
	}
	for _, p := range d.sctp.partials {
		want.pieces(p.pcs, 1)
	}
	got := map[uint64]int32{}
	for i := d.holds.head; i < len(d.holds.frames); i++ {
		if d.holds.counts[i] > 0 {
			got[d.holds.frames[i]] = d.holds.counts[i]
		}
	}
	exp := map[uint64]int32{}
	for i := range want.frames {
		if want.counts[i] > 0 {
			exp[want.frames[i]] = want.counts[i]
		}
	}
	if len(got) != len(exp) {
		tb.Fatalf("holds: got %v, want %v", got, exp)
	}
	for f, n := range exp {
		if got[f] != n {
			tb.Fatalf("holds: got %v, want %v", got, exp)
		}
	}
	if len(d.tcp.m) > 0 {
		n := 0
		for c := d.tcp.head; c != nil; c = c.next {
			n++
		}
		if n != len(d.tcp.m) {
			tb.Fatalf("activity list has %d connections, table %d", n, len(d.tcp.m))
		}
	}
	buffered := 0
	for c := d.tcp.head; c != nil; c = c.next {
		for di := range c.dirs {
			buffered += c.dirs[di].oooBytes + c.dirs[di].up.held()
		}
	}
	if buffered != d.tcp.buffered {
		tb.Fatalf("buffered bytes: counted %d, tracked %d", buffered, d.tcp.buffered)
	}
}
