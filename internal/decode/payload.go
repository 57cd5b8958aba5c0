package decode

import "github.com/gopacket/gopacket/layers"

// Payloads calls fn with each innermost transport payload of a frame and
// its offset in the frame: the
// data of a UDP datagram or TCP segment, the chunks of an SCTP packet, or
// the bytes of an IP fragment after its IP header, walking through every
// tunnel the decoder follows. fn may modify the bytes in place (the caller
// then repairs checksums with FixChecksums). A frame without such a payload
// calls fn never.
//
// The pipeline uses it to scrub a frame that must leave before the SIP
// message it carries part of is complete, so not even a fragment of an
// unredacted phone number leaves the tool.
func Payloads(link layers.LinkType, frame []byte, fn func(off int, payload []byte)) {
	et, off, v := linkHeader(link, frame)
	if v != vOK {
		return
	}
	payloadNetwork(et, frame[off:], 0, func(p []byte) {
		// p is a sub-slice of frame: its offset is the difference of
		// their capacities.
		fn(cap(frame)-cap(p), p)
	})
}

func payloadNetwork(et uint16, b []byte, depth int, fn func([]byte)) {
	if depth > maxDepth {
		return
	}
	ipv, off, v := l2(et, b)
	if v != vOK {
		return
	}
	b = b[off:]
	var h ipHdr
	if ipv == 4 {
		h, v = parseIPv4(b)
	} else {
		h, v = parseIPv6(b)
	}
	end := min(h.end, len(b)) // a snap length may have cut the packet
	if v != vOK || h.hlen > end {
		return
	}
	seg := b[h.hlen:end]
	if h.frag {
		// The first fragment starts with the transport header; later ones
		// carry only payload. Either way the SIP text is in seg; a
		// transport header has no long digit runs worth fearing.
		fn(seg)
		return
	}
	payloadL4(h.proto, seg, depth, fn)
}

func payloadL4(proto uint8, seg []byte, depth int, fn func([]byte)) {
	switch proto {
	case ipProtoUDP:
		if len(seg) < 8 {
			return
		}
		sport, dport := be16(seg), be16(seg[2:])
		if isTunnelPort(sport, dport) {
			if et, off, v := udpTunnel(sport, dport, seg[8:]); v == vOK && et != etNone {
				payloadNetwork(et, seg[8+off:], depth+1, fn)
				return
			}
		}
		fn(seg[8:])
	case ipProtoTCP:
		if len(seg) < 20 {
			return
		}
		if hl := int(seg[12]>>4) * 4; hl >= 20 && hl <= len(seg) {
			fn(seg[hl:])
		}
	case ipProtoSCTP:
		if len(seg) > 12 {
			fn(seg[12:])
		}
	case ipProtoGRE:
		if et, off, v := greHeader(seg); v == vOK {
			payloadNetwork(et, seg[off:], depth+1, fn)
		}
	case ipProtoIPv4:
		payloadNetwork(etIPv4, seg, depth+1, fn)
	case ipProtoIPv6:
		payloadNetwork(etIPv6, seg, depth+1, fn)
	}
}
