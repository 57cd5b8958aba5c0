package decode

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
	"github.com/gopacket/gopacket/layers"
)

// fuzzLinks are the link types FuzzDecode chooses from.
var fuzzLinks = [...]layers.LinkType{
	layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, linkTypeSLL2, layers.LinkTypeRaw,
	layers.LinkTypeNull, layers.LinkTypeLoop, linkTypeIPv4, linkTypeIPv6, layers.LinkTypePPP,
}

// fuzzConfig keeps bounds small so eviction and expiry paths run.
func fuzzConfig() Config {
	return Config{
		MaxFragmentDatagrams: 4, MaxFragmentBytes: 8 << 10, FragmentTimeout: 50 * time.Millisecond,
		MaxStreams: 4, MaxOutOfOrder: 4, GapTimeout: 20 * time.Millisecond, ResyncBudget: 512,
		OnMalformed: func(uint64, error) {},
	}
}

// packFrames encodes frames as a fuzz input: link selector, then each frame
// as a 2-byte length and its bytes.
func packFrames(sel byte, frames ...[]byte) []byte {
	out := []byte{sel}
	for _, f := range frames {
		out = binary.BigEndian.AppendUint16(out, uint16(len(f)))
		out = append(out, f...)
	}
	return out
}

func unpackFrames(in []byte) (layers.LinkType, []capFrame) {
	if len(in) == 0 {
		return 0, nil
	}
	link := fuzzLinks[int(in[0])%len(fuzzLinks)]
	in = in[1:]
	var out []capFrame
	for i := 0; len(in) > 0 && i < 64; i++ {
		n := len(in)
		if len(in) >= 2 {
			n = min(int(binary.BigEndian.Uint16(in)), len(in)-2)
			in = in[2:]
		}
		out = append(out, capFrame{link: link, ts: t0.Add(time.Duration(i) * 10 * time.Millisecond), data: in[:n]})
		in = in[n:]
	}
	return link, out
}

// checkDecode decodes frames and checks every invariant the pipeline
// relies on: pieces map Data exactly, holds match the state, Oldest is
// never ahead, a same-bytes Rewrite succeeds, FixChecksums never panics,
// and Reset releases everything.
func checkDecode(t *testing.T, frames []capFrame) []Message {
	msgs, d := decodeAll(t, fuzzConfig(), frames)
	held := make([][]byte, len(frames))
	for i, f := range frames {
		held[i] = append([]byte(nil), f.data...)
	}
	get := func(n uint64) (layers.LinkType, []byte, bool) {
		if n == 0 || n > uint64(len(held)) {
			return 0, nil, false
		}
		return frames[n-1].link, held[n-1], true
	}
	for i := range msgs {
		if len(msgs[i].Pieces) == 0 {
			continue
		}
		if err := Rewrite(&msgs[i], msgs[i].Data, get); err != nil {
			// Only a frame whose headers FixChecksums rejects may fail.
			if !strings.Contains(err.Error(), ErrBadFrame.Error()) {
				t.Fatalf("identity rewrite: %v", err)
			}
		}
	}
	for _, f := range held {
		for _, l := range fuzzLinks {
			_ = FixChecksums(l, append([]byte(nil), f...))
		}
	}
	d.Reset()
	if _, ok := d.Oldest(); ok {
		t.Fatal("frames held after Reset")
	}
	checkHolds(t, d)
	return msgs
}

// FuzzDecode feeds whole frames of several link types.
func FuzzDecode(f *testing.F) {
	for _, path := range testenv.CaptureFiles(f) {
		frames := readCapture(f, path)
		sel := byte(0)
		for i, l := range fuzzLinks {
			if l == frames[0].link {
				sel = byte(i)
			}
		}
		// A few windows of consecutive frames per capture; big frames are
		// cut (the fuzzer slows down a lot on large inputs).
		for start := 0; start < len(frames) && start < 32; start += 8 {
			var fs [][]byte
			for _, fr := range frames[start:min(start+8, len(frames))] {
				fs = append(fs, fr.data[:min(len(fr.data), 2048)])
			}
			f.Add(packFrames(sel, fs...))
		}
	}
	pkt := serialize(f, udpLayers(5060, 5060, []byte(sipInvite))...)
	f.Add(packFrames(0, fragments4(f, pkt, 1, [2]int{64, 128}, [2]int{0, 64}, [2]int{128, len(pkt) - 20})...))
	f.Fuzz(func(t *testing.T, in []byte) {
		_, frames := unpackFrames(in)
		checkDecode(t, frames)
	})
}

// fuzzStream is the byte stream FuzzTCPReassembly's segments are cut
// from, so that retransmissions and overlaps carry consistent bytes.
var fuzzStream = strings.Repeat(sipInvite+"\r\n\r\n"+sip200, 8)

// fuzzTCP builds an Ethernet/IPv4/TCP frame by hand (faster than gopacket
// inside the fuzz loop; checksums do not matter to the decoder).
func fuzzTCP(rev bool, seq uint32, flags byte, payload []byte) []byte {
	b := make([]byte, 14+20+20, 14+20+20+len(payload))
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(40+len(payload)))
	ip[8], ip[9] = 64, 6
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp, 40000)
	binary.BigEndian.PutUint16(tcp[2:], 5060)
	if rev {
		copy(ip[12:], []byte{10, 0, 0, 2, 10, 0, 0, 1})
		binary.BigEndian.PutUint16(tcp, 5060)
		binary.BigEndian.PutUint16(tcp[2:], 40000)
	}
	binary.BigEndian.PutUint32(tcp[4:], seq)
	tcp[12], tcp[13] = 5<<4, flags
	return append(b, payload...)
}

// FuzzTCPReassembly feeds a sequence of segments: each is 4 bytes (flags,
// sequence offset, length) cut from fuzzStream, or, when flag bit 0x80 is
// set, carrying the input's own bytes. Flag bits: 0x01 FIN, 0x02 SYN, 0x04
// RST, 0x08 no ACK, 0x40 reverse direction.
func FuzzTCPReassembly(f *testing.F) {
	seg := func(flags byte, off, n int) []byte {
		return []byte{flags, byte(off >> 8), byte(off), byte(n)}
	}
	inv := len(sipInvite)
	f.Add(append(append(seg(0x02, 0, 0), seg(0x10, 1, 100)...), seg(0x10, 101, 200)...))
	f.Add(append(append(seg(0x10, 101, 200), seg(0x10, 1, 150)...), seg(0x11, 301, 50)...))
	f.Add(append(append(seg(0x10, 50, 200), seg(0x10, 250, 255)...), seg(0x14, 505, 10)...))
	f.Add(append(append(seg(0x10, inv, 255), seg(0x10, 1, 255)...), seg(0x90, 2, 5)...))
	// Raw malformed messages: a bad Content-Length frames as 0 and the
	// body after it is resynchronised over; a header line without colon.
	bad := "INVITE sip:x@y SIP/2.0\r\nContent-Length: abc\r\n\r\nv=0\r\nSIP/2.0 200 OK\r\nl: 0\r\n\r\n"
	noColon := "SIP/2.0 200 OK\r\nNo colon here\r\nl: 2\r\n\r\nok"
	f.Add(append(append(seg(0x02, 0, 0), seg(0x90, 1, len(bad))...), bad...))
	f.Add(append(append(append(seg(0x02, 0, 0), seg(0x90, 1, len(noColon))...), noColon...), seg(0x10, 1, 200)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		var frames []capFrame
		raw := false
		for i := 0; len(in) >= 4 && i < 64; i++ {
			flags, off, n := in[0], int(binary.BigEndian.Uint16(in[1:])), int(in[3])
			in = in[4:]
			var p []byte
			if flags&0x80 != 0 {
				n = min(n, len(in))
				p, in = in[:n], in[n:]
				raw = true
			} else if a := off + int(flags&0x02>>1); a < len(fuzzStream) {
				// A SYN's data starts one past its sequence number.
				p = []byte(fuzzStream[a:min(a+n, len(fuzzStream))])
			}
			tf := flags & 0x07 // FIN, SYN, RST
			if flags&0x08 == 0 {
				tf |= 0x10 // ACK
			}
			fr := fuzzTCP(flags&0x40 != 0, uint32(1000+off), tf, p)
			frames = append(frames, capFrame{link: layers.LinkTypeEthernet, ts: t0.Add(time.Duration(i) * 5 * time.Millisecond), data: fr})
		}
		for _, m := range checkDecode(t, frames) {
			// Cut from the consistent stream, a message is a whole message
			// or, when picked up mid-way at a token that happens to form a
			// start line ("NVITE sip:..."), a suffix of one.
			if !raw && !strings.HasSuffix(sipInvite, string(m.Data)) && !strings.HasSuffix(sip200, string(m.Data)) {
				t.Fatalf("message not from the stream: %q", m.Data)
			}
		}
	})
}

// FuzzWebSocket feeds the client side of a WebSocket connection after the
// upgrade, cut into segments of the size given by the first input byte.
func FuzzWebSocket(f *testing.F) {
	k := []byte{1, 2, 3, 4}
	f.Add(byte(100), []byte(wsFrameBytes(true, 0, 1, k, sipInvite)+wsFrameBytes(true, 0, 2, nil, sip200)))
	f.Add(byte(7), []byte(wsFrameBytes(false, 0, 1, k, sipInvite[:30])+wsFrameBytes(true, 0, 9, k, "p")+
		wsFrameBytes(true, 0, 0, k, sipInvite[30:])))
	f.Add(byte(255), []byte(wsFrameBytes(true, 4, 1, k, "zz")+wsFrameBytes(true, 0, 0, k, "tail")+
		wsFrameBytes(true, 0, 1, nil, strings.Repeat("x", 300))))
	f.Fuzz(func(t *testing.T, size byte, stream []byte) {
		n := max(int(size), 1)
		frames := []capFrame{
			{link: layers.LinkTypeEthernet, ts: t0, data: fuzzTCP(false, 1000, 0x02, nil)},
			{link: layers.LinkTypeEthernet, ts: t0, data: fuzzTCP(false, 1001, 0x18, []byte(wsUpgradeReq))},
		}
		seq := uint32(1001 + len(wsUpgradeReq))
		for i := 0; len(stream) > 0 && i < 64; i++ {
			p := stream[:min(n, len(stream))]
			stream = stream[len(p):]
			frames = append(frames, capFrame{link: layers.LinkTypeEthernet, ts: t0, data: fuzzTCP(false, seq, 0x18, p)})
			seq += uint32(len(p))
		}
		for _, m := range checkDecode(t, frames) {
			if m.Transport != WS {
				t.Fatalf("transport %s", m.Transport)
			}
		}
	})
}
