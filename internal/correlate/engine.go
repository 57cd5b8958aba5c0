// Package correlate pairs the SIP messages seen on the wire with the SIP
// trace records Genesys Cloud kept for the same messages, estimates the clock
// offset between the capture and Genesys from those pairs, and writes the
// annotation comments (see DESIGN.md, "Annotation comments").
//
// Calls meet through the correlation headers, never the rewritable Call-ID
// alone:
//
//	on the wire                    in a trace record
//	X-Genesys-Call-ID header       that header in the record's msg, or an export's call-id
//	x-inin-cnv header              conversationId
//	Call-ID (fallback, flagged)    callid
//
// Within a call, a packet and a record are the same message when their CSeq,
// method or status and (when both have one) top Via branch agree. When a
// B2BUA between the capture point and Genesys changed branches and CSeq
// numbers, the leftovers are paired by CSeq method and method/status in
// order of appearance, within a time window after clock correction
// (match=order).
package correlate

import (
	"cmp"
	"iter"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/trace"
)

// KeyKind names what joined a wire message to its call, as the comment's
// key= value spells it.
type KeyKind uint8

// Key kinds. KeyHeader covers any other configured correlation header.
const (
	KeyNone KeyKind = iota
	KeyGenesysCallID
	KeyConversation
	KeyHeader
	KeyCallID
)

func (k KeyKind) String() string {
	switch k {
	case KeyGenesysCallID:
		return "x-genesys-call-id"
	case KeyConversation:
		return "x-inin-cnv"
	case KeyHeader:
		return "header"
	case KeyCallID:
		return "call-id"
	}
	return "none"
}

// Options configure an Engine.
type Options struct {
	// Headers are the correlation headers in priority order; the default
	// is X-Genesys-Call-ID then x-inin-cnv. A header named
	// X-Genesys-Call-ID meets the records' Key, x-inin-cnv their
	// conversation id, any other the same header in the records' msg.
	Headers []string
	// Offset, when set, is the clock offset (Genesys minus capture) to
	// apply instead of estimating one.
	Offset *time.Duration
	// Window bounds |corrected record time - wire time| for pairs made by
	// order; 0 means 2 s.
	Window time.Duration
}

// DefaultHeaders are the correlation headers of DESIGN.md.
func DefaultHeaders() []string { return []string{"X-Genesys-Call-ID", "x-inin-cnv"} }

// WireMsg is the identity of one SIP message seen on the wire. Its byte
// slices may point into decoder buffers: Observe copies what it keeps.
type WireMsg struct {
	Frame uint64
	// Index numbers the messages one frame completes, from 0.
	Index      int
	Time       time.Time
	Src, Dst   netip.AddrPort
	CallID     []byte
	CSeqNum    uint32
	CSeqMethod []byte
	Method     []byte // empty for a response
	Status     int    // 0 for a request
	Branch     []byte
	// Headers holds the values of Options.Headers, in the same order;
	// an absent header is nil.
	Headers [][]byte
}

// Match pairs a wire message with a record.
type Match struct {
	Frame    uint64
	Index    int // WireMsg.Index
	WireTime time.Time
	WireSrc  netip.AddrPort
	Record   *Record
	Key      KeyKind
	// Header is the correlation header that matched when Key is KeyHeader.
	Header string
	// Order is true when the pair was made by order of appearance
	// (B2BUA renumbered CSeq or changed branches).
	Order bool
}

// Record is a trace record as the engine holds it.
type Record struct {
	trace.Record
	call    *call
	matched bool
	// Seq is the record's position in time order, for stable output.
	Seq int
}

// call groups the records of one call and the wire messages that could not
// be paired exactly yet.
type call struct {
	recs    []*Record
	pending []pendingMsg
}

type pendingMsg struct {
	m   Match
	grp group
}

// group is what order pairing compares: CSeq method plus method or status.
type group struct {
	cseqMethod string
	method     string
	status     int
}

func groupOf(r *trace.Record) group {
	return group{cseqMethod: strings.ToUpper(r.CSeqMethod), method: strings.ToUpper(r.Method), status: r.Status}
}

// learned remembers which call a wire Call-ID belongs to, learned from a
// message of the dialog that carried a correlation header: in-dialog
// requests and responses often do not repeat it.
type learned struct {
	c      *call
	kind   KeyKind
	header string
}

// Engine matches wire messages against trace records. It is not safe for
// concurrent use.
type Engine struct {
	opt     Options
	headers []headerKind

	recs     []*Record
	calls    []*call
	byKey    map[string]*call
	byConv   map[string]*call
	byCallID map[string]*call
	byHeader []map[string]*call // per configured header of kind KeyHeader
	wire     map[string]learned // wire Call-ID → call

	matches []Match
	stats   Stats
}

type headerKind struct {
	name string
	kind KeyKind
}

// Stats count what the engine saw.
type Stats struct {
	Observed  int // wire messages observed
	Exact     int // pairs on CSeq, method/status and branch
	Ordered   int // pairs made by order
	ByCallID  int // pairs whose call was found only through Call-ID
	NoRecords int // wire messages whose call has no record
}

// New builds an engine over records (any order).
func New(records []trace.Record, opt Options) *Engine {
	return NewSeq(slices.Values(records), len(records), opt)
}

// NewSeq builds an engine over the records seq yields (any order), n of
// them expected: an index's records are copied once, straight into the
// engine, with no intermediate slice.
func NewSeq(seq iter.Seq[trace.Record], n int, opt Options) *Engine {
	if len(opt.Headers) == 0 {
		opt.Headers = DefaultHeaders()
	}
	if opt.Window <= 0 {
		opt.Window = 2 * time.Second
	}
	e := &Engine{
		opt:      opt,
		byKey:    map[string]*call{},
		byConv:   map[string]*call{},
		byCallID: map[string]*call{},
		wire:     map[string]learned{},
	}
	for _, h := range opt.Headers {
		k := KeyHeader
		switch strings.ToLower(h) {
		case "x-genesys-call-id":
			k = KeyGenesysCallID
		case "x-inin-cnv":
			k = KeyConversation
		}
		e.headers = append(e.headers, headerKind{name: h, kind: k})
		e.byHeader = append(e.byHeader, nil)
	}
	e.addSeq(seq, n)
	return e
}

// AddRecords adds trace records (a live poller delivers them late). Records
// join the call of an existing record with the same key, conversation or
// SIP Call-ID.
func (e *Engine) AddRecords(records []trace.Record) {
	e.addSeq(slices.Values(records), len(records))
}

func (e *Engine) addSeq(seq iter.Seq[trace.Record], n int) {
	start := len(e.recs)
	// One block per batch: a million records are one allocation, not a
	// million (the pointers into it stay valid as e.recs grows).
	block := make([]Record, 0, n)
	for r := range seq {
		if len(block) == cap(block) {
			// More than announced: a new block, the old one stays put.
			block = make([]Record, 0, max(16, n/4))
		}
		block = append(block, Record{Record: r})
		e.recs = append(e.recs, &block[len(block)-1])
	}
	if e.matches == nil {
		// Most records are matched in a replay: one allocation, not a
		// doubling series (each regrowth over a large live heap costs a
		// collection). Capacity a short capture never fills stays
		// untouched zero pages: address space, not resident memory.
		e.matches = make([]Match, 0, len(e.recs))
	}
	added := e.recs[start:]
	slices.SortStableFunc(added, func(a, b *Record) int { return a.Time.Compare(b.Time) })
	// Records of one call share a Key; records lacking it (not every
	// message repeats X-Genesys-Call-ID) join through their SIP Call-ID,
	// then conversation id.
	for pass := 0; pass < 2; pass++ {
		for _, r := range added {
			if r.call != nil {
				continue
			}
			switch {
			case r.Key != "":
				r.call = e.byKey[r.Key]
				if r.call == nil && r.CallID != "" {
					r.call = e.byCallID[r.CallID]
				}
			case pass == 0:
				continue // keyed records first, so the others can join them
			case r.CallID != "" && e.byCallID[r.CallID] != nil:
				r.call = e.byCallID[r.CallID]
			case r.ConversationID != "" && e.byConv[r.ConversationID] != nil:
				r.call = e.byConv[r.ConversationID]
			}
			if r.call == nil {
				r.call = &call{}
				e.calls = append(e.calls, r.call)
			}
			r.call.recs = append(r.call.recs, r)
			e.index(r)
		}
	}
	for i, r := range e.recs {
		r.Seq = i
	}
	for i, h := range e.headers {
		if h.kind != KeyHeader {
			continue
		}
		if e.byHeader[i] == nil {
			e.byHeader[i] = map[string]*call{}
		}
		for _, r := range added {
			if v, ok, err := r.Header(h.name); err == nil && ok && v != "" {
				if e.byHeader[i][v] == nil {
					e.byHeader[i][v] = r.call
				}
			}
		}
	}
}

func (e *Engine) index(r *Record) {
	if r.Key != "" && e.byKey[r.Key] == nil {
		e.byKey[r.Key] = r.call
	}
	if r.ConversationID != "" && e.byConv[r.ConversationID] == nil {
		e.byConv[r.ConversationID] = r.call
	}
	if r.CallID != "" && e.byCallID[r.CallID] == nil {
		e.byCallID[r.CallID] = r.call
	}
}

// findCall picks the call of m by the correlation headers in priority
// order, then by what earlier messages of the dialog taught, then by
// Call-ID (flagged).
func (e *Engine) findCall(m *WireMsg) (*call, KeyKind, string) {
	for i, h := range e.headers {
		if i >= len(m.Headers) || len(m.Headers[i]) == 0 {
			continue
		}
		v := m.Headers[i]
		var c *call
		switch h.kind {
		case KeyGenesysCallID:
			c = e.byKey[string(v)]
		case KeyConversation:
			c = e.byConv[string(v)]
		default:
			c = e.byHeader[i][string(v)]
		}
		if c != nil {
			if len(m.CallID) > 0 {
				if l, ok := e.wire[string(m.CallID)]; !ok || l.c != c {
					e.wire[string(m.CallID)] = learned{c: c, kind: h.kind, header: h.name}
				}
			}
			return c, h.kind, h.name
		}
	}
	if l, ok := e.wire[string(m.CallID)]; ok {
		return l.c, l.kind, l.header
	}
	if c := e.byCallID[string(m.CallID)]; c != nil {
		return c, KeyCallID, ""
	}
	return nil, KeyNone, ""
}

// Observe matches one wire message. An exact pair is returned at once (the
// live pipeline annotates the frame with it); other messages of a traced
// call wait for order pairing in Finish.
func (e *Engine) Observe(m *WireMsg) (Match, bool) {
	e.stats.Observed++
	c, kind, header := e.findCall(m)
	if c == nil {
		e.stats.NoRecords++
		return Match{}, false
	}
	match := Match{Frame: m.Frame, Index: m.Index, WireTime: m.Time, WireSrc: m.Src, Key: kind}
	if kind == KeyHeader {
		match.Header = header
	}
	if r := e.exact(c, m); r != nil {
		r.matched = true
		match.Record = r
		e.stats.Exact++
		if kind == KeyCallID {
			e.stats.ByCallID++
		}
		e.matches = append(e.matches, match)
		return match, true
	}
	c.pending = append(c.pending, pendingMsg{m: match, grp: group{
		cseqMethod: strings.ToUpper(string(m.CSeqMethod)),
		method:     strings.ToUpper(string(m.Method)),
		status:     m.Status,
	}})
	return Match{}, false
}

// exact finds the first unmatched record of c that is the same message as
// m: same CSeq number and method, same method or status, and the same top
// Via branch when both have one. Records are in time order, so
// retransmissions pair up in order.
func (e *Engine) exact(c *call, m *WireMsg) *Record {
	for _, r := range c.recs {
		if r.matched || r.CSeqNum != m.CSeqNum || r.Status != m.Status ||
			!strings.EqualFold(r.CSeqMethod, string(m.CSeqMethod)) ||
			!strings.EqualFold(r.Method, string(m.Method)) {
			continue
		}
		if r.ViaBranch != "" && len(m.Branch) > 0 && r.ViaBranch != string(m.Branch) {
			continue
		}
		return r
	}
	return nil
}

// Result is the outcome of a matching run.
type Result struct {
	// Matches are all pairs, in frame order (several per frame when a
	// frame carries several messages).
	Matches []Match
	// GenesysOnly are the records no wire message matched, in time order.
	GenesysOnly []*Record
	Skew        Skew
	Stats       Stats
}

// Finish pairs the remaining messages by order, estimates the clock
// offset and returns the result. It can be called again after more records
// or messages arrive (live capture); pairs made earlier stay.
func (e *Engine) Finish() Result {
	skew := e.estimate()
	e.pairByOrder(skew)
	if e.stats.Exact == 0 && e.stats.Ordered > 0 {
		// Only B2BUA pairs: estimate from them.
		skew = e.estimate()
	}
	res := Result{Skew: skew, Stats: e.stats}
	res.Matches = append([]Match(nil), e.matches...)
	slices.SortStableFunc(res.Matches, func(a, b Match) int {
		if c := cmp.Compare(a.Frame, b.Frame); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Index, b.Index); c != 0 {
			return c
		}
		return cmp.Compare(a.Record.Seq, b.Record.Seq)
	})
	for _, r := range e.recs {
		if !r.matched {
			res.GenesysOnly = append(res.GenesysOnly, r)
		}
	}
	return res
}

// pairByOrder pairs the wire messages left over in each call with the
// unmatched records of the same group (CSeq method + method/status), k-th
// with k-th, when the corrected times fall within the window.
func (e *Engine) pairByOrder(skew Skew) {
	offset := skew.Offset
	haveSkew := skew.Pairs > 0 || skew.Fixed
	for _, c := range e.calls {
		if len(c.pending) == 0 {
			continue
		}
		var free []*Record
		for _, r := range c.recs {
			if !r.matched {
				free = append(free, r)
			}
		}
		used := make([]bool, len(free))
		var keep []pendingMsg
		for _, p := range c.pending {
			var best *Record
			for i, r := range free {
				if used[i] || groupOf(&r.Record) != p.grp {
					continue
				}
				if haveSkew {
					d := r.Time.Add(-offset).Sub(p.m.WireTime)
					if d < 0 {
						d = -d
					}
					if d > e.opt.Window+skew.Transit {
						continue
					}
				}
				best, used[i] = r, true
				break
			}
			if best == nil {
				keep = append(keep, p)
				continue
			}
			best.matched = true
			p.m.Record, p.m.Order = best, true
			e.matches = append(e.matches, p.m)
			e.stats.Ordered++
			if p.m.Key == KeyCallID {
				e.stats.ByCallID++
			}
		}
		c.pending = keep
	}
}

// Skew estimates the clock offset from the pairs made so far, without
// pairing anything (a live capture refreshes its comments' skew with it).
func (e *Engine) Skew() Skew { return e.estimate() }

// Matches returns the pairs made so far, in the order they were made.
func (e *Engine) Matches() []Match { return e.matches }

// Stats returns the counters so far.
func (e *Engine) Stats() Stats { return e.stats }
