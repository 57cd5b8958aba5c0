package sip

import (
	"iter"
	"strconv"
)

// HeaderSet is a fixed list of header names prepared once for repeated
// lookups, such as the correlation headers of DESIGN.md
// ("X-Genesys-Call-ID", "x-inin-cnv"). Build it with NewHeaderSet; the zero
// value is an empty set.
type HeaderSet struct {
	names []string
	ids   []headerID
}

// NewHeaderSet prepares names (any letter case, long or compact form) for
// Message.Lookup. It copies names.
func NewHeaderSet(names ...string) HeaderSet {
	s := HeaderSet{names: make([]string, len(names)), ids: make([]headerID, len(names))}
	copy(s.names, names)
	for i, n := range names {
		s.ids[i] = idOf(n)
	}
	return s
}

// Len returns the number of names in s.
func (s HeaderSet) Len() int { return len(s.names) }

// Name returns the i'th name of s as given to NewHeaderSet.
func (s HeaderSet) Name(i int) string { return s.names[i] }

// Lookup appends to dst[:0] one value per name of set, in the order of the
// set: the value of the first header with that name (trimmed, as in
// Header), or nil when the message has none. It makes one pass over the
// headers and does not allocate when cap(dst) >= set.Len().
func (m *Message) Lookup(set HeaderSet, dst [][]byte) [][]byte {
	dst = dst[:0]
	for range set.names {
		dst = append(dst, nil)
	}
	found := 0
	for i := range m.headers[:m.nheaders] {
		h := &m.headers[i]
		for j, name := range set.names {
			if dst[j] == nil && h.matches(set.ids[j], name) {
				dst[j] = h.Value
				if found++; found == len(dst) {
					return dst
				}
			}
		}
	}
	return dst
}

// Values returns an iterator over the comma-separated values of every
// header called name, in message order, for the list-valued headers of
// RFC 3261 §7.3.1 (Via, Route, Record-Route, Contact, Allow, Supported …):
// "Via: a, b" followed by "v: c" yields a, b, c, so the first value is the
// top Via. Commas inside quoted strings and <...> do not split; empty
// values are skipped. Do not use it for headers whose values may contain
// commas of their own (Date, WWW-Authenticate, User-Agent); use Headers.
func (m *Message) Values(name string) iter.Seq[[]byte] {
	// Kept small so that it inlines and the closure stays on the stack.
	return func(yield func([]byte) bool) { m.values(name, yield) }
}

func (m *Message) values(name string, yield func([]byte) bool) {
	id := idOf(name)
	for i := range m.headers[:m.nheaders] {
		h := &m.headers[i]
		if !h.matches(id, name) {
			continue
		}
		for rest := h.Value; len(rest) > 0; {
			var e []byte
			e, rest = cutElement(rest)
			if len(e) > 0 && !yield(e) {
				return
			}
		}
	}
}

// AppendEvent appends the event that the correlation stage reports for m:
// the method of a request ("INVITE"), or the status code and reason phrase
// of a response ("408 Request Timeout", or just "408" without a reason).
// A folded reason phrase cannot occur: it is part of the start line.
func (m *Message) AppendEvent(dst []byte) []byte {
	if m.IsRequest() {
		return append(dst, m.Method...)
	}
	dst = strconv.AppendInt(dst, int64(m.StatusCode), 10)
	if len(m.Reason) > 0 {
		dst = append(dst, ' ')
		dst = append(dst, m.Reason...)
	}
	return dst
}

// AppendCSeq appends the CSeq in its normal form, "1 INVITE": the number
// without leading zeros and a single space, whatever the message had.
func (m *Message) AppendCSeq(dst []byte) []byte {
	dst = strconv.AppendUint(dst, uint64(m.CSeq), 10)
	dst = append(dst, ' ')
	return append(dst, m.CSeqMethod...)
}
