package decode

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// redacted is sipInvite with the user part rewritten, same length.
var redacted = strings.ReplaceAll(sipInvite, "bob", "xxx")

// holdFrames serves frames to Rewrite from a slice (frame n at index n-1).
func holdFrames(link layers.LinkType, frames [][]byte) FrameFunc {
	return func(n uint64) (layers.LinkType, []byte, bool) {
		if n == 0 || n > uint64(len(frames)) {
			return 0, nil, false
		}
		return link, frames[n-1], true
	}
}

// TestRewriteSingleFrame rewrites a message in place and compares the
// frame with the one gopacket builds around the new message: payload and
// every checksum, inner and outer, must match.
func TestRewriteSingleFrame(t *testing.T) {
	vxlan := func(p string) []byte {
		inner := serialize(t, with(udpLayers(5060, 5060, []byte(p)), ether(layers.EthernetTypeIPv4))...)
		ip := ipv4(ip4B, ip4A, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: 33333, DstPort: 4789}
		_ = u.SetNetworkLayerForChecksum(ip)
		return serialize(t, ether(layers.EthernetTypeIPv4), ip, u, &layers.VXLAN{ValidIDFlag: true, VNI: 1}, gopacket.Payload(inner))
	}
	greCsum := func(p string) []byte {
		inner := serialize(t, udp6Layers(5060, 5060, []byte(p))...)
		return serialize(t, ether(layers.EthernetTypeIPv4), ipv4(ip4B, ip4A, layers.IPProtocolGRE),
			&layers.GRE{Protocol: layers.EthernetTypeIPv6, ChecksumPresent: true}, gopacket.Payload(inner))
	}
	noUDPSum := func(p string) []byte {
		f := serialize(t, with(udpLayers(5060, 5060, []byte(p)), ether(layers.EthernetTypeIPv4))...)
		f[14+20+6], f[14+20+7] = 0, 0
		return f
	}
	sctp := func(p string) []byte {
		ip := ipv4(ip4A, ip4B, layers.IPProtocolSCTP)
		return serialize(t, ether(layers.EthernetTypeIPv4), ip, &layers.SCTP{SrcPort: 5060, DstPort: 5060, VerificationTag: 1},
			&layers.SCTPData{SCTPChunk: layers.SCTPChunk{Type: layers.SCTPChunkTypeData, Length: uint16(16 + len(p))},
				BeginFragment: true, EndFragment: true, TSN: 1, Payload: []byte(p)})
	}
	tests := []struct {
		name  string
		link  layers.LinkType
		build func(payload string) []byte
	}{
		{"IPv4 UDP", layers.LinkTypeEthernet, func(p string) []byte {
			return serialize(t, with(udpLayers(5060, 5060, []byte(p)), ether(layers.EthernetTypeIPv4))...)
		}},
		{"IPv6 UDP raw", layers.LinkTypeRaw, func(p string) []byte { return serialize(t, udp6Layers(5060, 5060, []byte(p))...) }},
		{"UDP without checksum", layers.LinkTypeEthernet, noUDPSum},
		{"TCP", layers.LinkTypeEthernet, func(p string) []byte { return tcpFrame(t, tcpSeg{seq: 1, payload: p}) }},
		{"SCTP", layers.LinkTypeEthernet, sctp},
		{"VXLAN outer UDP checksum", layers.LinkTypeEthernet, vxlan},
		{"GRE checksum", layers.LinkTypeEthernet, greCsum},
		{"WebSocket masked", layers.LinkTypeEthernet, func(p string) []byte {
			return tcpFrame(t, tcpSeg{seq: 1, payload: wsFrameBytes(true, 0, 1, []byte{9, 8, 7, 6}, p), dport: 8080})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame := tc.build(sipInvite)
			want := tc.build(redacted)
			msgs, _ := run(t, Config{}, tc.link, frame)
			if len(msgs) != 1 {
				t.Fatalf("got %d messages", len(msgs))
			}
			frames := [][]byte{frame}
			if err := Rewrite(&msgs[0], []byte(redacted), holdFrames(tc.link, frames)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(frame, want) {
				t.Errorf("rewritten frame differs from the one built with the new message")
			}
		})
	}
}

// TestRewriteFragmented rewrites a UDP or TCP message split over IPv4
// fragments and checks the segment's checksum (in the first fragment)
// against gopacket's for the new message.
func TestRewriteFragmented(t *testing.T) {
	udp := func(p string) []byte { return serialize(t, udpLayers(5060, 5060, []byte(p))...) }
	tcp := func(p string) []byte {
		ip := ipv4(ip4A, ip4B, layers.IPProtocolTCP)
		seg := &layers.TCP{SrcPort: 40000, DstPort: 5060, Seq: 1, ACK: true, PSH: true, Window: 100}
		_ = seg.SetNetworkLayerForChecksum(ip)
		return serialize(t, ip, seg, gopacket.Payload(p))
	}
	for _, tc := range []struct {
		name  string
		build func(string) []byte
	}{{"UDP", udp}, {"TCP", tcp}} {
		t.Run(tc.name, func(t *testing.T) {
			pkt, want := tc.build(sipInvite), tc.build(redacted)
			n := len(pkt) - 20
			ranges := [][2]int{{64, 128}, {0, 64}, {128, n}}
			frames := fragments4(t, pkt, 7, ranges...)
			wantFrames := fragments4(t, want, 7, ranges...)
			msgs, _ := run(t, Config{}, layers.LinkTypeEthernet, frames...)
			if len(msgs) != 1 {
				t.Fatalf("got %d messages", len(msgs))
			}
			if err := Rewrite(&msgs[0], []byte(redacted), holdFrames(layers.LinkTypeEthernet, frames)); err != nil {
				t.Fatal(err)
			}
			for i := range frames {
				if !bytes.Equal(frames[i], wantFrames[i]) {
					t.Errorf("fragment %d differs from the one built with the new message", i)
				}
			}
		})
	}
}

// TestRewriteTCPAcrossSegments rewrites a message split over TCP segments
// (and masked WebSocket continuation frames).
func TestRewriteTCPAcrossSegments(t *testing.T) {
	k := []byte{1, 2, 3, 4}
	build := func(p string) [][]byte {
		parts := []string{wsUpgradeReq, wsFrameBytes(false, 0, 1, k, p[:33]), wsFrameBytes(true, 0, 0, k, p[33:])}
		segs := append([]tcpSeg{syn(1000, false)}, seqs(1000, false, parts...)...)
		var out [][]byte
		for _, sg := range segs {
			out = append(out, tcpFrame(t, sg))
		}
		return out
	}
	frames, want := build(sipInvite), build(redacted)
	msgs, _ := run(t, Config{}, layers.LinkTypeEthernet, frames...)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	if err := Rewrite(&msgs[0], []byte(redacted), holdFrames(layers.LinkTypeEthernet, frames)); err != nil {
		t.Fatal(err)
	}
	for i := range frames {
		if !bytes.Equal(frames[i], want[i]) {
			t.Errorf("frame %d differs", i+1)
		}
	}
}

func TestRewriteErrors(t *testing.T) {
	m := Message{Frame: 1, Data: []byte("abc"), Transport: TLS}
	if err := Rewrite(&m, []byte("xyz"), holdFrames(layers.LinkTypeEthernet, nil)); err == nil {
		t.Error("TLS message rewritten")
	}
	m.Pieces = []Piece{{Frame: 2, Len: 3}}
	if err := Rewrite(&m, []byte("xyz"), holdFrames(layers.LinkTypeEthernet, [][]byte{{1}})); err == nil {
		t.Error("missing frame accepted")
	}
	if err := Rewrite(&m, []byte("xy"), holdFrames(layers.LinkTypeEthernet, nil)); err == nil {
		t.Error("length change accepted")
	}
	if err := FixChecksums(layers.LinkTypeIEEE802_11, []byte{1, 2, 3}); err == nil {
		t.Error("unknown link type accepted")
	}
	if err := FixChecksums(layers.LinkTypeRaw, []byte{0x45, 0}); err == nil {
		t.Error("truncated frame accepted")
	}
}

// TestAdjustChecksum compares incremental updates with full recomputation.
func TestAdjustChecksum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		data := make([]byte, 1+r.IntN(300))
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		field := make([]byte, 2)
		sum := ^fold(sum16(data, 0))
		field[0], field[1] = byte(sum>>8), byte(sum)
		a := r.IntN(len(data))
		b := a + r.IntN(len(data)-a+1)
		old := append([]byte(nil), data[a:b]...)
		for j := a; j < b; j++ {
			if r.IntN(2) == 0 {
				data[j] = byte(r.Uint32())
			}
		}
		AdjustChecksum(field, a%2 == 1, false, old, data[a:b])
		got := uint16(field[0])<<8 | uint16(field[1])
		// 0x0000 and 0xffff are the same ones'-complement value.
		if want := ^fold(sum16(data, 0)); got != want && !(got|want == 0xffff && got&want == 0) {
			t.Fatalf("case %d: got %#04x, want %#04x", i, got, want)
		}
	}
	zero := []byte{0, 0}
	AdjustChecksum(zero, false, true, []byte{1}, []byte{2})
	if zero[0] != 0 || zero[1] != 0 {
		t.Error("UDP checksum 0 changed")
	}
}

// TestRewriteNestedFragments rewrites a UDP message fragmented inside a
// VXLAN tunnel whose outer packets are fragmented too: both the inner and
// the outer UDP checksums span frames, and the inner checksum field is
// itself covered by the outer one (ChecksumRef.Outer).
func TestRewriteNestedFragments(t *testing.T) {
	build := func(p string) [][]byte {
		inner := serialize(t, udpLayers(5060, 5060, []byte(p))...)
		var out [][]byte
		for i, ef := range fragments4(t, inner, 3, [2]int{0, 96}, [2]int{96, len(inner) - 20}) {
			ip := ipv4(ip4B, ip4A, layers.IPProtocolUDP)
			ip.Id = uint16(100 + i)
			u := &layers.UDP{SrcPort: 33333, DstPort: 4789}
			_ = u.SetNetworkLayerForChecksum(ip)
			outer := serialize(t, ip, u, &layers.VXLAN{ValidIDFlag: true, VNI: 1}, gopacket.Payload(ef))
			out = append(out, fragments4(t, outer, uint16(100+i), [2]int{0, 64}, [2]int{64, len(outer) - 20})...)
		}
		return out
	}
	frames, want := build(sipInvite), build(redacted)
	msgs, _ := run(t, Config{}, layers.LinkTypeEthernet, frames...)
	if len(msgs) != 1 || msgs[0].Frame != 4 {
		t.Fatalf("got %d messages", len(msgs))
	}
	outer := 0
	for _, p := range msgs[0].Pieces {
		for _, r := range p.Sums {
			outer += len(r.Outer)
		}
	}
	if outer == 0 {
		t.Fatal("no checksum ref covers the inner checksum field")
	}
	if err := Rewrite(&msgs[0], []byte(redacted), holdFrames(layers.LinkTypeEthernet, frames)); err != nil {
		t.Fatal(err)
	}
	for i := range frames {
		if !bytes.Equal(frames[i], want[i]) {
			t.Errorf("frame %d differs from the one built with the new message", i+1)
		}
	}
}
