package correlate

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/trace"
)

// CSVOptions configure ReadCSV.
type CSVOptions struct {
	// Location is the zone of absolute times written without one
	// (Wireshark's "Date and Time of Day" column is local time); nil
	// means UTC.
	Location *time.Location
	// Headers are the correlation headers (Options.Headers order); a
	// column is theirs when its title contains the header name. The
	// Lua fields genesys.call_id and genesys.conversation_id count too.
	Headers []string
}

// CSVReport says what ReadCSV found.
type CSVReport struct {
	Rows     int    // data rows read
	SIP      int    // rows that are SIP messages
	Skipped  int    // rows with a usable time but no SIP identity (CSeq, method or status)
	TimeKind string // "absolute", "epoch" or "relative"
	Columns  map[string]string
	// BadTimes counts the rows skipped for their time: one that does not
	// parse, lies outside what a time can be here (absolute and epoch
	// times after 1970-01-01 and before 2262-04-12), or is of another kind
	// than the first row's (a relative time among absolute ones).
	// FirstBadTime says which was the first and why:
	// `line 3: Time column: "1700-01-01 00:00:00" is out of range (…)`.
	BadTimes     int
	FirstBadTime string
}

// csvColumns maps what ReadCSV needs to column indexes.
type csvColumns struct {
	frame, time, callID, cseq, cseqNum, cseqMethod, method, status, branch, src, dst, sport, dport, info int
	timeName                                                                                             string
	headers                                                                                              []int
}

// ReadCSV reads a packet list exported as CSV — by Wireshark (File ▸ Export
// Packet Dissections ▸ As CSV, quoted columns) or by
// `tshark -T fields -E separator=, -E header=y` — and returns one WireMsg
// per SIP message row. Columns are found by their titles: a column for
// X-Genesys-Call-ID (any title containing it, or genesys.call_id), the
// time, and the SIP identity (sip.Call-ID, sip.CSeq, sip.Method,
// sip.Status-Code, sip.Via.branch, or Wireshark's Info column).
func ReadCSV(r io.Reader, name string, opt CSVOptions) ([]WireMsg, CSVReport, error) {
	rep := CSVReport{Columns: map[string]string{}}
	if len(opt.Headers) == 0 {
		opt.Headers = DefaultHeaders()
	}
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	br := bufio.NewReader(r)
	// A UTF-8 BOM (Excel, Windows tools) is dropped before the CSV reader
	// sees it, so a quoted first title still reads as one.
	if b, _ := br.Peek(len(utf8BOM)); string(b) == utf8BOM {
		br.Discard(len(utf8BOM))
	} else if err := trace.Sniff(peekHead(br), "CSV file"); err != nil {
		return nil, rep, fmt.Errorf("%s: %w", name, err)
	}
	if b, err := br.Peek(1); len(b) == 0 {
		if err != nil && err != io.EOF {
			return nil, rep, fmt.Errorf("%s: %w", name, err)
		}
		return nil, rep, fmt.Errorf("%s: empty CSV file", name)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == nil && len(head) == 1 && strings.TrimSpace(head[0]) == "" {
		err = io.EOF
	}
	if err == io.EOF {
		return nil, rep, fmt.Errorf("%s: only whitespace, no CSV header", name)
	}
	if err != nil {
		return nil, rep, fmt.Errorf("%s: not CSV: %w", name, err)
	}
	head = append([]string(nil), head...) // ReuseRecord: the next Read overwrites it
	cols := findColumns(head, opt.Headers, rep.Columns)
	if err := cols.missing(head); err != nil {
		return nil, rep, fmt.Errorf("%s: %w", name, err)
	}
	var out []WireMsg
	line := 1
	for {
		rec, err := cr.Read()
		line++
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return out, rep, fmt.Errorf("%s: line %d: %v", name, pe.Line, pe.Err)
			}
			return out, rep, fmt.Errorf("%s: line %d: %w", name, line, err)
		}
		rep.Rows++
		get := func(i int) string {
			if i < 0 || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		ts, kind, err := parseCSVTime(get(cols.time), cols.timeName, opt.Location)
		if err == nil && rep.TimeKind != "" && kind != rep.TimeKind {
			err = fmt.Errorf("%q is a %s time among %s ones", get(cols.time), kind, rep.TimeKind)
		}
		if err != nil {
			// One bad row does not spoil the others; the count and the
			// first one are reported.
			if rep.BadTimes == 0 {
				rep.FirstBadTime = fmt.Sprintf("line %d: %s column: %v", line, strings.TrimSpace(head[cols.time]), err)
			}
			rep.BadTimes++
			continue
		}
		if rep.TimeKind == "" {
			rep.TimeKind = kind
		}
		frame := uint64(rep.Rows)
		if f, err := strconv.ParseUint(get(cols.frame), 10, 64); err == nil {
			frame = f
		}
		n := expandRow(&out, rec, cols, ts, frame, len(opt.Headers))
		if n == 0 {
			rep.Skipped++
		}
		rep.SIP += n
	}
	if rep.SIP == 0 {
		why := "rows need a CSeq and a method or status"
		if rep.BadTimes > 0 {
			why = fmt.Sprintf("%d rows without a usable time; first: %s", rep.BadTimes, rep.FirstBadTime)
		}
		return nil, rep, fmt.Errorf("%s: no SIP messages among %d rows (%s)", name, rep.Rows, why)
	}
	return out, rep, nil
}

const utf8BOM = "\ufeff"

// peekHead returns the first bytes of br without consuming them, as many
// as Sniff needs.
func peekHead(br *bufio.Reader) []byte {
	b, _ := br.Peek(512)
	return b
}

// missing checks that the columns a correlation needs are there. The error
// lists every requirement not met, the titles that meet it, and the titles
// found, so one new export fixes it (how to export is the CLI's to say).
func (c *csvColumns) missing(head []string) error {
	var need []string
	if c.time < 0 {
		need = append(need, "a time (Time, frame.time, frame.time_epoch, frame.time_relative or frame.time_utc)")
	}
	if c.callID < 0 && !anyCol(c.headers) {
		need = append(need, "a call identity (a column titled with a correlation header such as X-Genesys-Call-ID, genesys.call_id, genesys.conversation_id, or sip.Call-ID)")
	}
	if c.cseq < 0 && (c.cseqNum < 0 || c.cseqMethod < 0) {
		need = append(need, "the CSeq (sip.CSeq, or sip.CSeq.seq and sip.CSeq.method)")
	}
	if c.method < 0 && c.status < 0 && c.info < 0 {
		need = append(need, "the method and status (sip.Method and sip.Status-Code, or Wireshark's Info column)")
	}
	if len(need) == 0 {
		return nil
	}
	titles := make([]string, len(head))
	for i, h := range head {
		titles[i] = strconv.Quote(h)
	}
	return fmt.Errorf("missing columns: %s; found %s", strings.Join(need, "; "), strings.Join(titles, ", "))
}

func anyCol(cs []int) bool {
	for _, c := range cs {
		if c >= 0 {
			return true
		}
	}
	return false
}

// occurrences splits tshark's and Wireshark's comma-joined field values (a
// frame carrying two SIP messages exports "100,180"). The identity fields
// never contain commas themselves.
func occurrences(rec []string, i int) []string {
	if i < 0 || i >= len(rec) {
		return nil
	}
	v := strings.TrimSpace(rec[i])
	if v == "" {
		return nil
	}
	parts := strings.Split(v, ",")
	for j := range parts {
		parts[j] = strings.TrimSpace(parts[j])
	}
	return parts
}

// expandRow appends one WireMsg per SIP message of a CSV row, pairing the
// occurrences of each field in order. When a frame holds both requests and
// responses the export does not say which CSeq belongs to which; requests
// are then assumed to come first. It returns how many messages it added.
func expandRow(out *[]WireMsg, rec []string, cols csvColumns, ts time.Time, frame uint64, nHeaders int) int {
	cseqs := occurrences(rec, cols.cseq)
	nums, methodsOfCSeq := occurrences(rec, cols.cseqNum), occurrences(rec, cols.cseqMethod)
	n := max(len(cseqs), len(nums))
	if n == 0 {
		return 0
	}
	methods, statuses := occurrences(rec, cols.method), occurrences(rec, cols.status)
	if len(methods) == 0 && len(statuses) == 0 {
		if info := occurrences(rec, cols.info); len(info) > 0 {
			var w WireMsg
			parseInfo(&w, strings.TrimSpace(rec[cols.info]))
			if w.Status != 0 {
				statuses = []string{strconv.Itoa(w.Status)}
			} else if len(w.Method) > 0 {
				methods = []string{string(w.Method)}
			}
		}
	}
	pick := func(vs []string, i int) string {
		switch {
		case len(vs) == n:
			return vs[i]
		case len(vs) > 0 && i < len(vs):
			return vs[i]
		case len(vs) > 0:
			return vs[0]
		}
		return ""
	}
	callIDs, branches := occurrences(rec, cols.callID), occurrences(rec, cols.branch)
	src := endpoint(pick(occurrences(rec, cols.src), 0), pick(occurrences(rec, cols.sport), 0))
	dst := endpoint(pick(occurrences(rec, cols.dst), 0), pick(occurrences(rec, cols.dport), 0))
	added := 0
	for i := 0; i < n; i++ {
		w := WireMsg{Frame: frame, Index: i, Time: ts, Src: src, Dst: dst}
		if !parseCSeq(&w, pick(cseqs, i), pick(nums, i), pick(methodsOfCSeq, i)) {
			continue
		}
		switch {
		case i < len(methods):
			w.Method = []byte(methods[i])
		case i-len(methods) < len(statuses):
			w.Status, _ = strconv.Atoi(statuses[i-len(methods)])
		}
		if len(w.Method) == 0 && w.Status == 0 {
			continue
		}
		w.CallID = []byte(pick(callIDs, i))
		w.Branch = []byte(pick(branches, i))
		w.Headers = make([][]byte, nHeaders)
		for j, c := range cols.headers {
			if v := pick(occurrences(rec, c), i); v != "" {
				w.Headers[j] = []byte(v)
			}
		}
		*out = append(*out, w)
		added++
	}
	return added
}

func findColumns(head []string, headers []string, found map[string]string) csvColumns {
	c := csvColumns{frame: -1, time: -1, callID: -1, cseq: -1, cseqNum: -1, cseqMethod: -1, method: -1,
		status: -1, branch: -1, src: -1, dst: -1, sport: -1, dport: -1, info: -1}
	c.headers = make([]int, len(headers))
	for i := range c.headers {
		c.headers[i] = -1
	}
	set := func(p *int, i int, what string) {
		if *p < 0 {
			*p = i
			found[what] = head[i]
		}
	}
	for i, h := range head {
		l := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch l {
		case "no.", "frame.number", "frame", "no":
			set(&c.frame, i, "frame")
		case "time", "frame.time", "frame.time_epoch", "frame.time_relative", "frame.time_utc", "_ws.col.time", "arrival time", "epoch time":
			if c.time < 0 {
				c.timeName = l
			}
			set(&c.time, i, "time")
		case "sip.call-id", "call-id", "call id", "callid":
			set(&c.callID, i, "call-id")
		case "sip.cseq", "cseq":
			set(&c.cseq, i, "cseq")
		case "sip.cseq.seq":
			set(&c.cseqNum, i, "cseq.seq")
		case "sip.cseq.method":
			set(&c.cseqMethod, i, "cseq.method")
		case "sip.method", "method":
			set(&c.method, i, "method")
		case "sip.status-code", "status-code", "status code", "status":
			set(&c.status, i, "status")
		case "sip.via.branch", "branch", "via branch":
			set(&c.branch, i, "branch")
		case "source", "ip.src", "ipv6.src", "src":
			set(&c.src, i, "src")
		case "destination", "ip.dst", "ipv6.dst", "dst":
			set(&c.dst, i, "dst")
		case "udp.srcport", "tcp.srcport", "source port", "src port":
			set(&c.sport, i, "src port")
		case "udp.dstport", "tcp.dstport", "destination port", "dst port":
			set(&c.dport, i, "dst port")
		case "info", "_ws.col.info":
			set(&c.info, i, "info")
		}
		for j, name := range headers {
			n := strings.ToLower(name)
			switch {
			case strings.Contains(l, n),
				n == "x-genesys-call-id" && l == "genesys.call_id",
				n == "x-inin-cnv" && l == "genesys.conversation_id":
				set(&c.headers[j], i, name)
			}
		}
	}
	return c
}

// parseCSVTime reads Wireshark's time formats: absolute with or without a
// zone (local to loc), epoch seconds, and seconds relative to the first
// packet. Relative times are placed after the Unix epoch, so pairs still
// order and the skew estimate measures when the capture started.
func parseCSVTime(s, column string, loc *time.Location) (time.Time, string, error) {
	t, kind, err := parseCSVTimeAny(s, column, loc)
	if err != nil {
		return t, kind, err
	}
	// Trace times are int64 nanoseconds after 1970 (trace.Record); a
	// capture time outside that cannot pair with one, and UnixNano would
	// wrap. Relative times only need to fit int64 nanoseconds.
	lo := csvMinTime
	if kind == "relative" {
		lo = csvMinRelative
	}
	if t.Before(lo) || t.After(csvMaxTime) {
		return time.Time{}, "", fmt.Errorf("%q is out of range (absolute and epoch times must be after 1970-01-01 and before 2262-04-12)", s)
	}
	return t, kind, nil
}

// The times a CSV row may carry; see parseCSVTime.
var (
	csvMinTime     = time.Unix(0, 1)
	csvMinRelative = time.Unix(0, math.MinInt64)
	csvMaxTime     = time.Unix(0, math.MaxInt64)
)

func parseCSVTimeAny(s, column string, loc *time.Location) (time.Time, string, error) {
	if s == "" {
		return time.Time{}, "", errors.New("empty time")
	}
	if t, ok := parseDecimalSeconds(s); ok {
		if column == "frame.time_relative" || (column != "frame.time_epoch" && t.Unix() < 1e8) {
			return t, "relative", nil
		}
		return t, "epoch", nil
	}
	// tshark's frame.time: "Nov 25, 2026 10:00:00.156179000 UTC" (zone
	// abbreviations other than UTC/GMT are ambiguous: use --tz).
	for _, suffix := range []string{" UTC", " GMT"} {
		if strings.HasSuffix(s, suffix) {
			if t, err := parseInLayouts(strings.TrimSuffix(s, suffix), time.UTC); err == nil {
				return t, "absolute", nil
			}
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), "absolute", nil
	}
	if t, err := parseInLayouts(s, loc); err == nil {
		return t.UTC(), "absolute", nil
	}
	if i := strings.LastIndexByte(s, ' '); i > 0 {
		if t, err := parseInLayouts(s[:i], loc); err == nil {
			return t.UTC(), "absolute", nil // a zone abbreviation: read in --tz
		}
	}
	return time.Time{}, "", fmt.Errorf("%q is not a time Wireshark writes (absolute date and time, epoch or relative seconds)", s)
}

// parseDecimalSeconds reads "1795600800.156179000" exactly (a float64
// would lose the microseconds) as a time after the Unix epoch.
func parseDecimalSeconds(s string) (time.Time, bool) {
	neg := strings.HasPrefix(s, "-")
	intPart, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if intPart == "" || len(intPart) > 12 || len(frac) > 12 {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	if sec >= math.MaxInt64/int64(time.Second) {
		// A Duration would wrap; past 2262 is out of range anyway.
		return time.Unix(sec, 0).UTC(), true
	}
	var ns int64
	if frac != "" {
		digits := (frac + "000000000")[:9]
		if ns, err = strconv.ParseInt(digits, 10, 64); err != nil || strings.Trim(frac, "0123456789") != "" {
			return time.Time{}, false
		}
	}
	d := time.Duration(sec)*time.Second + time.Duration(ns)
	if neg {
		d = -d
	}
	return time.Unix(0, 0).Add(d).UTC(), true
}

var csvLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05.999999999",
	"Jan _2, 2006 15:04:05.999999999",
	"Jan 2, 2006 15:04:05.999999999",
	"2006/01/02 15:04:05.999999999",
	"2006-002 15:04:05.999999999", // year and day of year
}

func parseInLayouts(s string, loc *time.Location) (time.Time, error) {
	for _, l := range csvLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("no layout")
}

// parseCSeq fills the CSeq of w from "1 INVITE" or its two parts.
func parseCSeq(w *WireMsg, both, num, method string) bool {
	if both != "" {
		n, m, ok := strings.Cut(strings.TrimSpace(both), " ")
		num, method = n, strings.TrimSpace(m)
		if !ok {
			return false
		}
	}
	v, err := strconv.ParseUint(num, 10, 32)
	if err != nil || method == "" {
		return false
	}
	w.CSeqNum, w.CSeqMethod = uint32(v), []byte(method)
	return true
}

// parseInfo reads Wireshark's Info column: "Request: INVITE sip:…" or
// "Status: 200 OK".
func parseInfo(w *WireMsg, info string) {
	switch {
	case strings.HasPrefix(info, "Request: "):
		m, _, _ := strings.Cut(strings.TrimPrefix(info, "Request: "), " ")
		w.Method = []byte(m)
	case strings.HasPrefix(info, "Status: "):
		code, _, _ := strings.Cut(strings.TrimPrefix(info, "Status: "), " ")
		w.Status, _ = strconv.Atoi(code)
	}
}

func endpoint(addr, port string) netip.AddrPort {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.AddrPort{}
	}
	p, _ := strconv.ParseUint(port, 10, 16)
	return netip.AddrPortFrom(a, uint16(p))
}
