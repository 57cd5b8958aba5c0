package trace

import (
	"cmp"
	"errors"
	"hash/maphash"
	"iter"
	"math"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"
)

// Index holds trace records and finds them by correlation key and by time.
// Records never change once added. An Index is safe for concurrent use:
// readers proceed while records are added (Add, Load, LoadFile, as a live
// poller does), and lookups and iterators see the records present when they
// start. Duplicates, the same record added twice, are kept out.
type Index struct {
	extra   []string // canonical names of non-built-in correlation headers
	workers int
	seed    maphash.Seed

	mu     sync.RWMutex
	pages  [][]crec // see locate
	n      int
	byTime []tid // sorted by time, then id
	key    postings
	conv   postings
	callID postings
	byHdr  []postings // parallel to extra
	dups   int        // records found to be duplicates (tombstoned)
	files  []*msgFile
}

const (
	pageBits = 12
	pageSize = 1 << pageBits
)

// Records live in pages that never move once allocated, so readers
// holding a snapshot of the page list need no lock. The first page is small
// for the many small indexes (one API response); the others hold pageSize.
const firstPage = 256

// locate returns the record with id in pages.
func locate(pages [][]crec, id uint32) *crec {
	if id < firstPage {
		return &pages[0][id]
	}
	id -= firstPage
	return &pages[1+id>>pageBits][id&(pageSize-1)]
}

type tid struct {
	t  int64
	id uint32
}

func cmpTid(a, b tid) int {
	if c := cmp.Compare(a.t, b.t); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// postings maps a key to the ids of its records, in id order.
type postings struct {
	m     map[string]int32
	lists [][]uint32
	lastK string
	lastI int32
}

func newPostings() postings { return postings{m: make(map[string]int32), lastI: -1} }

func (p *postings) add(k string, id uint32) {
	if k == "" {
		return
	}
	i := p.lastI
	if i < 0 || k != p.lastK {
		var ok bool
		if i, ok = p.m[k]; !ok {
			i = int32(len(p.lists))
			p.lists = append(p.lists, nil)
			p.m[k] = i
		}
		p.lastK, p.lastI = k, i
	}
	p.lists[i] = append(p.lists[i], id)
}

// NewIndex returns an empty index configured by opt.
func NewIndex(opt Options) *Index {
	ix := &Index{
		extra:   extraHeaders(opt.CorrelationHeaders),
		workers: defaultWorkers(opt.Workers),
		seed:    maphash.MakeSeed(),
	}
	ix.reset()
	return ix
}

// reset empties the record storage. The caller holds the write lock or
// owns the index alone.
func (ix *Index) reset() {
	ix.pages, ix.n, ix.byTime = nil, 0, nil
	ix.key, ix.conv, ix.callID = newPostings(), newPostings(), newPostings()
	ix.byHdr = make([]postings, len(ix.extra))
	for i := range ix.byHdr {
		ix.byHdr[i] = newPostings()
	}
	ix.dups = 0
}

// Len returns the number of records.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.n - ix.dups
}

// Close releases the trace files of file-backed records. Their Message then
// fails; everything else about the records stays usable.
func (ix *Index) Close() error {
	ix.mu.Lock()
	files := ix.files
	ix.files = nil
	ix.mu.Unlock()
	var errs []error
	for _, f := range files {
		errs = append(errs, f.close())
	}
	return errors.Join(errs...)
}

func (ix *Index) at(id uint32) *crec { return locate(ix.pages, id) }

// insert adds a parsed block. Duplicates are found later, by settle. The
// caller holds the write lock.
func (ix *Index) insert(res *result, rep *Report) {
	ne := len(ix.extra)
	for i := range res.recs {
		if ix.n >= math.MaxUint32 {
			return // four billion records: refuse quietly rather than wrap ids
		}
		id := uint32(ix.n)
		switch {
		case id == 0:
			ix.pages = append(ix.pages, make([]crec, firstPage))
		case id >= firstPage && (id-firstPage)&(pageSize-1) == 0:
			ix.pages = append(ix.pages, make([]crec, pageSize))
		}
		p := ix.at(id)
		*p = res.recs[i]
		p.b = res.b
		ix.n++
		rep.Added++
		ix.key.add(p.str(sKey), id)
		ix.conv.add(p.str(sConv), id)
		ix.callID.add(p.str(sCallID), id)
		for j := 0; j < ne; j++ {
			if r := res.extra[i*ne+j]; r.n > 0 {
				ix.byHdr[j].add(res.b.arena[r.off:r.off+uint32(r.n)], id)
			}
		}
		ix.byTime = append(ix.byTime, tid{t: p.t, id: id})
	}
}

// settle restores time order after records from id firstID on were
// appended to byTime from position from on, and removes duplicates among
// them. Entries before from may be shared with readers' snapshots: they are
// never written, a merge builds a new slice.
func (ix *Index) settle(from int, firstID uint32, rep *Report) {
	tail := ix.byTime[from:]
	if !slices.IsSortedFunc(tail, cmpTid) {
		slices.SortFunc(tail, cmpTid)
	}
	if from > 0 && len(tail) > 0 && cmpTid(ix.byTime[from-1], tail[0]) > 0 {
		ix.byTime = mergeTids(ix.byTime[:from], tail)
	}
	d := ix.dedup(firstID)
	ix.dups += d
	rep.Added -= d
	rep.Duplicates += d
}

func mergeTids(head, tail []tid) []tid {
	merged := make([]tid, 0, len(head)+len(tail)+(len(head)+len(tail))/4)
	i, j := 0, 0
	for i < len(head) && j < len(tail) {
		if cmpTid(tail[j], head[i]) < 0 {
			merged = append(merged, tail[j])
			j++
		} else {
			merged = append(merged, head[i])
			i++
		}
	}
	merged = append(merged, head[i:]...)
	return append(merged, tail[j:]...)
}

// Identical records have the same time, so duplicates sit in runs of equal
// time in byTime; beyond this run length they are hashed, not compared in
// pairs.
const pairwiseRun = 16

// dedup tombstones every record from firstID on that repeats an earlier
// one and drops it from byTime. Only new entries move, and they lie beyond
// any reader's snapshot or in a fresh slice.
func (ix *Index) dedup(firstID uint32) int {
	bt := ix.byTime
	dups, w := 0, 0
	var kept []uint32
	var buf []byte
	for i := 0; i < len(bt); {
		j := i + 1
		for j < len(bt) && bt[j].t == bt[i].t {
			j++
		}
		check := false // only runs holding a new record need a look
		if j-i > 1 {
			for _, e := range bt[i:j] {
				check = check || e.id >= firstID
			}
		}
		var seen map[uint64][]uint32
		if check && j-i > pairwiseRun {
			seen = make(map[uint64][]uint32, j-i)
		}
		kept = kept[:0]
		for k := i; k < j; k++ {
			e := bt[k]
			if check {
				c := ix.at(e.id)
				dup := false
				if seen != nil {
					var h uint64
					h, buf = c.identity(ix.seed, buf)
					for _, o := range seen[h] {
						if dup = sameIdentity(ix.at(o), c); dup {
							break
						}
					}
					if !dup {
						seen[h] = append(seen[h], e.id)
					}
				} else {
					for _, o := range kept {
						if dup = sameIdentity(ix.at(o), c); dup {
							break
						}
					}
					if !dup {
						kept = append(kept, e.id)
					}
				}
				if dup { // always the later, new record: ids ascend in a run
					c.flags |= flDup
					dups++
					continue
				}
			}
			if w != k {
				bt[w] = e
			}
			w++
		}
		i = j
	}
	ix.byTime = bt[:w]
	return dups
}

// Add adds records built elsewhere (for example by an API poller) and
// returns how many were new; duplicates of records already present and
// records without a time are left out. Records are copied.
func (ix *Index) Add(recs ...Record) int {
	b := newBuilder(&config{extra: ix.extra})
	res := &result{recs: make([]crec, 0, len(recs))}
	for i := range recs {
		if c, ok := b.encode(&recs[i]); ok {
			res.recs = append(res.recs, c)
		}
	}
	b.finish(res)
	var rep Report
	ix.mu.Lock()
	defer ix.mu.Unlock()
	from, firstID := len(ix.byTime), uint32(ix.n)
	ix.insert(res, &rep)
	ix.settle(from, firstID, &rep)
	return rep.Added
}

// encode converts a Record into compact form in the builder's arena.
func (b *builder) encode(r *Record) (crec, bool) {
	var c crec
	ns, ok := nanos(r.Time)
	if !ok || r.Time.IsZero() {
		return c, false
	}
	c.t = ns
	for slot, s := range [nStr]string{
		sKey: r.Key, sConv: r.ConversationID, sPart: r.ParticipantID, sCallID: r.CallID,
		sMethod: r.Method, sReason: r.Reason, sCSeqMethod: r.CSeqMethod, sBranch: r.ViaBranch,
		sFrom: r.FromUser, sTo: r.ToUser, sRURI: r.RURIUser, sPID: r.PIDUser,
		sProto: r.Proto, sNode: r.Node,
	} {
		c.set(slot, b.add(slot, []byte(s)))
	}
	if r.Status > 0 && r.Status <= math.MaxUint16 {
		c.status = uint16(r.Status)
	}
	c.cseq = r.CSeqNum
	c.sport, c.dport = r.SrcPort, r.DstPort
	var fl uint8
	c.src, fl = addr16(r.SrcIP)
	c.flags |= fl
	c.dst, fl = addr16(r.DstIP)
	c.flags |= fl << 2
	for i := range b.extraV {
		b.extraV[i] = nil
	}
	switch {
	case r.Msg != "":
		m := []byte(r.Msg)
		rf := b.put(m)
		c.msgOff, c.msgLen = int64(rf.off), uint32(len(m))
		hs, _ := newHeaderScanner(m)
		b.scanHeaders(&hs)
	case r.ext != nil:
		c.ext, c.msgOff, c.msgLen = r.ext, r.extOff, r.extLen
	}
	for _, v := range b.extraV {
		b.ext = append(b.ext, b.add(-1, cleanValue(v)))
	}
	return c, true
}

func addr16(a netip.Addr) ([16]byte, uint8) {
	a = a.Unmap()
	switch {
	case a.Is4():
		return a.As16(), flSrc4
	case a.Is6():
		return a.WithZone("").As16(), flSrc6
	}
	return [16]byte{}, 0
}

// nanos converts t to Unix nanoseconds, false outside int64's range.
func nanos(t time.Time) (int64, bool) {
	if t.Year() < 1678 || t.Year() > 2261 {
		return 0, false
	}
	return t.UnixNano(), true
}

func timeOf(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// clampNanos converts a query bound, saturating outside int64's range.
func clampNanos(t time.Time) int64 {
	if ns, ok := nanos(t); ok {
		return ns
	}
	if t.Year() < 1678 {
		return math.MinInt64
	}
	return math.MaxInt64
}

func (ix *Index) lookup(p *postings, k string) []Record {
	if k == "" {
		return nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	i, ok := p.m[k]
	if !ok {
		return nil
	}
	ids := p.lists[i]
	out := make([]Record, 0, len(ids))
	for _, id := range ids {
		if c := ix.at(id); c.flags&flDup == 0 {
			out = append(out, c.record())
		}
	}
	slices.SortStableFunc(out, func(a, b Record) int { return a.Time.Compare(b.Time) })
	return out
}

// ByKey returns the records whose X-Genesys-Call-ID is key, in time order.
func (ix *Index) ByKey(key string) []Record { return ix.lookup(&ix.key, key) }

// ByConversation returns the records of a conversation (the x-inin-cnv
// header on the wire), in time order.
func (ix *Index) ByConversation(id string) []Record { return ix.lookup(&ix.conv, id) }

// ByCallID returns the records with SIP Call-ID callID, in time order.
// Proxies rewrite Call-IDs: treat a match as a weak one.
func (ix *Index) ByCallID(callID string) []Record { return ix.lookup(&ix.callID, callID) }

// ByHeader returns the records whose correlation header name has the value
// value, in time order. Only the configured correlation headers are indexed
// (see Indexed); X-Genesys-Call-ID, x-inin-cnv and Call-ID use ByKey,
// ByConversation and ByCallID.
func (ix *Index) ByHeader(name, value string) []Record {
	switch c := CanonicalHeader(name); c {
	case "x-genesys-call-id":
		return ix.ByKey(value)
	case "x-inin-cnv":
		return ix.ByConversation(value)
	case "call-id":
		return ix.ByCallID(value)
	default:
		if j := slices.Index(ix.extra, c); j >= 0 {
			return ix.lookup(&ix.byHdr[j], value)
		}
	}
	return nil
}

// Indexed reports whether ByHeader can look up header name.
func (ix *Index) Indexed(name string) bool {
	switch c := CanonicalHeader(name); c {
	case "x-genesys-call-id", "x-inin-cnv", "call-id":
		return true
	default:
		return slices.Contains(ix.extra, c)
	}
}

// snapshot returns the time order and pages as of now.
func (ix *Index) snapshot() ([]tid, [][]crec) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.byTime, ix.pages
}

// Between yields the records with from <= Time <= to in time order.
func (ix *Index) Between(from, to time.Time) iter.Seq[Record] {
	return func(yield func(Record) bool) {
		bt, pages := ix.snapshot()
		lo, hi := clampNanos(from), clampNanos(to)
		i := sort.Search(len(bt), func(i int) bool { return bt[i].t >= lo })
		for ; i < len(bt) && bt[i].t <= hi; i++ {
			id := bt[i].id
			if !yield(locate(pages, id).record()) {
				return
			}
		}
	}
}

// All yields every record in time order.
func (ix *Index) All() iter.Seq[Record] {
	return ix.Between(time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64))
}

// Span returns the times of the first and last records; ok is false when
// the index is empty.
func (ix *Index) Span() (first, last time.Time, ok bool) {
	bt, _ := ix.snapshot()
	if len(bt) == 0 {
		return time.Time{}, time.Time{}, false
	}
	return timeOf(bt[0].t), timeOf(bt[len(bt)-1].t), true
}
