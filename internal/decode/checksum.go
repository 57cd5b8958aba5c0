package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/gopacket/gopacket/layers"
)

// Checksums after a length-preserving rewrite (redaction).
//
// Two cases:
//
//   - Every checksum whose covered bytes all sit in one frame (IPv4 header,
//     UDP, TCP, SCTP CRC32c, GRE, inner and outer layers of tunnels) is
//     recomputed from the frame by FixChecksums.
//   - A UDP or TCP segment split into IP fragments has its checksum in the
//     first fragment, covering all of them. Each Piece of such a message
//     carries a ChecksumRef to that field; AdjustChecksum updates it
//     incrementally (RFC 1624) from the old and new bytes, whichever frame
//     they are in.
//
// Rewrite does both, in the right order, for one Message.

// Errors returned by FixChecksums and Rewrite.
var (
	// ErrNotRewritable means the message has no frame bytes to rewrite
	// (TLS plaintext).
	ErrNotRewritable = errors.New("decode: message bytes are not in the frames (TLS)")
	// ErrUnsupportedLink means FixChecksums does not know the link type.
	ErrUnsupportedLink = errors.New("decode: unsupported link type")
	// ErrBadFrame means a frame's headers are truncated or inconsistent.
	ErrBadFrame = errors.New("decode: truncated or invalid headers")
)

// FixChecksums recomputes, in place, every checksum of frame whose covered
// bytes are complete in it: IPv4 header checksums, UDP, TCP and SCTP
// (CRC32c) checksums of unfragmented packets and GRE checksums, innermost
// first, through every tunnel the decoder follows. A UDP checksum of 0
// ("none") stays 0. Checksums of fragments and of packets cut by the snap
// length are left alone (see AdjustChecksum for fragments). Checksums that
// were wrong before (transmit offload on the capturing host) come out
// right. A frame that carries no IP packet is left as is.
func FixChecksums(link layers.LinkType, frame []byte) error {
	et, off, v := linkHeader(link, frame)
	switch v {
	case vOK:
	case vNonIP:
		return nil
	case vUnknownLink:
		return fmt.Errorf("fix checksums: link type %d: %w", link, ErrUnsupportedLink)
	default:
		return fmt.Errorf("fix checksums: link header: %w", ErrBadFrame)
	}
	if err := fixNetwork(et, frame[off:], 0); err != nil {
		return fmt.Errorf("fix checksums: %w", err)
	}
	return nil
}

func fixNetwork(et uint16, b []byte, depth int) error {
	if depth > maxDepth {
		return nil
	}
	ipv, off, v := l2(et, b)
	switch v {
	case vOK:
	case vNonIP, vTooDeep:
		return nil
	default:
		return ErrBadFrame
	}
	b = b[off:]
	if ipv == 4 {
		h, v := parseIPv4(b)
		if v != vOK {
			return ErrBadFrame
		}
		var err error
		if !h.frag && !h.trunc {
			err = fixL4(h.proto, b[12:16], b[16:20], b[h.hlen:h.end], depth)
		}
		b[10], b[11] = 0, 0
		binary.BigEndian.PutUint16(b[10:], ^fold(sum16(b[:h.hlen], 0)))
		return err
	}
	h, v := parseIPv6(b)
	if v != vOK {
		return ErrBadFrame
	}
	if h.frag || h.trunc {
		return nil
	}
	return fixL4(h.proto, b[8:24], b[24:40], b[h.hlen:h.end], depth)
}

// fixL4 fixes the transport segment seg of protocol proto, inner layers
// first. src and dst are the IP addresses for the pseudo-header.
func fixL4(proto uint8, src, dst, seg []byte, depth int) error {
	switch proto {
	case ipProtoUDP:
		if len(seg) < 8 {
			return ErrBadFrame
		}
		switch ulen := int(be16(seg[4:])); {
		case ulen >= 8 && ulen <= len(seg):
			seg = seg[:ulen]
		case ulen == 0 && len(seg) > 0xffff-8: // jumbogram
		default:
			return ErrBadFrame
		}
		sport, dport := be16(seg), be16(seg[2:])
		if isTunnelPort(sport, dport) {
			if et, off, v := udpTunnel(sport, dport, seg[8:]); v == vOK && et != etNone {
				if err := fixNetwork(et, seg[8+off:], depth+1); err != nil {
					return err
				}
			}
		}
		if seg[6] == 0 && seg[7] == 0 {
			return nil // no checksum (or an IPv6 sender that got it wrong): keep
		}
		seg[6], seg[7] = 0, 0
		c := ^fold(sum16(seg, pseudo(src, dst, ipProtoUDP, len(seg))))
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(seg[6:], c)
	case ipProtoTCP:
		if len(seg) < 20 {
			return ErrBadFrame
		}
		seg[16], seg[17] = 0, 0
		binary.BigEndian.PutUint16(seg[16:], ^fold(sum16(seg, pseudo(src, dst, ipProtoTCP, len(seg)))))
	case ipProtoSCTP:
		if len(seg) < 12 {
			return ErrBadFrame
		}
		// RFC 9260 Appendix A: CRC32c over the packet with the field zeroed,
		// stored in the byte order Linux and Wireshark use.
		clear(seg[8:12])
		binary.LittleEndian.PutUint32(seg[8:], crc32.Checksum(seg, crc32.MakeTable(crc32.Castagnoli)))
	case ipProtoGRE:
		et, off, v := greHeader(seg)
		if v == vOK {
			if err := fixNetwork(et, seg[off:], depth+1); err != nil {
				return err
			}
		}
		if len(seg) >= 8 && seg[0]&0x80 != 0 {
			seg[4], seg[5] = 0, 0
			binary.BigEndian.PutUint16(seg[4:], ^fold(sum16(seg, 0)))
		}
	case ipProtoIPv4:
		return fixNetwork(etIPv4, seg, depth+1)
	case ipProtoIPv6:
		return fixNetwork(etIPv6, seg, depth+1)
	}
	return nil
}

// pseudo returns the sum of the TCP/UDP pseudo-header (RFC 768, RFC 8200
// §8.1). An IPv6 Routing header's final destination is not looked up.
func pseudo(src, dst []byte, proto uint8, n int) uint64 {
	return sum16(dst, sum16(src, 0)) + uint64(proto) + uint64(n)
}

// sum16 adds b as big-endian 16-bit words (RFC 1071) to acc.
func sum16(b []byte, acc uint64) uint64 {
	for len(b) >= 8 {
		acc += uint64(be32(b)) + uint64(be32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(be16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// fold reduces a ones'-complement sum to 16 bits.
func fold(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// AdjustChecksum updates the 16-bit ones'-complement checksum stored
// big-endian in field[0:2] (RFC 1624 eqn. 3) after the summed bytes old were
// replaced by new, of the same length. odd tells whether old[0] sits at an
// odd offset of the summed data. For a UDP checksum (udp), a stored 0
// ("no checksum") is left alone and a result of 0 is stored as 0xffff.
func AdjustChecksum(field []byte, odd, udp bool, old, new []byte) {
	if len(field) < 2 || len(old) != len(new) {
		return
	}
	hc := be16(field)
	if udp && hc == 0 {
		return
	}
	acc := uint64(^hc)
	shift := 8
	if odd {
		shift = 0
	}
	for i := range old {
		if old[i] != new[i] {
			acc += 0xffff - uint64(old[i])<<shift + uint64(new[i])<<shift
		}
		shift ^= 8
	}
	c := ^fold(acc)
	if udp && c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(field, c)
}

// FrameFunc gives Rewrite a held frame: its link type and captured bytes,
// which Rewrite modifies in place. ok is false if the frame is not held.
type FrameFunc func(frame uint64) (link layers.LinkType, data []byte, ok bool)

// Rewrite writes data, a same-length replacement of m.Data, into the
// captured frames that hold m, masking WebSocket bytes again, updating the
// checksums of fragmented segments incrementally (Piece.Sums) and then
// recomputing every other checksum of each frame it changed
// (FixChecksums). The frames must still hold m's original bytes.
func Rewrite(m *Message, data []byte, frames FrameFunc) error {
	if len(data) != len(m.Data) {
		return fmt.Errorf("rewrite frame %d: %d bytes for a %d-byte message", m.Frame, len(data), len(m.Data))
	}
	if len(m.Pieces) == 0 {
		if len(data) == 0 {
			return nil
		}
		return fmt.Errorf("rewrite frame %d: %w", m.Frame, ErrNotRewritable)
	}
	var touched []uint64
	var scratch []byte
	for _, p := range m.Pieces {
		_, fb, ok := frames(p.Frame)
		if !ok {
			return fmt.Errorf("rewrite frame %d: frame %d is not held", m.Frame, p.Frame)
		}
		if p.Len < 0 || p.FrameOff < 0 || p.MsgOff < 0 || p.FrameOff+p.Len > len(fb) || p.MsgOff+p.Len > len(data) {
			return fmt.Errorf("rewrite frame %d: piece out of range of frame %d", m.Frame, p.Frame)
		}
		old := fb[p.FrameOff : p.FrameOff+p.Len]
		nb := data[p.MsgOff : p.MsgOff+p.Len]
		if p.Masked {
			scratch = append(scratch[:0], nb...)
			unmask(scratch, p.Mask)
			nb = scratch
		}
		for _, r := range p.Sums {
			var err error
			if touched, err = applyRef(r, p.FrameOff, old, nb, frames, touched); err != nil {
				return fmt.Errorf("rewrite frame %d: %w", m.Frame, err)
			}
		}
		copy(old, nb)
		touched = addFrame(touched, p.Frame)
	}
	for _, f := range touched {
		link, fb, ok := frames(f)
		if !ok {
			return fmt.Errorf("rewrite frame %d: frame %d is not held", m.Frame, f)
		}
		if err := FixChecksums(link, fb); err != nil {
			return fmt.Errorf("rewrite frame %d: frame %d: %w", m.Frame, f, err)
		}
	}
	return nil
}

// applyRef updates the checksum r for bytes at frame offset off changing
// from old to new, then the checksums covering r's own field.
func applyRef(r ChecksumRef, off int, old, new []byte, frames FrameFunc, touched []uint64) ([]uint64, error) {
	_, fb, ok := frames(r.Frame)
	if !ok {
		return touched, fmt.Errorf("checksum in frame %d: frame not held", r.Frame)
	}
	if r.Off < 0 || r.Off+2 > len(fb) {
		return touched, fmt.Errorf("checksum in frame %d: offset %d out of range", r.Frame, r.Off)
	}
	field := fb[r.Off : r.Off+2]
	before := [2]byte{field[0], field[1]}
	AdjustChecksum(field, (off+int(r.Phase))&1 == 1, r.UDP, old, new)
	touched = addFrame(touched, r.Frame)
	for _, o := range r.Outer {
		var err error
		if touched, err = applyRef(o, r.Off, before[:], field, frames, touched); err != nil {
			return touched, err
		}
	}
	return touched, nil
}

func addFrame(s []uint64, f uint64) []uint64 {
	for _, x := range s {
		if x == f {
			return s
		}
	}
	return append(s, f)
}
