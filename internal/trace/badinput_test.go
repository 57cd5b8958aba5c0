package trace

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"
)

// Real records, as the siptraces API and the trace export write them.
const (
	goodAPI = `{"microTs":"1764065101123456","method":"INVITE","callid":"a84b4c76e66710@carrier.example.net",` +
		`"cseq":"1 INVITE","via1Branch":"z9hG4bK776asdhds","conversationId":"8f1e7d6c-5b4a-4392-8170-6e5d4c3b2a19"}`
	goodExport = `{"timestamp":"2025-11-25T10:05:01.125256Z","call-id":"3c2b1a90-5d6e-4f7a-8b9c-0d1e2f3a4b5c",` +
		`"event":"100 Trying","cseq":"1 INVITE","via1Branch":"z9hG4bK776asdhds"}`
	goodLate = `{"timestamp":"2025-11-25T10:05:04.331456Z","call-id":"3c2b1a90-5d6e-4f7a-8b9c-0d1e2f3a4b5c",` +
		`"event":"200 OK","cseq":"1 INVITE"}`
)

// utf16Text encodes s as UTF-16 with the byte order and BOM given.
func utf16Text(s string, big, withBOM bool) string {
	u := utf16.Encode([]rune(s))
	if withBOM {
		u = append([]uint16{0xfeff}, u...)
	}
	b := make([]byte, 2*len(u))
	for i, v := range u {
		if big {
			binary.BigEndian.PutUint16(b[2*i:], v)
		} else {
			binary.LittleEndian.PutUint16(b[2*i:], v)
		}
	}
	return string(b)
}

// pcapFile is a classic pcap (microsecond, little-endian, Ethernet) with
// one truncated UDP/SIP frame, as tcpdump writes it.
func pcapFile() string {
	var b bytes.Buffer
	for _, v := range []uint32{0xa1b2c3d4, 0x00040002, 0, 0, 262144, 1} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	frame := "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00" + "INVITE sip:+15559870002@byoc.mypurecloud.com SIP/2.0\r\n"
	for _, v := range []uint32{1764065101, 123456, uint32(len(frame)), uint32(len(frame))} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString(frame)
	return b.String()
}

// pcapngFile is the start of a pcapng file: a section header block.
func pcapngFile() string {
	var b bytes.Buffer
	for _, v := range []uint32{0x0a0d0d0a, 28, 0x1a2b3c4d, 1, 0xffffffff, 0xffffffff, 28} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	return b.String()
}

func gzipped(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

// TestBadInputs covers inputs that are broken, odd or not trace files at
// all. Each either loads, with the records that cannot be used counted and
// the first one located, or fails with one error that names the input and
// says what is wrong; never silently.
func TestBadInputs(t *testing.T) {
	type skip struct {
		reason string
		count  int
		first  Position
	}
	tests := []struct {
		name string
		in   string
		// Failure: the error contains err; noRecords when it is ErrNoRecords.
		err       string
		noRecords bool
		// Success: added records, skips in report order, text in the
		// report's one-line summary.
		added   int
		skips   []skip
		summary string
	}{
		// Malformed JSON.
		{name: "array truncated in an object", in: "[" + goodAPI + `,{"callId":"b","mic`,
			err: "trace.json: line 1, record 1: not JSON: unexpected end of input (truncated?)"},
		{name: "api truncated in an object", in: `{"data":[` + goodAPI + `,{"callId":"b"`,
			err: "trace.json: line 1, record 1: not JSON: unexpected end of input (truncated?)"},
		{name: "array trailing garbage", in: "[" + goodAPI + "]\n</html>",
			err: "trace.json: line 2: not JSON: invalid character '<' after top-level value"},
		{name: "api trailing garbage", in: `{"data":[` + goodAPI + `],"count":1}}`,
			err: "trace.json: line 1: not JSON: invalid character '}' after top-level value"},
		{name: "top level string", in: `"data"`, err: `trace.json: line 1: expected an object with "data", an array or NDJSON records, got a string`},
		{name: "top level boolean", in: "true\n", err: "got a boolean"},
		{name: "top level null", in: "null", err: "got null"},
		{name: "data an object", in: `{"data":{"microTs":"1"}}`, err: `trace.json: line 1: not JSON: "data" is not an array`},
		{name: "array of arrays", in: `[[1],[2]]`, err: "trace.json: no usable records (2 skipped: not an object; first: record 0, line 1)", noRecords: true},
		// NDJSON with bad lines among good ones: each bad line is one
		// skipped record; reading resumes at the next line starting '{'.
		{name: "ndjson truncated last line", in: goodExport + "\n" + goodAPI + "\n" + `{"call-id":"k","timestamp":"2025-11-25T10:0`,
			added: 2, skips: []skip{{"not JSON", 1, Position{2, 3}}},
			summary: "1 skipped: not JSON; first: record 2, line 3: unexpected end of input (truncated?)"},
		{name: "ndjson bad lines among good", in: goodExport + "\nxyz\n" + goodAPI + "\n" + `{"callId" "a"}` + "\n[1]\n" +
			`{"callId":"b` + "\n" + goodLate + "\n\n" + `{"callId":"c","microTs":"1",}` + "\n",
			added: 3, skips: []skip{{"not an object", 1, Position{4, 5}}, {"not JSON", 4, Position{1, 2}}},
			summary: "5 skipped: 1 not an object, 4 not JSON; first: record 1, line 2: invalid character 'x' looking for beginning of value"},
		{name: "ndjson garbage runs over lines", in: goodExport + "\n<html>\n  {\n<body>{\"a\":1}\n" + goodLate + "\n",
			added: 2, skips: []skip{{"not JSON", 1, Position{1, 2}}}},
		{name: "ndjson pretty printed with a bad object", in: "{\n  \"callId\": \"a\",\n  \"microTs\": \"1\"\n}\n{\n  \"callId\" \"b\"\n}\n" + goodLate + "\n",
			added: 2, skips: []skip{{"not JSON", 1, Position{1, 5}}}},
		// The first record tells the container: when it is not JSON, the
		// file is not read as NDJSON.
		{name: "ndjson first line bad", in: goodExport[:40] + "\n" + goodAPI + "\n",
			err: "trace.json: line 1: not JSON: invalid character '\\n' in string literal"},
		{name: "ndjson no usable line", in: `{"callId":"a"}` + "\n" + goodAPI[:30] + "\n" + "}{\n",
			err: "trace.json: no usable records (3 skipped: 1 no time, 2 not JSON; first: record 0, line 1)", noRecords: true},
		// Times: zones mixed in one file; years int64 nanoseconds cannot
		// hold are out of range, never wrapped.
		{name: "mixed time zones", in: `{"callId":"k","cseq":"1 INVITE","timestamp":"2025-11-25T15:35:01.000001+05:30"}` + "\n" +
			`{"callId":"k","cseq":"2 BYE","timestamp":"2025-11-25T10:05:01.000002Z"}` + "\n" +
			`{"callId":"k","cseq":"3 BYE","timestamp":"2025-11-25T02:05:01.000003-08:00"}` + "\n" +
			`{"callId":"k","cseq":"4 BYE","time":"1764065101.000004"}` + "\n" +
			`{"callId":"k","cseq":"5 BYE","date":"2025-11-25T10:05:01.000005"}` + "\n",
			added: 4, skips: []skip{{"bad time", 1, Position{4, 5}}},
			summary: `1 skipped: bad time; first: record 4, line 5: date "2025-11-25T10:05:01.000005" is not RFC 3339 with a zone or an epoch number`},
		{name: "years 9999 and 1700", in: `[{"callId":"a","date":"9999-12-31T23:59:59.999Z"},` + "\n" +
			`{"callId":"b","timestamp":"1700-01-01 00:00:00+00:00"},` + "\n" +
			`{"callId":"c","microTs":"253402300799999999"},` + "\n" + goodAPI + "]",
			added: 1, skips: []skip{{"time out of range", 3, Position{0, 1}}},
			summary: `3 skipped: time out of range; first: record 0, line 1: date "9999-12-31T23:59:59.999Z" is out of range (times must be after 1970-01-01 and before 2262-04-12)`},
		{name: "only out of range times", in: `{"data":[{"callId":"b","timestamp":"1700-01-01T00:00:00Z"}]}`,
			err: `trace.json: no usable records (1 skipped: time out of range; first: record 0, line 1: timestamp "1700-01-01T00:00:00Z" is out of range (times must be after 1970-01-01 and before 2262-04-12))`, noRecords: true},
		// Encodings: a UTF-8 BOM is accepted, UTF-16 and UTF-32 are named.
		{name: "bom json", in: bom + `{"data":[` + goodAPI + `],"count":1}`, added: 1},
		{name: "bom array", in: bom + "[" + goodExport + "]", added: 1},
		{name: "bom ndjson", in: bom + goodExport + "\n" + goodLate + "\n", added: 2},
		{name: "utf-16le bom", in: utf16Text("["+goodExport+"]", false, true),
			err: "trace.json: UTF-16LE text: a trace file must be UTF-8 (convert it, e.g. iconv -f UTF-16LE -t UTF-8)"},
		{name: "utf-16le no bom", in: utf16Text(goodExport+"\n", false, false), err: "trace.json: UTF-16LE text"},
		{name: "utf-16be bom", in: utf16Text(goodExport+"\n", true, true), err: "trace.json: UTF-16BE text"},
		{name: "utf-32le bom", in: "\xff\xfe\x00\x00[\x00\x00\x00", err: "trace.json: UTF-32LE text: a trace file must be UTF-8"},
		{name: "latin-1 in a record", in: `[{"callId":"M` + "\xfc" + `ller","microTs":"1"}]`, added: 1},
		// Not text at all.
		{name: "empty", in: "", err: "trace.json: no usable records (empty input)", noRecords: true},
		{name: "whitespace", in: "\n \t\r\n\n", err: "trace.json: no usable records (only whitespace, no JSON)", noRecords: true},
		{name: "pcap", in: pcapFile(), err: "trace.json: looks like a pcap capture, not a trace file"},
		{name: "pcap big-endian", in: "\xa1\xb2\xc3\xd4" + pcapFile()[4:], err: "looks like a pcap capture"},
		{name: "pcapng", in: pcapngFile(), err: "trace.json: looks like a pcapng capture, not a trace file"},
		{name: "gzip", in: gzipped("[" + goodExport + "]"), err: "trace.json: gzip-compressed: decompress the trace file first"},
		{name: "zip", in: "PK\x03\x04\x14\x00\x00\x00", err: "trace.json: a zip archive"},
		{name: "binary", in: "\x7fELF\x02\x01\x01\x00\x00\x00", err: "trace.json: binary data, not a trace file (expected UTF-8 text)"},
		{name: "text", in: "Call-ID: a84b4c76e66710@carrier.example.net\n", err: "trace.json: line 1: not JSON: invalid character 'C' looking for beginning of value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loadBoth(t, tc.in, Options{Workers: 2}, func(t *testing.T, ix *Index, rep Report, err error) {
				if tc.err != "" {
					if err == nil {
						t.Fatalf("no error; %s", rep.String())
					}
					if !strings.Contains(err.Error(), tc.err) || strings.Count(err.Error(), "trace.json") != 1 {
						t.Errorf("error %q\nwant it to contain %q and name the input once", err, tc.err)
					}
					if errors.Is(err, ErrNoRecords) != tc.noRecords {
						t.Errorf("errors.Is(ErrNoRecords) = %v", !tc.noRecords)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if rep.Added != tc.added || ix.Len() != tc.added || len(rep.Skipped) != len(tc.skips) {
					t.Fatalf("%s; skipped %+v", rep.String(), rep.Skipped)
				}
				for i, s := range tc.skips {
					if got := rep.Skipped[i]; got.Reason != s.reason || got.Count != s.count || got.First != s.first {
						t.Errorf("skip %d: %+v, want %+v", i, got, s)
					}
				}
				if !strings.Contains(rep.String(), tc.summary) {
					t.Errorf("report %q\nwant it to contain %q", rep.String(), tc.summary)
				}
				var prev time.Time
				for r := range ix.All() {
					if r.Time.Before(prev) || r.Time.Location() != time.UTC {
						t.Errorf("times out of order or not UTC: %v after %v", r.Time, prev)
					}
					prev = r.Time
				}
			})
		})
	}
}

// TestMixedZonesOrder checks that records written in different zones land
// on one UTC timeline, in true order, whatever the order in the file.
func TestMixedZonesOrder(t *testing.T) {
	in := `{"callId":"k","cseq":"3 BYE","timestamp":"2025-11-25T02:05:01.000003-08:00"}` + "\n" +
		`{"callId":"k","cseq":"1 INVITE","timestamp":"2025-11-25T15:35:01.000001+05:30"}` + "\n" +
		`{"callId":"k","cseq":"2 BYE","microTs":"1764065101000002"}` + "\n"
	loadBoth(t, in, Options{}, func(t *testing.T, ix *Index, rep Report, err error) {
		if err != nil {
			t.Fatal(err)
		}
		var got []uint32
		for r := range ix.All() {
			got = append(got, r.CSeqNum)
			if want := time.Date(2025, 11, 25, 10, 5, 1, int(r.CSeqNum)*1000, time.UTC); !r.Time.Equal(want) {
				t.Errorf("cseq %d: time %v, want %v", r.CSeqNum, r.Time, want)
			}
		}
		if len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 {
			t.Errorf("order %v", got)
		}
	})
}

// TestHugeNDJSON loads 200,000 NDJSON lines, one in 1,000 broken, from a
// file and from a reader. Memory must stay bounded (messages stay on disk;
// the reader holds a few blocks), the time linear in the input, and every
// bad line counted.
func TestHugeNDJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100 MB")
	}
	const n = 200000
	dir := t.TempDir()
	write := func(name string, lines int) (string, int64) {
		path := filepath.Join(dir, name)
		var b strings.Builder
		msg := `INVITE sip:+15559870002@byoc.mypurecloud.com SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK` +
			strings.Repeat("x", 300) + `\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`
		for i := range lines {
			if i%1000 == 999 {
				b.WriteString(`{"callId":"k` + itoa(i) + `","microTs":"17640651` + "\n") // cut line
				continue
			}
			b.WriteString(`{"microTs":"` + itoa(1764065101000000+i) + `","callId":"k` + itoa(i%5000) +
				`","cseq":"` + itoa(i) + ` INVITE","msg":"` + msg + `"}` + "\n")
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return path, int64(b.Len())
	}
	// peakHeap runs fn and samples the heap in use meanwhile.
	peakHeap := func(fn func()) (uint64, time.Duration) {
		runtime.GC()
		var peak atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		start := time.Now()
		fn()
		took := time.Since(start)
		close(stop)
		<-done
		return peak.Load(), took
	}
	load := func(path string) (loadReport, uint64, time.Duration) {
		var rep loadReport
		peak, took := peakHeap(func() {
			ix := NewIndex(Options{})
			r, err := ix.loadFile(context.Background(), path, false)
			if err != nil {
				t.Fatal(err)
			}
			rep = r
			ix.Close()
		})
		return rep, peak, took
	}

	small, _ := write("small.ndjson", n/4)
	big, size := write("big.ndjson", n)
	_, _, tSmall := load(small)
	rep, peak, tBig := load(big)
	t.Logf("%d lines, %d MB: loaded in %v (exact splitting: %v), peak heap %d MB (%d lines: %v); %s",
		n, size>>20, tBig.Round(time.Millisecond), rep.exact, peak>>20, n/4, tSmall.Round(time.Millisecond), rep.String())
	if rep.Records != n || rep.Added != n-n/1000 || rep.SkippedTotal() != n/1000 ||
		rep.Skipped[0].Reason != "not JSON" || rep.Skipped[0].First != (Position{999, 1000}) {
		t.Errorf("%s; %+v", rep.String(), rep.Skipped)
	}
	// Records cost about 300 bytes each in the index; the input itself
	// must not be held.
	if limit := uint64(n*600 + 64<<20); peak > limit {
		t.Errorf("peak heap %d MB for a %d MB file, want under %d MB", peak>>20, size>>20, limit>>20)
	}
	// Four times the input: linear time is about 4x, quadratic 16x.
	if tBig > 10*tSmall+time.Second {
		t.Errorf("%v for %d lines, %v for %d: not linear", tBig, n, tSmall, n/4)
	}

	// The exact splitter (a reader, not a file) counts the same.
	f, err := os.Open(big)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ix, mrep, err := Load(context.Background(), struct{ *os.File }{f}, big, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if mrep.Added != rep.Added || mrep.SkippedTotal() != rep.SkippedTotal() || ix.Len() != rep.Added {
		t.Errorf("reader: %s; file: %s", mrep.String(), rep.String())
	}
}

// TestStreamResyncAcrossBlocks puts bad NDJSON lines everywhere, many of
// them at the end of a block, where chunked loading cannot see where the
// next record starts: it must count exactly what exact splitting counts.
func TestStreamResyncAcrossBlocks(t *testing.T) {
	const n = 24000
	pad := strings.Repeat("p", 480)
	var alt, runs strings.Builder
	wantAlt, wantRuns := 0, 0
	for i := range n {
		good := `{"microTs":"` + itoa(1764065101000000+i) + `","callId":"k` + itoa(i) + `","pad":"` + pad + `"}` + "\n"
		if i%2 == 1 {
			alt.WriteString(`{"callId":"k` + itoa(i) + `","pad":"` + pad + "\n") // cut line
			wantAlt++
		} else {
			alt.WriteString(good)
		}
		if i%7 == 3 {
			// Five lines of garbage, one skipped record.
			runs.WriteString("<p>" + pad + "\n  \"x\": 1,\n}\n" + pad + "\n   {\"a\":\n")
			wantRuns++
		}
		runs.WriteString(good)
	}
	for name, tc := range map[string]struct {
		in   string
		skip int
	}{"alternate": {alt.String(), wantAlt}, "runs": {runs.String(), wantRuns}} {
		t.Run(name, func(t *testing.T) {
			for _, w := range []int{1, 3} {
				loadBoth(t, tc.in, Options{Workers: w}, func(t *testing.T, ix *Index, rep Report, err error) {
					if err != nil {
						t.Fatal(err)
					}
					added := n - tc.skip
					if name == "runs" {
						added = n
					}
					if rep.Added != added || rep.SkippedTotal() != tc.skip || len(rep.Skipped) != 1 || rep.Skipped[0].Reason != "not JSON" {
						t.Errorf("%s", rep.String())
					}
				})
			}
		})
	}
}
