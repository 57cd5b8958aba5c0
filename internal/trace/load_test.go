package trace

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Values of the fixture call in testdata.
const (
	fxKey    = "3c2b1a90-5d6e-4f7a-8b9c-0d1e2f3a4b5c"
	fxConv   = "8f1e7d6c-5b4a-4392-8170-6e5d4c3b2a19"
	fxPart   = "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
	fxCallID = "a84b4c76e66710@carrier.example.net"
)

var fxInvite = time.Date(2025, 11, 25, 10, 5, 1, 123456000, time.UTC)

func loadString(t *testing.T, in string, opt Options) (*Index, Report, error) {
	t.Helper()
	return Load(context.Background(), strings.NewReader(in), "trace.json", opt)
}

// loadBoth loads in through Load (exact splitting) and through LoadFile
// (chunked), and runs check on each outcome.
func loadBoth(t *testing.T, in string, opt Options, check func(t *testing.T, ix *Index, rep Report, err error)) {
	t.Helper()
	t.Run("reader", func(t *testing.T) {
		ix, rep, err := loadString(t, in, opt)
		check(t, ix, rep, err)
	})
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "trace.json"), []byte(in), 0o600); err != nil {
			t.Fatal(err)
		}
		wd, _ := os.Getwd()
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
		defer os.Chdir(wd)
		ix, rep, err := LoadFile(context.Background(), "trace.json", opt)
		if ix != nil {
			defer ix.Close()
		}
		check(t, ix, rep, err)
	})
}

func TestLoadFixtures(t *testing.T) {
	tests := []struct {
		file     string
		format   Format
		export   bool
		records  int
		added    int
		skipped  int
		keyCount int // records under fxKey
	}{
		{"siptraces_response.json", FormatAPI, false, 7, 7, 0, 7},
		{"export.json", FormatArray, true, 5, 5, 0, 4},
		{"records.ndjson", FormatNDJSON, true, 4, 3, 1, 3},
		{"array.json", FormatArray, true, 2, 2, 0, 2},
	}
	for _, tc := range tests {
		for _, fileBacked := range []bool{false, true} {
			name := tc.file
			if fileBacked {
				name += "/file"
			}
			t.Run(name, func(t *testing.T) {
				path := filepath.Join("testdata", tc.file)
				var ix *Index
				var rep Report
				var err error
				if fileBacked {
					ix, rep, err = LoadFile(context.Background(), path, Options{})
				} else {
					f, ferr := os.Open(path)
					if ferr != nil {
						t.Fatal(ferr)
					}
					defer f.Close()
					ix, rep, err = Load(context.Background(), f, path, Options{Workers: 1})
				}
				if err != nil {
					t.Fatal(err)
				}
				defer ix.Close()
				if rep.Format != tc.format || rep.Export != tc.export || rep.Records != tc.records ||
					rep.Added != tc.added || rep.SkippedTotal() != tc.skipped {
					t.Errorf("report %s; want format %s export %v records %d added %d skipped %d",
						rep.String(), tc.format, tc.export, tc.records, tc.added, tc.skipped)
				}
				if ix.Len() != tc.added {
					t.Errorf("Len = %d, want %d", ix.Len(), tc.added)
				}
				if got := len(ix.ByKey(fxKey)); got != tc.keyCount {
					t.Errorf("ByKey: %d records, want %d", got, tc.keyCount)
				}
				var prev time.Time
				for r := range ix.All() {
					if r.Time.Before(prev) {
						t.Errorf("All out of order: %v after %v", r.Time, prev)
					}
					prev = r.Time
					m, err := r.Message()
					if err != nil {
						t.Fatal(err)
					}
					if r.HasMsg() != (m != "") {
						t.Errorf("HasMsg = %v with message %q", r.HasMsg(), m)
					}
					if m != "" && !strings.HasPrefix(m, r.Event()) && !strings.HasPrefix(m, "SIP/2.0 "+r.Event()) {
						t.Errorf("message %.30q does not start with event %q", m, r.Event())
					}
				}
			})
		}
	}
}

// TestRecordFields checks every normalized field of the API fixture against
// the values written into it.
func TestRecordFields(t *testing.T) {
	ix, _, err := LoadFile(context.Background(), "testdata/siptraces_response.json", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	recs := ix.ByKey(fxKey)
	if len(recs) != 7 {
		t.Fatalf("got %d records", len(recs))
	}
	inv, trying := recs[0], recs[1]
	want := Record{
		Time: fxInvite, Key: fxKey, ConversationID: fxConv, ParticipantID: fxPart, CallID: fxCallID,
		Method: "INVITE", CSeqNum: 1, CSeqMethod: "INVITE", ViaBranch: "z9hG4bK776asdhds",
		FromUser: "+15551230001", ToUser: "+15559870002", RURIUser: "+15559870002",
		SrcIP: netip.MustParseAddr("203.0.113.10"), DstIP: netip.MustParseAddr("52.94.12.7"),
		SrcPort: 5060, DstPort: 5060, Proto: "udp", Node: "edge-use1-a7f3",
	}
	got := inv
	got.ext, got.extOff, got.extLen, got.Msg = nil, 0, 0, ""
	if got != want {
		t.Errorf("INVITE record\n got %+v\nwant %+v", got, want)
	}
	if trying.Method != "" || trying.Status != 100 || trying.Reason != "Trying" || trying.Event() != "100 Trying" {
		t.Errorf("100: method %q status %d reason %q", trying.Method, trying.Status, trying.Reason)
	}
	m, err := inv.Message()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m, "INVITE sip:+15559870002@") || !strings.Contains(m, "\r\n\r\nv=0\r\n") {
		t.Errorf("message not restored: %.60q", m)
	}
	if v, ok, err := inv.Header("X-INININ-CNV"); err != nil || ok {
		t.Errorf("Header of a missing name = %q %v %v", v, ok, err)
	}
	if v, ok, _ := inv.Header("x-inin-cnv"); !ok || v != fxConv {
		t.Errorf("Header(x-inin-cnv) = %q, %v", v, ok)
	}

	// In-memory load gives the same records.
	f, _ := os.Open("testdata/siptraces_response.json")
	defer f.Close()
	mem, _, err := Load(context.Background(), f, "mem", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range mem.ByKey(fxKey) {
		m1, _ := recs[i].Message()
		if r.Msg != m1 {
			t.Errorf("record %d: in-memory message differs from file-backed one", i)
		}
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Message(); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Message after Close: %v", err)
	}
}

const msgX = "INVITE sip:+15550001@gc.example SIP/2.0\r\n" +
	"v: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bKmsg1\r\n" +
	"f: <sip:+15550002@carrier>;tag=a\r\n" +
	"t: <tel:+15550001>\r\n" +
	"i: callid-from-msg\r\n" +
	"CSeq : 7 INVITE\r\n" +
	"P-Asserted-Identity: <sip:+15550003@carrier>\r\n" +
	"x-genesys-call-id :  key-from-msg \r\n" +
	"X-Inin-Cnv: conv-from-msg\r\n" +
	"X-Trace-Tag: tag-1\r\n" +
	"Content-Length: 0\r\n\r\n"

// TestFieldSpellings covers each accepted spelling of each field.
func TestFieldSpellings(t *testing.T) {
	jmsg := `"msg":"` + strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(msgX) + `"`
	us := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	tests := []struct {
		name  string
		rec   string
		check func(r Record) bool
	}{
		{"microTs string", `{"microTs":"1764065101123456","callId":"k"}`, func(r Record) bool { return r.Time.Equal(fxInvite) }},
		{"microTs number", `{"microTs":1764065101123456,"callId":"k"}`, func(r Record) bool { return r.Time.Equal(fxInvite) }},
		{"milliTs", `{"milliTs":"1764065101123","callId":"k"}`, func(r Record) bool { return r.Time.Equal(fxInvite.Truncate(time.Millisecond)) }},
		{"microTs beats date", `{"date":"2020-01-01T00:00:00Z","microTs":"1764065101123456","callId":"k"}`, func(r Record) bool { return r.Time.Equal(fxInvite) }},
		{"bad microTs falls back", `{"microTs":"soon","date":"2025-11-25T10:05:01.123Z","callId":"k"}`, func(r Record) bool { return r.Time.Equal(fxInvite.Truncate(time.Millisecond)) }},
		{"date Z", `{"date":"2025-11-25T10:05:01.123456Z","callId":"k"}`, func(r Record) bool { return r.Time.Equal(fxInvite) }},
		{"timestamp offset", `{"timestamp":"2025-11-25T11:05:01.123456+01:00","callId":"k"}`, func(r Record) bool { return r.Time.Equal(fxInvite) }},
		{"time no fraction", `{"time":"2025-11-25T10:05:01-00:30","callId":"k"}`, func(r Record) bool { return r.Time.Equal(us("2025-11-25T10:35:01Z")) }},
		{"time epoch s", `{"time":1764065101,"callId":"k"}`, func(r Record) bool { return r.Time.Equal(fxInvite.Truncate(time.Second)) }},
		{"time epoch s.frac", `{"time":"1764065101.123456","callId":"k"}`, func(r Record) bool { return r.Time.Equal(fxInvite) }},
		{"time epoch ms", `{"time":1764065101123,"callId":"k"}`, func(r Record) bool { return r.Time.Equal(fxInvite.Truncate(time.Millisecond)) }},
		{"time epoch us", `{"timestamp":"1764065101123456","callId":"k"}`, func(r Record) bool { return r.Time.Equal(fxInvite) }},
		{"time epoch ns", `{"timestamp":1764065101123456789,"callId":"k"}`, func(r Record) bool { return r.Time.Equal(fxInvite.Add(789)) }},
		{"key call-id", `{"microTs":"1","call-id":"k1"}`, func(r Record) bool { return r.Key == "k1" }},
		{"key callId", `{"microTs":"1","callId":"k2"}`, func(r Record) bool { return r.Key == "k2" }},
		{"key x-genesys-call-id", `{"microTs":"1","x-genesys-call-id":"k3"}`, func(r Record) bool { return r.Key == "k3" }},
		{"key field beats msg", `{"microTs":"1","callId":"k4",` + jmsg + `}`, func(r Record) bool { return r.Key == "k4" }},
		{"key from msg", `{"microTs":"1",` + jmsg + `}`, func(r Record) bool { return r.Key == "key-from-msg" }},
		{"conv field", `{"microTs":"1","conversationId":"c1",` + jmsg + `}`, func(r Record) bool { return r.ConversationID == "c1" }},
		{"conv from msg", `{"microTs":"1",` + jmsg + `}`, func(r Record) bool { return r.ConversationID == "conv-from-msg" }},
		{"callid", `{"microTs":"1","callid":"sip-1"}`, func(r Record) bool { return r.CallID == "sip-1" && r.Key == "" }},
		{"sipCallId", `{"microTs":"1","sipCallId":"sip-2"}`, func(r Record) bool { return r.CallID == "sip-2" }},
		{"callid from msg", `{"microTs":"1",` + jmsg + `}`, func(r Record) bool { return r.CallID == "callid-from-msg" }},
		{"method request", `{"microTs":"1","callId":"k","method":"INVITE"}`, func(r Record) bool { return r.Method == "INVITE" && r.Status == 0 }},
		{"method status", `{"microTs":"1","callId":"k","method":"408","replyReason":"Request Timeout"}`, func(r Record) bool {
			return r.Method == "" && r.Status == 408 && r.Reason == "Request Timeout"
		}},
		{"event status", `{"microTs":"1","callId":"k","event":"408 Request Timeout"}`, func(r Record) bool { return r.Status == 408 && r.Reason == "Request Timeout" }},
		{"event status line", `{"microTs":"1","callId":"k","event":"SIP/2.0 486 Busy Here"}`, func(r Record) bool { return r.Status == 486 && r.Reason == "Busy Here" }},
		{"event method", `{"microTs":"1","callId":"k","event":"BYE"}`, func(r Record) bool { return r.Method == "BYE" }},
		{"event from msg", `{"microTs":"1",` + jmsg + `}`, func(r Record) bool { return r.Method == "INVITE" && r.RURIUser == "+15550001" }},
		{"cseq field", `{"microTs":"1","callId":"k","cseq":"12 BYE"}`, func(r Record) bool { return r.CSeqNum == 12 && r.CSeqMethod == "BYE" }},
		{"cseq from msg", `{"microTs":"1",` + jmsg + `}`, func(r Record) bool { return r.CSeqNum == 7 && r.CSeqMethod == "INVITE" }},
		{"via1Branch", `{"microTs":"1","callId":"k","via1Branch":"z9hG4bKa","via1":"SIP/2.0/UDP h;branch=z9hG4bKb"}`, func(r Record) bool { return r.ViaBranch == "z9hG4bKa" }},
		{"via1", `{"microTs":"1","callId":"k","via1":"SIP/2.0/UDP h:5060;rport;branch=z9hG4bKb"}`, func(r Record) bool { return r.ViaBranch == "z9hG4bKb" }},
		{"via from msg", `{"microTs":"1",` + jmsg + `}`, func(r Record) bool { return r.ViaBranch == "z9hG4bKmsg1" }},
		{"users from msg", `{"microTs":"1",` + jmsg + `}`, func(r Record) bool {
			return r.FromUser == "+15550002" && r.ToUser == "+15550001" && r.PIDUser == "+15550003"
		}},
		{"ports as numbers", `{"microTs":"1","callId":"k","sourcePort":5061,"destinationPort":"5080","sourceIp":"2001:db8::1","destinationIp":"[::ffff:192.0.2.1]"}`, func(r Record) bool {
			return r.SrcPort == 5061 && r.DstPort == 5080 && r.SrcIP == netip.MustParseAddr("2001:db8::1") && r.DstIP == netip.MustParseAddr("192.0.2.1")
		}},
		{"bad values ignored", `{"microTs":"1","callId":"k","sourcePort":"x","destinationIp":"999.1.1.1","method":{"a":1},"cseq":"x INVITE"}`, func(r Record) bool {
			return r.SrcPort == 0 && !r.DstIP.IsValid() && r.Method == "" && r.CSeqNum == 0
		}},
		{"escapes decoded", `{"microTs":"1","callId":"k\u00e9\"\\","node":"n\/1"}`, func(r Record) bool { return r.Key == "ké\"\\" && r.Node == "n/1" }},
		{"unknown fields ignored", `{"a":[{"b":"}"}],"microTs":"1","z":null,"callId":"k","t":true}`, func(r Record) bool { return r.Key == "k" }},
		{"msg with \\u escapes", `{"microTs":"1","msg":"BYE sip:a@b SIP/2.0\u000d\u000aX-Genesys-Call-ID: k\u00e9\r\nCall-ID: c\r\n\r\n"}`, func(r Record) bool {
			return r.Key == "ké" && r.CallID == "c" && r.Method == "BYE"
		}},
		{"msg with folding", `{"microTs":"1","msg":"BYE sip:a@b SIP/2.0\r\nX-Genesys-Call-ID:\r\n  k-folded\r\nFrom: \"A \\\"B\\\"\" <sip:+1@x>\r\n\r\n"}`, func(r Record) bool {
			return r.Key == "k-folded" && r.FromUser == "+1"
		}},
		{"msg escaped backslash-n", `{"microTs":"1","msg":"BYE sip:a@b SIP/2.0\r\nX-A: x\\nX-Genesys-Call-ID: no\r\nX-Genesys-Call-ID: yes\r\n\r\nX-Genesys-Call-ID: body"}`, func(r Record) bool {
			return r.Key == "yes"
		}},
		{"msg headers only, no body", `{"microTs":"1","msg":"SIP/2.0 487 Request Terminated\r\ni: c9\r\nCSeq: 1 INVITE"}`, func(r Record) bool {
			return r.CallID == "c9" && r.Status == 487 && r.Reason == "Request Terminated" && r.CSeqMethod == "INVITE"
		}},
		{"first spelling wins", `{"microTs":"1","callId":"first","callId":"second"}`, func(r Record) bool { return r.Key == "first" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loadBoth(t, tc.rec+"\n", Options{}, func(t *testing.T, ix *Index, _ Report, err error) {
				if err != nil {
					t.Fatal(err)
				}
				var got []Record
				for r := range ix.All() {
					got = append(got, r)
				}
				if len(got) != 1 {
					t.Fatalf("%d records", len(got))
				}
				if !tc.check(got[0]) {
					t.Errorf("unexpected record %+v", got[0])
				}
			})
		})
	}
}

func TestSkipped(t *testing.T) {
	tests := []struct {
		name, in string
		reason   string
		first    Position
	}{
		{"no time", `{"callId":"a","microTs":"1"}` + "\n" + `{"callId":"b"}`, "no time", Position{1, 2}},
		{"bad time", `{"callId":"a","microTs":"1"}` + "\n\n" + `{"callId":"b","date":"2025-11-25T10:05:01"}`, "bad time", Position{1, 3}},
		{"no key", `[{"callId":"a","microTs":"1"},` + "\n" + `{"microTs":"2","method":"OPTIONS"}]`, "no key", Position{1, 2}},
		{"not an object", `{"data":[{"callId":"a","microTs":"1"},"x",3]}`, "not an object", Position{1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loadBoth(t, tc.in, Options{}, func(t *testing.T, _ *Index, rep Report, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Skipped) != 1 || rep.Skipped[0].Reason != tc.reason || rep.Skipped[0].First != tc.first {
					t.Errorf("skipped %+v, want %s first %v", rep.Skipped, tc.reason, tc.first)
				}
				if rep.Added != 1 {
					t.Errorf("added %d", rep.Added)
				}
			})
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
		noRecords      bool
	}{
		{"empty", "", "trace.json: no usable records (empty input)", true},
		{"blank", " \r\n\t\n", "trace.json: no usable records (only whitespace, no JSON)", true},
		{"string", `"hello"`, `trace.json: line 1: expected an object with "data", an array or NDJSON records, got a string`, false},
		{"number", "\n42", `trace.json: line 2: expected an object with "data", an array or NDJSON records, got a number`, false},
		{"garbage", "x", "trace.json: line 1: not JSON: invalid character 'x' looking for beginning of value", false},
		{"record grammar", "[\n" + `{"callId" "a"}]`, `trace.json: line 2, record 0: not JSON: invalid character '"' after object key`, false},
		{"bad escape", `[{"callId":"\q","microTs":"1"}]`, `not JSON: invalid character 'q' in string escape code`, false},
		{"truncated array", `[{"callId":"a","microTs":"1"},{"callId":`, "unexpected end of input (truncated?)", false},
		{"unclosed array", `[{"callId":"a","microTs":"1"}` + "\n", "unexpected end of input: the array is not closed", false},
		{"truncated envelope", `{"data":[{"callId":"a","microTs":"1"}],"count":`, "unexpected end of input", false},
		{"trailing comma", `[{"callId":"a","microTs":"1"},]`, "invalid character ']' looking for beginning of value", false},
		{"trailing garbage", `[{"callId":"a","microTs":"1"}] x`, "invalid character 'x' after top-level value", false},
		{"unbalanced", `[{"callId":"a","microTs":"1","x":[}]`, "unbalanced brackets", false},
		{"data not array", `{"count":1,"data":"x"}`, `"data" is not an array`, false},
		{"api error", `{"message":"Rate limit exceeded the maximum","code":"too.many.requests.retry.after","status":429}`,
			`trace.json: line 1: an API error response, not trace records: "Rate limit exceeded the maximum"`, false},
		{"empty data", `{"data":[],"count":0}`, "trace.json: no usable records (no records in the siptraces API response)", true},
		{"null data", `{"data":null,"count":0}`, "no usable records", true},
		{"empty array", `[ ]`, "trace.json: no usable records (no records in the JSON array)", true},
		{"all skipped", `[{"callId":"a"},{"callId":"b"}]`, "trace.json: no usable records (2 skipped: no time; first: record 0, line 1)", true},
		{"all skipped mixed", `[1,{"microTs":"1"}]`, "trace.json: no usable records (2 skipped: 1 no key, 1 not an object; first: record 0, line 1)", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loadBoth(t, tc.in, Options{}, func(t *testing.T, ix *Index, _ Report, err error) {
				if err == nil {
					t.Fatalf("no error; %d records", ix.Len())
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %q\nwant it to contain %q", err, tc.want)
				}
				if errors.Is(err, ErrNoRecords) != tc.noRecords {
					t.Errorf("errors.Is(ErrNoRecords) = %v", !tc.noRecords)
				}
			})
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ path, want string }{
		{filepath.Join(dir, "missing.json"), "missing.json: no such file or directory"},
		{dir, "is a directory"},
	}
	for _, tc := range tests {
		_, _, err := LoadFile(context.Background(), tc.path, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), tc.path) != 1 {
			t.Errorf("LoadFile(%s) = %v, want %q", tc.path, err, tc.want)
		}
	}
}

// endless yields an object whose string never ends.
type endless struct{ started bool }

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	if !e.started {
		n = copy(p, `{"msg":"`)
		e.started = true
	}
	for i := n; i < len(p); i++ {
		p[i] = 'a'
	}
	return len(p), nil
}

// TestHugeValue checks that a single endless line fails with bounded memory.
func TestHugeValue(t *testing.T) {
	_, _, err := Load(context.Background(), &endless{}, "huge.ndjson", Options{})
	if err == nil || !strings.Contains(err.Error(), "huge.ndjson: line 1, record 0: a single value is larger than 64 MiB") {
		t.Fatalf("err = %v", err)
	}
}

// TestNoCuts loads a file too long to cut into chunks: chunked loading
// must fall back to exact splitting rather than fail.
func TestNoCuts(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 70 MB")
	}
	path := filepath.Join(t.TempDir(), "numbers.json")
	const n = 66 << 10 // strings of 1 KiB: 66 MiB without an object
	in := "[" + strings.Repeat(`"`+strings.Repeat("s", 1021)+`",`, n) + `{"microTs":"1","callId":"k"}]`
	if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	ix, rep, err := LoadFile(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if rep.Added != 1 || rep.SkippedTotal() != n {
		t.Errorf("%s", rep.String())
	}
	// The same with one object too large: the error of exact splitting.
	big := `{"microTs":"1","callId":"k","pad":"` + strings.Repeat("p", 65<<20) + `"}`
	if err := os.WriteFile(path, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadFile(context.Background(), path, Options{}); err == nil || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Errorf("err = %v", err)
	}
}

// TestCancel checks that a cancelled context stops a load.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := Load(ctx, io.MultiReader(strings.NewReader("["), &endless{}), "x", Options{})
	if err == nil {
		t.Fatal("no error")
	}
}

// TestBlocks loads inputs far larger than a block, in every container, and
// checks counts and positions across block boundaries.
func TestBlocks(t *testing.T) {
	const n = 30000
	pad := strings.Repeat("p", 300)
	rec := func(i int) string {
		if i == n-7 {
			return `{"callId":"k` + itoa(i) + `","pad":"` + pad + `"}`
		}
		return `{"microTs":"` + itoa(1764065101000000+i) + `","callId":"k` + itoa(i%1000) + `","pad":"` + pad + `"}`
	}
	var nd, arr strings.Builder
	arr.WriteString(`{"count":1,"data":[` + "\n")
	for i := range n {
		nd.WriteString(rec(i) + "\n")
		if i > 0 {
			arr.WriteString(",\n")
		}
		arr.WriteString(rec(i))
	}
	arr.WriteString("\n],\"status\":200}\n")
	// Nested objects that look like element boundaries, and a pretty-printed
	// stream, make chunk cuts fall inside records: the loader must notice and
	// start over in exact mode.
	var nested, pretty strings.Builder
	nested.WriteString("[")
	for i := range n {
		if i > 0 {
			nested.WriteString(",")
		}
		nested.WriteString(`{"x":[{"a":1},{"b":2}],` + rec(i)[1:])
		pretty.WriteString(strings.Replace(rec(i), ",", ",\n  ", -1) + "\n")
	}
	nested.WriteString("]")
	for name, in := range map[string]string{"ndjson": nd.String(), "api": arr.String(), "nested": nested.String(), "pretty": pretty.String()} {
		t.Run(name, func(t *testing.T) {
			for _, w := range []int{1, 3} {
				loadBoth(t, in, Options{Workers: w}, func(t *testing.T, ix *Index, rep Report, err error) {
					if err != nil {
						t.Fatal(err)
					}
					wantLine := n - 7 + 1
					switch name {
					case "api":
						wantLine++
					case "pretty":
						wantLine = (n-7)*3 + 1
					case "nested":
						wantLine = 1
					}
					if rep.Added != n-1 || rep.SkippedTotal() != 1 || rep.Skipped[0].First != (Position{n - 7, wantLine}) {
						t.Errorf("%s; first %v", rep.String(), rep.Skipped)
					}
					if got := len(ix.ByKey("k999")); got != n/1000 {
						t.Errorf("ByKey: %d", got)
					}
				})
			}
		})
	}
}

// TestFallback checks that chunked loading notices wrong cuts and starts
// over in exact mode, and that ordinary inputs need no second pass.
func TestFallback(t *testing.T) {
	dir := t.TempDir()
	rec := `{"microTs":"1764065101000000","callId":"k","pad":"` + strings.Repeat("p", 500) + `"}`
	nested := `{"x":[{"a":1},{"b":2}],` + rec[1:]
	tests := []struct {
		name, in string
		exact    bool
	}{
		{"minified", "[" + strings.Repeat(rec+",", 20000) + rec + "]", false},
		{"ndjson", strings.Repeat(rec+"\n", 20000), false},
		{"nested", "[" + strings.Repeat(nested+",", 20000) + nested + "]", true},
		{"pretty", strings.Repeat(strings.Replace(rec, ",", ",\n", -1)+"\n", 20000), true},
	}
	for _, tc := range tests {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.in), 0o600); err != nil {
			t.Fatal(err)
		}
		ix := NewIndex(Options{Workers: 2})
		rep, err := ix.loadFile(context.Background(), path, false)
		ix.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if rep.exact != tc.exact || rep.Duplicates != rep.Records-1 {
			t.Errorf("%s: exact %v, want %v; %s", tc.name, rep.exact, tc.exact, rep.String())
		}
	}
}

func itoa(i int) string {
	var b [20]byte
	p := len(b)
	for {
		p--
		b[p] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[p:])
		}
	}
}

// TestKeyFromAPIMessage covers the X-Genesys-Call-ID search in messages of
// API-shaped records, whose other values all come from fields.
func TestKeyFromAPIMessage(t *testing.T) {
	const fields = `"microTs":"1764065101123456","method":"BYE","replyReason":"","callid":"c1","cseq":"2 BYE",` +
		`"via1Branch":"z9hG4bK1","fromUser":"+1","toUser":"+2","ruriUser":"","pidUser":"","conversationId":"cv",`
	tests := []struct{ name, msg, key string }{
		{"canonical", `BYE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nX-Genesys-Call-ID: k1\r\nContent-Length: 0\r\n\r\n`, "k1"},
		{"lower case", `BYE sip:x@y SIP/2.0\r\nx-genesys-call-id: k2\r\n\r\n`, "k2"},
		{"space before colon", `BYE sip:x@y SIP/2.0\r\nX-Genesys-Call-ID  :  k3 \r\n\r\n`, "k3"},
		{"decoy name first", `BYE sip:x@y SIP/2.0\r\nX-Genesys-Call-ID-Old: no\r\nX-Genesys-Call-ID: k4\r\n\r\n`, "k4"},
		{"folded", `BYE sip:x@y SIP/2.0\r\nX-Genesys-Call-ID:\r\n k5\r\n\r\n`, "k5"},
		{"only in body", `BYE sip:x@y SIP/2.0\r\nContent-Length: 22\r\n\r\nX-Genesys-Call-ID: no\r\n`, ""},
		{"not at line start", `BYE sip:x@y SIP/2.0\r\nSubject: X-Genesys-Call-ID: no\r\n\r\n`, ""},
		{"escaped quote in value", `BYE sip:x@y SIP/2.0\r\nX-Genesys-Call-ID: \"k6\"\r\n\r\n`, `"k6"`},
		{"last line", `BYE sip:x@y SIP/2.0\r\nX-Genesys-Call-ID: k7`, "k7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := `{` + fields + `"msg":"` + tc.msg + `"}`
			loadBoth(t, in, Options{}, func(t *testing.T, ix *Index, _ Report, err error) {
				if err != nil {
					t.Fatal(err)
				}
				for r := range ix.All() {
					if r.Key != tc.key || r.ConversationID != "cv" || r.PIDUser != "" || r.Method != "BYE" {
						t.Errorf("key %q conv %q pid %q method %q; want key %q", r.Key, r.ConversationID, r.PIDUser, r.Method, tc.key)
					}
				}
			})
		})
	}
}

// TestSyntheticRoundTrip loads a multi-chunk API response both ways and
// compares every record and message.
func TestSyntheticRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.json")
	const n = 6000 // about 13 MB: several chunks
	if err := writeSynthetic(path, n, true); err != nil {
		t.Fatal(err)
	}
	disk, rep, err := LoadFile(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, _, err := Load(context.Background(), f, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != n || disk.Len() != n || mem.Len() != n || rep.Format != FormatAPI {
		t.Fatalf("%s; memory %d", rep.String(), mem.Len())
	}
	var want []Record
	for r := range mem.All() {
		want = append(want, r)
	}
	i := 0
	for r := range disk.All() {
		m, err := r.Message()
		if err != nil {
			t.Fatal(err)
		}
		if m != want[i].Msg || r.Key == "" || r.Key != want[i].Key || r.CallID != want[i].CallID || !r.Time.Equal(want[i].Time) {
			t.Fatalf("record %d differs: key %q/%q msg %.40q/%.40q", i, r.Key, want[i].Key, m, want[i].Msg)
		}
		if v, _, _ := r.Header("X-Genesys-Call-ID"); v != r.Key {
			t.Fatalf("record %d: header %q, key %q", i, v, r.Key)
		}
		i++
	}
}
