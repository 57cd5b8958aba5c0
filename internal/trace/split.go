package trace

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// The splitter reads the input in blocks, recognizes the container (API
// response, array, NDJSON) and cuts it into whole records without decoding
// them: it only tracks strings and brackets. Workers then parse the records
// of a block in parallel. Memory stays bounded: a block holds whole records
// only, and the partial record at its end moves to the next block.

// task is a block of input for one worker. In exact mode the splitter has
// located each record (spans). In chunk mode the block buf[lo:hi] starts at
// a record the reader only believes to be one, and the worker finds the
// records itself; see splitter.chunks.
type task struct {
	buf   []byte
	base  int64 // input offset of buf[0]
	spans []recSpan

	chunk       bool
	lo, hi      int
	array       bool   // elements of an array, else a stream of objects
	first, last bool   // the first or last chunk of the input
	format      Format // for the end of the input
	line0       int    // line of the first chunk's start

	done chan struct{}
	res  result
}

// recSpan locates one top-level record (an array element or NDJSON object).
type recSpan struct {
	start, end int
	rec, line  int
	notObject  bool
	// stream marks a record of an NDJSON stream: one that does not parse
	// is skipped, not fatal, since the next line can still be read.
	stream bool
	// bad is, for a bad record of a stream the splitter already passed
	// over (no bytes), its skip reason + 1; detail says what is wrong.
	bad    uint8
	detail string
}

// posError is an input problem at a line (and record, when rec >= 0).
type posError struct {
	line, rec int
	msg       string
}

func (e *posError) Error() string {
	if e.rec >= 0 {
		return fmt.Sprintf("line %d, record %d: %s", e.line, e.rec, e.msg)
	}
	return fmt.Sprintf("line %d: %s", e.line, e.msg)
}

// Inputs without any JSON value.
var (
	errEmpty = fmt.Errorf("%w (empty input)", ErrNoRecords)
	errBlank = fmt.Errorf("%w (only whitespace, no JSON)", ErrNoRecords)
)

type splitter struct {
	r          io.Reader
	buf        []byte
	start, end int
	base       int64
	eof        bool
	line       int
	rec        int
	cur        *task
	format     Format
	maxRecord  int
	chunked    bool // cut into chunks at likely record boundaries
	dispatch   func(*task) error
	getBuf     func(min int) ([]byte, error)
}

const bom = "\xef\xbb\xbf"

// run splits the whole input. The caller dispatches the final task.
func (s *splitter) run() error {
	s.line = 1
	if err := s.fill(); err != nil {
		return err
	}
	if s.end == 0 {
		return errEmpty
	}
	if bytes.HasPrefix(s.buf[s.start:s.end], []byte(bom)) {
		s.start += len(bom)
	} else if err := sniff(s.buf[s.start:s.end]); err != nil {
		return err
	}
	c, ok, err := s.peek()
	if err != nil {
		return err
	}
	if !ok {
		return errBlank
	}
	switch c {
	case '[':
		s.format = FormatArray
		s.start++
		if s.chunked {
			return s.chunks(true)
		}
		if err := s.array(); err != nil {
			return err
		}
		return s.expectEnd()
	case '{':
		var top topObject
		n, nl, err := s.scanWith(func(w []byte) (int, int, error) {
			var err error
			top, err = scanTop(w)
			return top.n, top.nl, err
		})
		if err != nil {
			return s.fail(err, -1)
		}
		switch top.kind {
		case topAPIError:
			return &posError{line: s.line, rec: -1, msg: fmt.Sprintf("an API error response, not trace records: %q", top.apiMsg)}
		case topRecord:
			s.format = FormatNDJSON
			if s.chunked {
				return s.chunks(false)
			}
			// The first record is a stream record like the rest: one
			// that does not parse is skipped, as chunked loading does.
			s.add(n, nl, false)
			s.cur.spans[len(s.cur.spans)-1].stream = true
			return s.stream()
		}
		s.format = FormatAPI
		s.start += n
		s.line += nl
		if top.kind == topEnvelope && s.chunked {
			return s.chunks(true)
		}
		if top.kind == topEnvelope {
			if err := s.array(); err != nil {
				return err
			}
		}
		n, nl, err = s.scanWith(scanObjectRest)
		if err != nil {
			return s.fail(err, -1)
		}
		s.start += n
		s.line += nl
		return s.expectEnd()
	}
	return s.unexpected(c)
}

// unexpected explains a top-level value that is not a container of
// records.
func (s *splitter) unexpected(c byte) error {
	what := valueKind(s.buf[s.start:s.end])
	if what == "" {
		return s.fail(badChar(s.buf[s.start:s.end], 0, "looking for beginning of value"), -1)
	}
	return &posError{line: s.line, rec: -1, msg: `expected an object with "data", an array or NDJSON records, got ` + what}
}

// valueKind names the JSON value w starts with when it is not an object:
// "a string", "a number", "a boolean", "null" or "an array"; "" when w does
// not start with a JSON value.
func valueKind(w []byte) string {
	switch c := w[0]; {
	case c == '"':
		return "a string"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	case (c == 't' || c == 'f') && isLiteral(w):
		return "a boolean"
	case c == 'n' && isLiteral(w):
		return "null"
	case c == '[':
		return "an array"
	}
	return ""
}

// badStart classifies a record of a stream that does not start with '{':
// a JSON value that is not an object, or not JSON at all.
func badStart(w []byte) (reason int, detail string) {
	if what := valueKind(w); what != "" {
		return skipNotObject, "expected a record object, got " + what
	}
	return skipNotJSON, badChar(w, 0, "looking for beginning of value").Msg
}

// syntaxDetail words a scanner error for a skipped record.
func syntaxDetail(se *syntaxError) string {
	if se == errShort {
		return "unexpected end of input (truncated?)"
	}
	return se.Msg
}

// lineStartObject is where a stream resumes after a bad record: a line
// that starts with '{'.
var lineStartObject = []byte("\n{")

// resync returns the offset in w of the next line after w[0] that starts
// with '{', or -1.
func resync(w []byte) int {
	if len(w) < 2 {
		return -1
	}
	if i := bytes.Index(w[1:], lineStartObject); i >= 0 {
		return i + 2
	}
	return -1
}

// array splits the elements of an array whose '[' was consumed.
func (s *splitter) array() error {
	c, ok, err := s.peek()
	if err != nil {
		return err
	}
	if !ok {
		return s.truncated("the array is not closed")
	}
	if c == ']' {
		s.start++
		return nil
	}
	for {
		if c == '{' {
			n, nl, err := s.scanWith(skipObject)
			if err != nil {
				return s.fail(err, s.rec)
			}
			s.add(n, nl, false)
		} else {
			n, nl, err := s.scanWith(skipAny)
			if err != nil {
				return s.fail(err, s.rec)
			}
			s.add(n, nl, true)
		}
		if c, ok, err = s.peek(); err != nil {
			return err
		} else if !ok {
			return s.truncated("the array is not closed")
		}
		switch c {
		case ',':
			s.start++
			if c, ok, err = s.peek(); err != nil {
				return err
			} else if !ok {
				return s.truncated("the array is not closed")
			}
			if c == ']' {
				return s.fail(badChar(s.buf[s.start:s.end], 0, "looking for beginning of value"), -1)
			}
			continue
		case ']':
			s.start++
			return nil
		}
		return s.fail(badChar(s.buf[s.start:s.end], 0, "after array element"), -1)
	}
}

// stream splits NDJSON (or any whitespace-separated objects). A record
// that is not an object or not JSON is skipped up to the next line that
// starts with '{' (chunked parsing resumes at the same place).
func (s *splitter) stream() error {
	for {
		c, ok, err := s.peek()
		if err != nil || !ok {
			return err
		}
		if c != '{' {
			// Enough bytes to tell a literal such as "true" from text.
			for s.end-s.start < 8 && !s.eof {
				if err := s.fill(); err != nil {
					return err
				}
			}
			reason, detail := badStart(s.buf[s.start:s.end])
			if err := s.skipBad(reason, detail); err != nil {
				return err
			}
			continue
		}
		n, nl, err := s.scanWith(skipObject)
		var se *syntaxError
		if errors.As(err, &se) {
			if err := s.skipBad(skipNotJSON, syntaxDetail(se)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return s.fail(err, s.rec) // too large, or reading failed
		}
		s.add(n, nl, false)
		s.cur.spans[len(s.cur.spans)-1].stream = true
	}
}

// skipBad passes over a bad record of a stream, from the read position to
// the next line that starts with '{' or the end of the input, reading on as
// needed but keeping none of it, and records it as skipped.
func (s *splitter) skipBad(reason int, detail string) error {
	s.cur.spans = append(s.cur.spans, recSpan{start: s.start, end: s.start, rec: s.rec, line: s.line, bad: uint8(reason + 1), detail: detail})
	s.rec++
	first := true
	for {
		w := s.buf[s.start:s.end]
		var at int
		if first {
			at = resync(w)
		} else if i := bytes.Index(w, lineStartObject); i >= 0 {
			at = i + 1
		} else {
			at = -1
		}
		if at >= 0 || s.eof {
			if at < 0 {
				at = len(w)
			}
			s.line += bytes.Count(w[:at], []byte{'\n'})
			s.start += at
			return nil
		}
		// Keep the last byte: a '\n' there may precede the '{' of the
		// next read.
		keep := max(len(w)-1, 1)
		if keep > len(w) {
			keep = len(w)
		}
		s.line += bytes.Count(w[:keep], []byte{'\n'})
		s.start += keep
		first = false
		if err := s.fill(); err != nil {
			return err
		}
	}
}

func (s *splitter) expectEnd() error {
	if _, ok, err := s.peek(); err != nil || !ok {
		return err
	}
	return s.fail(badChar(s.buf[s.start:s.end], 0, "after top-level value"), -1)
}

func skipObject(w []byte) (int, int, error) { return skipContainer(w, 0) }
func skipAny(w []byte) (int, int, error)    { return skipValue(w, 0) }

// add records a span of n bytes at the read position.
func (s *splitter) add(n, nl int, notObject bool) {
	s.cur.spans = append(s.cur.spans, recSpan{start: s.start, end: s.start + n, rec: s.rec, line: s.line, notObject: notObject})
	s.rec++
	s.start += n
	s.line += nl
}

// peek skips whitespace and returns the next byte, false at the end.
func (s *splitter) peek() (byte, bool, error) {
	for {
		i, nl := skipSpace(s.buf[s.start:s.end], 0)
		s.start += i
		s.line += nl
		if s.start < s.end {
			return s.buf[s.start], true, nil
		}
		if s.eof {
			return 0, false, nil
		}
		if err := s.fill(); err != nil {
			return 0, false, err
		}
	}
}

// scanWith runs fn on the unread window, reading more input while fn runs
// out of it.
func (s *splitter) scanWith(fn func(w []byte) (int, int, error)) (int, int, error) {
	for {
		n, nl, err := fn(s.buf[s.start:s.end])
		if err != errShort || s.eof {
			return n, nl, err
		}
		if err := s.fill(); err != nil {
			return 0, 0, err
		}
	}
}

// fill reads more input after the unread window, handing finished records
// to the workers, compacting, or growing the buffer as needed.
func (s *splitter) fill() error {
	if s.eof {
		return nil
	}
	switch tail := s.end - s.start; {
	case s.cur == nil || len(s.cur.spans) > 0:
		nb, err := s.getBuf(tail)
		if err != nil {
			return err
		}
		copy(nb, s.buf[s.start:s.end])
		s.base += int64(s.start)
		old := s.cur
		s.buf, s.start, s.end = nb, 0, tail
		s.cur = &task{buf: nb, base: s.base, done: make(chan struct{})}
		if old != nil {
			if err := s.dispatch(old); err != nil {
				return err
			}
		}
	case s.start > 0:
		copy(s.buf, s.buf[s.start:s.end])
		s.base += int64(s.start)
		s.start, s.end = 0, tail
		s.cur.base = s.base
	case s.end == len(s.buf):
		if len(s.buf) >= s.maxRecord {
			return &posError{line: s.line, rec: s.rec, msg: fmt.Sprintf("a single value is larger than %d MiB", s.maxRecord>>20)}
		}
		nb := make([]byte, min(2*len(s.buf), s.maxRecord))
		copy(nb, s.buf[:s.end])
		s.buf = nb
		s.cur.buf = nb
	}
	return s.read()
}

// read fills the free end of s.buf from the input, noting the end of it.
func (s *splitter) read() error {
	n, err := io.ReadFull(s.r, s.buf[s.end:])
	s.end += n
	switch err {
	case nil:
	case io.EOF, io.ErrUnexpectedEOF:
		s.eof = true
	default:
		return err
	}
	return nil
}

// fail turns a scanner error on the unread window into a positioned error.
func (s *splitter) fail(err error, rec int) error {
	var se *syntaxError
	if !errors.As(err, &se) {
		return err
	}
	w := s.buf[s.start:s.end]
	if se == errShort {
		e := s.truncated("").(*posError)
		e.rec = rec // as chunked parsing reports it
		return e
	}
	off := min(max(se.Off, 0), len(w))
	return &posError{line: s.line + bytes.Count(w[:off], []byte{'\n'}), rec: rec, msg: "not JSON: " + se.Msg}
}

func (s *splitter) truncated(what string) error {
	w := s.buf[s.start:s.end]
	msg := "not JSON: unexpected end of input (truncated?)"
	if what != "" {
		msg = "not JSON: unexpected end of input: " + what + " (truncated?)"
	}
	return &posError{line: s.line + bytes.Count(w, []byte{'\n'}), rec: -1, msg: msg}
}

// Kinds of top-level object.
const (
	topRecord = iota
	topEnvelope
	topEnvelopeNull
	topAPIError
)

type topObject struct {
	kind   int
	n, nl  int // for an envelope: the offset after "data":[ or "data":null
	apiMsg string
}

// scanTop reads the members of the top-level object in w until it meets
// "data" (a siptraces response) or the end of the object (a record of an
// NDJSON stream, or an API error body).
func scanTop(w []byte) (topObject, error) {
	var t topObject
	i, nl := skipSpace(w, 1)
	var hasTime, hasCode bool
	var msg []byte
	for first := true; ; first = false {
		if i >= len(w) {
			return t, errShort
		}
		if first && w[i] == '}' {
			t.n, t.nl = i+1, nl
			return t, nil
		}
		if w[i] != '"' {
			return t, badChar(w, i, "looking for beginning of object key string")
		}
		e, esc, err := scanString(w, i)
		if err != nil {
			return t, err
		}
		key := w[i+1 : e-1]
		var k int
		i, k = skipSpace(w, e)
		nl += k
		if i >= len(w) {
			return t, errShort
		}
		if w[i] != ':' {
			return t, badChar(w, i, "after object key")
		}
		i, k = skipSpace(w, i+1)
		nl += k
		if i >= len(w) {
			return t, errShort
		}
		if !esc {
			switch string(key) {
			case "data":
				if w[i] == '[' {
					t.kind, t.n, t.nl = topEnvelope, i+1, nl
					return t, nil
				}
				if w[i] == 'n' {
					if e, err := scanLiteral(w, i); err != nil {
						return t, err
					} else if string(w[i:e]) == "null" {
						t.kind, t.n, t.nl = topEnvelopeNull, e, nl
						return t, nil
					}
				}
				return t, errAt(i, `"data" is not an array`)
			case "message":
				if w[i] == '"' {
					if e, _, err := scanString(w, i); err == nil {
						msg = w[i+1 : e-1]
					}
				}
			case "code":
				hasCode = true
			}
			switch fieldOf(key) {
			case fMicroTs, fMilliTs, fDate, fTimestamp, fTime:
				hasTime = true
			}
		}
		e, k, err = skipValue(w, i)
		nl += k
		if err != nil {
			return t, err
		}
		i, k = skipSpace(w, e)
		nl += k
		if i >= len(w) {
			return t, errShort
		}
		switch w[i] {
		case ',':
			i, k = skipSpace(w, i+1)
			nl += k
			continue
		case '}':
			t.n, t.nl = i+1, nl
			if msg != nil && hasCode && !hasTime {
				t.kind = topAPIError
				t.apiMsg = string(msg[:min(len(msg), 200)])
			}
			return t, nil
		}
		return t, badChar(w, i, "after object key:value pair")
	}
}

// scanObjectRest reads the remaining members of an object, from just after
// a member value through the closing brace.
func scanObjectRest(w []byte) (int, int, error) {
	i, nl := skipSpace(w, 0)
	for {
		if i >= len(w) {
			return 0, 0, errShort
		}
		switch w[i] {
		case '}':
			return i + 1, nl, nil
		case ',':
		default:
			return 0, 0, badChar(w, i, "after object key:value pair")
		}
		var k int
		i, k = skipSpace(w, i+1)
		nl += k
		if i >= len(w) {
			return 0, 0, errShort
		}
		if w[i] != '"' {
			return 0, 0, badChar(w, i, "looking for beginning of object key string")
		}
		e, _, err := scanString(w, i)
		if err != nil {
			return 0, 0, err
		}
		i, k = skipSpace(w, e)
		nl += k
		if i >= len(w) {
			return 0, 0, errShort
		}
		if w[i] != ':' {
			return 0, 0, badChar(w, i, "after object key")
		}
		i, k = skipSpace(w, i+1)
		nl += k
		e, k, err = skipValue(w, i)
		nl += k
		if err != nil {
			return 0, 0, err
		}
		i, k = skipSpace(w, e)
		nl += k
	}
}

// errSpeculation reports that a chunk boundary chosen by the reader was not
// a record boundary; the load is redone in exact mode.
var errSpeculation = errors.New("chunk boundary inside a record")

// chunks cuts the rest of the input into blocks that end where a record
// most likely begins: before the '{' of `},{"` in an array, after a newline
// in a stream. Workers parse each chunk from its start and check that their
// last record ends exactly at the next cut, which proves that cut right
// (the first chunk starts at a known record). A wrong guess, possible only
// with nested objects or pretty-printed streams, fails the check and the
// loader starts over in exact mode. Each byte is thus scanned once, by a
// worker, instead of once by the splitter and again by a worker.
func (s *splitter) chunks(array bool) error {
	s.cur = nil // buffers now pass to chunk tasks directly
	first := true
	for {
		if s.eof {
			t := &task{buf: s.buf, base: s.base, lo: s.start, hi: s.end, last: true}
			s.buf = nil
			return s.emit(t, array, first)
		}
		w := s.buf[s.start:s.end]
		cut := 0
		if array {
			cut = lastArrayCut(w)
		} else {
			cut = bytes.LastIndexByte(w, '\n') + 1
		}
		if cut > 0 {
			at := s.start + cut
			tail := s.end - at
			nb, err := s.getBuf(tail)
			if err != nil {
				return err
			}
			copy(nb, s.buf[at:s.end])
			t := &task{buf: s.buf, base: s.base, lo: s.start, hi: at}
			s.base += int64(at)
			s.buf, s.start, s.end = nb, 0, tail
			if err := s.emit(t, array, first); err != nil {
				return err
			}
			first = false
		}
		if err := s.fillChunk(); err != nil {
			return err
		}
	}
}

func (s *splitter) emit(t *task, array, first bool) error {
	t.chunk, t.array, t.first, t.format = true, array, first, s.format
	t.done = make(chan struct{})
	if first {
		t.line0 = s.line
	}
	return s.dispatch(t)
}

// fillChunk reads more input in chunk mode, compacting or growing the
// buffer when the unread part fills it.
func (s *splitter) fillChunk() error {
	switch {
	case s.start > 0:
		copy(s.buf, s.buf[s.start:s.end])
		s.base += int64(s.start)
		s.end -= s.start
		s.start = 0
	case s.end == len(s.buf):
		if len(s.buf) >= s.maxRecord {
			// No cut in sight: no objects, or one huge record. Exact
			// splitting tells which.
			return errSpeculation
		}
		nb := make([]byte, min(2*len(s.buf), s.maxRecord))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	return s.read()
}

// lastArrayCut returns the offset of the last '{' in w that looks like the
// start of an array element, `}` `,` `{` `"` with optional whitespace; 0
// when there is none.
func lastArrayCut(w []byte) int {
	ws := func(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }
	for lim := len(w); ; {
		i := bytes.LastIndexByte(w[:lim], '{')
		if i <= 0 {
			return 0
		}
		lim = i
		j := i + 1
		for j < len(w) && ws(w[j]) {
			j++
		}
		if j >= len(w) || w[j] != '"' {
			continue
		}
		p := i - 1
		for p >= 0 && ws(w[p]) {
			p--
		}
		if p < 0 || w[p] != ',' {
			continue
		}
		for p--; p >= 0 && ws(w[p]); p-- {
		}
		if p >= 0 && w[p] == '}' {
			return i
		}
	}
}

// isLiteral reports whether b starts with the JSON literal true, false or
// null followed by the end or a delimiter, so text that merely starts with
// t, f or n ("this is not JSON") is reported as not JSON.
func isLiteral(b []byte) bool {
	for _, lit := range []string{"true", "false", "null"} {
		if len(b) >= len(lit) && string(b[:len(lit)]) == lit {
			if len(b) == len(lit) {
				return true
			}
			switch b[len(lit)] {
			case ' ', '\t', '\r', '\n', ',', ']', '}':
				return true
			}
		}
	}
	return false
}

// sniff recognizes a JSON input that is not UTF-8 text at all, so that the
// error says what the file is instead of quoting its first byte. b does not
// start with a UTF-8 BOM.
func sniff(b []byte) error {
	if err := sniffKnown(b, "trace file"); err != nil {
		return err
	}
	// Other binary data only when the input cannot be a JSON container
	// anyway: a Latin-1 name inside a record is the parser's business.
	if i, _ := skipSpace(b, 0); i < len(b) && (b[i] == '{' || b[i] == '[') {
		return nil
	}
	return sniffBinary(b, "trace file")
}

// Sniff reports, from the first bytes of a file (a few hundred are
// enough), a file that is not UTF-8 text: UTF-16 or UTF-32 text, a pcap or
// pcapng capture, a gzip or zip archive, or other binary data (a NUL byte,
// or a first line that is not UTF-8). what names the file expected, for the
// message: "a CSV file must be UTF-8". head must not start with a UTF-8 BOM
// (which the caller accepts and drops). It returns nil when nothing wrong
// was recognized.
func Sniff(head []byte, what string) error {
	if err := sniffKnown(head, what); err != nil {
		return err
	}
	return sniffBinary(head, what)
}

// sniffKnown recognizes other text encodings and file formats by their
// first bytes.
func sniffKnown(b []byte, what string) error {
	has := func(p string) bool { return bytes.HasPrefix(b, []byte(p)) }
	conv := func(enc string) error {
		return fmt.Errorf("%s text: a %s must be UTF-8 (convert it, e.g. iconv -f %s -t UTF-8)", enc, what, enc)
	}
	switch {
	case has("\xff\xfe\x00\x00"):
		return conv("UTF-32LE")
	case has("\x00\x00\xfe\xff"):
		return conv("UTF-32BE")
	case has("\xff\xfe"), len(b) >= 2 && b[0] != 0 && b[0] < 0x80 && b[1] == 0:
		return conv("UTF-16LE")
	case has("\xfe\xff"), len(b) >= 2 && b[0] == 0 && b[1] != 0 && b[1] < 0x80:
		return conv("UTF-16BE")
	case has("\xd4\xc3\xb2\xa1"), has("\xa1\xb2\xc3\xd4"), has("\x4d\x3c\xb2\xa1"), has("\xa1\xb2\x3c\x4d"):
		return fmt.Errorf("looks like a pcap capture, not a %s", what)
	case has("\x0a\x0d\x0d\x0a") && len(b) >= 12 &&
		(string(b[8:12]) == "\x1a\x2b\x3c\x4d" || string(b[8:12]) == "\x4d\x3c\x2b\x1a"):
		return fmt.Errorf("looks like a pcapng capture, not a %s", what)
	case has("\x1f\x8b"):
		return fmt.Errorf("gzip-compressed: decompress the %s first (gunzip)", what)
	case has("PK\x03\x04"):
		return fmt.Errorf("a zip archive: extract the %s first (unzip)", what)
	}
	return nil
}

// sniffBinary reports binary data: a NUL byte in the first 512 bytes, or a
// first line that is not UTF-8 (later lines may hold a stray Latin-1 name).
func sniffBinary(b []byte, what string) error {
	head := b[:min(len(b), 512)]
	if bytes.IndexByte(head, 0) >= 0 {
		return fmt.Errorf("binary data, not a %s (expected UTF-8 text)", what)
	}
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	for k := len(head) - 1; k >= 0 && k >= len(head)-utf8.UTFMax; k-- {
		if utf8.RuneStart(head[k]) {
			if !utf8.FullRune(head[k:]) {
				head = head[:k] // a character cut by the 512-byte limit
			}
			break
		}
	}
	if !utf8.Valid(head) {
		return fmt.Errorf("binary data, not a %s (expected UTF-8 text)", what)
	}
	return nil
}
