package decode

// holds counts, per captured frame, the pieces of unfinished reassembly
// state that point into it (IP fragments, TCP stream buffers, out-of-order
// segments, WebSocket and SCTP partial messages, and the frames of their
// checksum fields). Oldest is the smallest frame with a count above zero.
//
// Frames are kept in ascending order with a head index, so the common
// operations (a hold on the newest frame, a release of the oldest) are O(1)
// or O(log n) and allocation-free once the slices have grown.
type holds struct {
	frames []uint64
	counts []int32
	head   int
}

func (h *holds) reset() {
	h.frames, h.counts, h.head = h.frames[:0], h.counts[:0], 0
}

// search returns the index in h.frames (>= head) of f, or where it belongs.
func (h *holds) search(f uint64) int {
	lo, hi := h.head, len(h.frames)
	if hi > lo && h.frames[hi-1] < f {
		return hi
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if h.frames[m] < f {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (h *holds) add(f uint64) {
	i := h.search(f)
	if i < len(h.frames) && h.frames[i] == f {
		h.counts[i]++
		return
	}
	if len(h.frames) == cap(h.frames) {
		h.compact()
		i = h.search(f)
	}
	h.frames = append(h.frames, 0)
	h.counts = append(h.counts, 0)
	copy(h.frames[i+1:], h.frames[i:])
	copy(h.counts[i+1:], h.counts[i:])
	h.frames[i], h.counts[i] = f, 1
}

func (h *holds) release(f uint64) {
	i := h.search(f)
	if i >= len(h.frames) || h.frames[i] != f || h.counts[i] <= 0 {
		return // not held: tolerate rather than corrupt the counts
	}
	h.counts[i]--
	for h.head < len(h.frames) && h.counts[h.head] == 0 {
		h.head++
	}
	if h.head == len(h.frames) {
		h.frames, h.counts, h.head = h.frames[:0], h.counts[:0], 0
	}
}

// compact drops released entries so the slices do not grow with frames
// that are no longer held.
func (h *holds) compact() {
	n := 0
	for i := h.head; i < len(h.frames); i++ {
		if h.counts[i] > 0 {
			h.frames[n], h.counts[n] = h.frames[i], h.counts[i]
			n++
		}
	}
	h.frames, h.counts, h.head = h.frames[:n], h.counts[:n], 0
}

// held reports whether frame f is referenced by unfinished state.
func (h *holds) held(f uint64) bool {
	i := h.search(f)
	return i < len(h.frames) && h.frames[i] == f && h.counts[i] > 0
}

func (h *holds) oldest() (uint64, bool) {
	if h.head < len(h.frames) {
		return h.frames[h.head], true
	}
	return 0, false
}

// holdPieces adds (delta 1) or releases (delta -1) the frames of pcs.
func (h *holds) pieces(pcs []Piece, delta int) {
	for i := range pcs {
		h.frame(pcs[i].Frame, delta)
		h.sums(pcs[i].Sums, delta)
	}
}

func (h *holds) sums(s []ChecksumRef, delta int) {
	for i := range s {
		h.frame(s[i].Frame, delta)
		h.sums(s[i].Outer, delta)
	}
}

func (h *holds) frame(f uint64, delta int) {
	if delta > 0 {
		h.add(f)
	} else {
		h.release(f)
	}
}
