package decode

import "net/netip"

// TCP stream reassembly, per direction (RFC 9293): exact and partial
// retransmissions are trimmed, out-of-order segments wait (bounded in count,
// bytes and capture time) for the hole before them, SYN/FIN/RST open and
// close connections, and a connection first seen mid-way is picked up at
// the first segment captured. In-order bytes go to the connection's upper
// layer (stream.go).

type connKey struct{ a, b netip.AddrPort } // a < b

type tcpConn struct {
	key        connKey
	dirs       [2]tcpDir // dirs[0] carries a→b, dirs[1] b→a
	handler    StreamHandler
	asked      bool // Config.StreamHandler was consulted
	hint       bool // a port is in PortHints
	wsUpgrade  bool // an HTTP request asked to upgrade to WebSocket
	tlsCounted bool
	dead       bool
	widx       int // index in tcpTable.waiting, -1 when not listed
	last       int64
	prev, next *tcpConn // activity list, least recently active first
}

type tcpDir struct {
	seqKnown bool
	next     uint32 // next expected sequence number
	finSet   bool
	finSeq   uint32
	closed   bool
	ooo      []oooSeg // sorted by seq
	oooBytes int
	oooSince int64
	up       upper
}

type oooSeg struct {
	seq  uint32
	data []byte
	pcs  []Piece // MsgOff relative to data[0]
}

type tcpTable struct {
	m            map[connKey]*tcpConn
	head, tail   *tcpConn
	buffered     int        // bytes held by every connection
	waiting      []*tcpConn // connections with out-of-order segments
	nextGapCheck int64
}

func (t *tcpTable) init() { t.m = make(map[connKey]*tcpConn) }

func (t *tcpTable) reset(d *Decoder) {
	for t.head != nil {
		t.close(d, t.head, false)
	}
	clear(t.waiting)
	t.waiting, t.buffered, t.nextGapCheck = t.waiting[:0], 0, 0
}

func (c *tcpConn) flow(di int) Flow {
	if di == 0 {
		return Flow{Src: c.key.a, Dst: c.key.b}
	}
	return Flow{Src: c.key.b, Dst: c.key.a}
}

// tcpSegment decodes one TCP segment s (header and payload).
func (d *Decoder) tcpSegment(src, dst netip.Addr, s span) {
	if len(s.b) < 20 {
		d.stats.Truncated++
		return
	}
	sport, dport := be16(s.b), be16(s.b[2:])
	seq := be32(s.b[4:])
	hl := int(s.b[12]>>4) * 4
	flags := s.b[13]
	if hl < 20 || hl > len(s.b) {
		d.stats.Truncated++
		return
	}
	if s.pcs != nil {
		s = withChecksum(s, 16, false)
	}
	payload := s.sub(hl, len(s.b))
	syn, fin, rst, ack := flags&0x02 != 0, flags&0x01 != 0, flags&0x04 != 0, flags&0x10 != 0

	sa, da := netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
	key, di := connKey{sa, da}, 0
	if sa.Compare(da) > 0 {
		key, di = connKey{da, sa}, 1
	}
	t := &d.tcp
	c := t.m[key]
	if c == nil {
		if rst || (len(payload.b) == 0 && !syn) {
			return // nothing to decode on a connection we do not track
		}
		c = t.open(d, key, d.hinted(sport) || d.hinted(dport))
	}
	t.touch(c, d.now)
	if rst {
		t.close(d, c, true)
		return
	}
	td := &c.dirs[di]
	if syn {
		isn := seq + 1
		if td.seqKnown && td.next != isn {
			if !ack {
				// A new connection reusing the ports of one we never saw
				// close: start over.
				t.close(d, c, true)
				c = t.open(d, key, d.hinted(sport) || d.hinted(dport))
				td = &c.dirs[di]
			} else {
				d.resetDir(c, di)
				td = &c.dirs[di]
			}
		}
		if !td.seqKnown {
			td.seqKnown, td.next = true, isn
		}
		seq = isn
	}
	if len(payload.b) > 0 {
		d.tcpData(c, di, seq, payload)
		if c.dead {
			return
		}
	}
	if fin {
		if !td.seqKnown {
			td.seqKnown, td.next = true, seq+uint32(len(payload.b))
		}
		td.finSet, td.finSeq = true, seq+uint32(len(payload.b))
	}
	d.checkFin(c, di)
}

// checkFin closes direction di once every byte before its FIN arrived, and
// the connection once both directions are closed.
func (d *Decoder) checkFin(c *tcpConn, di int) {
	td := &c.dirs[di]
	ignored := td.up.mode == modeIgnore && c.handler == nil // not reassembled
	if td.finSet && !td.closed && (td.next == td.finSeq || ignored) {
		d.endDir(c, di, true)
		td.closed = true
	}
	if c.dirs[0].closed && c.dirs[1].closed {
		d.tcp.close(d, c, false)
	}
}

// tcpData handles payload p starting at sequence number seq.
func (d *Decoder) tcpData(c *tcpConn, di int, seq uint32, p span) {
	td := &c.dirs[di]
	if td.closed || (td.up.mode == modeIgnore && c.handler == nil) {
		return // nothing to find: do not even reassemble
	}
	if !td.seqKnown {
		td.seqKnown, td.next = true, seq
		td.up.mid = true // picked up mid-stream
	}
	diff := int64(int32(seq - td.next))
	n := int64(len(p.b))
	if diff+n <= 0 {
		d.stats.TCPRetransmissions++
		return
	}
	if diff < 0 {
		d.stats.TCPRetransmissions++ // partial overlap: keep the new part
		p = p.sub(int(-diff), len(p.b))
		diff = 0
	}
	if diff > 0 {
		if diff <= int64(d.lim.maxStreamBytes) {
			d.oooAdd(c, di, seq, p)
			return
		}
		// Too far ahead to wait for: the bytes in between were lost.
		d.gap(c, di, seq)
	}
	d.deliver(c, di, p)
	if c.dead {
		return
	}
	td.next += uint32(len(p.b))
	d.drain(c, di)
}

// oooAdd holds a segment that arrived ahead of a hole.
func (d *Decoder) oooAdd(c *tcpConn, di int, seq uint32, p span) {
	td := &c.dirs[di]
	d.stats.TCPOutOfOrder++
	i := len(td.ooo)
	for i > 0 && int32(td.ooo[i-1].seq-seq) > 0 {
		i--
	}
	if i > 0 {
		prev := td.ooo[i-1]
		if int32(prev.seq+uint32(len(prev.data))-(seq+uint32(len(p.b)))) >= 0 {
			d.stats.TCPRetransmissions++ // already held
			return
		}
	}
	seg := oooSeg{seq: seq, data: append([]byte(nil), p.b...)}
	seg.pcs = clonePieces(nil, appendPieces(nil, p, 0, len(p.b), 0))
	d.holds.pieces(seg.pcs, 1)
	td.ooo = append(td.ooo, oooSeg{})
	copy(td.ooo[i+1:], td.ooo[i:])
	td.ooo[i] = seg
	td.oooBytes += len(seg.data)
	d.tcp.buffered += len(seg.data)
	if len(td.ooo) == 1 {
		td.oooSince = d.now
		d.tcp.wait(c)
	}
	// Give up on the hole rather than exceed the bounds.
	for len(td.ooo) > 0 && (len(td.ooo) > d.lim.maxOOO || td.oooBytes+td.up.held() > d.lim.maxStreamBytes) {
		d.gap(c, di, td.ooo[0].seq)
		d.drain(c, di)
		if c.dead {
			return
		}
	}
	d.tcp.enforce(d, c)
}

// drain delivers held segments that the stream has reached.
func (d *Decoder) drain(c *tcpConn, di int) {
	td := &c.dirs[di]
	for len(td.ooo) > 0 && !c.dead {
		s := td.ooo[0]
		diff := int64(int32(s.seq - td.next))
		if diff > 0 {
			break
		}
		copy(td.ooo, td.ooo[1:])
		td.ooo[len(td.ooo)-1] = oooSeg{}
		td.ooo = td.ooo[:len(td.ooo)-1]
		td.oooBytes -= len(s.data)
		d.tcp.buffered -= len(s.data)
		if end := diff + int64(len(s.data)); end > 0 {
			sp := span{b: s.data, pcs: s.pcs}
			d.deliver(c, di, sp.sub(int(-diff), len(s.data)))
			td.next += uint32(end)
		} else {
			d.stats.TCPRetransmissions++
		}
		d.holds.pieces(s.pcs, -1)
	}
	if len(td.ooo) == 0 {
		td.oooSince = 0
	}
}

// dropOOO releases the out-of-order segments of direction di.
func (d *Decoder) dropOOO(c *tcpConn, di int) {
	td := &c.dirs[di]
	for _, s := range td.ooo {
		d.holds.pieces(s.pcs, -1)
	}
	d.tcp.buffered -= td.oooBytes
	td.ooo, td.oooBytes, td.oooSince = nil, 0, 0
}

// resetDir forgets everything about direction di (a new SYN-ACK).
func (d *Decoder) resetDir(c *tcpConn, di int) {
	d.endDir(c, di, true)
	d.dropOOO(c, di)
	c.dirs[di] = tcpDir{}
	c.dirs[di].up.budget = d.lim.resyncBudget
}

// gap skips the stream of direction di forward to seq: the bytes before it
// were not captured.
func (d *Decoder) gap(c *tcpConn, di int, seq uint32) {
	d.stats.TCPGaps++
	c.dirs[di].next = seq
	d.endDir(c, di, true)
	u := &c.dirs[di].up
	u.mode, u.mid, u.afterLF = modeDetect, true, false
	if c.handler != nil {
		c.handler.Gap(c.flow(di))
	}
}

// checkGaps gives up on holes that have waited longer than GapTimeout.
func (d *Decoder) checkGaps() {
	t := &d.tcp
	if len(t.waiting) == 0 || d.now < t.nextGapCheck {
		return
	}
	t.nextGapCheck = d.now + d.lim.gapTimeout/4
	for i := len(t.waiting) - 1; i >= 0; i-- {
		if i >= len(t.waiting) {
			continue // closing a connection removed several entries
		}
		c := t.waiting[i]
		for di := range c.dirs {
			td := &c.dirs[di]
			if !c.dead && len(td.ooo) > 0 && d.now-td.oooSince > d.lim.gapTimeout {
				d.gap(c, di, td.ooo[0].seq)
				d.drain(c, di)
				if !c.dead {
					d.checkFin(c, di)
				}
			}
		}
		if !c.dead && len(c.dirs[0].ooo) == 0 && len(c.dirs[1].ooo) == 0 {
			t.unwait(c)
		}
	}
}

// wait lists c as holding out-of-order segments.
func (t *tcpTable) wait(c *tcpConn) {
	if c.widx < 0 {
		c.widx = len(t.waiting)
		t.waiting = append(t.waiting, c)
	}
}

// unwait removes c from the waiting list.
func (t *tcpTable) unwait(c *tcpConn) {
	i := c.widx
	if i < 0 {
		return
	}
	last := t.waiting[len(t.waiting)-1]
	t.waiting[i], last.widx = last, i
	t.waiting[len(t.waiting)-1] = nil
	t.waiting = t.waiting[:len(t.waiting)-1]
	c.widx = -1
}

// open starts tracking a connection, evicting the least recently active
// one if the table is full.
func (t *tcpTable) open(d *Decoder, key connKey, hint bool) *tcpConn {
	for len(t.m) >= d.lim.maxStreams && t.head != nil {
		d.stats.StreamsEvicted++
		t.close(d, t.head, true)
	}
	c := &tcpConn{key: key, hint: hint, last: d.now, widx: -1}
	for i := range c.dirs {
		c.dirs[i].up.budget = d.lim.resyncBudget
	}
	t.m[key] = c
	t.pushBack(c)
	return c
}

// close forgets c. truncated reports partial messages as cut short.
func (t *tcpTable) close(d *Decoder, c *tcpConn, truncated bool) {
	if c.dead {
		return
	}
	for di := range c.dirs {
		d.endDir(c, di, truncated && !c.dirs[di].closed)
		d.dropOOO(c, di)
	}
	if c.handler != nil {
		c.handler.Close()
		c.handler = nil
	}
	c.dead = true
	t.unwait(c)
	delete(t.m, c.key)
	t.unlink(c)
}

// expire forgets connections idle for longer than StreamIdleTimeout and
// gives up on stale holes.
func (t *tcpTable) expire(d *Decoder) {
	for t.head != nil && d.now-t.head.last > d.lim.idleTimeout {
		d.stats.StreamsExpired++
		t.close(d, t.head, true)
	}
	d.checkGaps()
}

// enforce evicts the least recently active connections (other than keep)
// while all of them together buffer more than MaxBufferedBytes.
func (t *tcpTable) enforce(d *Decoder, keep *tcpConn) {
	for t.buffered > d.lim.maxBuffered {
		c := t.head
		if c == keep {
			c = c.next
		}
		if c == nil {
			return
		}
		d.stats.StreamsEvicted++
		t.close(d, c, true)
	}
}

func (t *tcpTable) touch(c *tcpConn, now int64) {
	c.last = now
	if t.tail != c {
		t.unlink(c)
		t.pushBack(c)
	}
}

func (t *tcpTable) pushBack(c *tcpConn) {
	c.prev, c.next = t.tail, nil
	if t.tail != nil {
		t.tail.next = c
	} else {
		t.head = c
	}
	t.tail = c
}

func (t *tcpTable) unlink(c *tcpConn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else if t.head == c {
		t.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else if t.tail == c {
		t.tail = c.prev
	}
	c.prev, c.next = nil, nil
}
