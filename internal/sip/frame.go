package sip

import (
	"bytes"
	"errors"
)

// Framing errors returned by MessageLength.
var (
	// ErrIncomplete means b does not yet hold a whole message; read more bytes.
	ErrIncomplete = errors.New("sip: incomplete message")
	// ErrNotSIP means b does not start with a SIP start line.
	ErrNotSIP = errors.New("sip: not a SIP start line")
	// ErrTooLong means the headers or the declared body exceed MaxMessage.
	ErrTooLong = errors.New("sip: message exceeds size limit")
)

// errBadValue marks a Content-Length value that is not a number.
var errBadValue = errors.New("sip: invalid Content-Length")

// MaxMessage bounds one SIP message (headers plus body) on a stream transport.
// Real INVITEs with large SDP or multipart bodies reach tens of kilobytes;
// anything past this is treated as garbage so a broken stream cannot make the
// decoder buffer without bound.
const MaxMessage = 1 << 20

// maxStartLine bounds the request or status line while deciding whether bytes
// can be SIP at all. RFC 4475 torture URIs stay well below it.
const maxStartLine = 8 << 10

// KeepAliveLength reports how many bytes of RFC 5626 §3.5.1 keep-alive
// (a run of CR and LF) start b. Stream decoders skip them between messages.
func KeepAliveLength(b []byte) int {
	n := 0
	for n < len(b) && (b[n] == '\r' || b[n] == '\n') {
		n++
	}
	return n
}

// MessageLength frames one SIP message at the start of b as on a stream
// transport (TCP, TLS, WebSocket continuation): it finds the end of the
// headers and adds Content-Length (long or compact "l", any letter case,
// folded or not) as RFC 3261 §18.3 requires. A missing Content-Length means
// an empty body.
//
// An unusable Content-Length (not a number, or repeated with different
// values) frames the message as if it were 0, as tshark does: the message
// ends at the empty line, Parse flags it as malformed, and whatever follows
// is for the stream decoder to resynchronise on. Skipping the message
// instead would hide the very message an analyst looks for.
//
// It returns the length of the complete message, or ErrIncomplete when more
// bytes are needed, ErrNotSIP when b cannot start a SIP message, and
// ErrTooLong for a message that must be skipped. It does not allocate.
func MessageLength(b []byte) (int, error) {
	switch ok, decided := IsStartLine(b); {
	case !decided:
		return 0, ErrIncomplete
	case !ok:
		return 0, ErrNotSIP
	}
	hdrEnd, bodyStart := headerEnd(b)
	if hdrEnd < 0 {
		if len(b) > MaxMessage {
			return 0, ErrTooLong
		}
		return 0, ErrIncomplete
	}
	cl, err := contentLength(b[:hdrEnd])
	if err != nil {
		return 0, err
	}
	total := bodyStart + cl
	if total > MaxMessage || total < bodyStart {
		return 0, ErrTooLong
	}
	if len(b) < total {
		return 0, ErrIncomplete
	}
	return total, nil
}

// headerEnd returns the index where the header block ends (at the empty
// line) and where the body starts. It accepts CRLF CRLF and, leniently, bare
// LF LF. It returns -1, -1 when the empty line has not arrived yet.
func headerEnd(b []byte) (end, body int) {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		i += j
		// b[i] ends a line; an empty line follows if the next is LF or CRLF.
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 1, i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 1, i + 3
		}
		i++
	}
	return -1, -1
}

// contentLength scans a header block (start line included) for
// Content-Length or its compact form "l", folded values included. A missing
// header gives 0, and so does an unusable one: a value that is not a
// number, or repeated headers that disagree (RFC 4475 §3.3.9), where the
// end of the message is ambiguous; Parse decides the same way. Malformed
// header lines are skipped: framing is not the place to reject them.
func contentLength(h []byte) (int, error) {
	n := -1
	var p pending
	isCL, bad := false, false
	pos := len(h)
	if i := bytes.IndexByte(h, '\n'); i >= 0 {
		pos = i + 1 // skip the start line
	}
	for {
		pos = min(pos, len(h))
		end := len(h)
		if i := bytes.IndexByte(h[pos:], '\n'); i >= 0 {
			end = pos + i
		}
		content := trimCR(h, pos, end)
		folded := pos < content && (h[pos] == ' ' || h[pos] == '\t')
		if folded && p.active {
			p.extend(h, pos, content)
		}
		if !folded || pos >= len(h) {
			if p.active && isCL && !bad {
				v, err := contentLengthValue(p.value(h))
				switch {
				case err == ErrTooLong:
					return 0, err
				case err != nil || (n >= 0 && v != n):
					bad = true
				default:
					n = v
				}
			}
			p.active, isCL = false, false
			if pos >= len(h) {
				break
			}
			if nameEnd, colon := headerName(h, pos, content); colon >= 0 {
				p = pending{active: true, nameStart: pos, nameEnd: nameEnd, valStart: -1, colon: colon}
				p.extend(h, colon+1, content)
				name := h[pos:nameEnd]
				isCL = equalFold(name, "content-length") || equalFold(name, "l")
			}
		}
		pos = end + 1
	}
	if bad {
		return 0, nil
	}
	return max(n, 0), nil
}

// contentLengthValue parses a trimmed Content-Length value, digits only,
// for MessageLength and Parse: errBadValue when it is not a number,
// ErrTooLong when it exceeds MaxMessage.
func contentLengthValue(v []byte) (int, error) {
	n := 0
	for _, c := range v {
		if !isDigit(c) {
			// The value is trimmed, so any other byte (sign, inner
			// space, letter) is invalid.
			return 0, errBadValue
		}
		if n > MaxMessage {
			return 0, ErrTooLong
		}
		n = n*10 + int(c-'0')
	}
	if len(v) == 0 {
		return 0, errBadValue
	}
	return n, nil
}

// IsStartLine reports whether b starts with a SIP request line
// ("METHOD SP Request-URI SP SIP/2.0", any token as method) or status line
// ("SIP/2.0 SP 3DIGIT SP"). decided is false while b is too short to tell;
// callers then wait for more bytes.
func IsStartLine(b []byte) (ok, decided bool) {
	const version = "SIP/2.0"
	// Status line.
	if len(b) > 0 && (b[0] == 'S' || b[0] == 's') {
		n := min(len(b), len(version))
		if equalFold(b[:n], version[:n]) {
			if len(b) < len(version)+5 {
				return false, false
			}
			s := b[len(version):]
			// Leniently also "SIP/2.0 100" + CRLF, without the SP before an
			// empty reason phrase, as Parse accepts.
			if s[0] == ' ' && isDigit(s[1]) && isDigit(s[2]) && isDigit(s[3]) &&
				(s[4] == ' ' || s[4] == '\r' || s[4] == '\n') {
				return true, true
			}
			// "SIP/2.0" followed by something else can still be a method
			// named like that only in theory; reject.
			return false, true
		}
	}
	// Request line: token SP ... SP SIP/2.0 CRLF.
	i := 0
	for i < len(b) && isTokenChar(b[i]) {
		i++
	}
	if i == len(b) {
		return false, i >= maxStartLine
	}
	if i == 0 || b[i] != ' ' {
		return false, true
	}
	// Find the end of the line.
	end := i
	for end < len(b) && b[end] != '\n' {
		if end-i > maxStartLine {
			return false, true
		}
		end++
	}
	if end == len(b) {
		return false, false
	}
	line := trimRightCR(b[:end])
	if len(line) < i+1+1+1+len(version) {
		return false, true
	}
	tail := line[len(line)-len(version)-1:]
	if tail[0] != ' ' || !equalFold(tail[1:], version) {
		return false, true
	}
	return true, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isTokenChar reports whether c may appear in an RFC 3261 token
// (alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~").
// The two masks hold one bit per ASCII byte, for bytes 0–63 and 64–127.
func isTokenChar(c byte) bool {
	const lo, hi = 0x03ff6ca200000000, 0x47ffffff87fffffe
	switch {
	case c < 64:
		return lo>>c&1 != 0
	case c < 128:
		return hi>>(c-64)&1 != 0
	}
	return false
}

func trimRightCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c, d := b[i], s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if d >= 'A' && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}
