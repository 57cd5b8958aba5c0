package decode

import (
	"net/netip"

	"github.com/genesys-sip/genesys-sip/internal/sip"
)

// ipv4 decodes an IPv4 packet, reassembling fragments.
func (d *Decoder) ipv4(s span, depth int) {
	h, v := parseIPv4(s.b)
	if v != vOK {
		d.count(v)
		return
	}
	if h.trunc {
		d.stats.Truncated++
	}
	payload := s.sub(h.hlen, h.end)
	if h.frag {
		if h.trunc {
			// A fragment cut by the snap length cannot be reassembled.
			return
		}
		key := fragKey{src: h.src, dst: h.dst, id: h.id, proto: h.proto}
		var ok bool
		if payload, _, ok = d.frags.add(d, key, h.fragOff, h.more, 0, payload); !ok {
			return
		}
	}
	d.transport(h.proto, h.src, h.dst, payload, depth)
}

// ipv6 decodes an IPv6 packet, reassembling fragments.
func (d *Decoder) ipv6(s span, depth int) {
	h, v := parseIPv6(s.b)
	if v != vOK {
		d.count(v)
		return
	}
	if h.trunc {
		d.stats.Truncated++
	}
	payload := s.sub(h.hlen, h.end)
	proto := h.proto
	if h.frag {
		if h.trunc {
			return
		}
		key := fragKey{src: h.src, dst: h.dst, id: h.id, v6: true}
		var ok bool
		if payload, proto, ok = d.frags.add(d, key, h.fragOff, h.more, h.proto, payload); !ok {
			return
		}
		// Extension headers may follow the fragment header.
		nh, off, v := ipv6Ext(proto, payload.b, 0)
		if v != vOK {
			d.count(v)
			return
		}
		if nh == ipProtoFragment {
			d.stats.FragmentsDropped++ // nested fragment header: invalid
			return
		}
		proto, payload = nh, payload.sub(off, len(payload.b))
	}
	d.transport(proto, h.src, h.dst, payload, depth)
}

// transport decodes the IP payload s of protocol proto.
func (d *Decoder) transport(proto uint8, src, dst netip.Addr, s span, depth int) {
	switch proto {
	case ipProtoUDP:
		d.udp(src, dst, s, depth)
	case ipProtoTCP:
		d.tcpSegment(src, dst, s)
	case ipProtoSCTP:
		d.sctpPacket(src, dst, s)
	case ipProtoGRE:
		et, off, v := greHeader(s.b)
		if v != vOK {
			d.count(v)
			return
		}
		d.network(et, s.sub(off, len(s.b)), depth+1)
	case ipProtoIPv4:
		d.network(etIPv4, s, depth+1)
	case ipProtoIPv6:
		d.network(etIPv6, s, depth+1)
	case ipProtoNoNext:
	default:
		d.stats.OtherIPProtocol++
	}
}

// udp decodes a UDP datagram: a tunnel, or one SIP message (RFC 3261 §18.3:
// the datagram is the message; Content-Length is not used to frame it).
func (d *Decoder) udp(src, dst netip.Addr, s span, depth int) {
	if len(s.b) < 8 {
		d.stats.Truncated++
		return
	}
	sport, dport, ulen := be16(s.b), be16(s.b[2:]), int(be16(s.b[4:]))
	switch {
	case ulen >= 8 && ulen <= len(s.b):
		s = s.sub(0, ulen)
	case ulen == 0 && len(s.b) > 0xffff-8:
		// RFC 2675 jumbogram: the IP layer gave the length.
	case ulen > len(s.b):
		d.stats.Truncated++ // snap length: decode what was captured
	default:
		d.stats.Truncated++
		return
	}
	if s.pcs != nil {
		s = withChecksum(s, 6, true)
	}
	p := s.sub(8, len(s.b))
	if isTunnelPort(sport, dport) {
		et, off, v := udpTunnel(sport, dport, p.b)
		switch v {
		case vOK:
			if et != etNone {
				d.network(et, p.sub(off, len(p.b)), depth+1)
			}
			return
		case vNotTunnel:
			// Not that tunnel after all: look for SIP below.
		default:
			d.count(v)
			return
		}
	}
	k := sip.KeepAliveLength(p.b)
	if k == len(p.b) {
		if k > 0 {
			d.stats.KeepAlives++
		}
		return
	}
	if ok, _ := sip.IsStartLine(p.b[k:]); !ok {
		return
	}
	d.emit(UDP, netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport), p, k, len(p.b))
}
