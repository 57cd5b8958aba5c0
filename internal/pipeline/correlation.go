package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/correlate"
	"github.com/genesys-sip/genesys-sip/internal/decode"
	"github.com/genesys-sip/genesys-sip/internal/pcapng"
	"github.com/genesys-sip/genesys-sip/internal/sip"
	"github.com/genesys-sip/genesys-sip/internal/source"
	"github.com/genesys-sip/genesys-sip/internal/source/bpf"
	"github.com/genesys-sip/genesys-sip/internal/source/replay"
	"github.com/genesys-sip/genesys-sip/internal/trace"
)

// genesysWindow is how far outside the capture's time span a record may lie
// and still be written as a Genesys-only frame; records further away belong
// to other captures and are only counted.
const genesysWindow = time.Minute

// correlation annotates frames with trace records and writes the records
// no packet matched.
type correlation struct {
	p       *processor
	headers []string
	fmtr    correlate.Formatter

	// Replay: the result of the matching pass, and cursors into it.
	res      *correlate.Result
	next     int
	only     []*correlate.Record // Genesys-only records to write, time order
	nextOnly int
	outside  int // records outside the capture's window, not written
	lastSh   time.Duration
	// malformed: the messages the matching pass found malformed, for
	// their comments' warn=malformed.
	malformed map[msgRef]bool

	// Live: online matching against records as they arrive.
	engine    *correlate.Engine
	written   map[int]bool // Seq of records already written as frames
	lastSkew  time.Time
	iface     int // sink interface of "Genesys Cloud", -1 until needed
	haveTrace bool
}

func newCorrelation(p *processor, headers []string) *correlation {
	c := &correlation{p: p, headers: headers, iface: -1}
	c.haveTrace = p.cfg.Trace != nil || p.cfg.Records != nil
	if red := p.cfg.Redactor; red != nil {
		c.fmtr.Redact = red
	}
	if p.cfg.ClockOffset != nil {
		c.fmtr.Skew = correlate.Skew{Offset: *p.cfg.ClockOffset, Fixed: true}
	}
	return c
}

func (c *correlation) options() correlate.Options {
	return correlate.Options{Headers: c.headers, Offset: c.p.cfg.ClockOffset}
}

// enabled reports whether a replay needs the matching pass.
func (c *correlation) enabled() bool { return c.p.cfg.Trace != nil }

// newEngine returns an engine over every record of the trace index.
func (c *correlation) newEngine() *correlate.Engine {
	if ix := c.p.cfg.Trace; ix != nil {
		return correlate.NewSeq(ix.All(), ix.Len(), c.options())
	}
	return correlate.New(nil, c.options())
}

// matchingPass reads the replay file once, decoding and matching every SIP
// message, so the replay that follows knows every pair, the clock offset
// and the records no packet matched before it writes anything.
//
// It runs as two stages on two goroutines: this one reads and decodes
// (reassembly is sequential), and a matcher parses and matches the
// messages, handed over in batches with their bytes copied, since the
// decoder reuses its buffers.
func (r *run) matchingPass(ctx context.Context) error {
	c := r.proc.corr
	if t := r.proc.tls; t != nil {
		t.matching = true
		defer func() { t.matching = false }()
	}
	dec := r.proc.newDecoder()
	defer dec.Reset()

	m := newMatcher(c.newEngine(), r.proc.hdrs)
	go m.run()
	var (
		msgs        []decode.Message
		seq         uint64
		first, last time.Time
		filters     []*bpf.Filter
	)
	start := time.Now()
	saved := r.stats.Filtered
	b := <-m.free
	err := r.readFile(ctx, &filters, func(src *replay.Source, pkt *source.Packet) error {
		seq++
		ts := pkt.CI.Timestamp
		if first.IsZero() || ts.Before(first) {
			first = ts
		}
		if ts.After(last) {
			last = ts
		}
		link := src.Interface(pkt.CI.InterfaceIndex).LinkType
		msgs = dec.Decode(seq, ts, link, pkt.Data, msgs[:0])
		for i := range msgs {
			b.add(&msgs[i], i)
		}
		if len(b.msgs) >= batchMessages {
			m.full <- b
			b = <-m.free
		}
		return nil
	})
	m.full <- b
	close(m.full)
	eng := <-m.done
	// m.done handed the matcher's malformed set over as well.
	c.malformed = m.malformed
	r.stats.Filtered = saved // counted again by the replay itself
	if err != nil {
		return err
	}
	res := eng.Finish()
	c.setResult(&res, first, last)
	r.log.Info("correlated", "pairs_exact", res.Stats.Exact, "pairs_order", res.Stats.Ordered,
		"by_call_id", res.Stats.ByCallID, "genesys_only", len(c.only), "outside_capture", c.outside,
		"skew", res.Skew.String(), "took", time.Since(start).Round(time.Millisecond))
	if res.Skew.Large() && !res.Skew.Fixed {
		r.log.Warn("the capture and Genesys clocks differ by more than NTP keeps them (50 ms); comments carry times corrected by the estimate",
			"offset", correlate.FormatDuration(res.Skew.Offset))
	}
	if c.outside > 0 {
		r.log.Info("trace records outside the capture's time span were not written", "count", c.outside, "margin", genesysWindow)
	}
	return nil
}

// batchMessages is how many messages the matching pass hands over at once.
const batchMessages = 512

// matchBatch carries decoded messages from the decoding stage to the
// matcher: their bytes in one buffer, the rest of each message beside.
type matchBatch struct {
	data []byte
	msgs []batchMsg
}

type batchMsg struct {
	msg      decode.Message // Data re-pointed into matchBatch.data; no Pieces
	index    int
	off, end int
}

func (b *matchBatch) add(m *decode.Message, index int) {
	off := len(b.data)
	b.data = append(b.data, m.Data...)
	b.msgs = append(b.msgs, batchMsg{
		msg:   decode.Message{Frame: m.Frame, Time: m.Time, Transport: m.Transport, Src: m.Src, Dst: m.Dst},
		index: index, off: off, end: len(b.data),
	})
}

// matcher is the matching pass's second stage: it parses each message and
// feeds its identity to the engine, which it owns until done delivers it.
type matcher struct {
	eng        *correlate.Engine
	hdrs       sip.HeaderSet
	malformed  map[msgRef]bool // made on the first malformed message
	full, free chan *matchBatch
	done       chan *correlate.Engine
}

func newMatcher(eng *correlate.Engine, hdrs sip.HeaderSet) *matcher {
	const batches = 4
	m := &matcher{eng: eng, hdrs: hdrs, full: make(chan *matchBatch, batches),
		free: make(chan *matchBatch, batches), done: make(chan *correlate.Engine, 1)}
	for range batches {
		m.free <- &matchBatch{}
	}
	return m
}

func (m *matcher) run() {
	var (
		s     sip.Message
		w     correlate.WireMsg
		hvals [][]byte
	)
	for b := range m.full {
		for i := range b.msgs {
			bm := &b.msgs[i]
			bm.msg.Data = b.data[bm.off:bm.end]
			if err := sip.Parse(bm.msg.Data, &s); err != nil && !errors.Is(err, sip.ErrShortBody) {
				continue
			}
			m.noteMalformed(&bm.msg, bm.index, &s)
			hvals = fillWire(&w, &bm.msg, bm.index, &s, m.hdrs, hvals)
			m.eng.Observe(&w)
		}
		b.data, b.msgs = b.data[:0], b.msgs[:0]
		m.free <- b
	}
	m.done <- m.eng
}

// msgRef names the index'th message that frame Frame completes, as
// correlate.Match does.
type msgRef struct {
	frame uint64
	index int
}

// noteMalformed remembers a malformed message for its comment's warn=; the
// map is made only when there is one.
func (m *matcher) noteMalformed(msg *decode.Message, index int, s *sip.Message) {
	if s.Malformed == "" {
		return
	}
	if m.malformed == nil {
		m.malformed = map[msgRef]bool{}
	}
	m.malformed[msgRef{msg.Frame, index}] = true
}

// fillWire sets w to the identity of the index'th message m of its frame,
// parsed as s; hvals is the reused buffer of correlation header values.
func fillWire(w *correlate.WireMsg, m *decode.Message, index int, s *sip.Message, set sip.HeaderSet, hvals [][]byte) [][]byte {
	hvals = s.Lookup(set, hvals)
	*w = correlate.WireMsg{
		Frame: m.Frame, Index: index, Time: m.Time, Src: m.Src, Dst: m.Dst,
		CallID: s.CallID, CSeqNum: s.CSeq, CSeqMethod: s.CSeqMethod, Method: s.Method,
		Status: s.StatusCode, Branch: s.Branch, Headers: hvals,
	}
	return hvals
}

// setResult keeps a matching pass's result and picks the Genesys-only
// records to write: those within the capture's time span (± a minute)
// once corrected for the clock offset.
func (c *correlation) setResult(res *correlate.Result, first, last time.Time) {
	c.res = res
	c.fmtr.Skew = res.Skew
	for _, r := range res.GenesysOnly {
		t := c.fmtr.CorrectedTime(r)
		if first.IsZero() || t.Before(first.Add(-genesysWindow)) || t.After(last.Add(genesysWindow)) {
			c.outside++
			continue
		}
		c.only = append(c.only, r)
	}
	slices.SortStableFunc(c.only, func(a, b *correlate.Record) int { return a.Time.Compare(b.Time) })
}

func (c *correlation) startLoop() {
	c.next, c.nextOnly = 0, 0
}

// report is the clock-offset line of the section comment.
func (c *correlation) report() string {
	if c.res == nil {
		return ""
	}
	s := c.res.Stats
	return c.res.Skew.String() + "; " + itoa(s.Exact+s.Ordered) + " packets annotated from " +
		itoa(s.Exact+s.Ordered+len(c.only)+c.outside) + " trace records, " + itoa(len(c.only)) + " seen only by Genesys"
}

// shortReport is the skew for the toolbar.
func (c *correlation) shortReport() string {
	sk := c.fmtr.Skew
	if !sk.Fixed && sk.Pairs == 0 {
		if c.haveTrace {
			return "skew ?"
		}
		return ""
	}
	return "skew " + correlate.FormatDuration(sk.Offset)
}

// observe matches a message online (live capture with records).
func (c *correlation) observe(m *decode.Message, target *[]string, index int) {
	if c.engine == nil {
		return
	}
	c.p.hvals = fillWire(&c.p.wire, m, index, &c.p.sipm, c.p.hdrs, c.p.hvals)
	match, ok := c.engine.Observe(&c.p.wire)
	if !ok {
		return
	}
	if now := c.p.cfg.Now(); now.Sub(c.lastSkew) > 2*time.Second && c.p.cfg.ClockOffset == nil {
		c.lastSkew = now
		c.fmtr.Skew = c.engine.Skew()
	}
	*target = append(*target, c.p.texts.keep(c.fmtr.AppendWire(c.p.texts.tail(), &match, c.p.sipm.Malformed != "")))
	c.written[match.Record.Seq] = true
	c.p.r.stats.Annotated++
}

// attach adds the comments of the matching pass to the frame h completes,
// or to the decrypted PDU of that message.
func (c *correlation) attach(h *held) {
	if c.res == nil {
		return
	}
	ms := c.res.Matches
	for c.next < len(ms) && ms[c.next].Frame < h.seq {
		c.next++
	}
	for ; c.next < len(ms) && ms[c.next].Frame == h.seq; c.next++ {
		m := &ms[c.next]
		target := &h.opts.Comments
		if pdu := h.pduFor(m.Index); pdu != nil {
			target = &pdu.comments
		}
		malformed := c.malformed[msgRef{m.Frame, m.Index}]
		*target = append(*target, c.p.texts.keep(c.fmtr.AppendWire(c.p.texts.tail(), m, malformed)))
		c.p.r.stats.Annotated++
	}
}

// writeDue writes the Genesys-only records whose corrected time comes
// before a wire frame at ts (shift: that frame's timestamp shift).
func (c *correlation) writeDue(ts time.Time, shift time.Duration) error {
	c.lastSh = shift
	for c.nextOnly < len(c.only) {
		r := c.only[c.nextOnly]
		t := c.fmtr.CorrectedTime(r).Add(shift)
		if t.After(ts) {
			return nil
		}
		if err := c.writeRecord(r, t); err != nil {
			return err
		}
		c.nextOnly++
	}
	return nil
}

// writeRest writes the Genesys-only records after the last packet.
func (c *correlation) writeRest() error {
	for ; c.nextOnly < len(c.only); c.nextOnly++ {
		r := c.only[c.nextOnly]
		if err := c.writeRecord(r, c.fmtr.CorrectedTime(r).Add(c.lastSh)); err != nil {
			return err
		}
	}
	return nil
}

// addRecords takes records a live poller fetched: they join the online
// matching, and those that match nothing are written at once (they arrive
// minutes late, after their packets), in time order.
func (c *correlation) addRecords(recs []trace.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if c.engine == nil {
		c.engine = correlate.New(nil, c.options())
		c.written = map[int]bool{}
	}
	c.engine.AddRecords(recs)
	res := c.engine.Finish()
	if !res.Skew.Fixed && res.Skew.Pairs > 0 {
		c.fmtr.Skew = res.Skew
	}
	for _, r := range res.GenesysOnly {
		if c.written[r.Seq] {
			continue
		}
		c.written[r.Seq] = true
		if err := c.writeRecord(r, c.fmtr.CorrectedTime(r)); err != nil {
			return err
		}
	}
	return nil
}

// writeRecord writes a record as an exported PDU on the Genesys Cloud
// interface: its raw SIP (redacted) dissected as SIP, or without one, its
// fields as JSON.
func (c *correlation) writeRecord(r *correlate.Record, t time.Time) error {
	sink := c.p.r.sink
	if sink == nil {
		return nil
	}
	if c.iface < 0 {
		id, err := sink.AddInterface(source.Interface{
			LinkType:    pcapng.LinkTypeUpperPDU,
			Name:        "Genesys Cloud",
			Description: "SIP messages from Genesys Cloud trace records that no packet of this capture matched",
		})
		if err != nil {
			return err
		}
		c.iface = id
	}
	proto := "sip"
	msg, err := r.Message()
	if err != nil {
		c.p.r.log.Warn("reading a trace record's SIP message", "err", err)
	}
	payload := append(c.p.pdu[:0], msg...)
	if msg != "" {
		if red := c.p.cfg.Redactor; red != nil {
			red.Message(payload)
		}
	} else {
		proto = "json"
		payload = c.recordJSON(payload, r)
	}
	pt := pcapng.PortNone
	switch strings.ToLower(r.Proto) {
	case "udp", "17":
		pt = pcapng.PortUDP
	case "tcp", "tls", "6", "ws", "wss":
		pt = pcapng.PortTCP
	case "sctp", "132":
		pt = pcapng.PortSCTP
	}
	var src, dst netip.AddrPort
	if r.SrcIP.IsValid() && r.DstIP.IsValid() {
		src, dst = netip.AddrPortFrom(r.SrcIP, r.SrcPort), netip.AddrPortFrom(r.DstIP, r.DstPort)
	}
	frame := pcapng.AppendExportedPDU(c.p.pduFrame[:0], proto, src, dst, pt, payload)
	c.p.pdu, c.p.pduFrame = payload, frame
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(frame), Length: len(frame), InterfaceIndex: c.iface}
	opts := pcapgo.NgPacketOptions{Comments: []string{c.p.texts.keep(c.fmtr.AppendGenesysOnly(c.p.texts.tail(), r))}}
	if err := sink.WritePacket(ci, frame, &opts); err != nil {
		return err
	}
	c.p.r.stats.GenesysOnly++
	return nil
}

// recordJSON renders a record without raw SIP, numbers redacted.
func (c *correlation) recordJSON(dst []byte, r *correlate.Record) []byte {
	users := []string{r.FromUser, r.ToUser, r.RURIUser, r.PIDUser}
	if red := c.p.cfg.Redactor; red != nil {
		for i, u := range users {
			users[i] = red.Number(u)
		}
	}
	b, _ := json.Marshal(struct {
		Time         time.Time `json:"time"`
		Key          string    `json:"x_genesys_call_id,omitempty"`
		Conversation string    `json:"conversation_id,omitempty"`
		CallID       string    `json:"call_id,omitempty"`
		Event        string    `json:"event,omitempty"`
		CSeq         string    `json:"cseq,omitempty"`
		FromUser     string    `json:"from_user,omitempty"`
		ToUser       string    `json:"to_user,omitempty"`
		RURIUser     string    `json:"ruri_user,omitempty"`
		PIDUser      string    `json:"pid_user,omitempty"`
		Node         string    `json:"node,omitempty"`
	}{r.Time, c.redactID(r.Key), c.redactID(r.ConversationID), c.redactID(r.CallID), r.Event(),
		strings.TrimSpace(itoa(int(r.CSeqNum)) + " " + r.CSeqMethod), users[0], users[1], users[2], users[3], r.Node})
	return append(dst, b...)
}

func (c *correlation) redactID(s string) string {
	if red := c.p.cfg.Redactor; red != nil {
		return red.CallID(s)
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
