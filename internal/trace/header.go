package trace

import (
	"bytes"
	"strings"
)

// This file is a small SIP header scanner for the raw messages inside trace
// records (RFC 3261 §7.3: names are case-insensitive, may be followed by
// whitespace before the colon, have compact forms, and values may be folded
// onto continuation lines). It deliberately does not depend on internal/sip:
// it needs only a handful of headers and must not allocate per record.

// compactForm maps a lower-case header name to its RFC 3261 §7.3.3 (and
// later RFCs') compact or long counterpart.
func compactForm(lower string) string {
	switch lower {
	case "i":
		return "call-id"
	case "call-id":
		return "i"
	case "f":
		return "from"
	case "from":
		return "f"
	case "t":
		return "to"
	case "to":
		return "t"
	case "v":
		return "via"
	case "via":
		return "v"
	case "m":
		return "contact"
	case "contact":
		return "m"
	case "l":
		return "content-length"
	case "content-length":
		return "l"
	case "c":
		return "content-type"
	case "content-type":
		return "c"
	case "e":
		return "content-encoding"
	case "content-encoding":
		return "e"
	case "k":
		return "supported"
	case "supported":
		return "k"
	case "s":
		return "subject"
	case "subject":
		return "s"
	case "o":
		return "event"
	case "event":
		return "o"
	case "r":
		return "refer-to"
	case "refer-to":
		return "r"
	case "b":
		return "referred-by"
	case "referred-by":
		return "b"
	case "u":
		return "allow-events"
	case "allow-events":
		return "u"
	case "x":
		return "session-expires"
	case "session-expires":
		return "x"
	}
	return ""
}

// CanonicalHeader returns the lower-case long form of a SIP header name:
// "i" and "CALL-ID" both become "call-id".
func CanonicalHeader(name string) string {
	l := strings.ToLower(strings.TrimSpace(name))
	if len(l) == 1 {
		if f := compactForm(l); f != "" {
			return f
		}
	}
	return l
}

// headerIs reports whether the header name n (as written in a message)
// denotes the header whose canonical name is canon.
func headerIs(n []byte, canon string) bool {
	if len(n) == 1 && compactForm(string(n[0]|0x20)) == canon {
		return true
	}
	return len(n) == len(canon) && equalFoldASCII(n, canon)
}

// equalFoldASCII compares b and lower-case s case-insensitively (ASCII).
func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// headerLine is one header of a message: its name as written and its raw
// value, which spans continuation lines when the header is folded.
type headerLine struct {
	name, value []byte
}

// headerScanner walks the header lines of a SIP message.
type headerScanner struct {
	msg []byte
	pos int
}

// newHeaderScanner positions a scanner after the start line of msg and
// returns the start line.
func newHeaderScanner(msg []byte) (headerScanner, []byte) {
	line, next := cutLine(msg, 0)
	return headerScanner{msg: msg, pos: next}, line
}

// cutLine returns the line at pos without its line ending, and the offset of
// the next line. Both CRLF and bare LF end a line.
func cutLine(b []byte, pos int) ([]byte, int) {
	if pos >= len(b) {
		return nil, len(b)
	}
	k := bytes.IndexByte(b[pos:], '\n')
	if k < 0 {
		return b[pos:], len(b)
	}
	line := b[pos : pos+k]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, pos + k + 1
}

// next returns the next header, or false at the blank line that ends the
// headers (or at the end of the message). Lines without a colon are skipped.
func (s *headerScanner) next() (headerLine, bool) {
	for s.pos < len(s.msg) {
		line, next := cutLine(s.msg, s.pos)
		if len(line) == 0 {
			s.pos = len(s.msg)
			return headerLine{}, false
		}
		start := s.pos
		s.pos = next
		if line[0] == ' ' || line[0] == '\t' {
			continue // continuation of a header we did not want
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := trimSpaceRight(line[:colon])
		vstart := start + colon + 1
		vend := start + len(line)
		// Fold continuation lines into the value span (RFC 3261 §7.3.1).
		for s.pos < len(s.msg) && (s.msg[s.pos] == ' ' || s.msg[s.pos] == '\t') {
			cont, n := cutLine(s.msg, s.pos)
			vend = s.pos + len(cont)
			s.pos = n
		}
		return headerLine{name: name, value: s.msg[vstart:vend]}, true
	}
	return headerLine{}, false
}

// trimSpaceRight drops trailing spaces and tabs.
func trimSpaceRight(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// cleanValue trims a raw header value and joins folded lines with a single
// space. It returns v itself (no copy) when the value is not folded.
func cleanValue(v []byte) []byte {
	v = bytes.Trim(v, " \t\r\n")
	if bytes.IndexByte(v, '\n') < 0 {
		return v
	}
	out := make([]byte, 0, len(v))
	for len(v) > 0 {
		k := bytes.IndexByte(v, '\n')
		if k < 0 {
			out = append(out, v...)
			break
		}
		out = append(out, bytes.TrimRight(v[:k], " \t\r")...)
		out = append(out, ' ')
		v = bytes.TrimLeft(v[k+1:], " \t")
	}
	return out
}

// HeaderValue returns the value of the first header called name in the raw
// SIP message msg, trimmed and with folded lines joined. The name matches
// case-insensitively and by compact form ("i" finds "Call-ID"); only the
// header section is searched, never the body.
func HeaderValue(msg, name string) (string, bool) {
	canon := CanonicalHeader(name)
	if canon == "" {
		return "", false
	}
	s, _ := newHeaderScanner([]byte(msg))
	for {
		h, ok := s.next()
		if !ok {
			return "", false
		}
		if headerIs(h.name, canon) {
			return string(cleanValue(h.value)), true
		}
	}
}

// startLine is the parsed first line of a SIP message.
type startLine struct {
	method []byte // request method, nil for a response
	ruri   []byte // request URI
	status int    // response status code, 0 for a request
	reason []byte
}

// parseStartLine parses "INVITE sip:x@y SIP/2.0" or "SIP/2.0 200 OK".
func parseStartLine(line []byte) (startLine, bool) {
	var sl startLine
	if len(line) >= 8 && equalFoldASCII(line[:8], "sip/2.0 ") {
		rest := bytes.TrimLeft(line[8:], " ")
		code, ok := parseStatus(rest)
		if !ok {
			return sl, false
		}
		sl.status = code
		sl.reason = bytes.TrimSpace(rest[3:])
		return sl, true
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return sl, false
	}
	rest := bytes.TrimLeft(line[sp+1:], " ")
	if sp2 := bytes.IndexByte(rest, ' '); sp2 > 0 {
		sl.ruri = rest[:sp2]
	}
	if !isToken(line[:sp]) || sl.ruri == nil {
		return sl, false
	}
	sl.method = line[:sp]
	return sl, true
}

// parseStatus reads a three-digit status code at the start of b, followed by
// the end or a space.
func parseStatus(b []byte) (int, bool) {
	if len(b) < 3 || (len(b) > 3 && b[3] != ' ') {
		return 0, false
	}
	n := 0
	for _, c := range b[:3] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n < 100 {
		return 0, false
	}
	return n, true
}

// isToken reports whether b is a SIP method token of upper-case letters,
// digits and the few punctuation marks methods use.
func isToken(b []byte) bool {
	if len(b) == 0 || len(b) > 32 {
		return false
	}
	for _, c := range b {
		if !(('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// uriUser returns the user part of the first SIP/SIPS/TEL URI in a header
// value or request URI: "Bob" <sip:+1555@host;user=phone>;tag=x gives +1555.
func uriUser(v []byte) []byte {
	if lt := bytes.IndexByte(v, '<'); lt >= 0 {
		v = v[lt+1:]
		if gt := bytes.IndexByte(v, '>'); gt >= 0 {
			v = v[:gt]
		}
	}
	v = bytes.TrimSpace(v)
	colon := bytes.IndexByte(v, ':')
	if colon <= 0 {
		return nil
	}
	scheme := v[:colon]
	v = v[colon+1:]
	switch {
	case equalFoldASCII(scheme, "tel"):
		if k := bytes.IndexAny(v, ";>, "); k >= 0 {
			v = v[:k]
		}
		return v
	case equalFoldASCII(scheme, "sip"), equalFoldASCII(scheme, "sips"):
		at := bytes.IndexByte(v, '@')
		if at < 0 {
			return nil
		}
		v = v[:at]
		if k := bytes.IndexByte(v, ':'); k >= 0 { // user:password
			v = v[:k]
		}
		return v
	}
	return nil
}

// viaBranch returns the branch parameter of the first via-parm in a Via
// header value.
func viaBranch(v []byte) []byte {
	if k := bytes.IndexByte(v, ','); k >= 0 {
		v = v[:k]
	}
	for {
		k := bytes.IndexByte(v, ';')
		if k < 0 {
			return nil
		}
		v = v[k+1:]
		p := bytes.TrimLeft(v, " \t")
		if len(p) >= 7 && equalFoldASCII(p[:6], "branch") {
			p = bytes.TrimLeft(p[6:], " \t")
			if len(p) > 0 && p[0] == '=' {
				p = bytes.TrimLeft(p[1:], " \t")
				end := bytes.IndexAny(p, "; \t,")
				if end >= 0 {
					p = p[:end]
				}
				return p
			}
		}
	}
}

// parseCSeq splits "1 INVITE" into its number and method.
func parseCSeq(v []byte) (uint32, []byte, bool) {
	v = bytes.TrimSpace(v)
	i := 0
	var n uint64
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		n = n*10 + uint64(v[i]-'0')
		if n > 1<<32-1 {
			return 0, nil, false
		}
		i++
	}
	if i == 0 {
		return 0, nil, false
	}
	m := bytes.TrimSpace(v[i:])
	if len(m) > 0 && !isToken(m) {
		return 0, nil, false
	}
	return uint32(n), m, true
}
