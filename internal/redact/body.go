package redact

import "bytes"

// media kinds of a message body or of a body part.
const (
	mediaNone      uint8 = iota // no Content-Type: SDP when it starts with "v=0", else text (RFC 2046 §5.1.3 default)
	mediaSDP                    // application/sdp
	mediaMultipart              // multipart/*
	mediaText                   // text/*, XML, JSON and every other type not listed below
	mediaFrag                   // message/sipfrag, message/sip: SIP header lines
	mediaBinary                 // ISUP, QSIG, octet-stream, audio, image, video: not text
)

// maxDepth bounds multipart nesting; deeper parts get the rules of a body
// of unknown type.
const maxDepth = 8

// maxBoundary is the longest boundary accepted (RFC 2046 §5.1.1 allows 70;
// some agents exceed it).
const maxBoundary = 200

// contentType classifies the Content-Type value b[s:e] and returns the
// range of its boundary parameter (bs == be when there is none).
func contentType(b []byte, s, e int) (kind uint8, bs, be int) {
	s, e = trim(b, s, e)
	t := s
	for t < e && b[t] != ';' && !isSpace(b[t]) {
		t++
	}
	typ := b[s:t]
	switch {
	case hasPrefixFold(typ, "application/sdp"):
		kind = mediaSDP
	case hasPrefixFold(typ, "multipart/"):
		kind = mediaMultipart
	case hasPrefixFold(typ, "message/sip"): // message/sipfrag too
		kind = mediaFrag
	case hasPrefixFold(typ, "application/isup"), hasPrefixFold(typ, "application/qsig"),
		hasPrefixFold(typ, "application/octet-stream"), hasPrefixFold(typ, "audio/"),
		hasPrefixFold(typ, "image/"), hasPrefixFold(typ, "video/"):
		kind = mediaBinary
	default:
		kind = mediaText
	}
	if kind != mediaMultipart {
		return kind, 0, 0
	}
	// Parameters: ; name = value, the value a token or a quoted string.
	for i := t; i < e; {
		if b[i] != ';' {
			i++
			continue
		}
		i++
		for i < e && isSpace(b[i]) {
			i++
		}
		n := i
		for i < e && b[i] != '=' && b[i] != ';' && !isSpace(b[i]) {
			i++
		}
		name := b[n:i]
		for i < e && isSpace(b[i]) {
			i++
		}
		if i >= e || b[i] != '=' {
			continue
		}
		i++
		for i < e && isSpace(b[i]) {
			i++
		}
		vs, ve := i, i
		if i < e && b[i] == '"' {
			vs = i + 1
			ve = quotedEnd(b, i, e)
			i = ve
		} else {
			for i < e && b[i] != ';' && !isSpace(b[i]) {
				i++
			}
			ve = i
		}
		if len(name) == len("boundary") && hasPrefixFold(name, "boundary") && ve-vs > 0 && ve-vs <= maxBoundary {
			return kind, vs, ve
		}
	}
	return kind, 0, 0
}

// body redacts the body b[s:e] of the given media kind.
func (r *Redactor) body(b []byte, s, e int, kind uint8, bs, be, depth int) int {
	if s >= e {
		return 0
	}
	switch kind {
	case mediaNone:
		if hasPrefixFold(b[s:e], "v=0") {
			return r.sdp(b, s, e)
		}
		return r.textBody(b, s, e)
	case mediaSDP:
		return r.sdp(b, s, e)
	case mediaMultipart:
		return r.multipart(b, s, e, b[bs:be], depth)
	case mediaFrag:
		return r.scrub(b[s:e])
	case mediaBinary:
		return 0
	}
	return r.textBody(b, s, e)
}

// textBody applies the free-text rules to a text body; a body with control
// characters is binary whatever its type says, and left alone.
func (r *Redactor) textBody(b []byte, s, e int) int {
	if !printable(b[s:e]) {
		return 0
	}
	return r.freeText(b, s, e)
}

// printable reports whether b holds no control characters other than tab,
// CR and LF. Bytes of 0x80 and above (UTF-8) are text.
func printable(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f {
			return false
		}
	}
	return true
}

// multipart redacts every part of the multipart body b[s:e] (RFC 2046
// §5.1.1) delimited by bnd, at any depth. Without a usable boundary (none
// declared, or not found in the body) it takes the first line starting with
// "--" as the delimiter; failing that the body is redacted as one of
// unknown type.
func (r *Redactor) multipart(b []byte, s, e int, bnd []byte, depth int) int {
	first := -1
	if len(bnd) > 0 && depth < maxDepth {
		first = findDelim(b, s, e, bnd)
	}
	if first < 0 && depth < maxDepth {
		if bnd = guessBoundary(b, s, e); len(bnd) > 0 {
			first = findDelim(b, s, e, bnd)
		}
	}
	if first < 0 {
		return r.unknown(b, s, e)
	}
	n := r.unknown(b, s, first) // the preamble
	for d := first; ; {
		after := d + 2 + len(bnd)
		le, _ := lineEnd(b[:e], after)
		if after+1 < e && b[after] == '-' && b[after+1] == '-' { // close delimiter
			if le+1 < e {
				n += r.unknown(b, le+1, e) // the epilogue
			}
			return n
		}
		ps := le + 1
		if ps >= e {
			return n
		}
		next := findDelim(b, ps, e, bnd)
		pe := e
		if next >= 0 {
			// The line break before a delimiter belongs to it.
			pe = next
			if pe > ps && b[pe-1] == '\n' {
				pe--
			}
			if pe > ps && b[pe-1] == '\r' {
				pe--
			}
		}
		n += r.part(b, ps, pe, depth+1)
		if next < 0 {
			return n
		}
		d = next
	}
}

// findDelim returns the index of the first delimiter line "--bnd" in
// b[s:e] (at a line start, followed by "--", white space or a line end), or
// -1.
func findDelim(b []byte, s, e int, bnd []byte) int {
	for p := s; p < e; {
		k := bytes.Index(b[p:e], bnd)
		if k < 0 {
			return -1
		}
		q := p + k
		t := q + len(bnd)
		if q-2 >= s && b[q-2] == '-' && b[q-1] == '-' && (q-2 == s || b[q-3] == '\n') &&
			(t == e || b[t] == '\r' || b[t] == '\n' || b[t] == ' ' || b[t] == '\t' || (t+1 < e && b[t] == '-' && b[t+1] == '-')) {
			return q - 2
		}
		p = q + 1
	}
	return -1
}

// guessBoundary returns the boundary of the first line of b[s:e] that
// starts with "--", without trailing white space, or nil.
func guessBoundary(b []byte, s, e int) []byte {
	for i := s; i < e; {
		le, ce := lineEnd(b[:e], i)
		if ce-i > 2 && b[i] == '-' && b[i+1] == '-' {
			_, z := trim(b, i+2, ce)
			if z-(i+2) > maxBoundary || z == i+2 {
				return nil
			}
			return b[i+2 : z]
		}
		i = le + 1
	}
	return nil
}

// part redacts one body part b[s:e]: its headers (RFC 2045) are read, not
// changed, for its Content-Type; a part without headers starts with its
// content.
func (r *Redactor) part(b []byte, s, e, depth int) int {
	kind, bs, be := mediaNone, 0, 0
	content := s
	for i := s; i < e; {
		le, ce := lineEnd(b[:e], i)
		if ce == i { // the blank line after the headers
			content = le + 1
			break
		}
		colon := bytes.IndexByte(b[i:ce], ':')
		if colon <= 0 || !isToken(b[i:i+colon]) {
			content = i // no (more) headers: garbled, take it as content
			break
		}
		end, vend := le, ce
		for end+1 < e && (b[end+1] == ' ' || b[end+1] == '\t') {
			end, vend = lineEnd(b[:e], end+1)
		}
		if colon == len("content-type") && hasPrefixFold(b[i:], "content-type") {
			kind, bs, be = contentType(b, i+colon+1, vend)
		}
		content = min(end+1, e)
		i = end + 1
	}
	return r.body(b, content, e, kind, bs, be, depth)
}

// unknown redacts text whose type is not known (a preamble, an epilogue, a
// multipart body without a usable boundary): SDP-looking lines ("x=...")
// get the SDP rules, other lines the free-text rules, and lines with
// control characters (binary parts) are left alone.
func (r *Redactor) unknown(b []byte, s, e int) int {
	n := 0
	for i := s; i < e; {
		le, ce := lineEnd(b[:e], i)
		switch {
		case isSDPLine(b[i:ce]):
			n += r.sdpLine(b, i, ce)
		case printable(b[i:ce]):
			n += r.freeText(b, i, ce)
		}
		i = le + 1
	}
	return n
}

// isSDPLine reports whether line looks like an SDP line: one lower-case
// letter and "=" (RFC 8866 §5).
func isSDPLine(line []byte) bool {
	return len(line) >= 2 && line[0] >= 'a' && line[0] <= 'z' && line[1] == '='
}

// uris redacts the sip:, sips: and tel: URIs in b[s:e] and nothing else.
func (r *Redactor) uris(b []byte, s, e int) int {
	n := 0
	for i := s; i < e; {
		k := bytes.IndexByte(b[i:e], ':')
		if k < 0 {
			break
		}
		c := i + k
		if u := uriStart(b, s, c); u >= 0 {
			end := uriEnd(b, c+1, e)
			n += r.uri(b, u, end, true)
			i = end
			continue
		}
		i = c + 1
	}
	return n
}

// uriStart returns the start of the scheme when the colon at b[c] ends
// "sip", "sips" or "tel" not preceded by another scheme character, or -1.
func uriStart(b []byte, s, c int) int {
	for _, l := range [...]int{3, 4} {
		u := c - l
		if u < s {
			continue
		}
		if w := b[u:c]; !(l == 3 && (hasPrefixFold(w, "sip") || hasPrefixFold(w, "tel")) || l == 4 && hasPrefixFold(w, "sips")) {
			continue
		}
		if u > s && (isAlnum(b[u-1]) || b[u-1] == '+' || b[u-1] == '-' || b[u-1] == '.') {
			continue
		}
		return u
	}
	return -1
}

// uriEnd returns the end of a URI in free text starting at b[i]: the first
// white space, quote, angle bracket or comma.
func uriEnd(b []byte, i, e int) int {
	for i < e && !isAddrSpecEnd(b[i]) && b[i] != '\'' {
		i++
	}
	return i
}

// freeText redacts free text in b[s:e]: a header value such as Subject or
// x-inin-ani, or a text body (PIDF, resource lists, any XML, plain text).
// It redacts the user part of sip:/sips: URIs and the number of tel: URIs
// (as in the identity headers), and digit groups that look like phone
// numbers (see phone). It never changes anything but digits, and leaves
// the values of XML attributes that hold SIP dialog identifiers (call-id,
// local-tag, remote-tag of RFC 4235 dialog-info) alone.
func (r *Redactor) freeText(b []byte, s, e int) int {
	n := 0
	for i := s; i < e; {
		c := b[i]
		switch {
		case c == ':':
			if u := uriStart(b, s, i); u >= 0 {
				end := uriEnd(b, i+1, e)
				n += r.uri(b, u, end, true)
				i = end
				continue
			}
			i++
		case c == '=' && i+1 < e && (b[i+1] == '"' || b[i+1] == '\'') && keptAttr(b, s, i):
			q := bytes.IndexByte(b[i+2:e], b[i+1])
			if q < 0 {
				return n
			}
			i += q + 3
		case isDigit(c):
			if i > s && (isAlnum(b[i-1]) || b[i-1] == '_') {
				// Digits inside a word (a hex id, "IP4", a tag): skip the word.
				for i < e && (isAlnum(b[i]) || b[i] == '_') {
					i++
				}
				continue
			}
			i = r.phone(b, s, i, e, &n)
		default:
			i++
		}
	}
	return n
}

// keptAttr reports whether the XML attribute whose "=" is at b[i] holds a
// SIP dialog identifier.
func keptAttr(b []byte, s, i int) bool {
	a := i
	for a > s && (isAlnum(b[a-1]) || b[a-1] == '-' || b[a-1] == '_') {
		a--
	}
	name := b[a:i]
	for _, k := range [...]string{"call-id", "callid", "local-tag", "remote-tag"} {
		if len(name) == len(k) && hasPrefixFold(name, k) {
			return true
		}
	}
	return false
}

// Free-text phone numbers. A digit group of free text is digits joined by
// at most maxSeps visual separators ("-", ".", "(", ")", "/", "\", space,
// tab), starting after a character that is not a letter, digit or "_", and
// not after a digit and ":", "." or "," (a clock time, a decimal, an IP
// address). Its chunks are its parts between white space. A group is a
// phone number when
//   - "+" (or "%2B") precedes it, its first digit is not 0 (a UTC offset),
//     and it has 8 to 15 digits (E.164); or
//   - it has 7 to 15 digits;
//
// and no chunk is glued to a word ("446faf7a"), a decimal ("41.8781"), a
// date or Unix time, or the last group of a UUID. An IPv4 address or a date
// ("2026-11-25", "25/11/2026") ends a group and is never part of one. A
// group that is no phone number as a whole is judged chunk by chunk, so two
// numbers separated by a space are two numbers.
const (
	minPhoneDigits     = 7
	minPlusPhoneDigits = 8
	maxPhoneDigits     = 15
)

// phone judges the digit group starting at b[i] (b[i] a digit not inside a
// word), redacts it or its chunks when they look like phone numbers, and
// returns the index after the group.
func (r *Redactor) phone(b []byte, s, i, e int, n *int) int {
	if i-2 >= s && (b[i-1] == ':' || b[i-1] == '.' || b[i-1] == ',') && isDigit(b[i-2]) {
		return digitsEnd(b, i, e)
	}
	if k := skipToken(b, i, e); k > i {
		return k
	}
	// The group: digit runs joined by separators, up to a run that starts
	// an IP address or a date.
	hi, seps, digits := i, 0, 0
scan:
	for j := i; j < e; j++ {
		switch kind, _ := unit(b, j, e, ctxDisplay); {
		case kind == uDigit:
			if j > hi && skipToken(b, j, e) > j {
				break scan
			}
			digits++
			seps = 0
			hi = j + 1
		case kind == uSep && seps < maxSeps:
			seps++
		default:
			break scan
		}
	}
	if digits < minPhoneDigits {
		return hi
	}
	plus := plusBefore(b, s, i) && b[i] != '0'
	clean := true
	for j := i; j < hi; {
		lo, ce, next, d, sp, dots := chunk(b, j, hi)
		clean = clean && chunkOK(b, s, lo, ce, e, d, sp, dots)
		j = next
	}
	if clean && isPhone(digits, plus) {
		*n += r.groups(b, i, hi, ctxDisplay)
		return hi
	}
	if clean && digits <= maxPhoneDigits {
		return hi
	}
	for j := i; j < hi; { // judge chunk by chunk
		lo, ce, next, d, sp, dots := chunk(b, j, hi)
		if chunkOK(b, s, lo, ce, e, d, sp, dots) && isPhone(d, plus && lo == i) {
			*n += r.groups(b, lo, ce, ctxDisplay)
		}
		j = next
	}
	return hi
}

// isPhone reports whether a group of d digits, after a "+" or not, is long
// enough for a phone number and not too long.
func isPhone(d int, plus bool) bool {
	if plus {
		return d >= minPlusPhoneDigits && d <= maxPhoneDigits
	}
	return d >= minPhoneDigits && d <= maxPhoneDigits
}

// chunk returns the chunk of a group starting at b[j] (before hi): its
// range from first to last digit, where the next chunk starts, its digits,
// separators and decimal separators (".", ",") between them.
func chunk(b []byte, j, hi int) (lo, ce, next, d, seps, dots int) {
	for j < hi && !isDigit(b[j]) {
		j++
	}
	lo, ce = j, j
	pend, pendDots := 0, 0
	for ; j < hi && b[j] != ' ' && b[j] != '\t'; j++ {
		if isDigit(b[j]) {
			d++
			ce = j + 1
			seps, dots = seps+pend, dots+pendDots
			pend, pendDots = 0, 0
			continue
		}
		pend++
		if b[j] == '.' || b[j] == ',' {
			pendDots++
		}
	}
	for j < hi && !isDigit(b[j]) {
		j++
	}
	return lo, ce, j, d, seps, dots
}

// chunkOK reports whether the chunk b[lo:hi] (digits first and last, d
// digits, seps separators of which dots are "." or ",") can be (part of) a
// phone number.
func chunkOK(b []byte, s, lo, hi, e, d, seps, dots int) bool {
	if hi < e && (isAlnum(b[hi]) || b[hi] == '_') {
		return false // glued to a word
	}
	if dots == 1 && seps == 1 {
		return false // a decimal number
	}
	if seps == 0 {
		if isTimestamp(b, lo, hi) {
			return false
		}
		if d <= 12 && lo > s && b[lo-1] == '-' && inUUID(b, lo, hi) {
			return false
		}
	}
	return true
}

// plusBefore reports whether "+" or "%2B" precedes b[i].
func plusBefore(b []byte, s, i int) bool {
	if i-1 >= s && b[i-1] == '+' {
		return true
	}
	return i-3 >= s && b[i-3] == '%' && b[i-2] == '2' && b[i-1]|0x20 == 'b'
}

// digitsEnd returns the end of the digit run starting at b[i].
func digitsEnd(b []byte, i, e int) int {
	for i < e && isDigit(b[i]) {
		i++
	}
	return i
}

// skipToken returns the end of an IPv4 address or a date starting at b[i],
// or i.
func skipToken(b []byte, i, e int) int {
	if k := ipv4End(b, i, e); k > i {
		return k
	}
	return dateEnd(b, i, e)
}

// ipv4End returns the end of a dotted-quad IPv4 address starting at b[i]
// (four values 0-255, not followed by another digit or ".digit"), or i.
func ipv4End(b []byte, i, e int) int {
	j := i
	for part := range 4 {
		if part > 0 {
			if j >= e || b[j] != '.' {
				return i
			}
			j++
		}
		k, v := j, 0
		for k < e && isDigit(b[k]) && k-j < 4 {
			v = v*10 + int(b[k]-'0')
			k++
		}
		if k == j || k-j > 3 || v > 255 {
			return i
		}
		j = k
	}
	if j < e && (isDigit(b[j]) || (b[j] == '.' && j+1 < e && isDigit(b[j+1]))) {
		return i
	}
	return j
}

// dateEnd returns the end of a date starting at b[i], YYYY-MM-DD or
// DD-MM-YYYY / MM-DD-YYYY with "-", "/" or "." (the same twice), or i.
func dateEnd(b []byte, i, e int) int {
	var f [3][2]int // the three fields' ranges
	j := i
	var sep byte
	for k := range 3 {
		if k > 0 {
			if j >= e || (b[j] != '-' && b[j] != '/' && b[j] != '.') || (k == 2 && b[j] != sep) {
				return i
			}
			sep = b[j]
			j++
		}
		f[k][0] = j
		j = digitsEnd(b, j, e)
		f[k][1] = j
	}
	l0, l1, l2 := f[0][1]-f[0][0], f[1][1]-f[1][0], f[2][1]-f[2][0]
	val := func(k int) int {
		v := 0
		for _, c := range b[f[k][0]:f[k][1]] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	year := func(v int) bool { return v >= 1900 && v <= 2099 }
	md := func(m, d int) bool { return m >= 1 && m <= 12 && d >= 1 && d <= 31 }
	switch {
	case l0 == 4 && l1 >= 1 && l1 <= 2 && l2 >= 1 && l2 <= 2:
		if year(val(0)) && md(val(1), val(2)) {
			return j
		}
	case l2 == 4 && l0 >= 1 && l0 <= 2 && l1 >= 1 && l1 <= 2:
		if year(val(2)) && (md(val(0), val(1)) || md(val(1), val(0))) {
			return j
		}
	}
	return i
}

// auth redacts the username and uri parameters of an Authorization or
// Proxy-Authorization value (RFC 3261 §22.4, RFC 7616): the username like
// a URI user part (it usually is the From user, and gets its token), the
// uri like the Request-URI. Nonces, responses and realms are kept.
func (r *Redactor) auth(b []byte, s, e int) int {
	n := 0
	i := s
	for i < e && isSpace(b[i]) {
		i++
	}
	for i < e && !isSpace(b[i]) && b[i] != ',' { // the scheme
		i++
	}
	for i < e {
		for i < e && (isSpace(b[i]) || b[i] == ',') {
			i++
		}
		ns := i
		for i < e && b[i] != '=' && b[i] != ',' && !isSpace(b[i]) {
			i++
		}
		name := b[ns:i]
		for i < e && isSpace(b[i]) {
			i++
		}
		if i >= e || b[i] != '=' {
			for i < e && b[i] != ',' { // not a parameter: skip it
				i++
			}
			continue
		}
		i++
		for i < e && isSpace(b[i]) {
			i++
		}
		vs, ve := i, i
		if i < e && b[i] == '"' {
			vs = i + 1
			ve = quotedEnd(b, i, e)
			i = min(ve+1, e)
		} else {
			for i < e && b[i] != ',' && !isSpace(b[i]) {
				i++
			}
			ve = i
		}
		switch {
		case len(name) == len("username") && hasPrefixFold(name, "username"):
			n += r.groups(b, vs, ve, ctxUser)
		case len(name) == len("uri") && hasPrefixFold(name, "uri"):
			n += r.uri(b, vs, ve, true)
		}
	}
	return n
}
