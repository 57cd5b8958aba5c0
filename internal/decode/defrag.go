package decode

import "net/netip"

// IP fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5). Overlapping
// fragments keep the bytes that arrived first (RFC 5722 asks IPv6 to drop
// such datagrams; keeping the first copy decodes what a receiver most
// likely saw and is just as safe, since nothing is ever overwritten).

// maxFragmentsPerDatagram bounds the work one datagram can cause.
const maxFragmentsPerDatagram = 256

// maxDatagram is the largest reassembled payload (16-bit offsets and
// lengths).
const maxDatagram = 0xffff

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8 // IPv4 only: IPv6 fragments carry it in the first one
	v6       bool
}

type fragment struct {
	off  int
	data []byte
	pcs  []Piece // MsgOff relative to data[0]
}

type fragDatagram struct {
	key     fragKey
	created int64
	frags   []fragment // sorted by off, never overlapping
	have    int        // bytes held
	total   int        // payload length, -1 until the last fragment arrived
	proto   uint8      // next header from the offset-0 fragment (IPv6)
	first   bool       // the offset-0 fragment arrived
	done    bool
}

type defragger struct {
	m     map[fragKey]*fragDatagram
	order []*fragDatagram // creation order; completed entries are skipped
	head  int
	bytes int
	parts [][2]int // scratch: uncovered ranges of a new fragment
}

func (f *defragger) init() { f.m = make(map[fragKey]*fragDatagram) }

func (f *defragger) reset() {
	clear(f.m)
	clear(f.order)
	f.order, f.head, f.bytes = f.order[:0], 0, 0
}

// add stores one fragment. When it completes its datagram, add returns the
// reassembled payload, the upper protocol (IPv6: from the first fragment)
// and true.
func (f *defragger) add(d *Decoder, key fragKey, off int, more bool, nh uint8, p span) (span, uint8, bool) {
	n := len(p.b)
	end := off + n
	if n == 0 && more {
		return span{}, 0, false
	}
	dg := f.m[key]
	if dg == nil {
		for len(f.m) >= d.lim.maxFragDatagrams {
			if !f.dropOldest(d) {
				break
			}
			d.stats.FragmentsDropped++
		}
		dg = &fragDatagram{key: key, created: d.now, total: -1}
		f.m[key] = dg
		f.order = append(f.order, dg)
		f.compactOrder()
	}
	bad := end > maxDatagram || len(dg.frags) >= maxFragmentsPerDatagram
	if !more {
		last := 0
		if k := len(dg.frags); k > 0 {
			last = dg.frags[k-1].off + len(dg.frags[k-1].data)
		}
		bad = bad || (dg.total >= 0 && dg.total != end) || last > end
		dg.total = end
	} else if dg.total >= 0 && end > dg.total {
		bad = true
	}
	if bad {
		f.remove(d, dg)
		d.stats.FragmentsDropped++
		return span{}, 0, false
	}
	if off == 0 {
		dg.first, dg.proto = true, nh
	}

	// Keep only the parts of [off, end) no fragment holds yet.
	f.parts = f.parts[:0]
	cur, overlap := off, false
	for _, e := range dg.frags {
		eEnd := e.off + len(e.data)
		if eEnd <= cur {
			continue
		}
		if e.off >= end {
			break
		}
		if e.off > cur {
			f.parts = append(f.parts, [2]int{cur, e.off})
		}
		overlap = true
		cur = max(cur, eEnd)
		if cur >= end {
			break
		}
	}
	if cur < end {
		f.parts = append(f.parts, [2]int{cur, end})
	}
	if overlap {
		d.stats.FragmentOverlaps++
	}
	added := 0
	for _, r := range f.parts {
		added += r[1] - r[0]
	}
	for f.bytes+added > d.lim.maxFragBytes {
		f.skipDone()
		if f.head >= len(f.order) || f.order[f.head] == dg {
			f.remove(d, dg)
			d.stats.FragmentsDropped++
			return span{}, 0, false
		}
		f.dropOldest(d)
		d.stats.FragmentsDropped++
	}
	for _, r := range f.parts {
		fr := fragment{off: r[0], data: append([]byte(nil), p.b[r[0]-off:r[1]-off]...)}
		fr.pcs = clonePieces(nil, appendPieces(nil, p, r[0]-off, r[1]-off, 0))
		d.holds.pieces(fr.pcs, 1)
		i := len(dg.frags)
		for i > 0 && dg.frags[i-1].off > fr.off {
			i--
		}
		dg.frags = append(dg.frags, fragment{})
		copy(dg.frags[i+1:], dg.frags[i:])
		dg.frags[i] = fr
		dg.have += len(fr.data)
		f.bytes += len(fr.data)
	}

	if dg.total < 0 || !dg.first || dg.have != dg.total {
		return span{}, 0, false
	}
	start, pstart := len(d.arena), len(d.pieces)
	for _, fr := range dg.frags {
		for _, pc := range fr.pcs {
			pc.MsgOff += fr.off
			d.pieces = append(d.pieces, pc)
		}
		d.arena = append(d.arena, fr.data...)
	}
	out := span{
		b:   d.arena[start:len(d.arena):len(d.arena)],
		pcs: d.pieces[pstart:len(d.pieces):len(d.pieces)],
	}
	proto := dg.proto
	if !key.v6 {
		proto = key.proto
	}
	f.remove(d, dg)
	d.stats.FragmentsReassembled++
	return out, proto, true
}

// remove forgets dg, releasing its holds.
func (f *defragger) remove(d *Decoder, dg *fragDatagram) {
	if dg.done {
		return
	}
	for _, fr := range dg.frags {
		d.holds.pieces(fr.pcs, -1)
		f.bytes -= len(fr.data)
	}
	dg.frags, dg.done = nil, true
	delete(f.m, dg.key)
}

// skipDone moves the head past completed datagrams.
func (f *defragger) skipDone() {
	for f.head < len(f.order) && f.order[f.head].done {
		f.order[f.head] = nil
		f.head++
	}
}

// dropOldest removes the oldest pending datagram; false if there is none.
func (f *defragger) dropOldest(d *Decoder) bool {
	for f.head < len(f.order) {
		dg := f.order[f.head]
		f.order[f.head] = nil
		f.head++
		if !dg.done {
			f.remove(d, dg)
			return true
		}
	}
	return false
}

// expire drops datagrams older than FragmentTimeout.
func (f *defragger) expire(d *Decoder) {
	for f.head < len(f.order) {
		dg := f.order[f.head]
		if !dg.done {
			if d.now-dg.created <= d.lim.fragTimeout {
				break
			}
			f.remove(d, dg)
			d.stats.FragmentsExpired++
		}
		f.order[f.head] = nil
		f.head++
	}
	if f.head == len(f.order) {
		f.order, f.head = f.order[:0], 0
	}
}

// compactOrder drops completed entries when they pile up behind an old
// pending datagram.
func (f *defragger) compactOrder() {
	if len(f.order)-f.head < 2*len(f.m)+64 {
		return
	}
	n := 0
	for _, dg := range f.order[f.head:] {
		if !dg.done {
			f.order[n] = dg
			n++
		}
	}
	clear(f.order[n:])
	f.order, f.head = f.order[:n], 0
}
