package pipeline

import (
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/alert"
	"github.com/genesys-sip/genesys-sip/internal/correlate"
	"github.com/genesys-sip/genesys-sip/internal/decode"
	"github.com/genesys-sip/genesys-sip/internal/sip"
	"github.com/genesys-sip/genesys-sip/internal/source"
)

// held is a frame waiting to be written: while a SIP message it carries
// part of is incomplete, redaction may still rewrite its bytes.
type held struct {
	seq   uint64 // input frame number (the decoder's frame number)
	ci    gopacket.CaptureInfo
	link  layers.LinkType
	data  []byte
	opts  pcapgo.NgPacketOptions
	shift time.Duration // output timestamp minus capture timestamp
	since time.Time     // wall clock when it was read (live hold limit)
	// pdus are decrypted SIP messages this frame completes, written as
	// exported PDUs right after it.
	pdus []*pdu
	// partial: right after decoding, unfinished reassembly state held
	// bytes of this frame. covered: the frame byte ranges of messages that
	// completed (and were redacted). A partial frame leaves with its
	// uncovered payload scrubbed: those bytes belong to a message the
	// decoder gave up on (FIN, gap, idle, end of input) or that is still
	// incomplete when the frame must go.
	partial bool
	covered [][2]int
	// comments is opts.Comments' storage, kept across reuses of h.
	comments []string
}

// pdu is a decrypted (TLS) SIP message written as an exported PDU.
type pdu struct {
	index    int // the message's index among those its frame completes
	ci       gopacket.CaptureInfo
	data     []byte
	comments []string
}

// pduFor returns the decrypted PDU of the frame's index'th message, if any.
func (h *held) pduFor(index int) *pdu {
	for _, d := range h.pdus {
		if d.index == index {
			return d
		}
	}
	return nil
}

// processor is everything between source and sink.
type processor struct {
	r        *run
	cfg      *Config
	ifaceOut []int // input interface → sink interface

	dec   *decode.Decoder
	msgs  []decode.Message
	sipm  sip.Message
	hdrs  sip.HeaderSet
	hvals [][]byte
	wire  correlate.WireMsg

	scratch  []byte
	texts    texts // comment strings
	pdu      []byte
	pduFrame []byte

	seq   uint64
	queue []*held // held frames in sequence order, from qhead
	qhead int
	free  []*held

	corr    *correlation
	tls     *tlsState
	merge   *merger // Genesys-side PCAP frames, nil when none
	lastPub time.Time

	// Damaged input frames (see damaged): notes for the next frame
	// written, and the last input frame warned about.
	damageNotes  []string
	damageWarned uint64
	damageCount  int
}

// maxDamageWarnings bounds the per-frame warnings about a damaged replay
// file; the frame comments still say it for every frame.
const maxDamageWarnings = 20

// damaged is told by the replay source about an input frame it repaired
// or dropped. The replay goes on; the analyst learns of it twice: a
// warning naming the file and the frame (once per frame, whichever pass
// reads it first), and a comment on the output frame (the repaired one,
// or the one after a dropped frame), so the capture itself says which
// frames are not as captured.
func (p *processor) damaged(frame uint64, dropped bool, what string) {
	note := "genesys-sip: input frame " + strconv.FormatUint(frame, 10) + " was damaged: " + what
	p.damageNotes = append(p.damageNotes, note)
	if frame <= p.damageWarned {
		return // a later pass or loop over the same file
	}
	p.damageWarned = frame
	p.damageCount++
	switch {
	case p.damageCount <= maxDamageWarnings:
		p.r.log.Warn("replay file " + p.cfg.ReplayFile + ": frame " + strconv.FormatUint(frame, 10) + ": " + what)
	case p.damageCount == maxDamageWarnings+1:
		p.r.log.Warn("replay file " + p.cfg.ReplayFile + ": more damaged frames; each carries a comment saying what was wrong")
	}
}

func newProcessor(r *run) *processor {
	p := &processor{r: r, cfg: &r.cfg}
	headers := r.cfg.CorrelationHeaders
	if len(headers) == 0 {
		headers = correlate.DefaultHeaders()
	}
	p.hdrs = sip.NewHeaderSet(headers...)
	p.hvals = make([][]byte, 0, len(headers))
	if r.cfg.TLSKeys != nil {
		p.tls = newTLSState(p)
	}
	if r.cfg.decoding() {
		p.dec = p.newDecoder()
	}
	p.corr = newCorrelation(p, headers)
	if r.cfg.MergePCAP != "" {
		p.merge = newMerger(p, r.cfg.MergePCAP)
	}
	return p
}

// newDecoder returns a decoder configured for this run (the matching pass
// uses its own).
func (p *processor) newDecoder() *decode.Decoder {
	cfg := p.cfg.Decode
	if p.tls != nil {
		cfg.StreamHandler = p.tls.handler
	}
	log := p.r.log
	cfg.OnMalformed = func(frame uint64, err error) {
		log.Debug("undecodable SIP", "frame", frame, "err", err)
	}
	return decode.NewDecoder(cfg)
}

func (p *processor) correlating() bool { return p.corr.enabled() }

func (p *processor) skewReport() string { return p.corr.report() }

// startLoop readies a new pass over the input: sequence numbers, decoder
// state and the annotation cursors start again.
func (p *processor) startLoop() {
	p.seq = 0
	// Notes the matching pass collected belong to no output frame.
	p.damageNotes = p.damageNotes[:0]
	if p.dec != nil {
		p.dec.Reset()
	}
	p.corr.startLoop()
}

// frame processes one captured packet: decode, annotate, alert, redact,
// then write every frame no longer needed for rewriting.
func (p *processor) frame(pkt *source.Packet, outIface int, link layers.LinkType, out time.Time) error {
	p.seq++
	h := p.hold()
	h.seq, h.link = p.seq, link
	if p.r.isLive() {
		h.since = p.cfg.Now() // only the live hold limit needs the wall clock
	}
	h.ci = pkt.CI
	h.ci.InterfaceIndex, h.ci.Timestamp = outIface, out
	h.shift = out.Sub(pkt.CI.Timestamp)
	h.data = append(h.data[:0], pkt.Data...)
	h.opts = pkt.Options
	// The input's comments are output too (redacted like text), in h's
	// own slice: comments this run adds are appended there, never to the
	// source's.
	h.comments = append(h.comments[:0], pkt.Options.Comments...)
	if red := p.cfg.Redactor; red != nil {
		for i, c := range h.comments {
			h.comments[i] = red.Text(c)
		}
	}
	if len(p.damageNotes) > 0 {
		h.comments = append(h.comments, p.damageNotes...)
		p.damageNotes = p.damageNotes[:0]
	}
	h.opts.Comments = h.comments
	h.pdus, h.covered, h.partial = h.pdus[:0], h.covered[:0], false
	h.ci.CaptureLength = len(h.data)
	if p.dec != nil {
		p.msgs = p.dec.Decode(p.seq, pkt.CI.Timestamp, link, h.data, p.msgs[:0])
		for i := range p.msgs {
			if err := p.message(&p.msgs[i], i, h); err != nil {
				return err
			}
		}
		h.partial = p.dec.Holds(p.seq)
	}
	p.corr.attach(h)
	return p.release(false)
}

// message handles the index'th SIP message completed by frame h.
func (p *processor) message(m *decode.Message, index int, h *held) error {
	p.r.stats.SIP++
	// Parse only for what needs the identity: online matching (live) and
	// alerts. Replays get their matches from the matching pass, and
	// redaction reads the bytes itself.
	parsed := false
	if p.corr.engine != nil || p.alertCandidate(m.Data) {
		err := sip.Parse(m.Data, &p.sipm)
		parsed = err == nil || errors.Is(err, sip.ErrShortBody)
		if !parsed {
			p.r.stats.Malformed++
			p.r.log.Debug("malformed SIP message", "frame", m.Frame, "err", err)
		}
	}
	// Comments go on the frame, or on the decrypted PDU of a TLS message.
	target := &h.opts.Comments
	if m.Transport == decode.TLS || m.Transport == decode.WSS {
		// Mode (a) writes no PDU: comments stay on the encrypted frame.
		if d := p.tls.decrypted(m, index, h); d != nil {
			target = &d.comments
		}
	}
	if parsed {
		p.corr.observe(m, target, index)
		if p.cfg.Alerts != nil && p.sipm.IsResponse() && p.cfg.Alerts.Has(p.sipm.StatusCode) {
			p.alert(m, target, h.ci.Timestamp)
		}
	}
	if len(m.Pieces) == 0 {
		return nil // decrypted messages were redacted into their PDU
	}
	if p.cfg.Redactor == nil {
		return nil
	}
	for _, pc := range m.Pieces {
		if f := p.heldFrame(pc.Frame); f != nil {
			f.covered = append(f.covered, [2]int{pc.FrameOff, pc.FrameOff + pc.Len})
		}
	}
	if p.cfg.Redactor == nil || len(m.Pieces) == 0 {
		return nil
	}
	p.scratch = append(p.scratch[:0], m.Data...)
	if p.cfg.Redactor.Message(p.scratch) == 0 {
		return nil
	}
	p.r.stats.Redacted++
	if err := decode.Rewrite(m, p.scratch, p.frameFunc); err != nil {
		// Never write the original bytes: scrub what cannot be rewritten.
		p.r.log.Warn("could not write a redacted message back into its frames; scrubbing them", "file", p.cfg.ReplayFile, "frame", m.Frame, "err", err)
		for _, pc := range m.Pieces {
			if f := p.heldFrame(pc.Frame); f != nil {
				p.scrub(f)
			}
		}
	}
	return nil
}

// alertCandidate reports whether b is a response whose status is an alert
// code, from the status line alone.
func (p *processor) alertCandidate(b []byte) bool {
	if p.cfg.Alerts == nil || len(b) < 12 || string(b[:8]) != "SIP/2.0 " {
		return false
	}
	c0, c1, c2 := b[8], b[9], b[10]
	if c0 < '0' || c0 > '9' || c1 < '0' || c1 > '9' || c2 < '0' || c2 > '9' {
		return false
	}
	return p.cfg.Alerts.Has(int(c0-'0')*100 + int(c1-'0')*10 + int(c2-'0'))
}

// alert adds an alert comment to the frame that completes an alerted
// response, and posts it to the webhook.
func (p *processor) alert(m *decode.Message, target *[]string, ts time.Time) {
	a := alert.Alert{
		Time: ts, Frame: m.Frame, Status: p.sipm.StatusCode,
		Event: string(p.sipm.AppendEvent(nil)), CSeq: string(p.sipm.AppendCSeq(nil)),
		Transport: m.Transport.String(), Src: m.Src, Dst: m.Dst,
	}
	p.hvals = p.sipm.Lookup(p.hdrs, p.hvals)
	for i, v := range p.hvals {
		switch name := p.hdrs.Name(i); {
		case len(v) == 0:
		case equalFold(name, "X-Genesys-Call-ID"):
			a.GenesysCallID = string(v)
		case equalFold(name, "x-inin-cnv"):
			a.Conversation = string(v)
		}
	}
	a.CallID = string(p.sipm.CallID)
	if red := p.cfg.Redactor; red != nil {
		a.CallID, a.GenesysCallID, a.Conversation = red.CallID(a.CallID), red.CallID(a.GenesysCallID), red.CallID(a.Conversation)
		a.Event = red.Text(a.Event)
	}
	*target = append(*target, p.texts.keep(a.AppendComment(p.texts.tail())))
	p.r.stats.Alerts++
	if p.cfg.Webhook != nil {
		p.cfg.Webhook.Send(a)
	}
	if p.cfg.Status != nil {
		p.cfg.Status.alert(a)
	}
}

// hold takes a frame buffer from the free list and queues it.
func (p *processor) hold() *held {
	var h *held
	if n := len(p.free); n > 0 {
		h, p.free = p.free[n-1], p.free[:n-1]
	} else {
		h = &held{}
	}
	p.queue = append(p.queue, h)
	return h
}

// heldFrame returns the held frame with input number seq, or nil.
func (p *processor) heldFrame(seq uint64) *held {
	if p.qhead >= len(p.queue) {
		return nil
	}
	first := p.queue[p.qhead].seq
	if seq < first {
		return nil
	}
	i := p.qhead + int(seq-first)
	if i >= len(p.queue) || p.queue[i].seq != seq {
		return nil
	}
	return p.queue[i]
}

// frameFunc gives decode.Rewrite the held frames.
func (p *processor) frameFunc(seq uint64) (layers.LinkType, []byte, bool) {
	h := p.heldFrame(seq)
	if h == nil {
		return 0, nil, false
	}
	return h.link, h.data, true
}

// release writes the frames no unfinished message needs any more. With
// force, it writes every held frame (end of input). In a live capture a
// frame is never held longer than maxLiveHold. A frame that carried part of
// an unfinished message leaves with the bytes no completed message covered
// scrubbed (see held).
func (p *processor) release(force bool) error {
	limit := uint64(1<<63 - 1)
	if p.dec != nil && !force {
		if o, ok := p.dec.Oldest(); ok {
			limit = o
		}
	}
	live := p.r.isLive()
	var now time.Time
	if live {
		now = p.cfg.Now()
	}
	for p.qhead < len(p.queue) {
		h := p.queue[p.qhead]
		if h.seq >= limit && (!live || now.Sub(h.since) < maxLiveHold) {
			break
		}
		if h.partial {
			p.scrub(h)
		}
		if err := p.write(h); err != nil {
			return err
		}
		p.queue[p.qhead] = nil
		p.qhead++
		// Keep the comment slice's storage (appends may have grown it),
		// without holding on to the strings.
		h.comments = h.opts.Comments[:0]
		clear(h.comments[:cap(h.comments)])
		p.free = append(p.free, h)
	}
	if p.qhead > 1024 && p.qhead*2 > len(p.queue) {
		n := copy(p.queue, p.queue[p.qhead:])
		clear(p.queue[n:])
		p.queue, p.qhead = p.queue[:n], 0
	}
	return nil
}

// maxLiveHold bounds how long a live frame waits for the rest of a SIP
// message before it is scrubbed and written anyway.
const maxLiveHold = 2 * time.Second

// scrub redacts the payload bytes of h that no completed message covered:
// part of a SIP message that never completed cannot be parsed as a whole,
// so redact.Scrub treats it line by line, conservatively.
func (p *processor) scrub(h *held) {
	red := p.cfg.Redactor
	if red == nil {
		return
	}
	slices.SortFunc(h.covered, func(a, b [2]int) int { return a[0] - b[0] })
	changed := false
	decode.Payloads(h.link, h.data, func(off int, pl []byte) {
		pos, end := off, off+len(pl)
		for _, c := range h.covered {
			if c[1] <= pos || c[0] >= end {
				continue
			}
			if c[0] > pos && red.Scrub(h.data[pos:c[0]]) > 0 {
				changed = true
			}
			pos = max(pos, c[1])
		}
		if pos < end && red.Scrub(h.data[pos:end]) > 0 {
			changed = true
		}
	})
	if changed {
		p.r.stats.Redacted++
		if err := decode.FixChecksums(h.link, h.data); err != nil {
			p.r.log.Debug("checksums of a scrubbed frame", "frame", h.seq, "err", err)
		}
	}
}

// write writes one frame, after the Genesys-only frames due before it and
// the decryption secrets it needs.
func (p *processor) write(h *held) error {
	if err := p.corr.writeDue(h.ci.Timestamp, h.shift); err != nil {
		return err
	}
	if err := p.merge.writeDue(h.ci.Timestamp, h.shift); err != nil {
		return err
	}
	if err := p.tls.writeSecrets(h.seq); err != nil {
		return err
	}
	var opts *pcapgo.NgPacketOptions
	if hasOptions(&h.opts) {
		opts = &h.opts
	}
	if err := p.r.sink.WritePacket(h.ci, h.data, opts); err != nil {
		return err
	}
	p.r.stats.Packets++
	p.r.stats.Bytes += uint64(len(h.data))
	for _, d := range h.pdus {
		if err := p.tls.writePDU(d); err != nil {
			return err
		}
	}
	return nil
}

// endLoop writes everything still held at the end of an input pass, and
// what only Genesys saw after the last packet.
func (p *processor) endLoop() error {
	if p.r.sink == nil {
		return nil
	}
	if err := p.release(true); err != nil {
		return err
	}
	if err := p.corr.writeRest(); err != nil {
		return err
	}
	return p.merge.writeRest()
}

// drain is endLoop for a run that stops early (cancelled, failed).
func (p *processor) drain() error {
	return p.release(true)
}

func (p *processor) close() {
	if p.dec != nil {
		p.dec.Reset()
	}
}

// publish copies the counters to the toolbar status, at most once a second.
func (p *processor) publish() {
	st := p.cfg.Status
	if st == nil {
		return
	}
	now := p.cfg.Now()
	if now.Sub(p.lastPub) < time.Second {
		return
	}
	p.lastPub = now
	st.set(p.r.stats, p.corr.shortReport())
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
