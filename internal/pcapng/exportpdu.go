package pcapng

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// LinkTypeUpperPDU is LINKTYPE_WIRESHARK_UPPER_PDU: frames that name the
// dissector for their payload (Wireshark's "exported PDUs").
const LinkTypeUpperPDU layers.LinkType = 252

// Exported-PDU tags (epan/exported_pdu.h). Tags are big-endian type,
// length, value.
const (
	tagEnd        = 0
	tagProtoName  = 12
	tagIPv4Src    = 20
	tagIPv4Dst    = 21
	tagIPv6Src    = 22
	tagIPv6Dst    = 23
	tagPortType   = 24
	tagSrcPort    = 25
	tagDstPort    = 26
	portTypeSCTP  = 1
	portTypeTCP   = 2
	portTypeUDP   = 3
	maxProtoName  = 64
	maxPDUHeaders = 4 + maxProtoName + 4 + 2*(4+16) + 4 + 4 + 2*(4+4) + 4
)

// PortType selects the port-type tag of an exported PDU.
type PortType uint32

// Port types of exported PDUs.
const (
	PortNone PortType = 0
	PortSCTP PortType = portTypeSCTP
	PortTCP  PortType = portTypeTCP
	PortUDP  PortType = portTypeUDP
)

// AppendExportedPDU appends an exported-PDU frame to dst: the tags naming
// dissector proto (e.g. "sip") and, when valid, the addresses and ports, so
// Wireshark dissects payload as that protocol between those endpoints.
// The protocol name is NUL-terminated and padded to 4 bytes, the padding
// counted in the tag length, as Wireshark 4.0 expects.
func AppendExportedPDU(dst []byte, proto string, src, dst2 netip.AddrPort, pt PortType, payload []byte) []byte {
	if len(proto) > maxProtoName-1 {
		proto = proto[:maxProtoName-1]
	}
	n := len(proto) + 1
	n += (4 - n%4) % 4
	dst = appendTag(dst, tagProtoName, n)
	dst = append(dst, proto...)
	for i := len(proto); i < n; i++ {
		dst = append(dst, 0)
	}
	s, d := src.Addr().Unmap(), dst2.Addr().Unmap()
	switch {
	case s.Is4() && d.Is4():
		dst = appendTag(dst, tagIPv4Src, 4)
		dst = append(dst, s.AsSlice()...)
		dst = appendTag(dst, tagIPv4Dst, 4)
		dst = append(dst, d.AsSlice()...)
	case s.Is6() && d.Is6():
		dst = appendTag(dst, tagIPv6Src, 16)
		dst = append(dst, s.AsSlice()...)
		dst = appendTag(dst, tagIPv6Dst, 16)
		dst = append(dst, d.AsSlice()...)
	}
	if pt != PortNone && src.IsValid() && dst2.IsValid() {
		dst = appendTag(dst, tagPortType, 4)
		dst = binary.BigEndian.AppendUint32(dst, uint32(pt))
		dst = appendTag(dst, tagSrcPort, 4)
		dst = binary.BigEndian.AppendUint32(dst, uint32(src.Port()))
		dst = appendTag(dst, tagDstPort, 4)
		dst = binary.BigEndian.AppendUint32(dst, uint32(dst2.Port()))
	}
	dst = appendTag(dst, tagEnd, 0)
	return append(dst, payload...)
}

func appendTag(dst []byte, tag, n int) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(tag))
	return binary.BigEndian.AppendUint16(dst, uint16(n))
}
