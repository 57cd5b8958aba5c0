package genesys

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const siptracesPath = "/api/v2/telephony/siptraces"

// Query selects SIP trace records. Start and End are required; the other
// filters are optional. CallID, ToUser, FromUser and ConversationID are
// exact-match filters applied by Genesys; Destination is applied here.
type Query struct {
	Start, End     time.Time
	CallID         string // SIP Call-ID as Genesys saw it
	ToUser         string // exact SIP To user
	FromUser       string // exact SIP From user
	ConversationID string // Genesys conversation id
	// Destination is a pattern matched client-side against each record's
	// toUser and ruriUser (either may match): a trailing * matches any
	// suffix ("+1555*" is every number starting +1555), otherwise the match is
	// exact and case-sensitive; "" and "*" match everything. A * anywhere but
	// at the end is an error. Search only: a PCAP download cannot be filtered
	// this way.
	Destination string
}

// apiTime formats a time as the API expects: ISO-8601 UTC with milliseconds.
func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (q Query) validate() error {
	if q.Start.IsZero() || q.End.IsZero() {
		return fmt.Errorf("%w: dateStart and dateEnd are required", ErrBadQuery)
	}
	if !q.End.After(q.Start) {
		return fmt.Errorf("%w: dateEnd %s is not after dateStart %s", ErrBadQuery, apiTime(q.End), apiTime(q.Start))
	}
	return nil
}

func (q Query) params(start, end time.Time) url.Values {
	v := url.Values{"dateStart": {apiTime(start)}, "dateEnd": {apiTime(end)}}
	for k, s := range map[string]string{"callId": q.CallID, "toUser": q.ToUser, "fromUser": q.FromUser, "conversationId": q.ConversationID} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Pattern is a parsed destination pattern (see Query.Destination).
type Pattern struct {
	text   string
	prefix bool
}

// ParsePattern parses a destination pattern: "+1555*" (prefix), "+15551234"
// (exact), "" or "*" (everything).
func ParsePattern(s string) (Pattern, error) {
	s = strings.TrimSpace(s)
	body, star := strings.CutSuffix(s, "*")
	if strings.Contains(body, "*") {
		return Pattern{}, fmt.Errorf("%w: destination pattern %q: * is allowed only at the end (e.g. +1555*)", ErrBadQuery, s)
	}
	return Pattern{text: body, prefix: star || body == ""}, nil
}

// String returns the pattern as written.
func (p Pattern) String() string {
	if p.prefix {
		return p.text + "*"
	}
	return p.text
}

// MatchString reports whether s matches the pattern.
func (p Pattern) MatchString(s string) bool {
	if p.prefix {
		return strings.HasPrefix(s, p.text)
	}
	return s == p.text
}

// Match reports whether the record's toUser or ruriUser matches.
func (p Pattern) Match(r Record) bool {
	if p.prefix && p.text == "" {
		return true
	}
	return p.MatchString(r.ToUser) || p.MatchString(r.RuriUser)
}

// Record is one siptraces record (a Homer record). Raw is the record's JSON
// exactly as the API returned it; the other fields are parsed from it for
// filtering and de-duplication. Numbers (microTs, ports) are kept as the
// text the API sent.
type Record struct {
	Raw json.RawMessage

	Time            time.Time // from microTs, else milliTs, else date; zero if none
	MicroTs         string
	Date            string
	CallID          string
	ConversationID  string
	Method          string // request method, or status code for responses
	ReplyReason     string
	CSeq            string
	Via1Branch      string
	FromUser        string
	ToUser          string
	RuriUser        string
	SourceIP        string
	SourcePort      string
	DestinationIP   string
	DestinationPort string
}

// flexString accepts a JSON string or number (Homer sends both for
// timestamps and ports) and ignores other types.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch c := b[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case c == '-' || c >= '0' && c <= '9':
		*f = flexString(b)
	}
	return nil
}

// ParseRecord parses the identity fields of one record. raw must be a JSON
// object; it is kept, not copied.
func ParseRecord(raw json.RawMessage) (Record, error) {
	var h struct {
		Date            flexString `json:"date"`
		MilliTs         flexString `json:"milliTs"`
		MicroTs         flexString `json:"microTs"`
		Method          flexString `json:"method"`
		ReplyReason     flexString `json:"replyReason"`
		RuriUser        flexString `json:"ruriUser"`
		FromUser        flexString `json:"fromUser"`
		ToUser          flexString `json:"toUser"`
		Callid          flexString `json:"callid"`
		Via1Branch      flexString `json:"via1Branch"`
		Cseq            flexString `json:"cseq"`
		SourceIP        flexString `json:"sourceIp"`
		SourcePort      flexString `json:"sourcePort"`
		DestinationIP   flexString `json:"destinationIp"`
		DestinationPort flexString `json:"destinationPort"`
		ConversationID  flexString `json:"conversationId"`
	}
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return Record{}, fmt.Errorf("record is not a JSON object")
	}
	if err := json.Unmarshal(t, &h); err != nil {
		return Record{}, fmt.Errorf("record: %w", err)
	}
	r := Record{
		Raw: raw, MicroTs: string(h.MicroTs), Date: string(h.Date), CallID: string(h.Callid),
		ConversationID: string(h.ConversationID), Method: string(h.Method), ReplyReason: string(h.ReplyReason),
		CSeq: string(h.Cseq), Via1Branch: string(h.Via1Branch), FromUser: string(h.FromUser),
		ToUser: string(h.ToUser), RuriUser: string(h.RuriUser), SourceIP: string(h.SourceIP),
		SourcePort: string(h.SourcePort), DestinationIP: string(h.DestinationIP),
		DestinationPort: string(h.DestinationPort),
	}
	r.Time = recordTime(string(h.MicroTs), string(h.MilliTs), string(h.Date))
	return r, nil
}

// recordTime picks the most precise timestamp present.
func recordTime(micro, milli, date string) time.Time {
	const maxMicro = 1 << 53 // far beyond year 2200 in µs, and exact in float64
	if n, err := strconv.ParseInt(strings.TrimSpace(micro), 10, 64); err == nil && n > 0 && n < maxMicro {
		return time.UnixMicro(n).UTC()
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(milli), 10, 64); err == nil && n > 0 && n < maxMicro/1000 {
		return time.UnixMilli(n).UTC()
	}
	if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(date)); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// Key identifies the SIP message a record describes, for de-duplication
// across overlapping windows: microTs, callid, cseq, method, replyReason,
// via1Branch and the source and destination address and port. A record
// without any of these is identified by its compacted JSON.
func (r Record) Key() string {
	f := []string{r.MicroTs, r.CallID, r.CSeq, r.Method, r.ReplyReason, r.Via1Branch,
		r.SourceIP, r.SourcePort, r.DestinationIP, r.DestinationPort}
	if strings.Join(f, "") == "" {
		var b bytes.Buffer
		if json.Compact(&b, r.Raw) == nil {
			return "raw\x00" + b.String()
		}
		return "raw\x00" + string(r.Raw)
	}
	return strings.Join(f, "\x00")
}

// Search fetches the records matching q. A window longer than
// Config.SearchWindow is split into consecutive requests; records are
// de-duplicated by Record.Key and returned in the API's order, window by
// window. Destination is then applied.
func (c *Client) Search(ctx context.Context, q Query) ([]Record, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	pat, err := ParsePattern(q.Destination)
	if err != nil {
		return nil, err
	}
	if span := q.End.Sub(q.Start); span > c.cfg.MaxSearchSpan {
		return nil, fmt.Errorf("%w: window %s is longer than the %s limit; narrow dateStart/dateEnd",
			ErrBadQuery, span, c.cfg.MaxSearchSpan)
	}
	seen := make(map[string]struct{})
	var out []Record
	for start := q.Start; start.Before(q.End); {
		end := start.Add(c.cfg.SearchWindow)
		if end.After(q.End) {
			end = q.End
		}
		recs, err := c.searchWindow(ctx, q, start, end)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			k := r.Key()
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			if pat.Match(r) {
				out = append(out, r)
			}
		}
		start = end
	}
	return out, nil
}

// searchWindow performs one GET /api/v2/telephony/siptraces.
func (c *Client) searchWindow(ctx context.Context, q Query, start, end time.Time) ([]Record, error) {
	resp, err := c.call(ctx, request{method: http.MethodGet, path: siptracesPath,
		query: q.params(start, end), permission: PermissionView, idempotent: true})
	if err != nil {
		return nil, err
	}
	recs, skipped, err := parseSearchResponse(resp.body)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrMalformed, siptracesPath, err)
	}
	if skipped > 0 {
		c.log.Warn("genesys siptraces: skipped records that are not JSON objects", "skipped", skipped)
	}
	c.log.Debug("genesys siptraces window", "dateStart", apiTime(start), "dateEnd", apiTime(end), "records", len(recs))
	return recs, nil
}

// parseSearchResponse parses {"data":[…],"count":N}. A missing or null data
// is an empty result. Elements that are not objects are skipped and counted.
func parseSearchResponse(body []byte) ([]Record, int, error) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return nil, 0, fmt.Errorf("expected a JSON object {\"data\":[…],\"count\":N}")
	}
	var res struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(t, &res); err != nil {
		return nil, 0, fmt.Errorf("expected {\"data\":[…],\"count\":N}: %w", err)
	}
	out := make([]Record, 0, len(res.Data))
	skipped := 0
	for _, raw := range res.Data {
		r, err := ParseRecord(raw)
		if err != nil {
			skipped++
			continue
		}
		out = append(out, r)
	}
	return out, skipped, nil
}

// WriteResponse writes records in the shape of the siptraces response,
// {"data":[…],"count":N}, with each record's raw JSON unchanged, so the trace
// loaders read it like an API answer. Nothing else of the API response (such
// as its auth field) is written.
func WriteResponse(w io.Writer, records []Record) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"data":[`)
	for i, r := range records {
		if !json.Valid(r.Raw) {
			return fmt.Errorf("genesys: WriteResponse: record %d is not valid JSON", i)
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(r.Raw)
	}
	fmt.Fprintf(bw, "],\"count\":%d}\n", len(records))
	return bw.Flush()
}
