package scenario

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// bulkCallGap is the mean gap between call starts in Bulk: 125 calls/s,
// about a thousand calls in progress at any time.
const bulkCallGap = 8 * time.Millisecond

// Bulk writes exactly packets frames of SIP over UDP, from as many calls
// as it takes, to w as "pcap" (µs) or "pcapng". It streams: calls are made
// as the capture clock reaches them and dropped once written, so memory
// does not grow with packets. The traffic is a mix of answered, failed
// (408, 486, 503) and cancelled calls and OPTIONS keepalives, over IPv4
// and (one call in eight) IPv6; calls carry X-Genesys-Call-ID, one in three
// also x-inin-cnv. The calls in progress at the end are cut off at the
// packet count. No trace records are made.
func Bulk(w io.Writer, format string, packets int, seed int64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var write func(ci gopacket.CaptureInfo, data []byte) error
	switch format {
	case "pcap":
		pw := newPcapWriter(bw, false)
		if err := pw.WriteFileHeader(snapLen, layers.LinkTypeEthernet); err != nil {
			return fmt.Errorf("scenario: bulk pcap header: %w", err)
		}
		write = pw.WritePacket
	case "pcapng":
		nw, err := newNgWriter(bw)
		if err != nil {
			return fmt.Errorf("scenario: bulk pcapng header: %w", err)
		}
		// The NgWriter buffers on its own: flush it into bw, then bw.
		return bulkRun(nw.WritePacket, func() error {
			if err := nw.Flush(); err != nil {
				return err
			}
			return bw.Flush()
		}, packets, seed)
	default:
		return fmt.Errorf("scenario: bulk format %q: want pcap or pcapng", format)
	}
	return bulkRun(write, bw.Flush, packets, seed)
}

// bulkRun generates calls and writes their frames in time order.
func bulkRun(write func(gopacket.CaptureInfo, []byte) error, flush func() error, packets int, seed int64) error {
	opt := Options{Seed: seed, Start: defaultStart(), Transit: 12 * time.Millisecond}
	p := newPacketizer(seed)
	var q unitQueue
	var scratch sipMsg
	ends := bulkEnds{sbc: sbc(), sbc6: sbc6(), edge6: edge6(), edges: [3]endpoint{edge(0), edge(1), edge(2)}}
	next := opt.Start
	seq, order := 0, 0
	for n := 0; n < packets; n++ {
		// Start every call that begins before the earliest pending frame:
		// a call's frames never precede its start.
		for len(q) == 0 || !next.After(q[0].at) {
			g := newGen(seed, uint64(seq)+1)
			c := bulkCall(g, seq, next, opt, &ends)
			c.schedule()
			us := make([]unit, 0, len(c.steps))
			c.units(&scratch, func(u unit) { us = append(us, u) })
			for i := range us {
				q.push(pending{at: us[i].at, seq: order, u: &us[i]})
				order++
			}
			seq++
			next = next.Add(time.Duration(g.r.Int64N(int64(2*bulkCallGap/time.Microsecond))) * time.Microsecond)
		}
		u := q.pop().u
		data, err := p.frame(u)
		if err != nil {
			return fmt.Errorf("scenario: bulk frame %d: %w", n+1, err)
		}
		if err := write(gopacket.CaptureInfo{Timestamp: u.at, CaptureLength: len(data), Length: len(data)}, data); err != nil {
			return fmt.Errorf("scenario: bulk frame %d: %w", n+1, err)
		}
	}
	return flush()
}

// bulkEnds are the endpoints of Bulk, made once.
type bulkEnds struct {
	sbc, sbc6, edge6 endpoint
	edges            [3]endpoint
}

// bulkCall makes the i-th call of Bulk, starting at start.
func bulkCall(g gen, i int, start time.Time, opt Options, ends *bulkEnds) *call {
	sp := spec{label: "bulk", carrier: ends.sbc, edge: ends.edges[i%3], node: edgeNode(i), xgcid: true, cnv: i%3 == 0}
	if i%8 == 7 {
		sp.carrier, sp.edge = ends.sbc6, ends.edge6
	}
	var flow func(c *call, g gen)
	switch r := g.r.IntN(100); {
	case r < 45:
		flow = func(c *call, g gen) { c.answered(g, party(g.r.IntN(2)), false) }
	case r < 65:
		sp.uac = genesysSide
		flow = func(c *call, g gen) { c.answered(g, party(g.r.IntN(2)), true) }
	case r < 75:
		flow = func(c *call, g gen) { c.failed(g, 486, true) }
	case r < 85:
		flow = func(c *call, g gen) { c.cancelled(g) }
	case r < 90:
		flow = func(c *call, g gen) { c.failed(g, 408, true) }
	case r < 95:
		sp.uac = genesysSide
		flow = func(c *call, g gen) { c.failed(g, 503, false) }
	default:
		sp.uac, sp.noNumbers, sp.xgcid, sp.cnv = genesysSide, true, false, false
		flow = func(c *call, g gen) { c.keepalive(g) }
	}
	c := newCall(g, sp, opt)
	c.start = start
	flow(c, g)
	c.finish(g, sp)
	return c
}

// pending is a frame waiting in Bulk's queue.
type pending struct {
	at  time.Time
	seq int
	u   *unit
}

// unitQueue is a min-heap of frames by capture time, then insertion order.
// (container/heap would box every entry into an interface.)
type unitQueue []pending

func (q unitQueue) less(i, j int) bool {
	if c := q[i].at.Compare(q[j].at); c != 0 {
		return c < 0
	}
	return q[i].seq < q[j].seq
}

func (q *unitQueue) push(x pending) {
	*q = append(*q, x)
	h := *q
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (q *unitQueue) pop() pending {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = pending{}
	h = h[:last]
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < len(h) && h.less(l, small) {
			small = l
		}
		if r := l + 1; r < len(h) && h.less(r, small) {
			small = r
		}
		if small == i {
			break
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
	*q = h
	return top
}
