package trace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Options configures loading and indexing.
type Options struct {
	// CorrelationHeaders are the SIP headers whose values identify a call
	// across the wire and the trace. Empty means
	// DefaultCorrelationHeaders. X-Genesys-Call-ID, x-inin-cnv and Call-ID
	// have indexes of their own (Key, ConversationID, CallID); any other
	// header is read from each record's raw message and indexed by value.
	CorrelationHeaders []string
	// Workers is the number of goroutines that parse records; 0 means
	// GOMAXPROCS.
	Workers int
}

// DefaultCorrelationHeaders returns the headers correlated when
// Options.CorrelationHeaders is empty: X-Genesys-Call-ID and x-inin-cnv.
func DefaultCorrelationHeaders() []string {
	return []string{"X-Genesys-Call-ID", "x-inin-cnv"}
}

// ErrNoRecords reports an input that holds no usable record: empty data,
// or every record skipped. Test with errors.Is; the message says why.
var ErrNoRecords = errors.New("no usable records")

// Format is the container a trace input was recognized as.
type Format int

// Recognized containers.
const (
	FormatUnknown Format = iota
	FormatAPI            // siptraces API response {"data":[…],"count":N}
	FormatArray          // bare JSON array of records
	FormatNDJSON         // one record object per line
)

// String names the format the way reports do.
func (f Format) String() string {
	switch f {
	case FormatAPI:
		return "siptraces API response"
	case FormatArray:
		return "JSON array"
	case FormatNDJSON:
		return "NDJSON"
	}
	return "unknown"
}

// Position locates a record in an input: its index among the top-level
// records (array elements or NDJSON objects, from 0) and the line it starts
// on (from 1).
type Position struct {
	Record, Line int
}

// String reads "record 3, line 5".
func (p Position) String() string {
	return "record " + strconv.Itoa(p.Record) + ", line " + strconv.Itoa(p.Line)
}

// Skip counts the records skipped for one reason.
type Skip struct {
	// Reason is "no time", "bad time" (a time field that does not parse),
	// "time out of range" (a well-formed time at or before 1970-01-01 or
	// after 2262-04-11, which int64 nanoseconds cannot hold), "no key"
	// (none of X-Genesys-Call-ID, conversation id, SIP Call-ID or another
	// correlation header), "not an object" or "not JSON" (an NDJSON line
	// that does not parse; loading resumes at the next line that starts
	// with '{').
	Reason string
	Count  int
	// First is where the first record skipped for this reason starts.
	First Position
	// Detail says what was wrong with that first record, when there is
	// more to say than Reason (the syntax error of a "not JSON" line).
	Detail string
}

// skipName names a skip reason as reports show it.
func skipName(reason int) string {
	switch reason {
	case skipNoTime:
		return "no time"
	case skipBadTime:
		return "bad time"
	case skipTimeRange:
		return "time out of range"
	case skipNotJSON:
		return "not JSON"
	case skipNoKey:
		return "no key"
	}
	return "not an object"
}

// Report describes what a load read.
type Report struct {
	Name   string
	Format Format
	// Export is true when records carried the correlation key as a field
	// (call-id, callId, x-genesys-call-id): the trace JSON export.
	Export bool
	// Records counts the top-level records read, usable or not.
	Records int
	// Added counts records added to the index; Duplicates those already
	// in it (the same record fetched or listed twice).
	Added, Duplicates int
	// Skipped lists, per reason, the records that could not be used.
	Skipped []Skip
}

// SkippedTotal returns the number of skipped records.
func (r *Report) SkippedTotal() int {
	n := 0
	for _, s := range r.Skipped {
		n += s.Count
	}
	return n
}

// String summarizes the report on one line.
func (r *Report) String() string {
	s := fmt.Sprintf("%s: %s, %d records, %d added, %d duplicates", r.Name, r.Format, r.Records, r.Added, r.Duplicates)
	if r.Export {
		s += ", trace export"
	}
	if r.SkippedTotal() > 0 {
		s += ", " + r.skipSummary()
	}
	return s
}

// skipSummary reads "1200 skipped: no time; first: record 0, line 1", with
// what was wrong with that first record when the reason alone does not say
// ("…; first: record 2, line 3: invalid character 'x' looking for
// beginning of value").
func (r *Report) skipSummary() string {
	var parts []string
	first := Skip{First: Position{Record: -1}}
	for _, s := range r.Skipped {
		parts = append(parts, strconv.Itoa(s.Count)+" "+s.Reason)
		if first.First.Record < 0 || s.First.Record < first.First.Record {
			first = s
		}
	}
	var why string
	if len(r.Skipped) == 1 {
		why = r.Skipped[0].Reason
	} else {
		why = strings.Join(parts, ", ")
	}
	out := fmt.Sprintf("%d skipped: %s; first: %s", r.SkippedTotal(), why, first.First)
	if first.Detail != "" {
		out += ": " + first.Detail
	}
	return out
}

// Load reads trace records from r into a new index. name identifies the
// input in errors and the report. Messages are kept in memory; use LoadFile
// for large files.
func Load(ctx context.Context, r io.Reader, name string, opt Options) (*Index, Report, error) {
	ix := NewIndex(opt)
	rep, err := ix.load(ctx, r, name, nil, false, false)
	if err != nil {
		return nil, rep.Report, err
	}
	return ix, rep.Report, nil
}

// LoadFile reads the trace file at path into a new index. Raw SIP messages
// stay in the file and are read back on demand (Record.Message), so the
// file stays open until Index.Close.
func LoadFile(ctx context.Context, path string, opt Options) (*Index, Report, error) {
	ix := NewIndex(opt)
	rep, err := ix.loadFile(ctx, path, false)
	if err != nil {
		ix.Close()
		return nil, rep.Report, err
	}
	return ix, rep.Report, nil
}

// Load adds the records read from r. It is all or nothing: on error the
// index is unchanged. Records already present are counted as duplicates.
func (ix *Index) Load(ctx context.Context, r io.Reader, name string) (Report, error) {
	rep, err := ix.load(ctx, r, name, nil, true, false)
	return rep.Report, err
}

// LoadFile adds the records of the trace file at path, like Load, keeping
// their messages on disk until Close.
func (ix *Index) LoadFile(ctx context.Context, path string) (Report, error) {
	rep, err := ix.loadFile(ctx, path, true)
	return rep.Report, err
}

func (ix *Index) loadFile(ctx context.Context, path string, staged bool) (loadReport, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return loadReport{Report: Report{Name: path}}, fmt.Errorf("%s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return loadReport{Report: Report{Name: path}}, fmt.Errorf("%s: %w", path, err)
	}
	if st.IsDir() {
		f.Close()
		return loadReport{Report: Report{Name: path}}, fmt.Errorf("%s: is a directory, not a trace file", path)
	}
	var mf *msgFile
	if st.Mode().IsRegular() { // pipes cannot be read back
		mf = &msgFile{name: path, f: f}
	}
	rep, err := ix.load(ctx, f, path, mf, staged, mf != nil)
	if errors.Is(err, errSpeculation) {
		// A chunk cut fell inside a record: start over in exact mode.
		if !staged {
			ix.reset()
		}
		if _, err = f.Seek(0, io.SeekStart); err == nil {
			rep, err = ix.load(ctx, f, path, mf, staged, false)
			rep.exact = true
		}
	}
	if err != nil || mf == nil || !rep.usedFile {
		f.Close()
	} else {
		ix.mu.Lock()
		ix.files = append(ix.files, mf)
		ix.mu.Unlock()
	}
	return rep, err
}

// Input sizes. A block is what one worker parses at a time; a single
// record may be up to maxRecord.
const (
	blockSize = 4 << 20
	maxRecord = 64 << 20
)

// config is what a builder needs to know about a load.
type config struct {
	extra []string // canonical names of non-built-in correlation headers
	file  bool
	mf    *msgFile
	// recycle returns record slices the index has copied, for reuse.
	recycle chan []crec
}

// takeRecs returns an empty record slice, recycled when one is available,
// else sized for about n records.
func (c *config) takeRecs(n int) []crec {
	select {
	case r := <-c.recycle:
		return r[:0]
	default:
		return make([]crec, 0, min(n, 4096))
	}
}

func (c *config) giveRecs(r []crec) {
	select {
	case c.recycle <- r[:0]:
	default:
	}
}

// result is a parsed block. Positions in a chunk's result are relative to
// the chunk (lines from 0, records from 0); the collector makes them
// absolute.
type result struct {
	b         *batch
	recs      []crec
	extra     []ref
	nrec      int  // top-level records read
	nl        int  // newlines in the chunk
	crossed   bool // the chunk's last record ran past its end
	keyFields int
	fileRecs  int
	skips     [nSkip]Skip
	err       error
}

func (res *result) skip(reason int, p Position) { res.skipDetail(reason, p, "") }

func (res *result) skipDetail(reason int, p Position, detail string) {
	s := &res.skips[reason]
	if s.Count == 0 {
		s.First, s.Detail = p, detail
	}
	s.Count++
}

// loadReport is a Report plus what only the loader needs.
type loadReport struct {
	Report
	usedFile bool
	exact    bool // chunked loading failed over to exact splitting
}

func (ix *Index) load(ctx context.Context, r io.Reader, name string, mf *msgFile, staged, chunked bool) (loadReport, error) {
	rep := loadReport{Report: Report{Name: name}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := ix.workers
	cfg := &config{extra: ix.extra, file: mf != nil, mf: mf, recycle: make(chan []crec, workers+4)}

	// Buffers circulate through a fixed pool: memory stays bounded however
	// large the input.
	pool := make(chan []byte, workers+3)
	for range cap(pool) {
		pool <- nil
	}
	// Small inputs (API responses) get a buffer their size, not a block.
	size := blockSize
	if n := sizeOf(r); n >= 0 && n < blockSize {
		size = int(n) + 1 // +1: the read that finds the end needs room
	}
	getBuf := func(tail int) ([]byte, error) {
		select {
		case b := <-pool:
			if need := max(size, 2*tail); len(b) < need {
				b = make([]byte, need)
			}
			return b, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	putBuf := func(b []byte) {
		if len(b) != blockSize {
			b = nil // let outsized buffers go
		}
		pool <- b
	}

	work := make(chan *task, workers)
	order := make(chan *task, workers+2)
	sp := &splitter{r: r, maxRecord: maxRecord, getBuf: getBuf, chunked: chunked}
	sp.dispatch = func(t *task) error {
		select {
		case order <- t:
		case <-ctx.Done():
			putBuf(t.buf)
			return ctx.Err()
		}
		work <- t // a worker always drains work
		return nil
	}
	var splitErr error
	go func() {
		defer close(work)
		defer close(order)
		splitErr = sp.run()
		switch {
		case sp.cur != nil && len(sp.cur.spans) > 0 && splitErr == nil:
			splitErr = sp.dispatch(sp.cur)
		case sp.cur != nil:
			putBuf(sp.cur.buf)
		case sp.buf != nil:
			putBuf(sp.buf)
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := newBuilder(cfg)
			for t := range work {
				b.parseTask(t)
				putBuf(t.buf)
				t.buf = nil
				close(t.done)
			}
		}()
	}

	var err error
	var staging []*result
	from, firstID := 0, uint32(0)
	if !staged {
		ix.mu.Lock()
		from, firstID = len(ix.byTime), uint32(ix.n)
	}
	line, recs := 0, 0 // where the next chunk starts
	for t := range order {
		<-t.done
		if err != nil {
			continue
		}
		res := &t.res
		if t.chunk {
			if t.first {
				line = t.line0
			}
			res.absolute(line, recs)
			line += res.nl
			recs += res.nrec
		}
		if res.err != nil {
			err = res.err
			cancel()
			continue
		}
		rep.Records += res.nrec
		if res.fileRecs > 0 {
			rep.usedFile = true
		}
		if res.keyFields > 0 {
			rep.Export = true
		}
		for k := range res.skips {
			rep.addSkip(k, res.skips[k])
		}
		if staged {
			staging = append(staging, res)
		} else {
			ix.insert(res, &rep.Report)
			cfg.giveRecs(res.recs)
		}
		if res.crossed {
			err = errSpeculation
			cancel()
		}
	}
	wg.Wait()
	if err == nil && splitErr != nil {
		err = splitErr
	}
	if err == nil {
		if e := ctx.Err(); e != nil {
			err = e
		}
	}
	rep.Format = sp.format
	if err != nil {
		if !staged {
			ix.mu.Unlock()
		}
		return rep, fmt.Errorf("%s: %w", name, err)
	}
	if staged {
		ix.mu.Lock()
		from, firstID = len(ix.byTime), uint32(ix.n)
		for _, res := range staging {
			ix.insert(res, &rep.Report)
		}
	}
	ix.settle(from, firstID, &rep.Report)
	ix.mu.Unlock()

	if rep.Added+rep.Duplicates == 0 {
		if rep.SkippedTotal() > 0 {
			return rep, fmt.Errorf("%s: %w (%s)", name, ErrNoRecords, rep.skipSummary())
		}
		return rep, fmt.Errorf("%s: %w (no records in the %s)", name, ErrNoRecords, rep.Format)
	}
	return rep, nil
}

// sizeOf returns the number of bytes left in r when r can tell, else -1.
func sizeOf(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }: // bytes.Reader, strings.Reader, bytes.Buffer
		return int64(v.Len())
	case *os.File:
		st, err := v.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return -1
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return st.Size() - off
	}
	return -1
}

// absolute converts a chunk's relative positions, given the line and
// record index the chunk starts at.
func (res *result) absolute(line, rec int) {
	for i := range res.skips {
		if res.skips[i].Count > 0 {
			res.skips[i].First.Line += line
			res.skips[i].First.Record += rec
		}
	}
	if pe, ok := res.err.(*posError); ok {
		pe.line += line
		if pe.rec >= 0 {
			pe.rec += rec
		}
	}
}

func (rep *loadReport) addSkip(reason int, s Skip) {
	if s.Count == 0 {
		return
	}
	for i := range rep.Skipped {
		if rep.Skipped[i].Reason == skipName(reason) {
			rep.Skipped[i].Count += s.Count
			return
		}
	}
	s.Reason = skipName(reason)
	rep.Skipped = append(rep.Skipped, s)
}

// parseTask builds the records of one block.
func (b *builder) parseTask(t *task) {
	b.reset()
	res := &t.res
	if t.chunk {
		res.recs = b.cfg.takeRecs((t.hi-t.lo)/1024 + 1)
	} else {
		res.recs = b.cfg.takeRecs(len(t.spans))
	}
	if t.chunk {
		b.parseChunk(t)
	} else {
		b.parseSpans(t)
	}
	b.finish(res)
}

// parseSpans builds the records the splitter located.
func (b *builder) parseSpans(t *task) {
	res := &t.res
	res.nrec = len(t.spans)
	for _, sp := range t.spans {
		pos := Position{Record: sp.rec, Line: sp.line}
		if sp.notObject {
			res.skip(skipNotObject, pos)
			continue
		}
		if sp.bad > 0 {
			res.skipDetail(int(sp.bad)-1, pos, sp.detail)
			continue
		}
		w := t.buf[sp.start:sp.end]
		var c crec
		reason, end, _, err := b.build(w, t.base+int64(sp.start), &c)
		if err == nil && end != len(w) {
			err = badChar(w, end, "after object")
		}
		if err != nil && sp.stream {
			// Balanced but not JSON: in a stream, the next record is
			// still readable.
			if se, ok := err.(*syntaxError); ok {
				res.skipDetail(skipNotJSON, pos, syntaxDetail(se))
				continue
			}
		}
		if err != nil {
			res.err = recordError(w, pos, err)
			return
		}
		b.keep(res, reason, &c, pos)
	}
}

// keep adds a built record to the result, or counts it as skipped.
func (b *builder) keep(res *result, reason int, c *crec, pos Position) {
	if b.fs[fKey].kind == kStr {
		res.keyFields++
	}
	if reason >= 0 {
		detail := ""
		if (reason == skipBadTime || reason == skipTimeRange) && res.skips[reason].Count == 0 {
			detail = b.timeDetail(reason)
		}
		res.skipDetail(reason, pos, detail)
		return
	}
	if c.ext != nil {
		res.fileRecs++
	}
	res.recs = append(res.recs, *c)
}

// timeDetail describes the time that made the last record built skipped.
func (b *builder) timeDetail(reason int) string {
	var name string
	switch b.badTimeField {
	case fMicroTs:
		name = "microTs"
	case fMilliTs:
		name = "milliTs"
	case fDate:
		name = "date"
	case fTimestamp:
		name = "timestamp"
	default:
		name = "time"
	}
	v := string(b.badTime[:min(len(b.badTime), 64)])
	if reason == skipTimeRange {
		return name + " " + strconv.Quote(v) + " is out of range (times must be " + timeRangeText + ")"
	}
	return name + " " + strconv.Quote(v) + " is not RFC 3339 with a zone or an epoch number"
}

// recordError positions a syntax error found in the record w at pos.
func recordError(w []byte, pos Position, err error) error {
	se, ok := err.(*syntaxError)
	if !ok {
		return err
	}
	if se == errShort {
		return &posError{line: pos.Line + bytes.Count(w, []byte{'\n'}), rec: pos.Record, msg: "not JSON: unexpected end of input (truncated?)"}
	}
	line := pos.Line + bytes.Count(w[:min(max(se.Off, 0), len(w))], []byte{'\n'})
	return &posError{line: line, rec: pos.Record, msg: "not JSON: " + se.Msg}
}

// parseChunk parses the records of a chunk (see splitter.chunks). Running
// past the chunk's end sets crossed unless this is the last chunk, where it
// means the input is truncated.
func (b *builder) parseChunk(t *task) {
	res := &t.res
	w := t.buf[t.lo:t.hi]
	base := t.base + int64(t.lo)
	pos, nl := 0, 0
	defer func() { res.nl = nl }()
	for {
		var k int
		pos, k = skipSpace(w, pos)
		nl += k
		if pos >= len(w) {
			if t.last && t.array {
				res.err = &posError{line: nl, rec: -1, msg: "not JSON: unexpected end of input: the array is not closed (truncated?)"}
			}
			return
		}
		c := w[pos]
		if t.array && c == ']' {
			if !t.first || res.nrec > 0 {
				res.err = &posError{line: nl, rec: -1, msg: "not JSON: " + badChar(w, pos, "looking for beginning of value").Msg}
				return
			}
			b.chunkEnd(t, w, pos+1, nl)
			return
		}
		recPos := Position{Record: res.nrec, Line: nl}
		switch {
		case c == '{':
			var cr crec
			reason, end, n, err := b.build(w[pos:], base+int64(pos), &cr)
			if err != nil {
				if err == errShort && !t.last {
					res.crossed = true
					return
				}
				if !t.array {
					end, n, ok := badStreamRecord(t, w, pos, recPos, err)
					if !ok {
						return
					}
					pos += end
					nl += n
					res.nrec++
					continue
				}
				res.err = recordError(w[pos:], recPos, err)
				return
			}
			b.keep(res, reason, &cr, recPos)
			pos += end
			nl += n
		case t.array:
			end, n, err := skipValue(w, pos)
			if err != nil {
				if err == errShort && !t.last {
					res.crossed = true
				} else {
					res.err = recordError(w[pos:], recPos, err)
				}
				return
			}
			res.skip(skipNotObject, recPos)
			pos = end
			nl += n
		default:
			end, n, ok := badStreamRecord(t, w, pos, recPos, nil)
			if !ok {
				return
			}
			pos += end
			nl += n
			res.nrec++
			continue
		}
		res.nrec++
		if !t.array {
			continue
		}
		pos, k = skipSpace(w, pos)
		nl += k
		if pos >= len(w) {
			if t.last {
				res.err = &posError{line: nl, rec: -1, msg: "not JSON: unexpected end of input: the array is not closed (truncated?)"}
			} else {
				res.crossed = true // a true cut follows a comma
			}
			return
		}
		switch w[pos] {
		case ',':
			pos++
			continue
		case ']':
			b.chunkEnd(t, w, pos+1, nl)
			return
		}
		res.err = &posError{line: nl, rec: -1, msg: "not JSON: " + badChar(w, pos, "after array element").Msg}
		return
	}
}

// chunkEnd checks what follows the records array: the rest of the API
// envelope, then nothing.
func (b *builder) chunkEnd(t *task, w []byte, pos, nl int) {
	res := &t.res
	if !t.last {
		res.crossed = true // the reader cut after the array's end: guess wrong
		return
	}
	if t.format == FormatAPI {
		n, k, err := scanObjectRest(w[pos:])
		if err != nil {
			if err == errShort {
				res.err = &posError{line: nl + bytes.Count(w[pos:], []byte{'\n'}), rec: -1, msg: "not JSON: unexpected end of input (truncated?)"}
			} else {
				res.err = recordError(w[pos:], Position{Record: -1, Line: nl}, err)
			}
			return
		}
		pos += n
		nl += k
	}
	pos, k := skipSpace(w, pos)
	nl += k
	if pos < len(w) {
		res.err = &posError{line: nl, rec: -1, msg: "not JSON: " + badChar(w, pos, "after top-level value").Msg}
	}
	res.nl = nl
}

// badStreamRecord skips the bad record at w[pos] of a stream chunk exactly
// as the splitter does in exact mode (stream, skipBad), so both modes count
// the same records: a balanced object that does not parse ends at its
// closing brace; anything else runs to the next line that starts with '{'.
// berr is the parser's error for an object. It returns the length skipped
// and its newlines; false when the answer lies past the chunk (the load then
// starts over in exact mode) or on an error that is not the input's syntax.
func badStreamRecord(t *task, w []byte, pos int, p Position, berr error) (n, nl int, ok bool) {
	res := &t.res
	rest := w[pos:]
	reason, detail := skipNotJSON, ""
	if rest[0] == '{' {
		end, k, err := skipContainer(rest, 0)
		se, _ := err.(*syntaxError)
		switch {
		case err == nil:
			// Balanced: the splitter's span, which the parser rejects.
			bse, ok := berr.(*syntaxError)
			if !ok {
				res.err = recordError(rest, p, berr)
				return 0, 0, false
			}
			res.skipDetail(skipNotJSON, p, syntaxDetail(bse))
			return end, k, true
		case se == errShort && !t.last:
			res.crossed = true
			return 0, 0, false
		case se != nil:
			detail = syntaxDetail(se)
		default:
			res.err = err
			return 0, 0, false
		}
	} else {
		reason, detail = badStart(rest)
	}
	end := resync(rest)
	if end < 0 {
		if !t.last {
			res.crossed = true // the next line may not start a record
			return 0, 0, false
		}
		end = len(rest)
	}
	res.skipDetail(reason, p, detail)
	return end, bytes.Count(rest[:end], []byte{'\n'}), true
}

// finish moves the builder's arena into a batch owned by res.
func (b *builder) finish(res *result) {
	bt := &batch{arena: string(b.arena)}
	res.b = bt
	res.extra = slices.Clone(b.ext)
	for i := range res.recs {
		res.recs[i].b = bt
	}
}

// extraHeaders splits the correlation headers into the built-in ones
// and the extra ones read from messages.
func extraHeaders(hs []string) []string {
	if len(hs) == 0 {
		hs = DefaultCorrelationHeaders()
	}
	var extra []string
	for _, h := range hs {
		c := CanonicalHeader(h)
		switch c {
		case "", "x-genesys-call-id", "x-inin-cnv", "call-id":
			continue
		}
		if !slices.Contains(extra, c) {
			extra = append(extra, c)
		}
	}
	return extra
}

func defaultWorkers(n int) int {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return min(n, 64)
}
