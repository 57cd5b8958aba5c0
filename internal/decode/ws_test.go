package decode

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// wsFrame builds a WebSocket frame (RFC 6455 §5.2); key nil means unmasked.
func wsFrameBytes(fin bool, rsv, op byte, key []byte, payload string) string {
	b0 := rsv<<4 | op
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	var m byte
	if key != nil {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, m|byte(n))
	case n < 1<<16:
		out = append(out, m|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, m|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	p := []byte(payload)
	if key != nil {
		out = append(out, key...)
		for i := range p {
			p[i] ^= key[i&3]
		}
	}
	return string(append(out, p...))
}

const (
	wsUpgradeReq = "GET / HTTP/1.1\r\nHost: sbc.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n"
	wsUpgradeResp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
)

func TestWebSocket(t *testing.T) {
	inv, ok := sipInvite, sip200
	k1 := []byte{0x11, 0x22, 0x33, 0x44}
	k2 := []byte{0xa5, 0x5a, 0x0f, 0xf0}
	bigBinary := strings.Repeat("\x00\x01\x02", 40000)
	bigSIP := strings.Replace(inv, "Content-Length: 4\r\n\r\nv=0\n", "Content-Length: 70000\r\n\r\n"+strings.Repeat("x", 70000), 1)
	up := func(client, server []string) []tcpSeg {
		segs := []tcpSeg{syn(1000, false), syn(5000, true)}
		segs = append(segs, seqs(1000, false, append([]string{wsUpgradeReq}, client...)...)[0])
		segs = append(segs, seqs(5000, true, append([]string{wsUpgradeResp}, server...)...)[0])
		cs := seqs(1000, false, append([]string{wsUpgradeReq}, client...)...)[1:]
		ss := seqs(5000, true, append([]string{wsUpgradeResp}, server...)...)[1:]
		return append(append(segs, cs...), ss...)
	}
	masked := wsFrameBytes(true, 0, 1, k1, inv)
	bigSIPFrames := chunks(wsFrameBytes(true, 0, 1, k1, bigSIP), 1400)
	bigBinFrames := chunks(wsFrameBytes(true, 0, 2, k1, bigBinary), 1400)
	fragSplit := chunks(wsFrameBytes(false, 0, 1, k1, inv[:60])+wsFrameBytes(true, 0, 0, k2, inv[60:]), 25)
	tests := []struct {
		name      string
		cfg       Config
		segs      []tcpSeg
		want      []wantMsg
		malformed int
	}{
		{name: "upgrade, masked client and unmasked server frames",
			segs: up([]string{masked}, []string{wsFrameBytes(true, 0, 1, nil, ok)}),
			want: []wantMsg{{5, inv}, {6, ok}}},
		{name: "fragmented masked message with a ping between fragments",
			segs: up([]string{
				wsFrameBytes(false, 0, 1, k1, inv[:30]),
				wsFrameBytes(true, 0, 9, k2, "ping"),
				wsFrameBytes(false, 0, 0, k2, inv[30:81]),
				wsFrameBytes(true, 0, 0, k1, inv[81:]),
			}, nil),
			want: []wantMsg{{8, inv}}},
		{name: "frame split across segments",
			segs: up([]string{masked[:1], masked[1:5], masked[5:40], masked[40:]}, nil),
			want: []wantMsg{{8, inv}}},
		{name: "fragmented message, frames split across segments",
			segs: up(fragSplit, nil),
			want: []wantMsg{{uint64(4 + len(fragSplit)), inv}}},
		{name: "two frames in one segment, binary opcode",
			segs: up([]string{wsFrameBytes(true, 0, 2, k1, inv) + wsFrameBytes(true, 0, 1, k2, ok)}, nil),
			want: []wantMsg{{5, inv}, {5, ok}}},
		{name: "64-bit length",
			segs: up(bigSIPFrames, nil),
			want: []wantMsg{{uint64(4 + len(bigSIPFrames)), bigSIP}}},
		{name: "large binary message skipped",
			segs: up(append(bigBinFrames, wsFrameBytes(true, 0, 1, k2, inv)), nil),
			want: []wantMsg{{uint64(5 + len(bigBinFrames)), inv}}},
		{name: "compressed message skipped",
			segs:      up([]string{wsFrameBytes(true, 4, 1, k1, "compressed"), masked}, nil),
			want:      []wantMsg{{6, inv}},
			malformed: 1},
		{name: "continuation without a start",
			segs:      up([]string{wsFrameBytes(true, 0, 0, k1, "tail"), masked}, nil),
			want:      []wantMsg{{6, inv}},
			malformed: 1},
		{name: "no upgrade seen, port without hint",
			cfg:  Config{PortHints: []uint16{}},
			segs: seqs(1000, false, wsFrameBytes(true, 0, 1, k1, inv), wsFrameBytes(true, 0, 1, k2, ok)),
			want: []wantMsg{{1, inv}, {2, ok}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			tc.cfg.OnMalformed = func(uint64, error) { n++ }
			frames := make([][]byte, len(tc.segs))
			for i, sg := range tc.segs {
				sg.sport, sg.dport = 51000, 8080
				frames[i] = tcpFrame(t, sg)
			}
			msgs, d := run(t, tc.cfg, layers.LinkTypeEthernet, frames...)
			var got []wantMsg
			for _, m := range msgs {
				if m.Transport != WS {
					t.Errorf("transport %s", m.Transport)
				}
				got = append(got, wantMsg{m.Frame, string(m.Data)})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d messages %v, want %d", len(got), short(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("message %d: got %v, want %v", i, short(got[i:i+1]), short(tc.want[i:i+1]))
				}
			}
			if n != tc.malformed {
				t.Errorf("malformed %d, want %d", n, tc.malformed)
			}
			if d.tcp.buffered > 80000 {
				t.Errorf("buffered %d", d.tcp.buffered)
			}
		})
	}
}

// chunks splits s into TCP-segment-sized parts.
func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		out, s = append(out, s[:n]), s[n:]
	}
	return append(out, s)
}

// TestWebSocketPiecesMasked checks that a fragmented masked message maps
// to the frames with the mask rotated per piece.
func TestWebSocketPiecesMasked(t *testing.T) {
	k := []byte{1, 2, 3, 4}
	parts := []string{wsFrameBytes(false, 0, 1, k, sipInvite[:33]), wsFrameBytes(true, 0, 0, k, sipInvite[33:])}
	segs := append([]tcpSeg{syn(1000, false)}, seqs(1000, false, append([]string{wsUpgradeReq}, parts...)...)...)
	frames := make([][]byte, len(segs))
	for i, sg := range segs {
		frames[i] = tcpFrame(t, sg)
	}
	msgs, _ := run(t, Config{}, layers.LinkTypeEthernet, frames...)
	if len(msgs) != 1 || len(msgs[0].Pieces) != 2 {
		t.Fatalf("got %d messages", len(msgs))
	}
	p := msgs[0].Pieces[1]
	if !p.Masked || p.Mask != [4]byte{1, 2, 3, 4} || p.MsgOff != 33 {
		t.Errorf("second piece %+v", p)
	}
	// checkPieces (in run) already compared every unmasked byte.
}
