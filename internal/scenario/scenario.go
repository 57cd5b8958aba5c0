package scenario

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Options parameterise a scenario. Times are kept to whole microseconds:
// Start, ClockOffset and Transit are truncated to µs.
type Options struct {
	// Seed drives every random choice: the same Options give the same bytes.
	Seed int64
	// Start is the capture time of the first call; zero means
	// 2026-11-25T10:00:00Z.
	Start time.Time
	// Calls is the number of calls of Demo (0: 4). For Correlation it is the
	// number of ordinary calls added after the fixed cases (0: none).
	Calls int
	// ClockOffset is the Genesys clock minus the capture clock: a record's
	// time is the true time Genesys sent or received the message plus
	// ClockOffset. Positive means the Genesys clock is ahead.
	ClockOffset time.Duration
	// Transit is the one-way network delay between the capture point and
	// Genesys.
	Transit time.Duration
	// SparseHeaders puts the correlation headers (X-Genesys-Call-ID,
	// x-inin-cnv) only on messages Genesys sends, as on trunks where the
	// SBC does not echo them; the other messages of the call then meet their
	// records only through their dialog. Off: every message of a call carries
	// the call's headers.
	SparseHeaders bool
}

// defaultStart is the capture time of the first call when Options.Start is zero.
func defaultStart() time.Time { return time.Date(2026, time.November, 25, 10, 0, 0, 0, time.UTC) }

// DefaultOptions returns the options of the demo and the acceptance test:
// seed 1, the Genesys clock 2.333 s ahead, 12 ms one-way transit.
func DefaultOptions() Options {
	return Options{Seed: 1, Start: defaultStart(), ClockOffset: 2333 * time.Millisecond, Transit: 12 * time.Millisecond}
}

// Frame is one captured packet.
type Frame struct {
	LinkType layers.LinkType
	CI       gopacket.CaptureInfo
	Data     []byte
}

// Call describes one call of a scenario: what it exercises and its keys.
type Call struct {
	Label          string   `json:"label"`
	Story          string   `json:"story"`
	Transport      string   `json:"transport"` // "udp" or "tcp"
	Network        string   `json:"network"`   // "ipv4" or "ipv6"
	Key            string   `json:"key"`       // how its packets meet its records: a Key… constant
	KeyValue       string   `json:"keyValue"`
	XGenesysCallID string   `json:"xGenesysCallId,omitempty"`
	ConversationID string   `json:"conversationId,omitempty"` // x-inin-cnv on the wire when Key is KeyININConv
	WireCallID     string   `json:"wireCallId,omitempty"`
	TraceCallID    string   `json:"traceCallId,omitempty"`
	WireOnly       bool     `json:"wireOnly"`    // no trace records at all
	GenesysOnly    bool     `json:"genesysOnly"` // no packets at all
	Order          bool     `json:"order"`       // a B2BUA rewrote it: records pair by order
	Numbers        []string `json:"numbers,omitempty"`
}

// Message is one SIP message on the wire.
type Message struct {
	Frame  int    `json:"frame"` // 1-based number of the frame that completes it
	Call   string `json:"call"`
	CallID string `json:"callId"`
	CSeq   string `json:"cseq"`
	Event  string `json:"event"` // method, or "status reason"
}

// Expectation is the ground truth for one trace record.
type Expectation struct {
	Record     int        `json:"record"` // index into Scenario.Records
	Frame      int        `json:"frame"`  // frame carrying the same message; 0: Genesys-only
	Call       string     `json:"call"`
	Key        string     `json:"key"` // a Key… constant
	KeyValue   string     `json:"keyValue"`
	KeyOnWire  bool       `json:"keyOnWire"`       // the wire message itself carries the key
	Match      string     `json:"match,omitempty"` // MatchExact or MatchOrder; "" when Frame is 0
	Event      string     `json:"event"`
	CSeq       string     `json:"cseq"`               // as in the record
	WireCSeq   string     `json:"wireCseq,omitempty"` // as on the wire (differs when renumbered)
	Dir        string     `json:"dir"`                // "in": Genesys received it; "out": Genesys sent it
	RecordTime time.Time  `json:"recordTime"`         // on the Genesys clock
	WireTime   *time.Time `json:"wireTime,omitempty"` // capture time of Frame
}

// Scenario is a generated capture with its trace records and ground truth.
type Scenario struct {
	Frames      []Frame           // in time order; frame number = index+1
	Records     []json.RawMessage // HomerRecord-shaped, in time order
	Expect      []Expectation     // one per record, same order
	Calls       []Call
	Messages    []Message // every SIP message on the wire, in frame order
	Numbers     []string  // every phone number used, for redaction checks
	ClockOffset time.Duration
	Transit     time.Duration
}

// Addresses and agents of the generated trunk (RFC 5737 / RFC 3849).
const (
	carrierAgent = "CarrierSBC/7.2.1"
	genesysAgent = "Genesys-Cloud-Edge/1.0"
	b2buaAgent   = "Enterprise-B2BUA/3.4"
	mediaAgent   = "Genesys-Cloud-Media/1.0"
)

// spec is what a scenario asks of one call.
type spec struct {
	label, story  string
	uac           party
	carrier, edge endpoint
	node          string
	tcp, compact  bool
	big           bool
	xgcid, cnv    bool
	noWire        bool
	noTrace       bool
	noNumbers     bool
	b2bua         []endpoint // outside, inside
}

// builder assembles calls into a scenario.
type builder struct {
	opt   Options
	calls []*call
	at    time.Time
}

func newBuilder(opt Options) *builder {
	if opt.Start.IsZero() {
		opt.Start = defaultStart()
	}
	opt.Start = opt.Start.Truncate(time.Microsecond)
	opt.ClockOffset = opt.ClockOffset.Truncate(time.Microsecond)
	opt.Transit = opt.Transit.Truncate(time.Microsecond)
	return &builder{opt: opt, at: opt.Start}
}

// add creates a call from sp, lets flow write its messages, then numbers
// its transactions on each leg.
func (b *builder) add(sp spec, flow func(c *call, g gen)) *call {
	g := newGen(b.opt.Seed, uint64(len(b.calls))+1)
	c := newCall(g, sp, b.opt)
	c.start = b.at.Add(g.between(0, 400))
	b.at = b.at.Add(g.between(900, 1500))
	flow(c, g)
	c.finish(g, sp)
	b.calls = append(b.calls, c)
	return c
}

func newCall(g gen, sp spec, opt Options) *call {
	c := &call{
		label: sp.label, story: sp.story, uac: sp.uac, big: sp.big, sparse: opt.SparseHeaders,
		codec: []int{0, 8}[g.r.IntN(2)], transit: opt.Transit, node: sp.node,
		conv: g.uuid(), part: g.uuid(),
		txns: make([]txn, 0, 4), steps: make([]step, 0, 10),
	}
	if !sp.noNumbers {
		c.nums = [2]string{g.phone(), g.phone()}
	}
	if sp.xgcid {
		c.xgcid = g.uuid()
	}
	if sp.cnv {
		c.cnv = c.conv
	}
	c.tcpISN = [2]uint32{g.r.Uint32(), g.r.Uint32()}
	c.tcpPort = uint16(32768 + g.r.IntN(28000))
	return c
}

// finish builds the call's legs once its flow is known.
func (c *call) finish(g gen, sp spec) {
	gStart := 1 + g.r.IntN(9000)
	far := sp.edge
	if len(sp.b2bua) == 2 {
		far = sp.b2bua[0]
	}
	agents := [2]string{carrierAgent, genesysAgent}
	if len(sp.b2bua) == 2 {
		agents[1] = b2buaAgent
	}
	w := newLeg(g, c.uac, sp.carrier, far, agents)
	w.tcp, w.compact, w.xgcid, w.cnv = sp.tcp, sp.compact, c.xgcid, c.cnv
	w.number(g, c, [2]int{1, gStart})
	c.wire, c.trace = w, w
	if len(sp.b2bua) == 2 {
		// The B2BUA runs its own dialog towards Genesys: its own Call-ID,
		// tags and branches, and its own CSeq numbering; the correlation
		// headers pass through.
		t := newLeg(g, c.uac, sp.b2bua[1], sp.edge, [2]string{b2buaAgent, genesysAgent})
		t.sdpUser[carrierSide] = "B2BUA"
		t.tcp, t.compact, t.xgcid, t.cnv = sp.tcp, sp.compact, c.xgcid, c.cnv
		t.number(g, c, [2]int{3000 + g.r.IntN(6000), gStart})
		c.trace = t
		c.order = true
	}
	if sp.noWire {
		c.wire = nil
	}
	if sp.noTrace {
		c.trace = nil
	}
	for i := range c.steps {
		c.steps[i].wire = c.steps[i].wire && c.wire != nil
		c.steps[i].trace = c.steps[i].trace && c.trace != nil
	}
	switch {
	case c.xgcid != "":
		c.key, c.keyValue = KeyXGenesysCallID, c.xgcid
	case c.cnv != "":
		c.key, c.keyValue = KeyININConv, c.cnv
	case c.trace != nil:
		c.key, c.keyValue = KeyCallID, c.trace.callID
	default:
		c.key, c.keyValue = KeyCallID, c.wire.callID
	}
}

// build schedules every call, packetizes the wire steps in time order and
// writes the records and the ground truth.
func (b *builder) build() (*Scenario, error) {
	s := &Scenario{ClockOffset: b.opt.ClockOffset, Transit: b.opt.Transit}
	var units []unit
	var scratch sipMsg
	for _, c := range b.calls {
		c.schedule()
		c.units(&scratch, func(u unit) {
			u.seq = len(units)
			units = append(units, u)
		})
	}
	slices.SortStableFunc(units, func(x, y unit) int {
		if c := x.at.Compare(y.at); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
	p := newPacketizer(b.opt.Seed)
	for i := range units {
		u := &units[i]
		data, err := p.frame(u)
		if err != nil {
			return nil, fmt.Errorf("scenario: frame %d of call %s: %w", i+1, u.c.label, err)
		}
		s.Frames = append(s.Frames, Frame{
			LinkType: layers.LinkTypeEthernet,
			CI:       gopacket.CaptureInfo{Timestamp: u.at, CaptureLength: len(data), Length: len(data)},
			Data:     append([]byte(nil), data...),
		})
		for k := u.step; k < u.step+u.ndone; k++ {
			st := &u.c.steps[k]
			st.frame, st.wireDone = i+1, u.at
			m := u.c.msg(u.c.wire, k)
			s.Messages = append(s.Messages, Message{Frame: i + 1, Call: u.c.label, CallID: m.callID, CSeq: m.cseqValue(), Event: m.event()})
		}
	}
	type rec struct {
		at  time.Time
		raw json.RawMessage
		exp Expectation
	}
	var recs []rec
	seen := map[string]bool{}
	for i, c := range b.calls {
		for _, n := range c.nums {
			if n != "" && !seen[n] {
				seen[n] = true
				s.Numbers = append(s.Numbers, n)
			}
		}
		if c.story != "" {
			s.Calls = append(s.Calls, c.info())
		}
		if c.trace == nil {
			continue
		}
		for k := range c.steps {
			st := &c.steps[k]
			if !st.trace {
				continue
			}
			m := c.msg(c.trace, k)
			at := c.genesysTime(st).Add(b.opt.ClockOffset)
			id := newGen(b.opt.Seed, uint64(i)<<16|uint64(k)|1<<48).uuid()
			raw, err := c.record(m, st, at, id)
			if err != nil {
				return nil, err
			}
			e := Expectation{
				Frame: st.frame, Call: c.label, Key: c.key, KeyValue: c.keyValue,
				Event: m.event(), CSeq: m.cseqValue(), Dir: "out", RecordTime: at,
			}
			if st.sender == carrierSide {
				e.Dir = "in"
			}
			if st.frame > 0 {
				wm := c.msg(c.wire, k)
				e.WireCSeq = wm.cseqValue()
				wt := st.wireDone
				e.WireTime = &wt
				e.Match = MatchExact
				if c.order {
					e.Match = MatchOrder
				}
				switch c.key {
				case KeyXGenesysCallID:
					e.KeyOnWire = wm.xgcid != ""
				case KeyININConv:
					e.KeyOnWire = wm.cnv != ""
				default:
					e.KeyOnWire = true
				}
			}
			recs = append(recs, rec{at, raw, e})
		}
	}
	slices.SortStableFunc(recs, func(x, y rec) int { return x.at.Compare(y.at) })
	for i, r := range recs {
		r.exp.Record = i
		s.Records = append(s.Records, r.raw)
		s.Expect = append(s.Expect, r.exp)
	}
	return s, nil
}

// info describes c for Scenario.Calls.
func (c *call) info() Call {
	ci := Call{
		Label: c.label, Story: c.story, Transport: "udp", Network: "ipv4",
		Key: c.key, KeyValue: c.keyValue, XGenesysCallID: c.xgcid, ConversationID: c.cnv,
		WireOnly: c.trace == nil, GenesysOnly: c.wire == nil, Order: c.order,
	}
	l := c.wire
	if l == nil {
		l = c.trace
	}
	if l.tcp {
		ci.Transport = "tcp"
	}
	if l.ends[0].addr.Is6() {
		ci.Network = "ipv6"
	}
	if c.wire != nil {
		ci.WireCallID = c.wire.callID
	}
	if c.trace != nil {
		ci.TraceCallID = c.trace.callID
	}
	for _, n := range c.nums {
		if n != "" {
			ci.Numbers = append(ci.Numbers, n)
		}
	}
	return ci
}

// mustBuild builds a scenario the package defines itself; an error there is
// a bug in this package, not bad input.
func mustBuild(b *builder) *Scenario {
	s, err := b.build()
	if err != nil {
		panic(err)
	}
	return s
}
