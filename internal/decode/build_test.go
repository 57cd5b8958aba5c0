package decode

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Frame builders for hand-made tests. gopacket serialises the standard
// layers (with lengths and checksums); headers gopacket lacks (ERSPAN III,
// SLL2, GTP-U extension headers, Geneve options) are written by hand as
// raw payload bytes.

var (
	macA = net.HardwareAddr{0, 1, 2, 3, 4, 5}
	macB = net.HardwareAddr{0, 1, 2, 3, 4, 6}
	ip4A = net.IP{10, 0, 0, 1}
	ip4B = net.IP{10, 0, 0, 2}
	ip6A = net.ParseIP("2001:db8::1")
	ip6B = net.ParseIP("2001:db8::2")
	t0   = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
)

const sipInvite = "INVITE sip:bob@example.com SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\n" +
	"From: <sip:alice@example.com>;tag=1928301774\r\n" +
	"To: <sip:bob@example.com>\r\n" +
	"Call-ID: a84b4c76e66710@pc33.example.com\r\n" +
	"CSeq: 314159 INVITE\r\n" +
	"Content-Length: 4\r\n\r\nv=0\n"

const sip200 = "SIP/2.0 200 OK\r\n" +
	"Call-ID: a84b4c76e66710@pc33.example.com\r\n" +
	"CSeq: 314159 INVITE\r\n" +
	"l: 0\r\n\r\n"

// serialize builds a packet, fixing lengths and checksums.
func serialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		tb.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ether(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func ipv4(src, dst net.IP, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 0x1234, Protocol: proto, SrcIP: src, DstIP: dst}
}

func ipv6(src, dst net.IP, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: src, DstIP: dst}
}

// udpLayers returns IPv4/UDP/payload layers between A and B.
func udpLayers(sport, dport uint16, payload []byte) []gopacket.SerializableLayer {
	ip := ipv4(ip4A, ip4B, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	_ = u.SetNetworkLayerForChecksum(ip)
	return []gopacket.SerializableLayer{ip, u, gopacket.Payload(payload)}
}

// udp6Layers returns IPv6/UDP/payload layers between A and B.
func udp6Layers(sport, dport uint16, payload []byte) []gopacket.SerializableLayer {
	ip := ipv6(ip6A, ip6B, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	_ = u.SetNetworkLayerForChecksum(ip)
	return []gopacket.SerializableLayer{ip, u, gopacket.Payload(payload)}
}

// with prepends layers.
func with(ls []gopacket.SerializableLayer, outer ...gopacket.SerializableLayer) []gopacket.SerializableLayer {
	return append(append([]gopacket.SerializableLayer(nil), outer...), ls...)
}

// raw is a hand-written header.
func raw(b ...byte) gopacket.Payload { return gopacket.Payload(b) }

// tcpSeg describes one TCP segment from A:sport to B:dport (or back).
type tcpSeg struct {
	rev          bool // B -> A
	seq          uint32
	syn, fin     bool
	rst, noACK   bool
	payload      string
	sport, dport uint16
}

// tcpFrame builds an Ethernet/IPv4/TCP frame.
func tcpFrame(tb testing.TB, s tcpSeg) []byte {
	tb.Helper()
	src, dst := ip4A, ip4B
	sp, dp := s.sport, s.dport
	if sp == 0 {
		sp = 40000
	}
	if dp == 0 {
		dp = 5060
	}
	if s.rev {
		src, dst, sp, dp = dst, src, dp, sp
	}
	ip := ipv4(src, dst, layers.IPProtocolTCP)
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: s.seq, Ack: 1,
		SYN: s.syn, FIN: s.fin, RST: s.rst, ACK: !s.noACK, PSH: len(s.payload) > 0, Window: 65535}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	return serialize(tb, ether(layers.EthernetTypeIPv4), ip, tcp, gopacket.Payload(s.payload))
}

// run decodes frames (all Ethernet unless given) through one decoder,
// returning copies of the messages.
func run(tb testing.TB, cfg Config, link layers.LinkType, frames ...[]byte) ([]Message, *Decoder) {
	tb.Helper()
	cf := make([]capFrame, len(frames))
	for i, f := range frames {
		cf[i] = capFrame{link: link, ts: t0.Add(time.Duration(i) * time.Millisecond), data: f}
	}
	return decodeAll(tb, cfg, cf)
}

func be16put(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
