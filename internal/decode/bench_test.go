package decode

import (
	"path/filepath"
	"testing"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
	"github.com/gopacket/gopacket/layers"
)

// BenchmarkDecodeUDP decodes one Ethernet/IPv4/UDP frame carrying an
// INVITE.
func BenchmarkDecodeUDP(b *testing.B) {
	f := serialize(b, with(udpLayers(5060, 5060, []byte(sipInvite)), ether(layers.EthernetTypeIPv4))...)
	d := NewDecoder(Config{})
	var dst []Message
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	n := uint64(0)
	for b.Loop() {
		n++
		dst = d.Decode(n, t0, layers.LinkTypeEthernet, f, dst[:0])
	}
	if len(dst) != 1 {
		b.Fatal("no message")
	}
}

// BenchmarkDecodeTCPInOrder decodes in-order TCP segments each carrying two
// whole messages on an established connection.
func BenchmarkDecodeTCPInOrder(b *testing.B) {
	payload := sipInvite + sip200
	seg := tcpFrame(b, tcpSeg{seq: 1001, payload: payload})
	d := NewDecoder(Config{})
	d.Decode(1, t0, layers.LinkTypeEthernet, tcpFrame(b, syn(1000, false)), nil)
	var dst []Message
	seq := uint32(1001)
	n := uint64(1)
	b.SetBytes(int64(len(seg)))
	b.ReportAllocs()
	for b.Loop() {
		n++
		setSeq(seg, seq)
		seq += uint32(len(payload))
		dst = d.Decode(n, t0, layers.LinkTypeEthernet, seg, dst[:0])
	}
	if len(dst) != 2 {
		b.Fatal("no message")
	}
}

// BenchmarkDecodeCorpus decodes the port-6060 TCP capture (1542 frames,
// 406 messages, 234 of them split over segments) per op.
func BenchmarkDecodeCorpus(b *testing.B) {
	frames := readCapture(b, filepath.Join(testenv.Captures(b), "heplify__sip_ipv4_tcp_fragmented_port6060-segmented.pcap"))
	d := NewDecoder(Config{})
	var dst []Message
	size := 0
	for _, f := range frames {
		size += len(f.data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		d.Reset()
		for i, f := range frames {
			dst = d.Decode(uint64(i+1), f.ts, f.link, f.data, dst[:0])
		}
	}
}
