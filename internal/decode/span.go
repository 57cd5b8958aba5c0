package decode

// span is a run of bytes being decoded together with where they sit in the
// captured frames. Bytes of the frame being decoded need no piece list:
// frame and off say where b starts. Bytes rebuilt from several frames (IP
// fragments, TCP stream buffers, WebSocket or SCTP messages) carry pcs, a
// sorted, gap-free piece list over a buffer whose offset 0 is MsgOff 0; off
// is then the buffer offset of b[0]. Plaintext from a StreamHandler has no
// frame bytes at all (nomap).
type span struct {
	b     []byte
	frame uint64
	off   int
	pcs   []Piece
	nomap bool
}

// sub returns the span of s.b[i:j].
func (s span) sub(i, j int) span {
	s.b = s.b[i:j]
	s.off += i
	return s
}

// appendPieces appends to dst the pieces that map s.b[i:j], numbered from
// msgOff in the destination message.
func appendPieces(dst []Piece, s span, i, j, msgOff int) []Piece {
	if i >= j || s.nomap {
		return dst
	}
	if s.pcs == nil {
		return append(dst, Piece{Frame: s.frame, MsgOff: msgOff, FrameOff: s.off + i, Len: j - i})
	}
	lo, hi := s.off+i, s.off+j
	for k := findPiece(s.pcs, lo); k < len(s.pcs) && s.pcs[k].MsgOff < hi; k++ {
		p := s.pcs[k]
		a := max(lo, p.MsgOff)
		b := min(hi, p.MsgOff+p.Len)
		if a >= b {
			continue
		}
		q := p
		skip := a - p.MsgOff
		q.FrameOff += skip
		if q.Masked {
			q.Mask = rotateMask(p.Mask, skip)
		}
		q.MsgOff = msgOff + (a - lo)
		q.Len = b - a
		dst = append(dst, q)
	}
	return dst
}

// findPiece returns the index of the first piece that ends after buffer
// offset off.
func findPiece(pcs []Piece, off int) int {
	lo, hi := 0, len(pcs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if pcs[m].MsgOff+pcs[m].Len <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// locate returns where byte s.b[i] sits: frame, frame offset and the
// checksums covering it.
func locate(s span, i int) (frame uint64, off int, sums []ChecksumRef, ok bool) {
	if s.nomap || i < 0 || i >= len(s.b) {
		return 0, 0, nil, false
	}
	if s.pcs == nil {
		return s.frame, s.off + i, nil, true
	}
	o := s.off + i
	k := findPiece(s.pcs, o)
	if k >= len(s.pcs) || s.pcs[k].MsgOff > o {
		return 0, 0, nil, false
	}
	p := s.pcs[k]
	return p.Frame, p.FrameOff + (o - p.MsgOff), p.Sums, true
}

// rotateMask returns the WebSocket mask as seen n bytes further on.
func rotateMask(m [4]byte, n int) [4]byte {
	r := n & 3
	return [4]byte{m[r], m[(r+1)&3], m[(r+2)&3], m[(r+3)&3]}
}

// clonePieces returns a copy of pcs that owns its Sums, for state kept
// across Decode calls.
func clonePieces(dst, pcs []Piece) []Piece {
	for _, p := range pcs {
		if p.Sums != nil {
			p.Sums = cloneSums(p.Sums)
		}
		dst = append(dst, p)
	}
	return dst
}

func cloneSums(s []ChecksumRef) []ChecksumRef {
	out := make([]ChecksumRef, len(s))
	for i, r := range s {
		if r.Outer != nil {
			r.Outer = cloneSums(r.Outer)
		}
		out[i] = r
	}
	return out
}

// withChecksum returns s (a whole UDP or TCP segment rebuilt from several
// frames) with a ChecksumRef to its checksum field, at s.b[field], added to
// every piece, so that a rewrite of any payload byte can update it. It
// allocates; it runs only for fragmented transport segments.
func withChecksum(s span, field int, udp bool) span {
	if s.pcs == nil || s.nomap || field+2 > len(s.b) {
		return s
	}
	if udp && s.b[field] == 0 && s.b[field+1] == 0 {
		return s // no UDP checksum: nothing to keep valid
	}
	fFrame, fOff, fSums, ok := locate(s, field)
	if !ok {
		return s
	}
	// The field's two bytes may straddle fragments only at odd offsets,
	// which IP fragmentation (8-byte units) never produces.
	ref := ChecksumRef{Frame: fFrame, Off: fOff, UDP: udp}
	if fSums != nil {
		// Phases are relative to frame offsets, so the refs covering the
		// field's piece apply to the field unchanged.
		ref.Outer = cloneSums(fSums)
	}
	pcs := appendPieces(nil, s, 0, len(s.b), 0)
	for k := range pcs {
		p := &pcs[k]
		// Position of the piece's first byte in the summed segment is
		// p.MsgOff; its frame offset is p.FrameOff.
		r := ref
		r.Phase = uint8((p.FrameOff - p.MsgOff) & 1)
		sums := make([]ChecksumRef, 0, len(p.Sums)+1)
		sums = append(sums, r)
		sums = append(sums, p.Sums...)
		p.Sums = sums
	}
	return span{b: s.b, pcs: pcs}
}
