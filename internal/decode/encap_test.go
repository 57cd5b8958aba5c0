package decode

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestEncapsulations decodes one SIP/UDP datagram wrapped in each link
// layer and tunnel the decoder supports, most of them absent from the
// capture corpus.
func TestEncapsulations(t *testing.T) {
	sipb := []byte(sipInvite)
	ip4 := serialize(t, udpLayers(5060, 5060, sipb)...)  // inner IPv4/UDP/SIP
	ip6 := serialize(t, udp6Layers(5060, 5060, sipb)...) // inner IPv6/UDP/SIP
	eth4 := serialize(t, ether(layers.EthernetTypeIPv4), gopacket.Payload(ip4))
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	// outer wraps payload in Ethernet/IPv4 of protocol proto.
	outer := func(proto layers.IPProtocol, payload ...gopacket.SerializableLayer) []byte {
		ip := ipv4(ip4B, ip4A, proto)
		ip.SrcIP, ip.DstIP = []byte{192, 168, 0, 1}, []byte{192, 168, 0, 2}
		return serialize(t, append([]gopacket.SerializableLayer{ether(layers.EthernetTypeIPv4), ip}, payload...)...)
	}
	// outerUDP wraps payload in Ethernet/IPv4/UDP to dport.
	outerUDP := func(sport, dport uint16, payload ...gopacket.SerializableLayer) []byte {
		ip := ipv4(ip4B, ip4A, layers.IPProtocolUDP)
		ip.SrcIP, ip.DstIP = []byte{192, 168, 0, 1}, []byte{192, 168, 0, 2}
		u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		_ = u.SetNetworkLayerForChecksum(ip)
		return serialize(t, append([]gopacket.SerializableLayer{ether(layers.EthernetTypeIPv4), ip, u}, payload...)...)
	}
	// ERSPAN III header: ver 2, frame type ft, optional subheader (O bit).
	erspan3 := func(ft byte, o bool) []byte {
		h := []byte{0x20, 0x0a, 0x00, 0x01, 0, 0, 0, 1, 0, 0, ft << 2, 0}
		if o {
			h[11] |= 1
			h = append(h, 1, 2, 3, 4, 5, 6, 7, 8)
		}
		return h
	}
	gre := func(proto layers.EthernetType, seq bool) *layers.GRE {
		return &layers.GRE{Protocol: proto, SeqPresent: seq, Seq: 7}
	}

	tests := []struct {
		name string
		link layers.LinkType
		data []byte
		v6   bool
	}{
		{"ethernet", layers.LinkTypeEthernet, eth4, false},
		{"802.1Q", layers.LinkTypeEthernet, serialize(t, ether(layers.EthernetTypeDot1Q),
			&layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4}, gopacket.Payload(ip4)), false},
		{"QinQ 88a8", layers.LinkTypeEthernet, serialize(t, ether(layers.EthernetTypeQinQ),
			&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4}, gopacket.Payload(ip4)), false},
		{"QinQ 9100", layers.LinkTypeEthernet, serialize(t, ether(0x9100),
			&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv6}, gopacket.Payload(ip6)), true},
		{"802.3 LLC/SNAP", layers.LinkTypeEthernet, cat(macB, macA, be16put(uint16(8+len(ip4))),
			[]byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}, ip4), false},
		{"Ethernet FCS and padding", layers.LinkTypeEthernet, cat(eth4, []byte{0xde, 0xad, 0xbe, 0xef}), false},
		{"Linux SLL", layers.LinkTypeLinuxSLL, cat([]byte{0, 0, 0, 1, 0, 6}, macA, []byte{0, 0, 0x08, 0x00}, ip4), false},
		{"Linux SLL2", linkTypeSLL2, cat([]byte{0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6}, macA, []byte{0, 0}, ip6), true},
		{"raw 101 v4", layers.LinkTypeRaw, ip4, false},
		{"raw 101 v6", layers.LinkTypeRaw, ip6, true},
		{"raw 12", linkTypeRawAlt1, ip4, false},
		{"raw 14", linkTypeRawAlt2, ip6, true},
		{"LINKTYPE_IPV4 228", linkTypeIPv4, ip4, false},
		{"LINKTYPE_IPV6 229", linkTypeIPv6, ip6, true},
		{"null little-endian AF_INET", layers.LinkTypeNull, cat([]byte{2, 0, 0, 0}, ip4), false},
		{"null big-endian AF_INET6 (Darwin 30)", layers.LinkTypeNull, cat([]byte{0, 0, 0, 30}, ip6), true},
		{"null AF_INET6 (BSD 24)", layers.LinkTypeNull, cat([]byte{24, 0, 0, 0}, ip6), true},
		{"loop 108", layers.LinkTypeLoop, cat([]byte{0, 0, 0, 2}, ip4), false},
		{"PPPoE IPv4", layers.LinkTypeEthernet, serialize(t, ether(layers.EthernetTypePPPoESession),
			&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 7},
			&layers.PPP{PPPType: layers.PPPTypeIPv4}, gopacket.Payload(ip4)), false},
		{"PPPoE IPv6", layers.LinkTypeEthernet, serialize(t, ether(layers.EthernetTypePPPoESession),
			&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 7},
			&layers.PPP{PPPType: layers.PPPTypeIPv6}, gopacket.Payload(ip6)), true},
		{"PPP HDLC", layers.LinkTypePPP, serialize(t, &layers.PPP{PPPType: layers.PPPTypeIPv4, HasPPTPHeader: true}, gopacket.Payload(ip4)), false},
		{"PPP compressed protocol", layers.LinkTypePPP, cat([]byte{0x21}, ip4), false},
		{"MPLS", layers.LinkTypeEthernet, serialize(t, ether(layers.EthernetTypeMPLSUnicast),
			&layers.MPLS{Label: 100, StackBottom: false, TTL: 64}, &layers.MPLS{Label: 200, StackBottom: true, TTL: 64}, gopacket.Payload(ip4)), false},
		{"MPLS Ethernet pseudowire", layers.LinkTypeEthernet, serialize(t, ether(layers.EthernetTypeMPLSUnicast),
			&layers.MPLS{Label: 100, StackBottom: true, TTL: 64}, raw(0, 0, 0, 0), gopacket.Payload(eth4)), false},
		{"GRE IPv4", layers.LinkTypeEthernet, outer(layers.IPProtocolGRE, gre(layers.EthernetTypeIPv4, false), gopacket.Payload(ip4)), false},
		{"GRE checksum key seq", layers.LinkTypeEthernet, outer(layers.IPProtocolGRE,
			&layers.GRE{Protocol: layers.EthernetTypeIPv6, ChecksumPresent: true, KeyPresent: true, SeqPresent: true, Key: 9, Seq: 3},
			gopacket.Payload(ip6)), true},
		{"GRE transparent Ethernet bridging", layers.LinkTypeEthernet, outer(layers.IPProtocolGRE,
			gre(layers.EthernetTypeTransparentEthernetBridging, false), gopacket.Payload(eth4)), false},
		{"ERSPAN I", layers.LinkTypeEthernet, outer(layers.IPProtocolGRE, gre(layers.EthernetTypeERSPAN, false), gopacket.Payload(eth4)), false},
		{"ERSPAN II", layers.LinkTypeEthernet, outer(layers.IPProtocolGRE, gre(layers.EthernetTypeERSPAN, true),
			&layers.ERSPANII{Version: 1, SessionID: 5, Index: 1}, gopacket.Payload(eth4)), false},
		{"ERSPAN III", layers.LinkTypeEthernet, outer(layers.IPProtocolGRE, gre(etERSPAN3, true),
			gopacket.Payload(erspan3(0, false)), gopacket.Payload(eth4)), false},
		{"ERSPAN III subheader", layers.LinkTypeEthernet, outer(layers.IPProtocolGRE, gre(etERSPAN3, true),
			gopacket.Payload(erspan3(0, true)), gopacket.Payload(eth4)), false},
		{"ERSPAN III IP frame", layers.LinkTypeEthernet, outer(layers.IPProtocolGRE, gre(etERSPAN3, true),
			gopacket.Payload(erspan3(2, false)), gopacket.Payload(ip6)), true},
		{"GRE PPTP (enhanced GRE, PPP)", layers.LinkTypeEthernet, outer(layers.IPProtocolGRE,
			raw(0x30, 0x81, 0x88, 0x0b, be16put(uint16(4 + len(ip4)))[0], be16put(uint16(4 + len(ip4)))[1], 0, 1, 0, 0, 0, 5, 0, 0, 0, 4),
			raw(0xff, 0x03, 0x00, 0x21), gopacket.Payload(ip4)), false},
		{"IPv4 total length 0 (segmentation offload)", layers.LinkTypeRaw, cat(ip4[:2], []byte{0, 0}, ip4[4:]), false},
		{"IPv4 in IPv4", layers.LinkTypeEthernet, outer(layers.IPProtocolIPv4, gopacket.Payload(ip4)), false},
		{"IPv6 in IPv4", layers.LinkTypeEthernet, outer(layers.IPProtocolIPv6, gopacket.Payload(ip6)), true},
		{"IPv4 in IPv6", layers.LinkTypeRaw, serialize(t, ipv6(ip6B, ip6A, layers.IPProtocolIPv4), gopacket.Payload(ip4)), false},
		{"VXLAN", layers.LinkTypeEthernet, outerUDP(33333, 4789, &layers.VXLAN{ValidIDFlag: true, VNI: 42}, gopacket.Payload(eth4)), false},
		{"VXLAN Linux 8472", layers.LinkTypeEthernet, outerUDP(33333, 8472, &layers.VXLAN{ValidIDFlag: true, VNI: 42}, gopacket.Payload(eth4)), false},
		{"VXLAN-GPE", layers.LinkTypeEthernet, outerUDP(33333, 4790, raw(0x0c, 0, 0, 1, 0, 0, 42, 0), gopacket.Payload(ip4)), false},
		{"Geneve with option", layers.LinkTypeEthernet, outerUDP(33333, 6081,
			raw(0x01, 0, 0x65, 0x58, 0, 0, 42, 0, 0x01, 0x02, 0x03, 0x00), gopacket.Payload(eth4)), false},
		{"GTP-U", layers.LinkTypeEthernet, outerUDP(2152, 2152,
			&layers.GTPv1U{Version: 1, ProtocolType: 1, MessageType: 255, TEID: 99}, gopacket.Payload(ip4)), false},
		{"GTP-U extension headers", layers.LinkTypeEthernet, outerUDP(2152, 2152,
			// E flag; seq, N-PDU, next type 0x85 (PDU session container,
			// 4 bytes) then 0x40 (UDP port, 4 bytes), then none.
			raw(0x34, 0xff, be16put(uint16(4 + 4 + 4 + len(ip4)))[0], be16put(uint16(4 + 4 + 4 + len(ip4)))[1], 0, 0, 0, 99,
				0, 0, 0, 0x85, 1, 0x10, 0x09, 0x40, 1, 0x13, 0xc4, 0x00), gopacket.Payload(ip4)), false},
		{"VXLAN in GRE in QinQ", layers.LinkTypeEthernet, serialize(t, ether(layers.EthernetTypeQinQ),
			&layers.Dot1Q{VLANIdentifier: 1, Type: layers.EthernetTypeDot1Q}, &layers.Dot1Q{VLANIdentifier: 2, Type: layers.EthernetTypeIPv4},
			ipv4(ip4B, ip4A, layers.IPProtocolGRE), gre(layers.EthernetTypeTransparentEthernetBridging, false),
			gopacket.Payload(outerUDP(33333, 4789, &layers.VXLAN{ValidIDFlag: true, VNI: 42}, gopacket.Payload(eth4)))), false},
	}
	wantSrc := netip.MustParseAddrPort("10.0.0.1:5060")
	wantDst := netip.MustParseAddrPort("10.0.0.2:5060")
	wantSrc6 := netip.MustParseAddrPort("[2001:db8::1]:5060")
	wantDst6 := netip.MustParseAddrPort("[2001:db8::2]:5060")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msgs, d := run(t, Config{}, tc.link, tc.data)
			if len(msgs) != 1 {
				t.Fatalf("got %d messages, want 1; stats %+v", len(msgs), d.Stats())
			}
			m := msgs[0]
			if string(m.Data) != sipInvite || m.Transport != UDP || m.Frame != 1 {
				t.Errorf("got %s frame %d %q", m.Transport, m.Frame, m.Data)
			}
			src, dst := wantSrc, wantDst
			if tc.v6 {
				src, dst = wantSrc6, wantDst6
			}
			if m.Src != src || m.Dst != dst {
				t.Errorf("got %v -> %v, want %v -> %v", m.Src, m.Dst, src, dst)
			}
			// Every truncation of the frame decodes without panicking.
			d2 := NewDecoder(Config{})
			for n := range tc.data {
				d2.Decode(uint64(n+1), t0, tc.link, tc.data[:n], nil)
			}
		})
	}
}

// TestUnsupported checks that frames the decoder cannot follow are counted
// by kind and never fatal.
func TestUnsupported(t *testing.T) {
	ip4 := serialize(t, udpLayers(5060, 5060, []byte(sipInvite))...)
	ipip := ip4
	for range 20 {
		ipip = serialize(t, ipv4(ip4B, ip4A, layers.IPProtocolIPv4), gopacket.Payload(ipip))
	}
	arp := serialize(t, ether(layers.EthernetTypeARP), raw(make([]byte, 28)...))
	icmp := serialize(t, ether(layers.EthernetTypeIPv4), ipv4(ip4A, ip4B, layers.IPProtocolICMPv4), raw(8, 0, 0, 0, 0, 0, 0, 0))
	greRouting := serialize(t, ether(layers.EthernetTypeIPv4), ipv4(ip4A, ip4B, layers.IPProtocolGRE),
		raw(0x40, 0, 0x08, 0, 0, 0, 0, 0), gopacket.Payload(ip4))
	erspanBad := serialize(t, ether(layers.EthernetTypeIPv4), ipv4(ip4A, ip4B, layers.IPProtocolGRE),
		raw(0x10, 0, 0x88, 0xbe, 0, 0, 0, 1), raw(0x70, 0, 0, 0, 0, 0, 0, 0), gopacket.Payload(ip4))
	tests := []struct {
		name  string
		link  layers.LinkType
		data  []byte
		check func(Stats) uint64
	}{
		{"unknown link type", layers.LinkTypeIEEE802_11, ip4, func(s Stats) uint64 { return s.UnknownLinkType }},
		{"ARP", layers.LinkTypeEthernet, arp, func(s Stats) uint64 { return s.NonIP }},
		{"ICMP", layers.LinkTypeEthernet, icmp, func(s Stats) uint64 { return s.OtherIPProtocol }},
		{"GRE source routing", layers.LinkTypeEthernet, greRouting, func(s Stats) uint64 { return s.UnknownTunnel }},
		{"ERSPAN bad version", layers.LinkTypeEthernet, erspanBad, func(s Stats) uint64 { return s.UnknownTunnel }},
		{"IP in IP 20 deep", layers.LinkTypeRaw, ipip, func(s Stats) uint64 { return s.TunnelTooDeep }},
		{"truncated IPv4", layers.LinkTypeRaw, ip4[:15], func(s Stats) uint64 { return s.Truncated }},
		{"null unknown family", layers.LinkTypeNull, append([]byte{7, 0, 0, 0}, ip4...), func(s Stats) uint64 { return s.NonIP }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msgs, d := run(t, Config{}, tc.link, tc.data)
			if len(msgs) != 0 {
				t.Errorf("got %d messages", len(msgs))
			}
			if tc.check(d.Stats()) != 1 {
				t.Errorf("not counted: %+v", d.Stats())
			}
		})
	}
}

// TestUDPContent checks UDP details: keep-alives, leading CRLF, content
// detection on any port, bad Content-Length kept whole.
func TestUDPContent(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		port    uint16
		want    string // "" for no message
	}{
		{"keep-alive", "\r\n\r\n", 5060, ""},
		{"leading keep-alive", "\r\n" + sipInvite, 5060, sipInvite},
		{"any port", sipInvite, 40123, sipInvite},
		{"bad Content-Length kept whole", "SIP/2.0 200 OK\r\nContent-Length: x\r\n\r\nbody", 5060, "SIP/2.0 200 OK\r\nContent-Length: x\r\n\r\nbody"},
		{"not SIP (RTP)", "\x80\x00\x12\x34abcdefgh", 5060, ""},
		{"HTTP", "GET / HTTP/1.1\r\n\r\n", 80, ""},
		{"lower-case version", "sip/2.0 180 Ringing\r\n\r\n", 5060, "sip/2.0 180 Ringing\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := serialize(t, with(udpLayers(tc.port, tc.port, []byte(tc.payload)), ether(layers.EthernetTypeIPv4))...)
			msgs, d := run(t, Config{}, layers.LinkTypeEthernet, f)
			switch {
			case tc.want == "" && len(msgs) != 0:
				t.Errorf("got %q", msgs[0].Data)
			case tc.want != "" && (len(msgs) != 1 || string(msgs[0].Data) != tc.want):
				t.Errorf("got %d messages, want %q", len(msgs), tc.want)
			}
			if tc.name == "keep-alive" && d.Stats().KeepAlives != 1 {
				t.Errorf("keep-alive not counted")
			}
		})
	}
}
