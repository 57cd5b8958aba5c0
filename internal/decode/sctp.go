package decode

import (
	"net/netip"

	"github.com/genesys-sip/genesys-sip/internal/sip"
)

// SIP over SCTP (RFC 4168): each SCTP user message is one SIP message, sent
// in DATA chunks (RFC 9260 §3.3.1) of any PPID, possibly several chunks per
// packet and, for large messages, fragmented over consecutive TSNs (B/E
// flags) within a stream. I-DATA chunks (RFC 8260) are decoded when they
// carry a whole message; fragmented I-DATA is not reassembled.
//
// SCTP's CRC32c checksum cannot be updated incrementally like UDP's, so an
// SCTP packet inside fragmented IP gets no ChecksumRef (FixChecksums handles
// the unfragmented case).

// Bounds on SCTP partial messages.
const (
	maxSCTPPartials = 64
	maxSCTPBytes    = 8 << 20
)

type sctpKey struct {
	src, dst  netip.AddrPort
	sid       uint16
	unordered bool
}

type sctpPartial struct {
	key     sctpKey
	tsn     uint32 // last TSN added
	data    []byte
	pcs     []Piece
	created int64
}

type sctpState struct {
	partials []*sctpPartial
	bytes    int
}

func (s *sctpState) reset() {
	clear(s.partials)
	s.partials, s.bytes = s.partials[:0], 0
}

// sctpPacket decodes the chunks of one SCTP packet.
func (d *Decoder) sctpPacket(src, dst netip.Addr, s span) {
	b := s.b
	if len(b) < 12 {
		d.stats.Truncated++
		return
	}
	sa := netip.AddrPortFrom(src, be16(b))
	da := netip.AddrPortFrom(dst, be16(b[2:]))
	for off := 12; off+4 <= len(b); {
		typ, flags, clen := b[off], b[off+1], int(be16(b[off+2:]))
		if clen < 4 || off+clen > len(b) {
			d.stats.Truncated++
			return
		}
		switch {
		case typ == 0 && clen >= 16: // DATA
			d.sctpData(sa, da, flags, be32(b[off+4:]), be16(b[off+8:]), s.sub(off+16, off+clen))
		case typ == 64 && clen >= 20 && flags&3 == 3: // I-DATA, whole message
			d.sctpMessage(sa, da, s.sub(off+20, off+clen))
		}
		off += (clen + 3) &^ 3
	}
}

// sctpData handles one DATA chunk's user data p.
func (d *Decoder) sctpData(sa, da netip.AddrPort, flags byte, tsn uint32, sid uint16, p span) {
	begin, end := flags&2 != 0, flags&1 != 0
	if begin && end {
		d.sctpMessage(sa, da, p)
		return
	}
	st := &d.sctp
	key := sctpKey{src: sa, dst: da, sid: sid, unordered: flags&4 != 0}
	i := st.find(key)
	if begin {
		if i >= 0 {
			d.malformed(ErrSCTPFragment, "sctp %s -> %s: message restarted", sa, da)
			st.remove(d, i)
		}
		for len(st.partials) >= maxSCTPPartials || (len(st.partials) > 0 && st.bytes+len(p.b) > maxSCTPBytes) {
			st.remove(d, 0)
			d.malformed(ErrSCTPFragment, "sctp: too many partial messages")
		}
		if len(p.b) > sip.MaxMessage {
			return
		}
		m := &sctpPartial{key: key, tsn: tsn, created: d.now}
		st.partials = append(st.partials, m)
		st.add(d, m, p)
		return
	}
	if i < 0 {
		return // middle or end of a message whose start was not captured
	}
	m := st.partials[i]
	if tsn == m.tsn {
		return // retransmitted chunk
	}
	if tsn != m.tsn+1 || len(m.data)+len(p.b) > sip.MaxMessage {
		d.malformed(ErrSCTPFragment, "sctp %s -> %s: fragment out of sequence or too large", sa, da)
		st.remove(d, i)
		return
	}
	m.tsn = tsn
	st.add(d, m, p)
	if !end {
		return
	}
	if ok, _ := sip.IsStartLine(m.data); ok {
		pstart := len(d.pieces)
		d.pieces = append(d.pieces, m.pcs...)
		// m.data is not reused once removed, so the message may alias it.
		d.emitOwned(SCTP, Flow{Src: sa, Dst: da}, m.data[:len(m.data):len(m.data)], d.pieces[pstart:len(d.pieces):len(d.pieces)])
	}
	st.remove(d, i)
}

// sctpMessage returns one whole SCTP user message if it is SIP.
func (d *Decoder) sctpMessage(sa, da netip.AddrPort, p span) {
	if ok, _ := sip.IsStartLine(p.b); ok {
		d.emit(SCTP, sa, da, p, 0, len(p.b))
	}
}

func (s *sctpState) find(k sctpKey) int {
	for i, m := range s.partials {
		if m.key == k {
			return i
		}
	}
	return -1
}

func (s *sctpState) add(d *Decoder, m *sctpPartial, p span) {
	off := len(m.data)
	m.data = append(m.data, p.b...)
	k := len(m.pcs)
	m.pcs = clonePieces(m.pcs, appendPieces(nil, p, 0, len(p.b), off))
	d.holds.pieces(m.pcs[k:], 1)
	s.bytes += len(p.b)
}

func (s *sctpState) remove(d *Decoder, i int) {
	m := s.partials[i]
	d.holds.pieces(m.pcs, -1)
	s.bytes -= len(m.data)
	copy(s.partials[i:], s.partials[i+1:])
	s.partials[len(s.partials)-1] = nil
	s.partials = s.partials[:len(s.partials)-1]
}

// expire drops partial messages older than FragmentTimeout.
func (s *sctpState) expire(d *Decoder) {
	for i := 0; i < len(s.partials); {
		if d.now-s.partials[i].created > d.lim.fragTimeout {
			d.malformed(ErrTruncated, "sctp %s -> %s: message timed out", s.partials[i].key.src, s.partials[i].key.dst)
			s.remove(d, i)
			continue
		}
		i++
	}
}
