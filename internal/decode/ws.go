package decode

import (
	"encoding/binary"

	"github.com/genesys-sip/genesys-sip/internal/sip"
)

// WebSocket framing (RFC 6455 §5) carrying SIP (RFC 7118 §5: one SIP
// message per WebSocket message, text or binary). Control frames are
// skipped; fragmented messages are joined from their continuation frames;
// masked payloads are unmasked in Data while Pieces keep the mask, so a
// rewrite can be masked again into the frames.

// wsPeek is how many payload bytes are unmasked to decide whether a
// WebSocket message carries SIP: enough for any real request line.
const wsPeek = 1024

type wsState struct {
	inMsg   bool    // a fragmented data message is in progress
	sip     bool    // ... and it carries SIP (its bytes are kept)
	skipMsg bool    // ... and it is being skipped
	msg     []byte  // unmasked payload so far
	pcs     []Piece // pieces of msg
	skip    int64   // bytes of the current frame still to skip
}

// wsHeader parses a WebSocket frame header. n is the header length
// (0 when b is too short to tell).
type wsHeader struct {
	fin    bool
	rsv    byte
	op     byte
	masked bool
	key    [4]byte
	plen   uint64
	n      int
}

func parseWSHeader(b []byte) wsHeader {
	var h wsHeader
	if len(b) < 2 {
		return h
	}
	h.fin, h.rsv, h.op = b[0]&0x80 != 0, b[0]&0x70, b[0]&0x0f
	h.masked = b[1]&0x80 != 0
	h.plen = uint64(b[1] & 0x7f)
	n := 2
	switch h.plen {
	case 126:
		if len(b) < 4 {
			return h
		}
		h.plen, n = uint64(be16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return h
		}
		h.plen, n = binary.BigEndian.Uint64(b[2:]), 10
	}
	if h.masked {
		if len(b) < n+4 {
			return h
		}
		copy(h.key[:], b[n:n+4])
		n += 4
	}
	h.n = n
	return h
}

// wsCarriesSIP reports whether b starts with an unfragmented or first
// WebSocket data frame whose payload starts with a SIP start line.
func wsCarriesSIP(b []byte) bool {
	h := parseWSHeader(b)
	if h.n == 0 || h.rsv != 0 || (h.op != 1 && h.op != 2) || h.plen > sip.MaxMessage {
		return false
	}
	var peek [wsPeek]byte
	n := copy(peek[:min(int(h.plen), wsPeek)], b[h.n:])
	if h.masked {
		for i := range n {
			peek[i] ^= h.key[i&3]
		}
	}
	ok, _ := sip.IsStartLine(peek[:n])
	return ok
}

// wsFrame handles the WebSocket frame at v.b[pos:].
func (d *Decoder) wsFrame(c *tcpConn, di int, v span, pos int) (int, bool) {
	u := &c.dirs[di].up
	b := v.b[pos:]
	h := parseWSHeader(b)
	if h.n == 0 {
		return 0, true
	}
	if h.plen > 1<<40 || (h.op >= 8 && (!h.fin || h.plen > 125)) || (h.op > 2 && h.op < 8) || h.op > 10 {
		// Not WebSocket framing (or a broken peer): look for SIP again.
		d.malformed(ErrWebSocket, "ws %s: bad frame header", flowString(c.flow(di)))
		d.dropWS(u)
		u.mode, u.afterLF, u.mid = modeResync, false, true
		d.stats.TCPResyncs++
		return 0, false
	}
	total := int64(h.n) + int64(h.plen)
	skip := func() (int, bool) {
		u.ws.skip = total
		return 0, false
	}
	if h.op >= 8 {
		return skip() // control frame
	}
	flow := c.flow(di)
	if h.op == 0 {
		// Continuation frame.
		switch {
		case !u.ws.inMsg:
			d.malformed(ErrWebSocket, "ws %s: continuation without a message", flowString(flow))
			return skip()
		case u.ws.skipMsg:
			u.ws.inMsg, u.ws.skipMsg = !h.fin, !h.fin
			return skip()
		case h.plen+uint64(len(u.ws.msg)) > sip.MaxMessage:
			d.malformed(ErrWebSocket, "ws %s: message too large", flowString(flow))
			d.dropWS(u)
			u.ws.inMsg, u.ws.skipMsg = !h.fin, !h.fin
			return skip()
		}
		if int64(len(b)) < total {
			return 0, true // wait for the whole frame (bounded by sip.MaxMessage)
		}
	} else {
		// First frame of a message: decide on its first bytes whether it
		// is SIP. State changes only once the frame is consumed.
		keep := false
		switch {
		case h.rsv != 0:
			// permessage-deflate (RFC 7692) or an unknown extension.
			d.malformed(ErrWebSocket, "ws %s: compressed message", flowString(flow))
		case h.plen > sip.MaxMessage:
			d.malformed(ErrWebSocket, "ws %s: message too large", flowString(flow))
		default:
			var peek [wsPeek]byte
			want := min(int(h.plen), wsPeek)
			n := copy(peek[:want], b[h.n:])
			if h.masked {
				for i := range n {
					peek[i] ^= h.key[i&3]
				}
			}
			ok, decided := sip.IsStartLine(peek[:n])
			switch {
			case ok:
				keep = true
			case !decided && n < want:
				return 0, true // wait for the first line
			case !decided && !h.fin:
				keep = true // tiny first fragment: keep and decide at the end
			}
		}
		if keep && int64(len(b)) < total {
			return 0, true // wait for the whole frame (bounded by sip.MaxMessage)
		}
		if u.ws.inMsg {
			if u.ws.sip {
				d.malformed(ErrWebSocket, "ws %s: message interrupted", flowString(flow))
			}
			d.dropWS(u)
		}
		u.ws.inMsg, u.ws.sip, u.ws.skipMsg = !h.fin, keep, !keep && !h.fin
		if !keep {
			return skip()
		}
	}
	a, e := pos+h.n, pos+int(total)
	if h.fin && !u.ws.inMsg {
		// Unfragmented message: the common case.
		d.emitWS(c, di, v, a, e, h)
		return int(total), false
	}
	// Part of a fragmented message: keep it.
	off := len(u.ws.msg)
	u.ws.msg = append(u.ws.msg, b[h.n:total]...)
	if h.masked {
		unmask(u.ws.msg[off:], h.key)
	}
	k := len(u.ws.pcs)
	u.ws.pcs = appendPieces(u.ws.pcs, v, a, e, off)
	for i := k; i < len(u.ws.pcs); i++ {
		p := &u.ws.pcs[i]
		if h.masked {
			p.Masked, p.Mask = true, rotateMask(h.key, p.MsgOff-off)
		}
		if p.Sums != nil {
			p.Sums = cloneSums(p.Sums)
		}
	}
	d.holds.pieces(u.ws.pcs[k:], 1)
	d.tcp.buffered += int(h.plen)
	if !h.fin {
		return int(total), false
	}
	if ok, _ := sip.IsStartLine(u.ws.msg); ok {
		data := append(d.arena, u.ws.msg...)
		msg := data[len(d.arena):len(data):len(data)]
		d.arena = data
		pstart := len(d.pieces)
		d.pieces = append(d.pieces, u.ws.pcs...)
		f := c.flow(di)
		d.emitOwned(d.streamTransport(c, u), f, msg, d.pieces[pstart:len(d.pieces):len(d.pieces)])
	}
	d.dropWS(u)
	return int(total), false
}

// emitWS returns the SIP message carried by one unfragmented WebSocket
// frame whose payload is v.b[a:e].
func (d *Decoder) emitWS(c *tcpConn, di int, v span, a, e int, h wsHeader) {
	u := &c.dirs[di].up
	if ok, _ := sip.IsStartLine(v.b[a:e]); !ok && !h.masked {
		return
	}
	if !h.masked {
		d.emitStream(c, di, v, a, e)
		return
	}
	data := append(d.arena, v.b[a:e]...)
	msg := data[len(d.arena):len(data):len(data)]
	d.arena = data
	unmask(msg, h.key)
	if ok, _ := sip.IsStartLine(msg); !ok {
		return
	}
	pstart := len(d.pieces)
	d.pieces = appendPieces(d.pieces, v, a, e, 0)
	for i := pstart; i < len(d.pieces); i++ {
		p := &d.pieces[i]
		p.Masked, p.Mask = true, rotateMask(h.key, p.MsgOff)
	}
	f := c.flow(di)
	d.emitOwned(d.streamTransport(c, u), f, msg, d.pieces[pstart:len(d.pieces):len(d.pieces)])
}

// emitOwned returns a message whose bytes and pieces are already in the
// per-call buffers.
func (d *Decoder) emitOwned(t Transport, f Flow, data []byte, pcs []Piece) {
	if len(pcs) == 0 {
		pcs = nil
	}
	d.dst = append(d.dst, Message{
		Frame: d.frame, Time: d.ts, Transport: t,
		Src: f.Src, Dst: f.Dst, Data: data, Pieces: pcs,
	})
	d.stats.Messages[t]++
}

// dropWS discards a partial WebSocket message.
func (d *Decoder) dropWS(u *upper) {
	d.holds.pieces(u.ws.pcs, -1)
	d.tcp.buffered -= len(u.ws.msg)
	clear(u.ws.pcs)
	u.ws.msg, u.ws.pcs = u.ws.msg[:0], u.ws.pcs[:0]
	u.ws.inMsg, u.ws.sip = false, false
	if cap(u.ws.msg) > 64<<10 {
		u.ws.msg = nil
	}
}

func unmask(b []byte, key [4]byte) {
	for i := range b {
		b[i] ^= key[i&3]
	}
}
