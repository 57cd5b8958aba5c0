package genesys

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzParseSearchResponse(f *testing.F) {
	f.Add([]byte(`{"data":[` + homer(base, "c1", "1 INVITE", "INVITE", "+1") + `],"count":1}`))
	f.Add([]byte(`{"data":[{"microTs":1,"sourcePort":5060},{"x":[1,{"y":null}]},3,"s",null],"count":"x"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"data":null}`))
	f.Add([]byte(`[{"callid":"x"}]`))
	f.Add([]byte(`{"data":[{"microTs":"99999999999999999999","date":"2026-13-45T99:00:00Z"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, _, err := parseSearchResponse(body)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteResponse(&out, recs); err != nil {
			t.Fatalf("WriteResponse of parsed records: %v", err)
		}
		again, skipped, err := parseSearchResponse(out.Bytes())
		if err != nil || skipped != 0 || len(again) != len(recs) {
			t.Fatalf("round trip: %d → %d records, %d skipped, %v", len(recs), len(again), skipped, err)
		}
		for i := range recs {
			if !bytes.Equal(again[i].Raw, recs[i].Raw) || again[i].Key() != recs[i].Key() {
				t.Fatalf("record %d changed in the round trip", i)
			}
			_ = recs[i].Time.IsZero()
		}
	})
}

func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte("client_id=a\nclient_secret=b\n"))
	f.Add([]byte("# c\r\nexport GENESYS_CLIENT_ID='x'\r\n"))
	f.Add([]byte(`{"client_id":"a","client_secret":"b"}`))
	f.Add([]byte(`{"client_id":1}`))
	f.Add([]byte("\ufeffclient-id = \"q\""))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCredentials(data)
		if err != nil {
			// Errors name lines and keys, never values.
			if c != (Credentials{}) {
				t.Fatal("partial credentials returned with an error")
			}
			return
		}
		if c.ClientSecret != "" && !strings.Contains(c.String(), "client_secret="+redacted) {
			t.Fatalf("String does not redact: %s", c.String())
		}
	})
}

func FuzzParseAPIError(f *testing.F) {
	f.Add(403, []byte(`{"message":"missing [telephony:pcap:view]","code":"missing.permissions","status":403,"contextId":"abc"}`))
	f.Add(400, []byte(`{"error":"invalid_client","error_description":"client not found"}`))
	f.Add(502, []byte("<html>\x00\xff bad gateway</html>"))
	f.Add(429, []byte(`{"message":`+strings.Repeat(`"x`, 400)+`"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseAPIError("GET /x", status, body)
		s := e.Error()
		if len(e.Message) > maxErrorMessage+len("…") || len(e.Code) > 100+len("…") {
			t.Fatalf("unbounded message: %d bytes", len(e.Message))
		}
		if utf8.ValidString(string(body)) && !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 from valid input: %q", s)
		}
		if strings.ContainsAny(e.Message, "\n\r") && !json.Valid(body) {
			t.Fatalf("excerpt spans lines: %q", e.Message)
		}
	})
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"2", "0", "Wed, 25 Nov 2026 10:00:30 GMT", "Monday, 02-Jan-06 15:04:05 MST", "-3", "1e9", "18446744073709551615"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := retryAfter(http.Header{"Retry-After": {v}}, now)
		if d < 0 || d > maxRetryAfter || (!ok && d != 0) {
			t.Fatalf("retryAfter(%q) = %s, %v", v, d, ok)
		}
	})
}
