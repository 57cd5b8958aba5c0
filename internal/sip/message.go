package sip

import (
	"bytes"
	"errors"
	"strconv"
)

// MaxHeaders bounds the header lines of one message so that Message has a
// fixed size and can be reused without allocating. Real INVITEs carry 15–40
// header lines; the RFC 4475 "longreq" torture message has 46. A message
// with more is rejected with a SyntaxError rather than parsed in part,
// because a header past the limit could be the one correlation needs.
const MaxHeaders = 128

// ErrShortBody is wrapped by the SyntaxError for a message whose body is
// shorter than its Content-Length: a truncated capture, or a trace record
// whose raw message lost its end. Parse then still fills the Message, with
// the body it has, so a caller that can use a partial message may go on
// when errors.Is(err, ErrShortBody).
var ErrShortBody = errors.New("sip: body shorter than Content-Length")

// The reasons Parse gives in Message.Malformed. Each is a fixed text that
// quotes nothing of the message, so it is safe to log and to show.
const (
	malBadContentLength         = "bad Content-Length"
	malConflictingContentLength = "conflicting Content-Length headers"
	malNoColon                  = "header line without colon"
	malHeaderName               = "bad header name"
	malContinuation             = "continuation line before the first header"
)

// A SyntaxError reports a malformed SIP message: what is wrong, and where.
// Msg quotes at most a short token of the input (a status code, a method,
// a Content-Length), never a URI or a name, so it is safe to log.
type SyntaxError struct {
	Msg    string // what is wrong, e.g. `bad status code "4x8"`
	Offset int    // byte offset in the input where it was found, or -1
	Err    error  // ErrShortBody, or nil
}

// Unwrap returns e.Err.
func (e *SyntaxError) Unwrap() error { return e.Err }

// Error returns the message with its "sip: " prefix and the offset.
func (e *SyntaxError) Error() string {
	if e.Offset < 0 {
		return "sip: " + e.Msg
	}
	return "sip: " + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

func errAt(off int, msg string) error { return &SyntaxError{Msg: msg, Offset: off} }

// quote renders a short piece of the input for an error message.
func quote(b []byte) string {
	const max = 24
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}

// Header is one header field of a parsed message. Name and Value are
// sub-slices of the parsed buffer.
type Header struct {
	// Name is the field name as written: "v", "Via" or "VIA".
	Name []byte
	// Value is the field value without surrounding white space. A value
	// folded over several lines keeps its line breaks; see Unfold.
	Value []byte

	id headerID
}

// Canonical returns the conventional spelling of a well-known header name,
// with compact forms expanded: "v", "via" and "VIA" all give "Via", "i"
// gives "Call-ID". It returns "" for other headers; their Name is all there
// is.
func (h Header) Canonical() string { return h.id.canonical() }

// Is reports whether h is the header called name, comparing without regard
// to letter case and treating a compact form and its long name as equal
// (Is("Via") holds for a "v:" header).
func (h Header) Is(name string) bool { return h.matches(idOf(name), name) }

func (h *Header) matches(id headerID, name string) bool {
	if id != hOther {
		return h.id == id
	}
	return h.id == hOther && equalFold(h.Name, name)
}

// Message is a parsed SIP message. Every []byte field is a sub-slice of the
// buffer given to Parse, which must therefore stay unchanged while the
// Message is in use. A Message is meant to be reused: Parse overwrites it
// completely and does not allocate.
type Message struct {
	// Method is the request method as written, any token, unknown methods
	// included; nil in a response.
	Method []byte
	// RequestURI is the Request-URI of a request; nil in a response.
	RequestURI []byte
	// StatusCode is the status code of a response (100–699); 0 in a request.
	StatusCode int
	// Reason is the reason phrase of a response, possibly empty; nil in a
	// request.
	Reason []byte

	// CallID is the Call-ID value.
	CallID []byte
	// CSeq is the sequence number of the CSeq header.
	CSeq uint32
	// CSeqMethod is the method of the CSeq header.
	CSeqMethod []byte
	// Via is the top Via: the first value of the first Via header, raw.
	// It is nil only in a response without Via.
	Via []byte
	// Branch is the branch parameter of the top Via, or nil.
	Branch []byte
	// From and To are the raw From and To values.
	From, To []byte
	// FromTag and ToTag are the tag parameters of From and To, or nil.
	FromTag, ToTag []byte
	// PAssertedIdentity is the first value of the first
	// P-Asserted-Identity header (RFC 3325), raw, or nil.
	PAssertedIdentity []byte
	// ContentLength is the declared Content-Length, or -1 when absent or
	// unusable (not a number, or given twice with different values; then
	// Malformed says so).
	ContentLength int
	// Body is the message body: the ContentLength bytes after the empty
	// line, or everything after it when Content-Length is absent or
	// unusable.
	Body []byte
	// Raw is the whole message from its start line to the end of its body.
	// It excludes keep-alive CRLFs before the start line and, as RFC 3261
	// §18.3 requires for datagrams, bytes past Content-Length.
	Raw []byte

	// Malformed is empty for a well-formed message. Otherwise it is a
	// short fixed reason ("bad Content-Length", "header line without
	// colon", ...) for a defect that Parse tolerated, as tshark does with
	// an expert note: the message is still a message, with its identity,
	// and the reason quotes nothing of it (safe to log). Only the first
	// defect found is named.
	Malformed string

	headers  [MaxHeaders]Header
	nheaders int
	clBad    bool // Content-Length unusable: later ones are ignored
}

// flag records a tolerated defect; the first one found is kept.
func (m *Message) flag(reason string) {
	if m.Malformed == "" {
		m.Malformed = reason
	}
}

// IsRequest reports whether m is a request.
func (m *Message) IsRequest() bool { return len(m.Method) > 0 }

// IsResponse reports whether m is a response.
func (m *Message) IsResponse() bool { return m.StatusCode != 0 }

// Headers returns all header fields in message order. The slice aliases m
// and is valid until the next Parse into m.
func (m *Message) Headers() []Header { return m.headers[:m.nheaders] }

// Header returns the value of the first header called name (any letter
// case, long or compact form), or nil when there is none. A header that is
// present with an empty value gives an empty, non-nil slice.
func (m *Message) Header(name string) []byte {
	id := idOf(name)
	for i := range m.headers[:m.nheaders] {
		if h := &m.headers[i]; h.matches(id, name) {
			return h.Value
		}
	}
	return nil
}

func (m *Message) reset() {
	m.Method, m.RequestURI, m.StatusCode, m.Reason = nil, nil, 0, nil
	m.CallID, m.CSeq, m.CSeqMethod = nil, 0, nil
	m.Via, m.Branch, m.From, m.To, m.FromTag, m.ToTag = nil, nil, nil, nil, nil, nil
	m.PAssertedIdentity, m.ContentLength, m.Body, m.Raw = nil, -1, nil, nil
	m.Malformed, m.nheaders, m.clBad = "", 0, false
}

// Parse parses the SIP message at the start of b into m.
//
// b is one datagram, or one message framed by MessageLength on a stream.
// Keep-alive CRLFs before the start line are skipped. The message ends at
// the end of its body: Content-Length bytes after the empty line (more is
// an error, fewer leaves trailing bytes that are ignored, RFC 3261 §18.3),
// or the end of b when Content-Length is absent or unusable.
//
// Like tshark, Parse tolerates defects that leave the identity intact and
// reports them in m.Malformed instead of failing: a Content-Length that is
// not a number or that conflicts with another one (the body then runs to
// the end of b: the rest of the datagram, or nothing on a stream, where
// MessageLength framed the message as if Content-Length were 0), and
// header lines that are not header lines (no colon, a bad name, a
// continuation line before the first header); such a line and the lines
// folded onto it are skipped. A malformed message is often the one an
// analyst looks for, so it must still be shown, correlated and redacted.
//
// Parse requires what identifies a message and its transaction: Call-ID,
// CSeq, From and To, and, in requests, Via (RFC 3261 §8.1.1). It is
// lenient where real equipment is sloppy and the identity stays clear:
// Max-Forwards may be missing, lines may end in bare LF, a status line may
// lack the space before an empty reason phrase, the empty line may be
// missing at the end of b, and it does not validate fields it does not
// interpret (Date, Contact, display names, URI components). It is strict
// where the identity or the framing would be ambiguous: the start line
// (RFC 4475 §3.1.2.7–3.1.2.10, 3.1.2.16, 3.1.2.19), a Content-Length past
// the end of b (§3.1.2.2, ErrShortBody), CSeq (§3.1.2.4, 3.1.2.5, 3.1.2.17, 3.1.2.18),
// the top Via (§3.1.2.1), quoting in From and To (§3.1.2.6), and Call-ID,
// CSeq, From or To given twice with different values (§3.3.8).
//
// Parse returns ErrNotSIP when the first line is not a SIP start line at
// all, and a *SyntaxError for a malformed message; m is then unspecified,
// except after ErrShortBody. It does not allocate unless it returns an
// error, and it never panics.
func Parse(b []byte, m *Message) error {
	m.reset()
	start := KeepAliveLength(b)

	// Start line.
	lineEnd, next := len(b), len(b)
	if i := bytes.IndexByte(b[start:], '\n'); i >= 0 {
		lineEnd, next = start+i, start+i+1
	}
	if err := m.parseStartLine(b, start, trimCR(b, start, lineEnd)); err != nil {
		return err
	}

	// Header lines, each possibly folded over several lines.
	var p pending
	pos, bodyStart := next, len(b)
	for pos < len(b) {
		end, nextPos := len(b), len(b)
		if i := bytes.IndexByte(b[pos:], '\n'); i >= 0 {
			end, nextPos = pos+i, pos+i+1
		}
		content := trimCR(b, pos, end)
		if content == pos {
			bodyStart = nextPos
			break
		}
		if c := b[pos]; c == ' ' || c == '\t' {
			if p.active {
				p.extend(b, pos, content)
			} else {
				// Before the first header, or folded onto a line that
				// was skipped (already flagged): skip it too.
				m.flag(malContinuation)
			}
			pos = nextPos
			continue
		}
		if p.active {
			if err := m.addHeader(b, &p); err != nil {
				return err
			}
		}
		if reason := p.begin(b, pos, content); reason != "" {
			m.flag(reason)
			pos = nextPos
			continue
		}
		if m.nheaders == MaxHeaders {
			return errAt(pos, "more than "+strconv.Itoa(MaxHeaders)+" header lines")
		}
		pos = nextPos
	}
	if p.active {
		if err := m.addHeader(b, &p); err != nil {
			return err
		}
	}
	if err := m.finishIdentity(); err != nil {
		return err
	}

	// Body.
	bodyEnd := len(b)
	if m.ContentLength >= 0 {
		if avail := len(b) - bodyStart; m.ContentLength > avail {
			m.Body, m.Raw = b[bodyStart:], b[start:]
			return &SyntaxError{Msg: "Content-Length " + strconv.Itoa(m.ContentLength) +
				" exceeds the " + strconv.Itoa(avail) + " bytes after the headers",
				Offset: bodyStart, Err: ErrShortBody}
		}
		bodyEnd = bodyStart + m.ContentLength
	}
	m.Body = b[bodyStart:bodyEnd]
	m.Raw = b[start:bodyEnd]
	return nil
}

// trimCR returns end, moved back over a CR that precedes the LF at end.
func trimCR(b []byte, start, end int) int {
	if end > start && b[end-1] == '\r' {
		return end - 1
	}
	return end
}

// pending is the header being read, which folded lines may still extend.
type pending struct {
	active             bool
	nameStart, nameEnd int
	valStart, valEnd   int // valStart < 0 while the value is still empty
	colon              int
}

// begin starts a header from the line b[pos:content] ("Name : value"). It
// returns the Malformed reason of a line that is not a header line, which
// leaves p inactive.
func (p *pending) begin(b []byte, pos, content int) string {
	nameEnd, colon := headerName(b, pos, content)
	if colon < 0 {
		if bytes.IndexByte(b[pos:content], ':') < 0 {
			return malNoColon
		}
		return malHeaderName // empty, or a byte that is not a token character
	}
	*p = pending{active: true, nameStart: pos, nameEnd: nameEnd, valStart: -1, colon: colon}
	p.extend(b, colon+1, content)
	return ""
}

// headerName scans "token *WSP :" at b[pos:content] (RFC 3261 §7.3.1
// allows white space before the colon). It returns the end of the name and
// the index of the colon, or colon -1 when the line is not a header line.
func headerName(b []byte, pos, content int) (nameEnd, colon int) {
	n := pos
	for n < content && isTokenChar(b[n]) {
		n++
	}
	nameEnd = n
	for n < content && (b[n] == ' ' || b[n] == '\t') {
		n++
	}
	if nameEnd == pos || n == content || b[n] != ':' {
		return nameEnd, -1
	}
	return nameEnd, n
}

// extend adds the text of b[pos:content] (the rest of the first line, or a
// continuation line) to the value.
func (p *pending) extend(b []byte, pos, content int) {
	for pos < content && (b[pos] == ' ' || b[pos] == '\t') {
		pos++
	}
	for content > pos && (b[content-1] == ' ' || b[content-1] == '\t') {
		content--
	}
	if pos == content {
		return
	}
	if p.valStart < 0 {
		p.valStart = pos
	}
	p.valEnd = content
}

// value returns the value read so far: empty but not nil when there is none.
func (p *pending) value(b []byte) []byte {
	if p.valStart < 0 {
		return b[p.colon+1 : p.colon+1]
	}
	return b[p.valStart:p.valEnd]
}

// addHeader stores the completed header p and takes what the identity
// needs from it.
func (m *Message) addHeader(b []byte, p *pending) error {
	p.active = false
	name := b[p.nameStart:p.nameEnd]
	value, valOff := p.value(b), p.valStart
	if valOff < 0 {
		valOff = p.colon + 1
	}
	id := idOf(name)
	m.headers[m.nheaders] = Header{Name: name, Value: value, id: id}
	m.nheaders++

	switch id {
	case hCallID:
		return setOnce(&m.CallID, value, "Call-ID", valOff)
	case hFrom:
		return setOnce(&m.From, value, "From", valOff)
	case hTo:
		return setOnce(&m.To, value, "To", valOff)
	case hCSeq:
		if m.CSeqMethod != nil {
			// Compare with the first CSeq, found by the scan below.
			for i := range m.headers[:m.nheaders-1] {
				if h := &m.headers[i]; h.id == hCSeq {
					if !bytes.Equal(h.Value, value) {
						return errAt(valOff, "conflicting CSeq headers")
					}
					return nil
				}
			}
		}
		return m.parseCSeq(value, valOff)
	case hVia:
		if m.Via == nil {
			m.Via = value // reduced to its first element in finishIdentity
		}
	case hContentLength:
		if m.clBad {
			return nil // the first unusable one decided: the body runs to the end
		}
		n, err := contentLengthValue(value)
		switch {
		case err == ErrTooLong:
			return errAt(valOff, "Content-Length too large")
		case err != nil:
			// RFC 4475 §3.1.2.3 ncl. tshark notes "Invalid
			// content_length" and goes on.
			m.clBad, m.ContentLength = true, -1
			m.flag(malBadContentLength)
		case m.ContentLength >= 0 && m.ContentLength != n:
			// RFC 4475 §3.3.9 mcl01: which one is right is unknowable.
			m.clBad, m.ContentLength = true, -1
			m.flag(malConflictingContentLength)
		default:
			m.ContentLength = n
		}
	case hPAssertedIdentity:
		if m.PAssertedIdentity == nil {
			if e := firstElement(value); e != nil {
				m.PAssertedIdentity = e
			}
		}
	}
	return nil
}

// setOnce records a header that must appear once; a repetition with the
// same value is tolerated, a different one makes the identity ambiguous.
func setOnce(dst *[]byte, value []byte, name string, off int) error {
	if *dst == nil {
		*dst = value
		return nil
	}
	if !bytes.Equal(*dst, value) {
		return errAt(off, "conflicting "+name+" headers")
	}
	return nil
}

// parseCSeq parses "1*DIGIT LWS Method" (RFC 3261 §20.16).
func (m *Message) parseCSeq(v []byte, off int) error {
	n, i := uint64(0), 0
	for i < len(v) && isDigit(v[i]) {
		n = n*10 + uint64(v[i]-'0')
		if n > 1<<32-1 {
			return errAt(off, "CSeq number too large")
		}
		i++
	}
	if i == 0 {
		return errAt(off, "bad CSeq number")
	}
	j := i
	for j < len(v) && isLWS(v[j]) {
		j++
	}
	k := j
	for k < len(v) && isTokenChar(v[k]) {
		k++
	}
	if j == i || k == j || k != len(v) {
		return errAt(off, "bad CSeq")
	}
	m.CSeq, m.CSeqMethod = uint32(n), v[j:k]
	return nil
}

// finishIdentity checks the mandatory headers once all are read, and takes
// the top Via branch and the From and To tags.
func (m *Message) finishIdentity() error {
	var missing []string
	if m.CallID == nil {
		missing = append(missing, "Call-ID")
	}
	if m.CSeqMethod == nil {
		missing = append(missing, "CSeq")
	}
	if m.From == nil {
		missing = append(missing, "From")
	}
	if m.To == nil {
		missing = append(missing, "To")
	}
	if m.Via == nil && m.IsRequest() {
		missing = append(missing, "Via")
	}
	if missing != nil {
		msg := "missing " + missing[0]
		for _, s := range missing[1:] {
			msg += ", " + s
		}
		return errAt(-1, msg)
	}
	if len(m.CallID) == 0 {
		return errAt(-1, "empty Call-ID")
	}
	if m.IsRequest() && !bytes.Equal(m.CSeqMethod, m.Method) {
		// RFC 3261 §8.1.1.5; RFC 4475 §3.1.2.17 and §3.1.2.18.
		return errAt(-1, "CSeq method "+quote(m.CSeqMethod)+
			" does not match request method "+quote(m.Method))
	}
	if m.Via != nil {
		top := firstElement(m.Via)
		if top == nil {
			return errAt(-1, "empty Via")
		}
		m.Via = top
		params, ok := viaParams(top)
		if !ok {
			return errAt(-1, "bad Via sent-protocol or sent-by")
		}
		br, err := paramValue(params, "branch")
		if err != nil {
			return errAt(-1, "bad Via: "+err.Error())
		}
		m.Branch = br
	}
	var err error
	if m.FromTag, err = tagOf(m.From); err != nil {
		return errAt(-1, "bad From: "+err.Error())
	}
	if m.ToTag, err = tagOf(m.To); err != nil {
		return errAt(-1, "bad To: "+err.Error())
	}
	return nil
}

// tagOf returns the tag parameter of a From or To value, or nil. Syntax
// errors in the parameters after the tag do not matter; an unbalanced quote
// or bracket does, since then the tag cannot be located.
func tagOf(v []byte) ([]byte, error) {
	params, err := addrParams(v)
	if err != nil {
		return nil, err
	}
	for {
		name, value, rest, more, err := nextParam(params)
		if err == errUnterminatedQuote {
			return nil, err
		}
		if err != nil || !more {
			return nil, nil
		}
		if equalFold(name, "tag") {
			if len(value) == 0 {
				return nil, nil
			}
			return value, nil
		}
		params = rest
	}
}
