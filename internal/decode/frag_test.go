package decode

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// fragments4 splits the IPv4 packet pkt into Ethernet frames, one per
// payload range [a,b) (offsets multiple of 8, the last one ending the
// payload).
func fragments4(tb testing.TB, pkt []byte, id uint16, ranges ...[2]int) [][]byte {
	tb.Helper()
	hl := int(pkt[0]&0x0f) * 4
	payload := pkt[hl:]
	var out [][]byte
	for _, r := range ranges {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: id, Protocol: layers.IPProtocol(pkt[9]),
			SrcIP: pkt[12:16], DstIP: pkt[16:20], FragOffset: uint16(r[0] / 8)}
		if r[1] < len(payload) {
			ip.Flags = layers.IPv4MoreFragments
		}
		out = append(out, serialize(tb, ether(layers.EthernetTypeIPv4), ip, gopacket.Payload(payload[r[0]:r[1]])))
	}
	return out
}

func TestIPv4Fragments(t *testing.T) {
	pkt := serialize(t, udpLayers(5060, 5060, []byte(sipInvite))...)
	n := len(pkt) - 20
	tcpPkt := func() []byte {
		ip := ipv4(ip4A, ip4B, layers.IPProtocolTCP)
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 5060, Seq: 1, ACK: true, PSH: true, Window: 100}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		return serialize(t, ip, tcp, gopacket.Payload(sipInvite))
	}()
	tests := []struct {
		name   string
		frames [][]byte
		want   uint64 // completing frame, 0 for none
		check  func(t *testing.T, st Stats)
	}{
		{name: "in order", frames: fragments4(t, pkt, 1, [2]int{0, 64}, [2]int{64, 128}, [2]int{128, n}), want: 3},
		{name: "reverse order", frames: fragments4(t, pkt, 1, [2]int{128, n}, [2]int{64, 128}, [2]int{0, 64}), want: 3},
		{name: "duplicate and overlap",
			frames: fragments4(t, pkt, 1, [2]int{0, 64}, [2]int{0, 64}, [2]int{32, 128}, [2]int{128, n}), want: 4,
			check: func(t *testing.T, st Stats) {
				if st.FragmentOverlaps != 2 || st.FragmentsReassembled != 1 {
					t.Errorf("stats %+v", st)
				}
			}},
		{name: "missing fragment", frames: fragments4(t, pkt, 1, [2]int{0, 64}, [2]int{128, n}), want: 0},
		{name: "conflicting last fragments",
			frames: append(fragments4(t, pkt, 1, [2]int{128, n}, [2]int{0, 64}),
				fragments4(t, pkt[:20+120], 1, [2]int{64, 120})...), want: 0,
			check: func(t *testing.T, st Stats) {
				if st.FragmentsDropped == 0 {
					t.Errorf("stats %+v", st)
				}
			}},
		{name: "TCP segment in fragments", frames: fragments4(t, tcpPkt, 1, [2]int{0, 64}, [2]int{64, len(tcpPkt) - 20}), want: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msgs, d := run(t, Config{}, layers.LinkTypeEthernet, tc.frames...)
			if tc.want == 0 {
				if len(msgs) != 0 {
					t.Fatalf("got %d messages", len(msgs))
				}
			} else {
				if len(msgs) != 1 || msgs[0].Frame != tc.want || string(msgs[0].Data) != sipInvite {
					t.Fatalf("got %d messages", len(msgs))
				}
				for _, p := range msgs[0].Pieces {
					if len(p.Sums) != 1 {
						t.Errorf("piece %+v: want one checksum ref", p)
					}
				}
			}
			if tc.check != nil {
				tc.check(t, d.Stats())
			}
		})
	}
}

// TestFragmentBounds checks expiry on capture time and the datagram limit.
func TestFragmentBounds(t *testing.T) {
	pkt := serialize(t, udpLayers(5060, 5060, []byte(sipInvite))...)
	d := NewDecoder(Config{MaxFragmentDatagrams: 2, FragmentTimeout: time.Second})
	for i := range 3 {
		f := fragments4(t, pkt, uint16(i), [2]int{0, 64})[0]
		d.Decode(uint64(i+1), t0, layers.LinkTypeEthernet, f, nil)
	}
	if st := d.Stats(); st.FragmentsDropped != 1 || len(d.frags.m) != 2 {
		t.Errorf("stats %+v, pending %d", st, len(d.frags.m))
	}
	if o, ok := d.Oldest(); !ok || o != 2 {
		t.Errorf("Oldest %d %v, want 2", o, ok)
	}
	checkHolds(t, d)
	d.Decode(4, t0.Add(2*time.Second), layers.LinkTypeEthernet, serialize(t, ether(layers.EthernetTypeARP)), nil)
	if st := d.Stats(); st.FragmentsExpired != 2 || len(d.frags.m) != 0 {
		t.Errorf("stats %+v, pending %d", st, len(d.frags.m))
	}
	if _, ok := d.Oldest(); ok {
		t.Error("Oldest after expiry")
	}
	checkHolds(t, d)
}

// TestIPv6Fragments reassembles an IPv6 datagram with a Hop-by-Hop header
// before the Fragment header and Destination Options after it.
func TestIPv6Fragments(t *testing.T) {
	u := &layers.UDP{SrcPort: 5060, DstPort: 5060}
	_ = u.SetNetworkLayerForChecksum(ipv6(ip6A, ip6B, layers.IPProtocolUDP))
	udp := serialize(t, u, gopacket.Payload(sipInvite))
	// Fragmentable part: Destination Options (next UDP, 8 bytes) + UDP.
	frag := append([]byte{17, 0, 1, 4, 0, 0, 0, 0}, udp...)
	mk := func(a, b int, more bool) []byte {
		hbh := []byte{44, 0, 1, 4, 0, 0, 0, 0}
		fo := uint16(a)
		if more {
			fo |= 1
		}
		fh := append([]byte{60, 0}, binary.BigEndian.AppendUint16(nil, fo)...)
		fh = append(fh, 0, 0, 0x12, 0x34)
		ip := ipv6(ip6A, ip6B, layers.IPProtocolIPv6HopByHop)
		return serialize(t, ether(layers.EthernetTypeIPv6), ip, raw(hbh...), raw(fh...), gopacket.Payload(frag[a:b]))
	}
	frames := [][]byte{mk(64, len(frag), false), mk(0, 64, true)}
	msgs, d := run(t, Config{}, layers.LinkTypeEthernet, frames...)
	if len(msgs) != 1 || msgs[0].Frame != 2 || string(msgs[0].Data) != sipInvite {
		t.Fatalf("got %d messages, stats %+v", len(msgs), d.Stats())
	}
}

// TestSCTP decodes bundled and fragmented DATA chunks.
func TestSCTP(t *testing.T) {
	chunk := func(flags byte, tsn uint32, sid uint16, data string) []byte {
		l := 16 + len(data)
		b := []byte{0, flags}
		b = binary.BigEndian.AppendUint16(b, uint16(l))
		b = binary.BigEndian.AppendUint32(b, tsn)
		b = binary.BigEndian.AppendUint16(b, sid)
		b = append(b, 0, 0, 0, 0, 0, 0) // SSN, PPID 0
		b = append(b, data...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	pkt := func(chunks ...[]byte) []byte {
		b := []byte{0x13, 0xc4, 0x13, 0xc4, 0, 0, 0, 1, 0, 0, 0, 0}
		for _, c := range chunks {
			b = append(b, c...)
		}
		binary.LittleEndian.PutUint32(b[8:], 0)
		return serialize(t, ether(layers.EthernetTypeIPv4), ipv4(ip4A, ip4B, layers.IPProtocolSCTP), gopacket.Payload(b))
	}
	inv := sipInvite
	frames := [][]byte{
		pkt(chunk(3, 1, 0, inv), chunk(3, 2, 1, sip200)),              // bundled, whole
		pkt(chunk(2, 3, 0, inv[:50])),                                 // B
		pkt(chunk(0, 4, 0, inv[50:100]), chunk(0, 4, 0, inv[50:100])), // middle + retransmission
		pkt(chunk(1, 5, 0, inv[100:])),                                // E
		pkt(chunk(0, 9, 0, "orphan middle")),
	}
	msgs, d := run(t, Config{}, layers.LinkTypeEthernet, frames...)
	if len(msgs) != 3 || msgs[2].Frame != 4 || string(msgs[2].Data) != inv || msgs[1].Transport != SCTP {
		t.Fatalf("got %d messages, stats %+v", len(msgs), d.Stats())
	}
	if len(msgs[2].Pieces) != 3 {
		t.Errorf("pieces %+v", msgs[2].Pieces)
	}
}
