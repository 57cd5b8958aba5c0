package decode

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Errors passed to Config.OnMalformed, wrapped with context; test with
// errors.Is. Framing errors from package sip (sip.ErrTooLong,
// sip.ErrNotSIP) are passed on wrapped as well. A message with an unusable
// Content-Length is not one of them: it is framed as Content-Length 0 and
// returned, and sip.Parse reports it in Message.Malformed.
var (
	// ErrTruncated means a stream or partial message ended (FIN, RST,
	// timeout, eviction, lost bytes) before a SIP message was complete.
	ErrTruncated = errors.New("decode: SIP message cut short")
	// ErrStreamOverflow means a stream buffered more than MaxStreamBytes.
	ErrStreamOverflow = errors.New("decode: stream buffer limit exceeded")
	// ErrWebSocket means WebSocket framing that cannot carry SIP: a
	// reserved opcode, a compressed (permessage-deflate) message, a
	// continuation without a start, or a message over sip.MaxMessage.
	ErrWebSocket = errors.New("decode: unusable WebSocket frame")
	// ErrSCTPFragment means an SCTP user message whose fragments did not
	// line up or exceeded the size limit.
	ErrSCTPFragment = errors.New("decode: inconsistent SCTP fragments")
	// ErrHandler wraps an error returned by a StreamHandler.
	ErrHandler = errors.New("decode: stream handler")
)

// Decoder decodes captured frames into SIP messages. It keeps reassembly
// state between calls, so frames of one capture go through one Decoder in
// capture order. A Decoder is not safe for concurrent use.
type Decoder struct {
	cfg   Config
	lim   limits
	hints [1024]uint64 // bitmap of PortHints
	stats Stats

	// Current frame.
	frame uint64
	ts    time.Time
	now   int64 // latest capture time seen, ns since the epoch
	gen   uint64

	dst    []Message
	arena  []byte  // message bytes built during this call
	pieces []Piece // pieces of the messages returned by this call

	holds holds
	frags defragger
	tcp   tcpTable
	sctp  sctpState
}

// NewDecoder returns a Decoder configured by cfg.
func NewDecoder(cfg Config) *Decoder {
	d := &Decoder{cfg: cfg, lim: cfg.limits()}
	hints := cfg.PortHints
	if hints == nil {
		hints = defaultPortHints[:]
	}
	for _, p := range hints {
		d.hints[p>>6] |= 1 << (p & 63)
	}
	d.frags.init()
	d.tcp.init()
	return d
}

func (d *Decoder) hinted(p uint16) bool { return d.hints[p>>6]&(1<<(p&63)) != 0 }

// Decode decodes one captured frame and appends to dst every SIP message
// that this frame completes, returning the extended slice. frame is the
// 1-based frame number as tshark numbers it, ts the capture timestamp (it
// drives all timeouts), link the frame's link type and data its captured
// bytes, which Decode never modifies.
//
// The appended Messages may point into data and into buffers the decoder
// reuses: they are valid until the next call to Decode or Reset. Frames
// that a returned Message's Pieces (and their Sums) refer to are the
// current frame or frames that Oldest reported before this call.
func (d *Decoder) Decode(frame uint64, ts time.Time, link layers.LinkType, data []byte, dst []Message) []Message {
	d.gen++
	d.frame, d.ts = frame, ts
	if n := ts.UnixNano(); n > d.now {
		d.now = n
	}
	d.dst = dst
	d.arena = d.arena[:0]
	d.pieces = d.pieces[:0]
	d.stats.Frames++
	d.expire()

	et, off, v := linkHeader(link, data)
	if v == vOK {
		d.network(et, span{b: data[off:], frame: frame, off: off}, 0)
	} else {
		d.count(v)
	}

	out := d.dst
	d.dst = nil
	// Do not keep huge per-call buffers around after a burst.
	if cap(d.arena) > 4<<20 {
		d.arena = nil
	}
	if cap(d.pieces) > 1<<16 {
		d.pieces = nil
	}
	return out
}

// Advance moves the decoder's capture clock to now without a frame and
// drops the state whose deadline has passed, so a live capture that goes
// quiet still releases the frames held for unfinished messages.
func (d *Decoder) Advance(now time.Time) {
	if n := now.UnixNano(); n > d.now {
		d.now = n
	}
	d.expire()
}

// Oldest reports the lowest frame number still referenced by unfinished
// reassembly (IP fragments, partial TCP, WebSocket or SCTP messages, held
// out-of-order segments); ok is false when there is none. A caller that
// holds frames back for rewriting may release every frame below it, once
// it has handled the Messages returned so far.
func (d *Decoder) Oldest() (frame uint64, ok bool) { return d.holds.oldest() }

// Holds reports whether unfinished reassembly state (a partial TCP,
// WebSocket or SCTP message, IP fragments, out-of-order segments) holds
// bytes of frame. Right after a frame is decoded this tells whether the
// frame carries part of a message that is not complete yet — the bytes the
// pipeline must scrub if the decoder later gives that message up.
func (d *Decoder) Holds(frame uint64) bool { return d.holds.held(frame) }

// Stats returns the counters so far.
func (d *Decoder) Stats() Stats { return d.stats }

// Reset forgets all reassembly state (fragments, streams, partial
// messages), closing attached StreamHandlers, as between replay loops.
// Counters in Stats are kept.
func (d *Decoder) Reset() {
	d.tcp.reset(d)
	d.frags.reset()
	d.sctp.reset()
	d.holds.reset()
	d.now = 0
	d.arena, d.pieces, d.dst = d.arena[:0], d.pieces[:0], nil
}

// expire drops state whose capture-time deadline has passed.
func (d *Decoder) expire() {
	d.frags.expire(d)
	d.tcp.expire(d)
	d.sctp.expire(d)
}

// count records why a frame could not be decoded further.
func (d *Decoder) count(v verdict) {
	switch v {
	case vTruncated:
		d.stats.Truncated++
	case vNonIP:
		d.stats.NonIP++
	case vUnknownLink:
		d.stats.UnknownLinkType++
	case vUnknownTunnel:
		d.stats.UnknownTunnel++
	case vTooDeep:
		d.stats.TunnelTooDeep++
	}
}

// malformed counts SIP data that had to be skipped and reports it.
func (d *Decoder) malformed(err error, format string, args ...any) {
	d.stats.Malformed++
	if d.cfg.OnMalformed != nil {
		d.cfg.OnMalformed(d.frame, fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err))
	}
}

// emit appends the SIP message s.b[i:j] to the output.
func (d *Decoder) emit(t Transport, src, dst netip.AddrPort, s span, i, j int) {
	start := len(d.pieces)
	d.pieces = appendPieces(d.pieces, s, i, j, 0)
	end := len(d.pieces)
	m := Message{
		Frame:     d.frame,
		Time:      d.ts,
		Transport: t,
		Src:       src,
		Dst:       dst,
		Data:      s.b[i:j:j],
	}
	if end > start {
		m.Pieces = d.pieces[start:end:end]
	}
	d.dst = append(d.dst, m)
	d.stats.Messages[t]++
}

// network decodes the link payload s, of EtherType et, at tunnel depth
// depth.
func (d *Decoder) network(et uint16, s span, depth int) {
	if depth > maxDepth {
		d.stats.TunnelTooDeep++
		return
	}
	ipv, off, v := l2(et, s.b)
	if v != vOK {
		d.count(v)
		return
	}
	s = s.sub(off, len(s.b))
	if ipv == 4 {
		d.ipv4(s, depth)
	} else {
		d.ipv6(s, depth)
	}
}

// errorJoin wraps err under the sentinel kind.
func errorJoin(kind, err error) error { return fmt.Errorf("%w: %w", kind, err) }

// flowString formats a flow for error messages.
func flowString(f Flow) string { return f.Src.String() + " -> " + f.Dst.String() }
