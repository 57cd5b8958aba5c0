package decode

import (
	"bytes"

	"github.com/genesys-sip/genesys-sip/internal/sip"
)

// The upper layer of a TCP direction: it receives in-order bytes (or the
// plaintext of a StreamHandler) and finds SIP in them. A direction starts
// undecided and settles on SIP framing (RFC 3261 §18.3), an HTTP WebSocket
// upgrade followed by WebSocket framing (RFC 7118), resynchronisation (the
// next start line after a line feed), or ignoring the bytes.

type streamMode uint8

const (
	modeDetect streamMode = iota // first bytes of the direction (or after a gap)
	modeSIP                      // SIP messages framed by Content-Length
	modeResync                   // looking for a start line after a line feed
	modeHTTP                     // reading an HTTP upgrade request or response
	modeWS                       // WebSocket frames
	modeIgnore                   // not SIP: bytes are dropped unread
)

// maxHTTPHeader bounds the HTTP upgrade request or response header.
const maxHTTPHeader = 16 << 10

type upper struct {
	mode    streamMode
	mid     bool // picked up mid-stream or after a gap
	afterLF bool // resync: the last byte scanned was a line feed
	budget  int  // resync bytes left on a port without a hint
	noEnd   int  // SIP: bytes of the partial message known to hold no header end

	// Unconsumed in-order bytes buf[head:], and the pieces mapping buf
	// (MsgOff relative to buf[0]). pinned is the Decode generation in which
	// a Message aliasing buf was returned: buf is not moved during it.
	buf    []byte
	head   int
	pcs    []Piece
	nomap  bool
	pinned uint64

	ws wsState
}

// held returns the bytes this direction buffers.
func (u *upper) held() int { return len(u.buf) - u.head + len(u.ws.msg) }

// deliver passes in-order payload p of direction di to the connection's
// StreamHandler, if any, and then to the SIP layer.
func (d *Decoder) deliver(c *tcpConn, di int, p span) {
	if len(p.b) == 0 {
		return
	}
	if !c.asked && d.cfg.StreamHandler != nil {
		c.asked = true
		c.handler = d.cfg.StreamHandler(c.flow(di), p.b)
	}
	if c.handler == nil {
		d.upperFeed(c, di, p)
		return
	}
	start := len(d.arena)
	out, err := c.handler.Feed(c.flow(di), p.b, d.arena)
	if err != nil {
		d.malformed(errorJoin(ErrHandler, err), "tcp %s", flowString(c.flow(di)))
	}
	if len(out) < start {
		return
	}
	d.arena = out
	if len(out) > start {
		d.upperFeed(c, di, span{b: out[start:len(out):len(out)], nomap: true})
	}
}

// upperFeed runs the SIP layer of direction di over new bytes p.
func (d *Decoder) upperFeed(c *tcpConn, di int, p span) {
	u := &c.dirs[di].up
	if u.mode == modeIgnore {
		return
	}
	// WebSocket frames carrying SIP are recognised by content at segment
	// boundaries, without the HTTP upgrade (capture started later, or the
	// stream lost its framing).
	if (u.mode == modeDetect || u.mode == modeResync) && u.ws.skip == 0 && wsCarriesSIP(p.b) {
		d.dropBuf(u)
		u.mode = modeWS
	}
	if u.head == len(u.buf) {
		// Fast path: frame straight from the segment; keep only a tail.
		n := d.runUpper(c, di, p)
		if n < len(p.b) && u.mode != modeIgnore && !c.dead {
			d.appendBuf(u, p.sub(n, len(p.b)))
		}
	} else {
		d.appendBuf(u, p)
		v := span{b: u.buf[u.head:], off: u.head, pcs: u.pcs, nomap: u.nomap || len(u.pcs) == 0}
		d.consumeBuf(u, d.runUpper(c, di, v))
	}
	if c.dead {
		return
	}
	if u.held() > d.lim.maxStreamBytes {
		d.malformed(ErrStreamOverflow, "tcp %s", flowString(c.flow(di)))
		d.dropBuf(u)
		d.dropWS(u)
		u.mode, u.afterLF = modeResync, false
		d.stats.TCPResyncs++
	}
	d.tcp.enforce(d, c)
}

// runUpper consumes what it can of v and returns how many bytes it used;
// the rest is kept for when more bytes arrive.
func (d *Decoder) runUpper(c *tcpConn, di int, v span) int {
	u := &c.dirs[di].up
	pos := 0
	for pos < len(v.b) {
		if u.ws.skip > 0 {
			n := int(min(u.ws.skip, int64(len(v.b)-pos)))
			pos += n
			u.ws.skip -= int64(n)
			continue
		}
		var n int
		var wait bool
		switch u.mode {
		case modeIgnore:
			return len(v.b)
		case modeDetect:
			n, wait = d.detect(c, di, v.b[pos:])
		case modeSIP:
			n, wait = d.frameSIP(c, di, v, pos)
		case modeResync:
			n, wait = d.resync(c, di, v.b[pos:])
		case modeHTTP:
			n, wait = d.httpUpgrade(c, di, v.b[pos:])
		case modeWS:
			n, wait = d.wsFrame(c, di, v, pos)
		}
		pos += n
		if wait {
			break
		}
	}
	return pos
}

// detect decides what direction di carries from its first bytes b.
func (d *Decoder) detect(c *tcpConn, di int, b []byte) (int, bool) {
	u := &c.dirs[di].up
	if k := sip.KeepAliveLength(b); k > 0 {
		return k, false
	}
	ok, decided := sip.IsStartLine(b)
	switch {
	case ok:
		u.mode = modeSIP
	case !decided:
		return 0, true
	case hasPrefixFold(b, "GET ") || hasPrefixFold(b, "HTTP/"):
		u.mode = modeHTTP
	case looksTLS(b):
		if !c.tlsCounted {
			c.tlsCounted = true
			d.stats.TLSStreams++
		}
		u.mode = modeIgnore
	default:
		d.notSIP(c, u)
	}
	return 0, false
}

// notSIP handles a direction whose bytes are not what was expected: keep
// looking where SIP is likely, give up elsewhere.
func (d *Decoder) notSIP(c *tcpConn, u *upper) {
	if c.hint || u.mid {
		u.mode, u.afterLF = modeResync, false
		d.stats.TCPResyncs++
		return
	}
	u.mode = modeIgnore
}

// frameSIP frames the next SIP message at v.b[pos:].
func (d *Decoder) frameSIP(c *tcpConn, di int, v span, pos int) (int, bool) {
	b := v.b[pos:]
	k := sip.KeepAliveLength(b)
	if k == len(b) {
		return k, true
	}
	u := &c.dirs[di].up
	m := b[k:]
	// While the header block is still open, look for its end only in the
	// new bytes: rescanning a large partial message on every segment would
	// cost quadratic time.
	if k > 0 {
		u.noEnd = 0
	}
	if u.noEnd > 0 && u.noEnd <= len(m) {
		if !hasHeaderEnd(m[u.noEnd-min(u.noEnd, 3):]) {
			u.noEnd = len(m)
			if len(m) <= sip.MaxMessage {
				return k, true
			}
		}
	}
	n, err := sip.MessageLength(m)
	switch err {
	case nil:
		u.noEnd = 0
		d.emitStream(c, di, v, pos+k, pos+k+n)
		return k + n, false
	case sip.ErrIncomplete:
		if !hasHeaderEnd(m) {
			u.noEnd = len(m)
		}
		return k, true
	}
	u.noEnd = 0
	// ErrNotSIP, ErrTooLong: skip to the next start line after a line
	// feed (which skips this one). An unusable Content-Length is not an
	// error: MessageLength frames it as 0 and sip.Parse flags it.
	d.malformed(err, "tcp %s", flowString(c.flow(di)))
	u.mode, u.afterLF = modeResync, false
	d.stats.TCPResyncs++
	return k, false
}

// resync looks for a SIP start line that follows a line feed.
func (d *Decoder) resync(c *tcpConn, di int, b []byte) (int, bool) {
	u := &c.dirs[di].up
	pos := 0
	if !u.afterLF {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return d.spend(c, u, len(b)), true
		}
		pos = i + 1
	}
	for {
		if pos == len(b) {
			u.afterLF = true
			return d.spend(c, u, pos), true
		}
		ok, decided := sip.IsStartLine(b[pos:])
		if !decided {
			u.afterLF = true
			return d.spend(c, u, pos), true
		}
		if ok {
			u.mode, u.afterLF, u.mid = modeSIP, false, false
			return d.spend(c, u, pos), false
		}
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			u.afterLF = false
			return d.spend(c, u, len(b)), true
		}
		pos += i + 1
	}
}

// spend charges n scanned bytes to the resync budget of a stream on a port
// without a hint, ignoring the stream once the budget is gone.
func (d *Decoder) spend(c *tcpConn, u *upper, n int) int {
	if !c.hint && u.mode == modeResync {
		u.budget -= n
		if u.budget <= 0 {
			u.mode = modeIgnore
		}
	}
	return n
}

// httpUpgrade reads an HTTP request or response header and switches to
// WebSocket framing after a WebSocket upgrade (RFC 6455 §4).
func (d *Decoder) httpUpgrade(c *tcpConn, di int, b []byte) (int, bool) {
	u := &c.dirs[di].up
	end := httpHeaderEnd(b)
	if end < 0 {
		if len(b) > maxHTTPHeader {
			d.notSIP(c, u)
			return 0, false
		}
		return 0, true
	}
	h := b[:end]
	upgrade := headerContains(h, "upgrade", "websocket")
	switch {
	case hasPrefixFold(h, "GET ") && upgrade:
		c.wsUpgrade = true
		u.mode = modeWS
	case hasPrefixFold(h, "HTTP/") && len(h) >= 12 && string(h[9:12]) == "101" && (upgrade || c.wsUpgrade):
		u.mode = modeWS
	default:
		d.notSIP(c, u)
		if u.mode == modeIgnore {
			return len(b), false
		}
	}
	return end, false
}

// emitStream returns the SIP message v.b[i:j] of direction di.
func (d *Decoder) emitStream(c *tcpConn, di int, v span, i, j int) {
	u := &c.dirs[di].up
	u.pinned = d.gen
	f := c.flow(di)
	d.emit(d.streamTransport(c, u), f.Src, f.Dst, v, i, j)
}

func (d *Decoder) streamTransport(c *tcpConn, u *upper) Transport {
	switch {
	case u.mode == modeWS && c.handler != nil:
		return WSS
	case u.mode == modeWS:
		return WS
	case c.handler != nil:
		return TLS
	}
	return TCP
}

// endDir ends direction di's upper layer (FIN, RST, gap, eviction),
// reporting a partial SIP message when report is set.
func (d *Decoder) endDir(c *tcpConn, di int, report bool) {
	u := &c.dirs[di].up
	partial := (u.mode == modeSIP && u.head < len(u.buf)) || (u.ws.inMsg && u.ws.sip)
	if report && partial {
		d.malformed(ErrTruncated, "tcp %s", flowString(c.flow(di)))
	}
	d.dropBuf(u)
	d.dropWS(u)
	u.ws.skip, u.ws.skipMsg = 0, false
}

// appendBuf adds p to the direction's buffer.
func (d *Decoder) appendBuf(u *upper, p span) {
	if u.pinned != d.gen {
		switch {
		case u.head == len(u.buf):
			u.buf, u.head = u.buf[:0], 0
		case u.head > 0:
			n := copy(u.buf, u.buf[u.head:])
			u.buf = u.buf[:n]
			for i := range u.pcs {
				u.pcs[i].MsgOff -= u.head
			}
			u.head = 0
		}
	}
	off := len(u.buf)
	u.buf = append(u.buf, p.b...)
	u.nomap = p.nomap
	k := len(u.pcs)
	u.pcs = appendPieces(u.pcs, p, 0, len(p.b), off)
	for i := k; i < len(u.pcs); i++ {
		if u.pcs[i].Sums != nil {
			u.pcs[i].Sums = cloneSums(u.pcs[i].Sums)
		}
	}
	d.holds.pieces(u.pcs[k:], 1)
	d.tcp.buffered += len(p.b)
}

// consumeBuf drops the first n unconsumed bytes of the buffer.
func (d *Decoder) consumeBuf(u *upper, n int) {
	u.head += n
	d.tcp.buffered -= n
	k := 0
	for k < len(u.pcs) && u.pcs[k].MsgOff+u.pcs[k].Len <= u.head {
		k++
	}
	if k > 0 {
		d.holds.pieces(u.pcs[:k], -1)
		m := copy(u.pcs, u.pcs[k:])
		clear(u.pcs[m:])
		u.pcs = u.pcs[:m]
	}
	if u.head == len(u.buf) && u.pinned != d.gen {
		u.buf, u.head = u.buf[:0], 0
		if cap(u.buf) > 64<<10 {
			u.buf = nil
		}
	}
}

// dropBuf discards every buffered byte.
func (d *Decoder) dropBuf(u *upper) {
	d.consumeBuf(u, len(u.buf)-u.head)
	u.noEnd = 0
}

// hasHeaderEnd reports whether b contains the empty line ending a header
// block (LF LF or LF CR LF).
func hasHeaderEnd(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return false
		}
		b = b[i+1:]
		if len(b) > 0 && b[0] == '\n' || len(b) > 1 && b[0] == '\r' && b[1] == '\n' {
			return true
		}
	}
}

// looksTLS reports whether b starts with a TLS record header (RFC 8446
// §5.1): content type 20-23, version 3.x.
func looksTLS(b []byte) bool {
	return len(b) >= 3 && b[0] >= 20 && b[0] <= 23 && b[1] == 3 && b[2] <= 4
}

// httpHeaderEnd returns the length of the HTTP header block at the start
// of b including its empty line, or -1 if it has not ended yet.
func httpHeaderEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3
		}
	}
	return -1
}

// headerContains reports whether some header line "name: value" of h has
// token in its value, ignoring ASCII case.
func headerContains(h []byte, name, token string) bool {
	for len(h) > 0 {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line, h = h[:i], h[i+1:]
		} else {
			h = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 || !equalFoldTrim(line[:colon], name) {
			continue
		}
		if containsFold(line[colon+1:], token) {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func hasPrefixFold(b []byte, s string) bool {
	if len(b) < len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func equalFoldTrim(b []byte, s string) bool {
	b = bytes.TrimSpace(b)
	return len(b) == len(s) && hasPrefixFold(b, s)
}

func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if hasPrefixFold(b[i:], s) {
			return true
		}
	}
	return false
}
