package correlate

import (
	"strconv"
	"strings"
	"time"
)

// Prefix starts every annotation comment.
const Prefix = "genesys:"

// CallIDWarning is the warn= text of a pair found only through Call-ID.
const CallIDWarning = "matched on Call-ID only; a proxy may have rewritten it"

// MalformedWarning is the warn= text of a pair whose wire message is
// malformed SIP (sip.Message.Malformed: a bad Content-Length, a header line
// without colon, ...). It is one word, so the comment reads warn=malformed,
// and the reason stays out of it: Wireshark's own SIP expert info on the
// same packet names it, and `genesys-sip messages` prints it.
const MalformedWarning = "malformed"

// malformedCallIDWarning is the warn= text when both apply: one warn= pair
// (scripts and the Lua dissector read one), the malformed flag first and
// the Call-ID warning unchanged after it, so that "warn contains" filters
// for either still match.
const malformedCallIDWarning = MalformedWarning + "; " + CallIDWarning

// Redactor rewrites what comments carry, consistently with the packets.
type Redactor interface {
	// CallID returns the value written for a correlation key.
	CallID(string) string
	// Text redacts free text.
	Text(string) string
}

// Formatter writes annotation comments in the DESIGN.md format:
//
//	genesys: call=<X-Genesys-Call-ID> conv=<conversationId> event="408 Request Timeout"
//	method=INVITE cseq="1 INVITE" dir=out node=<edge> t=2026-11-25T10:05:01.123456Z
//	skew=+2.333s key=x-genesys-call-id
//
// on one line, values with spaces double-quoted. t= is the record's time
// corrected onto the capture clock. Empty fields are left out.
type Formatter struct {
	Skew Skew
	// Redact, when set, rewrites keys and free text (redaction on).
	Redact Redactor

	skewText string // FormatDuration(Skew.Offset), cached
	skewOf   time.Duration
	skewSet  bool
}

// Append appends the comment for a match.
func (f *Formatter) Append(dst []byte, m *Match) []byte {
	return f.AppendWire(dst, m, false)
}

// AppendWire appends the comment for a match whose wire message is
// malformed SIP when malformed is set: then warn= says "malformed", before
// the Call-ID warning when that applies too
// (warn="malformed; matched on Call-ID only; ...").
func (f *Formatter) AppendWire(dst []byte, m *Match, malformed bool) []byte {
	dst = f.appendRecord(dst, m.Record)
	switch m.Key {
	case KeyHeader:
		dst = appendPair(dst, "key", strings.ToLower(m.Header))
	case KeyNone:
	default:
		dst = appendPair(dst, "key", m.Key.String())
	}
	if m.Order {
		dst = appendPair(dst, "match", "order")
	}
	switch {
	case malformed && m.Key == KeyCallID:
		dst = appendPair(dst, "warn", malformedCallIDWarning)
	case malformed:
		dst = appendPair(dst, "warn", MalformedWarning)
	case m.Key == KeyCallID:
		dst = appendPair(dst, "warn", CallIDWarning)
	}
	return dst
}

// AppendGenesysOnly appends the comment of a record no packet matched.
func (f *Formatter) AppendGenesysOnly(dst []byte, r *Record) []byte {
	return f.appendRecord(dst, r)
}

// CorrectedTime is the record's time on the capture clock.
func (f *Formatter) CorrectedTime(r *Record) time.Time {
	return r.Time.Add(-f.Skew.Offset)
}

func (f *Formatter) appendRecord(dst []byte, r *Record) []byte {
	dst = append(dst, Prefix...)
	key, conv := r.Key, r.ConversationID
	if f.Redact != nil {
		key, conv = f.Redact.CallID(key), f.Redact.CallID(conv)
	}
	dst = appendPair(dst, "call", key)
	dst = appendPair(dst, "conv", conv)
	switch {
	case r.Status == 0:
		dst = appendPair(dst, "event", r.Method)
	case f.Redact != nil:
		dst = appendPair(dst, "event", f.Redact.Text(r.Event()))
	case r.Reason == "":
		dst = append(dst, " event="...)
		dst = strconv.AppendInt(dst, int64(r.Status), 10)
	default:
		// r.Event() without building it: "408 Request Timeout", quoted.
		dst = append(dst, ` event="`...)
		dst = strconv.AppendInt(dst, int64(r.Status), 10)
		dst = append(dst, ' ')
		dst = appendQuotedBody(dst, r.Reason)
		dst = append(dst, '"')
	}
	method := r.Method
	if method == "" {
		method = r.CSeqMethod
	}
	dst = appendPair(dst, "method", method)
	if r.CSeqMethod != "" || r.CSeqNum != 0 {
		// cseq="1 INVITE": always quoted (it has a space); methods are tokens.
		dst = append(dst, ` cseq="`...)
		dst = strconv.AppendUint(dst, uint64(r.CSeqNum), 10)
		dst = append(dst, ' ')
		dst = appendQuotedBody(dst, r.CSeqMethod)
		dst = append(dst, '"')
	}
	dst = appendPair(dst, "dir", f.Skew.Direction(r.SrcIP, r.DstIP))
	node := r.Node
	if f.Redact != nil {
		node = f.Redact.Text(node)
	}
	dst = appendPair(dst, "node", node)
	if !r.Time.IsZero() {
		dst = append(dst, " t="...)
		dst = AppendTime(dst, f.CorrectedTime(r))
	}
	if f.Skew.Fixed || f.Skew.Pairs > 0 {
		if !f.skewSet || f.skewOf != f.Skew.Offset {
			f.skewText, f.skewOf, f.skewSet = FormatDuration(f.Skew.Offset), f.Skew.Offset, true
		}
		dst = appendPair(dst, "skew", f.skewText)
	}
	return dst
}

// appendQuotedBody appends s with quotes and backslashes escaped and
// control characters blanked, as inside a quoted value.
func appendQuotedBody(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c == 0x7f:
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// AppendPair appends " key=value" in the syntax every genesys-sip comment
// uses (annotations and alerts; the Lua dissector parses it): the value is
// double-quoted when it has spaces, quotes, backslashes or '=', with \" and
// \\ escapes; control characters become spaces. Empty values are left out.
func AppendPair(dst []byte, key, value string) []byte {
	return appendPair(dst, key, value)
}

func appendPair(dst []byte, key, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(dst, ' ')
	dst = append(dst, key...)
	dst = append(dst, '=')
	if !needsQuotes(value) {
		return append(dst, value...)
	}
	dst = append(dst, '"')
	dst = appendQuotedBody(dst, value)
	return append(dst, '"')
}

// quoted marks the bytes that make a value need quotes: space, tab, '"',
// '\\', '=' and control characters.
var quoted = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	for _, c := range " \t\"\\=\x7f" {
		t[c] = true
	}
	return t
}()

func needsQuotes(s string) bool {
	for i := 0; i < len(s); i++ {
		if quoted[s[i]] {
			return true
		}
	}
	return false
}

// AppendTime appends t in UTC as comments carry it,
// 2006-01-02T15:04:05.000000Z (microseconds, truncated), like
// t.UTC().AppendFormat with that layout but several times faster: every
// annotated packet has one.
func AppendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, "2006-01-02T15:04:05.000000Z")
	}
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, int(mo))
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	dst = append2(dst, sec)
	dst = append(dst, '.')
	us := t.Nanosecond() / 1000
	dst = append2(dst, us/10000)
	dst = append2(dst, us/100%100)
	dst = append2(dst, us%100)
	return append(dst, 'Z')
}

func append2(dst []byte, n int) []byte { return append(dst, byte('0'+n/10), byte('0'+n%10)) }

func append4(dst []byte, n int) []byte { return append2(append2(dst, n/100), n%100) }
