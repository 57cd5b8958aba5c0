package genesys

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/genesys/fakegenesys"
)

func TestPattern(t *testing.T) {
	tests := []struct {
		pat     string
		in      string
		want    bool
		wantErr bool
	}{
		{"+1555*", "+15551234", true, false},
		{"+1555*", "+14441234", false, false},
		{"+1555*", "+1555", true, false},
		{"+15551234", "+15551234", true, false},
		{"+15551234", "+155512345", false, false},
		{"", "anything", true, false},
		{"*", "anything", true, false},
		{" +1555* ", "+15559", true, false},
		{"+1*55*", "", false, true},
		{"*1555", "", false, true},
	}
	for _, tt := range tests {
		p, err := ParsePattern(tt.pat)
		if (err != nil) != tt.wantErr {
			t.Fatalf("ParsePattern(%q) err = %v", tt.pat, err)
		}
		if err != nil {
			if !errors.Is(err, ErrBadQuery) {
				t.Fatalf("err %v is not ErrBadQuery", err)
			}
			continue
		}
		if got := p.Match(Record{ToUser: tt.in}); got != tt.want {
			t.Errorf("%q on toUser %q = %v", tt.pat, tt.in, got)
		}
		if got := p.Match(Record{RuriUser: tt.in, ToUser: "x"}); got != tt.want && tt.pat != "" && tt.pat != "*" {
			t.Errorf("%q on ruriUser %q = %v", tt.pat, tt.in, got)
		}
	}
}

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		wantTime time.Time
		wantKey  string
		wantErr  bool
	}{
		{"strings", `{"microTs":"1764064800123456","callid":"c","cseq":"1 INVITE","method":"INVITE","sourcePort":"5060"}`,
			time.UnixMicro(1764064800123456).UTC(), "1764064800123456\x00c\x001 INVITE\x00INVITE\x00\x00\x00\x005060\x00\x00", false},
		{"numbers", `{"microTs":1764064800123456,"sourcePort":5060,"destinationPort":5061.0}`,
			time.UnixMicro(1764064800123456).UTC(), "1764064800123456\x00\x00\x00\x00\x00\x00\x005060\x00\x005061.0", false},
		{"milliTs", `{"milliTs":"1764064800123","callid":"c"}`, time.UnixMilli(1764064800123).UTC(), "", false},
		{"date only", `{"date":"2025-11-25T10:00:00.5Z","callid":"c"}`, time.Date(2025, 11, 25, 10, 0, 0, 5e8, time.UTC), "", false},
		{"odd types ignored", `{"microTs":true,"callid":{"a":1},"cseq":[1]}`, time.Time{}, "", false},
		{"no identity", `{ "x" : 1 }`, time.Time{}, "raw\x00{\"x\":1}", false},
		{"array", `[1]`, time.Time{}, "", true},
		{"garbage", `{"microTs":`, time.Time{}, "", true},
		{"huge microTs", `{"microTs":"99999999999999999999"}`, time.Time{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRecord(json.RawMessage(tt.raw))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			if !r.Time.Equal(tt.wantTime) {
				t.Errorf("Time = %v, want %v", r.Time, tt.wantTime)
			}
			if tt.wantKey != "" && r.Key() != tt.wantKey {
				t.Errorf("Key = %q, want %q", r.Key(), tt.wantKey)
			}
			if string(r.Raw) != tt.raw {
				t.Errorf("Raw changed")
			}
		})
	}
}

func TestSearchSplitsAndDeduplicates(t *testing.T) {
	f := fakegenesys.New(fakegenesys.Options{})
	defer f.Close()
	recs := []string{
		homer(base.Add(-150*time.Minute), "c1", "1 INVITE", "INVITE", "+15551234"),
		homer(base.Add(-90*time.Minute), "c2", "1 INVITE", "INVITE", "+15559999"),
		homer(base.Add(-30*time.Minute), "c3", "1 INVITE", "INVITE", "+14440000"), // on a window boundary below
		homer(base.Add(-30*time.Minute), "c3", "1 INVITE", "INVITE", "+14440000"), // an exact duplicate the API repeats
		homer(base, "c4", "1 BYE", "BYE", "+15551234"),
	}
	for _, r := range recs {
		if err := f.AddRecord(json.RawMessage(r)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testConfig(f, nil)
	cfg.SearchWindow = time.Hour
	c := newClient(t, cfg)
	q := Query{Start: base.Add(-150 * time.Minute), End: base, CallID: ""}
	// Windows: [-150,-90] [-90,-30] [-30,0]: boundary records are seen twice.
	got, err := c.Search(ctxT(t), q)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.Count(fakegenesys.Search); n != 3 {
		t.Fatalf("requests = %d, want 3 windows", n)
	}
	if len(got) != 4 {
		t.Fatalf("records = %d, want 4 unique", len(got))
	}
	if string(got[0].Raw) != recs[0] {
		t.Fatalf("raw record changed:\n%s\n%s", got[0].Raw, recs[0])
	}
	for i, want := range []string{"c1", "c2", "c3", "c4"} {
		if got[i].CallID != want {
			t.Fatalf("record %d = %s, want %s", i, got[i].CallID, want)
		}
	}
	// Window parameters are sent as ISO-8601 UTC with milliseconds.
	first := f.Requests()[1].Query
	if first.Get("dateStart") != "2026-11-25T07:30:00.000Z" || first.Get("dateEnd") != "2026-11-25T08:30:00.000Z" {
		t.Fatalf("window = %v", first)
	}

	q.Destination = "+1555*"
	got, err = c.Search(ctxT(t), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("destination +1555*: %d records, want 3", len(got))
	}
	q.Destination = "+15551234"
	q.CallID = "c4"
	got, err = c.Search(ctxT(t), q)
	if err != nil || len(got) != 1 || got[0].CallID != "c4" {
		t.Fatalf("exact + callId: %v %v", got, err)
	}
	if f.Requests()[len(f.Requests())-1].Query.Get("callId") != "c4" {
		t.Fatal("callId not sent to the API")
	}
}

func TestSearchRejectsBadQueries(t *testing.T) {
	f := newFake(t, fakegenesys.Options{})
	c := newClient(t, testConfig(f, nil))
	for name, q := range map[string]Query{
		"no times":    {},
		"reversed":    {Start: base, End: base.Add(-time.Second)},
		"too long":    {Start: base.Add(-30 * 24 * time.Hour), End: base},
		"bad pattern": {Start: base.Add(-time.Hour), End: base, Destination: "*1*"},
	} {
		if _, err := c.Search(ctxT(t), q); !errors.Is(err, ErrBadQuery) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if f.Count(fakegenesys.Search) != 0 {
		t.Fatal("a bad query reached the API")
	}
}

func TestWriteResponseRoundTrip(t *testing.T) {
	body := `{"data":[` + homer(base, "c1", "1 INVITE", "INVITE", "+1") + `, {"x":1}, 7],"count":3,"auth":"tok"}`
	recs, skipped, err := parseSearchResponse([]byte(body))
	if err != nil || skipped != 1 || len(recs) != 2 {
		t.Fatalf("parse: %d records, %d skipped, %v", len(recs), skipped, err)
	}
	var b bytes.Buffer
	if err := WriteResponse(&b, recs); err != nil {
		t.Fatal(err)
	}
	want := `{"data":[` + homer(base, "c1", "1 INVITE", "INVITE", "+1") + `,{"x":1}],"count":2}` + "\n"
	if b.String() != want {
		t.Fatalf("got  %s\nwant %s", b.String(), want)
	}
	if strings.Contains(b.String(), "auth") {
		t.Fatal("the response's auth field was copied")
	}
	b.Reset()
	if err := WriteResponse(&b, nil); err != nil || b.String() != "{\"data\":[],\"count\":0}\n" {
		t.Fatalf("empty: %q %v", b.String(), err)
	}
	if err := WriteResponse(&b, []Record{{Raw: json.RawMessage(`{`)}}); err == nil {
		t.Fatal("invalid raw accepted")
	}
	// Missing or null data is an empty answer.
	for _, body := range []string{`{}`, `{"data":null,"count":0}`} {
		if recs, _, err := parseSearchResponse([]byte(body)); err != nil || len(recs) != 0 {
			t.Fatalf("%s: %v %v", body, recs, err)
		}
	}
}
