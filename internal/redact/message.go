package redact

import "bytes"

// Scanning works on index ranges [s, e) of the message buffer and never
// reads outside them; every loop advances, so bad input neither panics nor
// hangs.

// maxSeps is the longest run of visual separators inside one digit group
// ("(555) 123" has two, "12 - 345" three).
const maxSeps = 3

// context selects the characters that may appear inside a digit group.
type context uint8

const (
	// ctxUser: URI user parts and tel numbers; percent-encoding is decoded
	// and the tel visual separators "-", ".", "(", ")" join digits
	// (RFC 3966 §3).
	ctxUser context = iota
	// ctxDisplay: display names and free text; space, tab, "/" and the
	// quoted-pair backslash join digits too.
	ctxDisplay
	// ctxAny: text whose place in the message is unknown (Scrub): the
	// separators of both, and percent-encoding decoded.
	ctxAny
)

// unit kinds.
const (
	uOther uint8 = iota
	uDigit
	uPlus
	uSep
)

// unit classifies the character at b[i] (i < e): its kind and width (3 for
// a percent-encoded character). A digit's character is b[i+width-1].
func unit(b []byte, i, e int, c context) (kind uint8, width int) {
	ch := b[i]
	switch {
	case isDigit(ch):
		return uDigit, 1
	case ch == '+':
		return uPlus, 1
	case ch == '-' || ch == '.' || ch == '(' || ch == ')':
		return uSep, 1
	}
	if c != ctxUser && (ch == ' ' || ch == '\t' || ch == '/' || ch == '\\') {
		return uSep, 1
	}
	if c == ctxDisplay {
		return uOther, 1
	}
	if ch != '%' || i+2 >= e || !isHex(b[i+1]) || !isHex(b[i+2]) {
		return uOther, 1
	}
	hi, lo := b[i+1], b[i+2]|0x20 // lo folded to lower case
	switch {
	case hi == '3' && isDigit(lo):
		return uDigit, 3
	case hi == '2' && lo == 'b':
		return uPlus, 3
	case hi == '2' && (lo == 'd' || lo == 'e' || lo == '8' || lo == '9'):
		return uSep, 3
	}
	return uOther, 3 // the hex digits of an escape are not digits of a number
}

// groups redacts every digit group of b[s:e] and returns how many it
// replaced.
func (r *Redactor) groups(b []byte, s, e int, c context) int {
	n, seps, lo, hi := 0, 0, 0, 0
	r.pos, r.num = r.pos[:0], r.num[:0]
	for i := s; i < e; {
		kind, w := unit(b, i, e, c)
		switch {
		case kind == uDigit:
			if len(r.num) == 0 {
				lo = i
			}
			p := i + w - 1
			r.pos = append(r.pos, int32(p))
			r.num = append(r.num, b[p])
			seps, hi = 0, i+w
		case kind == uSep && len(r.num) > 0 && seps < maxSeps:
			seps++
		default:
			n += r.flush(b, lo, hi)
			seps = 0
		}
		i += w
	}
	return n + r.flush(b, lo, hi)
}

// maxVariants bounds the re-derivations of a percent-encoded group.
const maxVariants = 16

// flush replaces the digit group collected in r.pos/r.num, spanning
// b[lo:hi], by its token.
func (r *Redactor) flush(b []byte, lo, hi int) int {
	if len(r.num) == 0 {
		return 0
	}
	n := r.replace(b, lo, hi)
	r.pos, r.num = r.pos[:0], r.num[:0]
	return n
}

// replace is flush for a group of at least one digit.
func (r *Redactor) replace(b []byte, lo, hi int) int {
	k := len(r.num)
	if k < minDigits {
		return 0
	}
	if cap(r.out) < k {
		r.out = make([]byte, k)
	}
	out := r.out[:k]
	r.tok.token(r.num, out)
	for j, p := range r.pos {
		b[p] = out[j]
	}
	// Percent-encoding puts hex digits next to token digits ("%3713" for a
	// token 7 followed by 13). Should that text reproduce a window of the
	// number, derive another token for this spelling.
	lo, hi = max(lo-2, 0), min(hi+2, len(b))
	if bytes.IndexByte(b[lo:hi], '%') < 0 {
		return 1
	}
	for v := byte(1); v <= maxVariants && r.tok.reproduces(r.num, b, lo, hi, r.pos); v++ {
		r.tok.derive(r.num, out, v)
		for j, p := range r.pos {
			b[p] = out[j]
		}
	}
	return 1
}

// message redacts one SIP message in place.
func (r *Redactor) message(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == '\r' || b[i] == '\n') { // keep-alive CRLFs
		i++
	}
	le, ce := lineEnd(b, i)
	line := b[i:ce]
	n := 0
	if !hasPrefixFold(line, "SIP/") {
		sp1, sp2 := bytes.IndexByte(line, ' '), bytes.LastIndexByte(line, ' ')
		if sp1 <= 0 || sp2 <= sp1 || !hasPrefixFold(line[sp2+1:], "SIP/") {
			return 0
		}
		if r.ruri {
			n += r.uri(b, i+sp1+1, i+sp2, true)
		}
	}

	ctype, cbs, cbe, clen := mediaNone, 0, 0, -1
	body := len(b)
	for i = le + 1; i < len(b); {
		le, ce = lineEnd(b, i)
		if ce == i {
			body = le + 1
			break
		}
		// A header ends before the next line that does not start with
		// white space (RFC 3261 §7.3.1 folding).
		end, vend := le, ce
		for end+1 < len(b) && (b[end+1] == ' ' || b[end+1] == '\t') {
			end, vend = lineEnd(b, end+1)
		}
		if colon := bytes.IndexByte(b[i:ce], ':'); colon > 0 {
			v := i + colon + 1
			switch kind := r.headerKind(b[i : i+colon]); kind {
			case kindContentType:
				ctype, cbs, cbe = contentType(b, v, vend)
			case kindContentLength:
				clen = atoi(b, v, vend)
			default:
				n += r.header(b, kind, v, vend)
			}
		}
		i = end + 1
	}
	if body >= len(b) {
		return n
	}
	be := len(b)
	if clen >= 0 && clen < be-body {
		be = body + clen
	}
	return n + r.body(b, body, be, ctype, cbs, cbe, 0)
}

// header redacts the value b[s:e] of a header of the given kind.
func (r *Redactor) header(b []byte, kind uint8, s, e int) int {
	switch kind {
	case kindNumbers:
		return r.nameAddrs(b, s, e)
	case kindCallID:
		s, e := trim(b, s, e)
		if s < e {
			r.tok.callID(b[s:e])
			return 1
		}
	case kindText:
		return r.freeText(b, s, e)
	case kindValue:
		// A value that is a number as a whole ("x-inin-dnis: 7001") is
		// redacted whatever its length, as a display name would be.
		if s, e := trim(b, s, e); isNumberish(b[s:e]) {
			return r.groups(b, s, e, ctxDisplay)
		}
		return r.freeText(b, s, e)
	case kindAuth:
		return r.auth(b, s, e)
	}
	return 0
}

// isNumberish reports whether v is an optional "+" and digits with visual
// separators, with at least minDigits digits.
func isNumberish(v []byte) bool {
	if len(v) > 0 && v[0] == '+' {
		v = v[1:]
	}
	d := 0
	for i := range v {
		switch kind, _ := unit(v, i, len(v), ctxDisplay); kind {
		case uDigit:
			d++
		case uSep:
		default:
			return false
		}
	}
	return d >= minDigits
}

// headerKind classifies a header name (the bytes before the colon).
func (r *Redactor) headerKind(name []byte) uint8 {
	for len(name) > 0 && (name[len(name)-1] == ' ' || name[len(name)-1] == '\t') {
		name = name[:len(name)-1]
	}
	if len(name) == 0 {
		return kindNone
	}
next:
	for _, h := range r.byFirst[lower(name[0])] {
		if len(h.name) != len(name) {
			continue
		}
		for i := 1; i < len(name); i++ {
			if lower(name[i]) != h.name[i] {
				continue next
			}
		}
		return h.kind
	}
	for _, p := range r.prefixes {
		if len(name) > len(p) && hasPrefixFold(name, p) {
			return kindValue
		}
	}
	return kindNone
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// nameAddrs redacts a header value holding a comma-separated list of
// name-addr or addr-spec values with parameters (RFC 3261 §20.10,
// §25.1): From, To, Contact, P-Asserted-Identity, Diversion, History-Info...
func (r *Redactor) nameAddrs(b []byte, s, e int) int {
	n := 0
	unterminated := false // a quote found no partner: later quotes are text
	for i := s; i < e; {
		c := b[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',':
			i++
			continue
		case c == '"' && (unterminated || quotedEnd(b, i, e) == e):
			unterminated = true
			// Unterminated (seen in the wild: f: \"arik\" <sip:...>): take
			// the quote as text of an unquoted display name.
			i = r.displayName(b, i+1, e, &n)
			if i < e && b[i] == '"' {
				continue
			}
		case c == '"': // quoted display name
			q := quotedEnd(b, i, e)
			n += r.groups(b, i+1, q, ctxDisplay)
			i = q + 1
			for i < e && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
				i++
			}
			if i < e && b[i] == '<' {
				i = r.bracketed(b, i, e, &n)
			}
		case c == '<':
			i = r.bracketed(b, i, e, &n)
		case schemeEnd(b, i, e) > 0: // addr-spec
			j := i
			for j < e && !isAddrSpecEnd(b[j]) {
				j++
			}
			n += r.uri(b, i, j, false)
			i = j
		default:
			i = r.displayName(b, i, e, &n)
			if i < e && b[i] == '"' {
				continue // a quoted part follows: a display name or garbage
			}
		}
		// Skip the header parameters up to the next value.
		for i < e && b[i] != ',' {
			if b[i] == '"' {
				i = quotedEnd(b, i, e)
			}
			i++
		}
	}
	return n
}

// displayName redacts an unquoted display name starting at b[i] and the
// bracketed URI after it; it returns the index after them, or of a quote or
// comma that ends the name.
func (r *Redactor) displayName(b []byte, i, e int, n *int) int {
	j := i
	for j < e && b[j] != '<' && b[j] != ',' && b[j] != '"' {
		j++
	}
	*n += r.groups(b, i, j, ctxDisplay)
	if j < e && b[j] == '<' {
		return r.bracketed(b, j, e, n)
	}
	return j
}

// bracketed redacts the URI in <...> starting at b[i] == '<' and returns the
// index after the closing '>'.
func (r *Redactor) bracketed(b []byte, i, e int, n *int) int {
	gt := i + 1
	for gt < e && b[gt] != '>' {
		gt++
	}
	*n += r.uri(b, i+1, gt, true)
	return gt + 1
}

// uri redacts the user part of a sip: or sips: URI, or the number and
// parameters of a tel: URI, in b[s:e]; other schemes are left alone.
// Unbracketed (an addr-spec in a header), the parameters after a tel number
// are header parameters (RFC 3261 §20.10), so they are not redacted.
func (r *Redactor) uri(b []byte, s, e int, bracketed bool) int {
	for s < e && (b[s] == ' ' || b[s] == '\t') {
		s++
	}
	p := schemeEnd(b, s, e)
	if p == 0 {
		return 0
	}
	switch {
	case p-s == 4 && hasPrefixFold(b[s:e], "tel:"):
		te := p
		for te < e && b[te] != '?' && (bracketed || b[te] != ';') { // tel URIs have no headers
			te++
		}
		return r.groups(b, p, te, ctxUser)
	case hasPrefixFold(b[s:e], "sip:") || hasPrefixFold(b[s:e], "sips:"):
		// '@' is never literal after the user part: escaped headers and
		// parameters must percent-encode it (RFC 3261 §25.1).
		if at := bytes.IndexByte(b[p:e], '@'); at >= 0 {
			return r.groups(b, p, p+at, ctxUser)
		}
	}
	return 0
}

// schemeEnd returns the index after "scheme:" when b[s:e] starts with a URI
// scheme (RFC 3986 §3.1), or 0.
func schemeEnd(b []byte, s, e int) int {
	if s >= e || !isAlpha(b[s]) {
		return 0
	}
	for i := s + 1; i < e; i++ {
		c := b[i]
		switch {
		case c == ':':
			return i + 1
		case isAlnum(c) || c == '+' || c == '-' || c == '.':
		default:
			return 0
		}
	}
	return 0
}

// sdp redacts the SDP body b[s:e] line by line (see sdpLine).
func (r *Redactor) sdp(b []byte, s, e int) int {
	n := 0
	for i := s; i < e; {
		le, ce := lineEnd(b[:e], i)
		n += r.sdpLine(b, i, ce)
		i = le + 1
	}
	return n
}

// sdpLine redacts one SDP line b[i:ce]: the user name of an o= line (RFC
// 8866 §5.2) when it is a number, the digit groups of a p= (phone number,
// §5.6) line, and sip:/tel: URIs anywhere else (u=, a=, i=). Addresses and
// ports (c=, m=, a=rtcp) are never touched.
func (r *Redactor) sdpLine(b []byte, i, ce int) int {
	if ce-i > 2 && b[i] == 'o' && b[i+1] == '=' {
		u := i + 2
		sp := bytes.IndexByte(b[u:ce], ' ')
		if sp > 0 && hasNetIN(b[u+sp:ce]) && isNumber(b[u:u+sp]) {
			return r.groups(b, u, u+sp, ctxUser)
		}
		return 0
	}
	if ce-i > 2 && b[i] == 'p' && b[i+1] == '=' {
		return r.groups(b, i+2, ce, ctxDisplay)
	}
	return r.uris(b, i, ce)
}

// hasNetIN reports whether the rest of an o= line names the IN network type.
func hasNetIN(b []byte) bool {
	for k := 0; k+4 <= len(b); k++ {
		if b[k] == ' ' && b[k+1] == 'I' && b[k+2] == 'N' && b[k+3] == ' ' {
			return true
		}
	}
	return false
}

// isNumber reports whether b is "+"? followed by digits only.
func isNumber(b []byte) bool {
	if len(b) > 0 && b[0] == '+' {
		b = b[1:]
	}
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}

// lineEnd returns the index of the '\n' ending the line that starts at i
// (len(b) for the last line) and the end of its content (before "\r\n" or
// "\n").
func lineEnd(b []byte, i int) (le, ce int) {
	le = len(b)
	if k := bytes.IndexByte(b[i:], '\n'); k >= 0 {
		le = i + k
	}
	ce = le
	if ce > i && b[ce-1] == '\r' {
		ce--
	}
	return le, ce
}

// quotedEnd returns the index of the quote closing the quoted string that
// starts at b[i] == '"', or e when it is not closed.
func quotedEnd(b []byte, i, e int) int {
	for j := i + 1; j < e; j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return e
}

// trim returns the range of b[s:e] without surrounding white space.
func trim(b []byte, s, e int) (int, int) {
	for s < e && isSpace(b[s]) {
		s++
	}
	for e > s && isSpace(b[e-1]) {
		e--
	}
	return s, e
}

// atoi parses a decimal Content-Length in b[s:e]; -1 when absent or bad.
func atoi(b []byte, s, e int) int {
	s, e = trim(b, s, e)
	if s == e {
		return -1
	}
	v := 0
	for _, c := range b[s:e] {
		if !isDigit(c) {
			return -1
		}
		if v < 1<<30 {
			v = v*10 + int(c-'0')
		}
	}
	return v
}

func hasPrefixFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		p := prefix[i]
		if p >= 'A' && p <= 'Z' {
			p += 'a' - 'A'
		}
		if c != p {
			return false
		}
	}
	return true
}

// isAddrSpecEnd reports whether c ends an addr-spec in a header value.
func isAddrSpecEnd(c byte) bool {
	return isSpace(c) || c == ',' || c == '<' || c == '>' || c == '"'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isHex(c byte) bool   { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
