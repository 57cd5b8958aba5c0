package decode

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// Header parsing shared by the decoder and FixChecksums. Every function
// takes the bytes starting at its header, checks bounds before each read and
// reports what follows as an EtherType-like protocol number and an offset.

// Link types without a gopacket constant.
const (
	linkTypeRawAlt1 layers.LinkType = 12  // DLT_RAW on OpenBSD
	linkTypeRawAlt2 layers.LinkType = 14  // DLT_RAW on BSD/OS
	linkTypeIPv4    layers.LinkType = 228 // LINKTYPE_IPV4
	linkTypeIPv6    layers.LinkType = 229 // LINKTYPE_IPV6
	linkTypeSLL2    layers.LinkType = 276 // LINKTYPE_LINUX_SLL2
)

// EtherTypes and pseudo EtherTypes (values below 0x0600 are 802.3 lengths,
// never EtherTypes, so they are free for internal use).
const (
	etIPAny   = 0x0001 // an IP packet, version from its first nibble
	etNone    = 0x0002 // a tunnel control message without payload
	etIPv4    = 0x0800
	etIPv6    = 0x86dd
	etVLAN    = 0x8100
	etQinQ    = 0x88a8
	etQinQ1   = 0x9100
	etQinQ2   = 0x9200
	etPPPoE   = 0x8864
	etMPLS    = 0x8847
	etMPLSMC  = 0x8848
	etTEB     = 0x6558 // transparent Ethernet bridging: an Ethernet frame follows
	etERSPAN2 = 0x88be
	etERSPAN3 = 0x22eb
	etPPP     = 0x880b
)

// verdict says why header parsing stopped.
type verdict uint8

const (
	vOK verdict = iota
	vTruncated
	vNonIP
	vUnknownLink
	vUnknownTunnel
	vTooDeep
	vNotTunnel // UDP payload on a tunnel port that is not that tunnel
)

// maxDepth bounds nested headers of every kind (VLAN tags, MPLS labels,
// tunnels): enough for QinQ in ERSPAN in GRE in VXLAN, and a hard stop for
// crafted loops.
const maxDepth = 16

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// linkHeader parses the link-layer header of link type lt.
func linkHeader(lt layers.LinkType, b []byte) (et uint16, off int, v verdict) {
	switch lt {
	case layers.LinkTypeEthernet:
		return etTEB, 0, vOK
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(b) < 4 {
			return 0, 0, vTruncated
		}
		// DLT_NULL stores the address family in the capturing host's byte
		// order; DLT_LOOP always big-endian.
		fam := binary.LittleEndian.Uint32(b)
		if lt == layers.LinkTypeLoop || (b[0] == 0 && b[1] == 0) {
			fam = be32(b)
		}
		switch fam {
		case 2:
			return etIPv4, 4, vOK
		case 10, 24, 28, 30: // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, Darwin
			return etIPv6, 4, vOK
		}
		return 0, 0, vNonIP
	case layers.LinkTypeRaw, linkTypeRawAlt1, linkTypeRawAlt2:
		return etIPAny, 0, vOK
	case linkTypeIPv4:
		return etIPv4, 0, vOK
	case linkTypeIPv6:
		return etIPv6, 0, vOK
	case layers.LinkTypeLinuxSLL:
		if len(b) < 16 {
			return 0, 0, vTruncated
		}
		return be16(b[14:]), 16, vOK
	case linkTypeSLL2:
		if len(b) < 20 {
			return 0, 0, vTruncated
		}
		return be16(b), 20, vOK
	case layers.LinkTypePPP, layers.LinkTypePPP_HDLC:
		return etPPP, 0, vOK
	case layers.LinkTypePPPEthernet:
		return etPPPoE, 0, vOK
	}
	return 0, 0, vUnknownLink
}

// pppProto maps a PPP protocol number to an EtherType.
func pppProto(p uint16) uint16 {
	switch p {
	case 0x0021:
		return etIPv4
	case 0x0057:
		return etIPv6
	case 0x0281:
		return etMPLS
	}
	return 0
}

// l2 walks Ethernet, VLAN, PPP, PPPoE and MPLS headers from protocol et at
// b[0] down to an IP header. It returns the IP version (4 or 6) and the
// offset of the IP header in b.
func l2(et uint16, b []byte) (ipv int, off int, v verdict) {
	for range maxDepth {
		switch et {
		case etIPv4:
			return 4, off, vOK
		case etIPv6:
			return 6, off, vOK
		case etIPAny:
			if off >= len(b) {
				return 0, 0, vTruncated
			}
			switch b[off] >> 4 {
			case 4:
				return 4, off, vOK
			case 6:
				return 6, off, vOK
			}
			return 0, 0, vNonIP
		case etTEB:
			if len(b)-off < 14 {
				return 0, 0, vTruncated
			}
			et = be16(b[off+12:])
			off += 14
			if et < 0x0600 {
				// 802.3 length: only LLC/SNAP carries an EtherType.
				if len(b)-off < 8 || b[off] != 0xaa || b[off+1] != 0xaa || b[off+2] != 0x03 {
					return 0, 0, vNonIP
				}
				et = be16(b[off+6:])
				off += 8
			}
		case etVLAN, etQinQ, etQinQ1, etQinQ2:
			if len(b)-off < 4 {
				return 0, 0, vTruncated
			}
			et = be16(b[off+2:])
			off += 4
		case etPPPoE:
			// RFC 2516 session header, then a 2-byte PPP protocol.
			if len(b)-off < 8 {
				return 0, 0, vTruncated
			}
			if b[off] != 0x11 || b[off+1] != 0x00 {
				return 0, 0, vNonIP
			}
			et = pppProto(be16(b[off+6:]))
			off += 8
			if et == 0 {
				return 0, 0, vNonIP
			}
		case etPPP:
			// Optional HDLC address/control, then a 1- or 2-byte protocol
			// (RFC 1661 §6.5 protocol field compression).
			if len(b)-off >= 2 && b[off] == 0xff && b[off+1] == 0x03 {
				off += 2
			}
			if len(b)-off < 1 {
				return 0, 0, vTruncated
			}
			var p uint16
			if b[off]&1 == 1 {
				p = uint16(b[off])
				off++
			} else {
				if len(b)-off < 2 {
					return 0, 0, vTruncated
				}
				p = be16(b[off:])
				off += 2
			}
			if et = pppProto(p); et == 0 {
				return 0, 0, vNonIP
			}
		case etMPLS, etMPLSMC:
			for i := 0; ; i++ {
				if len(b)-off < 4 {
					return 0, 0, vTruncated
				}
				if i == maxDepth {
					return 0, 0, vTooDeep
				}
				bottom := b[off+2]&1 == 1
				off += 4
				if bottom {
					break
				}
			}
			if off >= len(b) {
				return 0, 0, vTruncated
			}
			switch b[off] >> 4 {
			case 4, 6:
				et = etIPAny
			case 0:
				// Ethernet pseudowire with a control word (RFC 4448).
				et = etTEB
				off += 4
			default:
				return 0, 0, vNonIP
			}
		default:
			return 0, 0, vNonIP
		}
	}
	return 0, 0, vTooDeep
}

// ipHdr describes one IP header and its payload b[hlen:end].
type ipHdr struct {
	src, dst  netip.Addr
	proto     uint8
	hlen, end int
	trunc     bool // captured bytes stop before the end the header declares
	frag      bool // the packet is a fragment
	fragOff   int  // fragment offset in bytes
	more      bool // more fragments follow
	id        uint32
}

// parseIPv4 parses an IPv4 header (RFC 791).
func parseIPv4(b []byte) (h ipHdr, v verdict) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return h, vTruncated
	}
	h.hlen = int(b[0]&0x0f) * 4
	if h.hlen < 20 || h.hlen > len(b) {
		return h, vTruncated
	}
	h.end = int(be16(b[2:]))
	switch {
	case h.end == 0:
		// TCP segmentation offload on the capturing host leaves 0.
		h.end = len(b)
	case h.end < h.hlen:
		return h, vTruncated
	case h.end > len(b):
		h.end, h.trunc = len(b), true
	}
	ff := be16(b[6:])
	h.more = ff&0x2000 != 0
	h.fragOff = int(ff&0x1fff) * 8
	h.frag = h.more || h.fragOff > 0
	h.id = uint32(be16(b[4:]))
	h.proto = b[9]
	h.src = netip.AddrFrom4([4]byte(b[12:16]))
	h.dst = netip.AddrFrom4([4]byte(b[16:20]))
	return h, vOK
}

// IPv6 next-header values the decoder walks through.
const (
	ipProtoHopByHop = 0
	ipProtoIPv4     = 4
	ipProtoTCP      = 6
	ipProtoUDP      = 17
	ipProtoIPv6     = 41
	ipProtoRouting  = 43
	ipProtoFragment = 44
	ipProtoGRE      = 47
	ipProtoESP      = 50
	ipProtoAH       = 51
	ipProtoDstOpts  = 60
	ipProtoMobility = 135
	ipProtoHIP      = 139
	ipProtoShim6    = 140
	ipProtoSCTP     = 132
	ipProtoNoNext   = 59
)

// parseIPv6 parses an IPv6 header (RFC 8200) and its extension headers up to
// the upper-layer header or the fragment header, whichever comes first.
func parseIPv6(b []byte) (h ipHdr, v verdict) {
	if len(b) < 40 || b[0]>>4 != 6 {
		return h, vTruncated
	}
	h.end = 40 + int(be16(b[4:]))
	switch {
	case h.end == 40 && len(b) > 40 && (b[6] == ipProtoHopByHop || b[6] == ipProtoTCP):
		// Jumbogram (RFC 2675) or segmentation offload (BIG TCP): use what
		// was captured. Otherwise a zero length is just that, and the rest
		// is link-layer padding.
		h.end = len(b)
	case h.end > len(b):
		h.end, h.trunc = len(b), true
	}
	h.src = netip.AddrFrom16([16]byte(b[8:24]))
	h.dst = netip.AddrFrom16([16]byte(b[24:40]))
	proto, off, v := ipv6Ext(b[6], b[:h.end], 40)
	if v != vOK {
		return h, v
	}
	h.proto, h.hlen = proto, off
	if proto == ipProtoFragment {
		if h.end-off < 8 {
			return h, vTruncated
		}
		f := b[off:]
		h.proto = f[0]
		fo := be16(f[2:])
		h.fragOff = int(fo &^ 7)
		h.more = fo&1 == 1
		h.id = be32(f[4:])
		h.frag = true
		h.hlen = off + 8
	}
	return h, vOK
}

// ipv6Ext skips IPv6 extension headers starting with next header nh at
// b[off], stopping at the fragment header or an upper-layer protocol.
func ipv6Ext(nh uint8, b []byte, off int) (uint8, int, verdict) {
	for range maxDepth {
		switch nh {
		case ipProtoHopByHop, ipProtoRouting, ipProtoDstOpts, ipProtoMobility, ipProtoHIP, ipProtoShim6:
			if len(b)-off < 8 {
				return 0, 0, vTruncated
			}
			l := (int(b[off+1]) + 1) * 8
			if len(b)-off < l {
				return 0, 0, vTruncated
			}
			nh = b[off]
			off += l
		case ipProtoAH:
			if len(b)-off < 8 {
				return 0, 0, vTruncated
			}
			l := (int(b[off+1]) + 2) * 4
			if len(b)-off < l {
				return 0, 0, vTruncated
			}
			nh = b[off]
			off += l
		default:
			return nh, off, vOK
		}
	}
	return 0, 0, vTooDeep
}

// greHeader parses a GRE header (RFC 2784/2890, PPTP RFC 2637) and the
// ERSPAN header it may carry.
func greHeader(b []byte) (et uint16, off int, v verdict) {
	if len(b) < 4 {
		return 0, 0, vTruncated
	}
	flags, ver, proto := b[0], b[1]&7, be16(b[2:])
	seq := flags&0x10 != 0
	switch ver {
	case 0:
		if flags&0x40 != 0 {
			return 0, 0, vUnknownTunnel // source routing (obsolete RFC 1701)
		}
		off = 4
		if flags&0x80 != 0 {
			off += 4 // checksum and reserved
		}
		if flags&0x20 != 0 {
			off += 4 // key
		}
		if seq {
			off += 4
		}
	case 1: // enhanced GRE (PPTP): key always present
		if proto != etPPP {
			return 0, 0, vUnknownTunnel
		}
		off = 8
		if seq {
			off += 4
		}
		if b[1]&0x80 != 0 {
			off += 4 // acknowledgment number
		}
	default:
		return 0, 0, vUnknownTunnel
	}
	if len(b) < off {
		return 0, 0, vTruncated
	}
	switch proto {
	case etERSPAN2:
		if !seq {
			return etTEB, off, vOK // ERSPAN type I: no header
		}
		if len(b)-off < 8 {
			return 0, 0, vTruncated
		}
		if b[off]>>4 != 1 {
			return 0, 0, vUnknownTunnel
		}
		return etTEB, off + 8, vOK
	case etERSPAN3:
		if len(b)-off < 12 {
			return 0, 0, vTruncated
		}
		h := b[off:]
		if h[0]>>4 != 2 {
			return 0, 0, vUnknownTunnel
		}
		hl := 12
		if h[11]&1 == 1 {
			hl += 8 // platform-specific subheader
		}
		if len(h) < hl {
			return 0, 0, vTruncated
		}
		switch (h[10] >> 2) & 0x1f { // frame type
		case 0:
			return etTEB, off + hl, vOK
		case 2:
			return etIPAny, off + hl, vOK
		}
		return 0, 0, vUnknownTunnel
	}
	return proto, off, vOK
}

// UDP ports of the tunnels the decoder follows.
const (
	portVXLAN      = 4789
	portVXLANLinux = 8472
	portVXLANGPE   = 4790
	portGeneve     = 6081
	portGTPU       = 2152
)

// isTunnelPort reports whether a UDP datagram between these ports is
// treated as a tunnel.
func isTunnelPort(sport, dport uint16) bool {
	switch dport {
	case portVXLAN, portVXLANLinux, portVXLANGPE, portGeneve, portGTPU:
		return true
	}
	return sport == portGTPU
}

// udpTunnel parses the tunnel header carried in UDP payload b.
func udpTunnel(sport, dport uint16, b []byte) (et uint16, off int, v verdict) {
	switch {
	case dport == portVXLAN || dport == portVXLANLinux:
		// RFC 7348: flags with the I bit, 3 reserved, VNI, reserved.
		if len(b) < 8 {
			return 0, 0, vNotTunnel
		}
		if b[0]&0x08 == 0 {
			return 0, 0, vNotTunnel
		}
		return etTEB, 8, vOK
	case dport == portVXLANGPE:
		if len(b) < 8 || b[0]&0x0c != 0x0c {
			return 0, 0, vNotTunnel
		}
		switch b[3] {
		case 1:
			return etIPv4, 8, vOK
		case 2:
			return etIPv6, 8, vOK
		case 3:
			return etTEB, 8, vOK
		}
		return 0, 0, vUnknownTunnel
	case dport == portGeneve:
		// RFC 8926: Ver(2) OptLen(6), flags, protocol type, VNI, reserved.
		if len(b) < 8 || b[0]>>6 != 0 {
			return 0, 0, vNotTunnel
		}
		hl := 8 + int(b[0]&0x3f)*4
		if len(b) < hl {
			return 0, 0, vTruncated
		}
		return be16(b[2:]), hl, vOK
	case dport == portGTPU || sport == portGTPU:
		return gtpuHeader(b)
	}
	return 0, 0, vNotTunnel
}

// gtpuHeader parses a GTPv1-U header (3GPP TS 29.281 §5) with its optional
// fields and extension header chain.
func gtpuHeader(b []byte) (et uint16, off int, v verdict) {
	if len(b) < 8 || b[0]>>5 != 1 || b[0]&0x10 == 0 {
		return 0, 0, vNotTunnel
	}
	end := 8 + int(be16(b[2:]))
	if end > len(b) {
		end = len(b) // snap length; the IP header says what is missing
	}
	if b[1] != 0xff { // not a G-PDU: echo, error indication, end marker
		return etNone, 0, vOK
	}
	off = 8
	if b[0]&0x07 != 0 {
		if end < 12 {
			return 0, 0, vTruncated
		}
		next := b[11]
		off = 12
		for i := 0; next != 0; i++ {
			if i == maxDepth {
				return 0, 0, vTooDeep
			}
			if off >= end {
				return 0, 0, vTruncated
			}
			l := int(b[off]) * 4
			if l == 0 || end-off < l {
				return 0, 0, vTruncated
			}
			next = b[off+l-1]
			off += l
		}
	}
	return etIPAny, off, vOK
}
