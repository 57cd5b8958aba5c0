package trace

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// genCall is one leg of a synthetic call: the messages a BYOC trunk call
// leaves in the siptraces API.
var genCall = []struct {
	method, reason, cseq string
	inbound, sdp         bool
	dt                   int64 // µs after the INVITE
}{
	{"INVITE", "", "1 INVITE", true, true, 0},
	{"100", "Trying", "1 INVITE", false, false, 1800},
	{"180", "Ringing", "1 INVITE", false, false, 412000},
	{"200", "OK", "1 INVITE", false, true, 3208000},
	{"ACK", "", "1 ACK", true, false, 3260000},
	{"BYE", "", "2 BYE", true, false, 65100000},
	{"200", "OK", "2 BYE", false, false, 65104000},
	{"INFO", "", "3 INFO", false, false, 30000000},
}

// appendJSONString appends s as a JSON string; s is ASCII.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\r':
			b = append(b, `\r`...)
		case '\n':
			b = append(b, `\n`...)
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// writeSynthetic writes an API response of n records (minified on one line,
// as the API sends it) with the usual HomerRecord fields. With msg, each
// record carries a raw SIP message of 500–900 bytes.
func writeSynthetic(path string, n int, msg bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(`{"status":200,"sid":"","auth":"","message":"","data":[`)
	var b []byte
	var sb strings.Builder
	base := int64(1764065101_000000)
	for i := range n {
		call, leg := i/len(genCall), genCall[i%len(genCall)]
		us := base + int64(call)*250_000 + leg.dt
		key := fmt.Sprintf("%08x-5d6e-4f7a-8b9c-%012x", call, call*7919)
		conv := fmt.Sprintf("%08x-5b4a-4392-8170-%012x", call*31, call)
		cid := fmt.Sprintf("%x%x@carrier.example.net", call*104729, call)
		branch := fmt.Sprintf("z9hG4bK%x%s", call, leg.cseq[:1])
		ani := fmt.Sprintf("+1555%07d", call%10000000)
		dnis := fmt.Sprintf("+1800%07d", call%1000)
		src, dst := "203.0.113.10", "52.94.12.7"
		if !leg.inbound {
			src, dst = dst, src
		}
		node := "edge-use1-" + strconv.Itoa(call%4)
		b = append(b[:0], '{')
		field := func(k, v string) {
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, `":`...)
			b = appendJSONString(b, v)
			b = append(b, ',')
		}
		field("id", strconv.FormatInt(us, 16)+strconv.Itoa(i))
		field("date", time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000Z"))
		field("milliTs", strconv.FormatInt(us/1000, 10))
		field("microTs", strconv.FormatInt(us, 10))
		field("method", leg.method)
		field("replyReason", leg.reason)
		field("ruri", "sip:"+dnis+"@byoc.mypurecloud.com;user=phone")
		field("ruriUser", dnis)
		field("ruriDomain", "byoc.mypurecloud.com")
		field("fromUser", ani)
		field("fromDomain", "carrier.example.net")
		field("fromTag", "9fxced76sl"+strconv.Itoa(call))
		field("toUser", dnis)
		field("toDomain", "byoc.mypurecloud.com")
		field("toTag", "gc-"+strconv.Itoa(call))
		field("pidUser", ani)
		field("contactUser", ani)
		field("authUser", "")
		field("callid", cid)
		field("callidAleg", "")
		field("via1", "SIP/2.0/UDP 203.0.113.10:5060;branch="+branch+";rport")
		field("via1Branch", branch)
		field("cseq", leg.cseq)
		field("diversion", "")
		field("reason", "")
		field("contentType", "application/sdp")
		field("auth", "")
		field("userAgent", "Carrier SBC 9.2.1")
		field("sourceIp", src)
		field("sourcePort", "5060")
		field("destinationIp", dst)
		field("destinationPort", "5060")
		field("contactIp", src)
		field("contactPort", "5060")
		field("originatorIp", "")
		field("originatorPort", "0")
		field("correlationId", "")
		field("proto", "udp")
		field("family", "IPv4")
		field("rtpStat", "")
		field("type", "1")
		field("node", node)
		field("trans", "call")
		field("dbnode", "db-"+strconv.Itoa(call%3))
		if msg {
			sb.Reset()
			if leg.method[0] >= 'A' {
				sb.WriteString(leg.method + " sip:" + dnis + "@byoc.mypurecloud.com;user=phone SIP/2.0\r\n")
			} else {
				sb.WriteString("SIP/2.0 " + leg.method + " " + leg.reason + "\r\n")
			}
			sb.WriteString("Via: SIP/2.0/UDP 203.0.113.10:5060;branch=" + branch + ";rport\r\n")
			sb.WriteString("Record-Route: <sip:52.94.12.7:5060;lr;ftag=9fxced76sl>\r\n")
			sb.WriteString("Max-Forwards: 69\r\n")
			sb.WriteString("From: \"Caller\" <sip:" + ani + "@carrier.example.net;user=phone>;tag=9fxced76sl\r\n")
			sb.WriteString("To: <sip:" + dnis + "@byoc.mypurecloud.com>;tag=gc-" + strconv.Itoa(call) + "\r\n")
			sb.WriteString("Call-ID: " + cid + "\r\n")
			sb.WriteString("CSeq: " + leg.cseq + "\r\n")
			sb.WriteString("Contact: <sip:" + ani + "@" + src + ":5060;transport=udp>\r\n")
			sb.WriteString("P-Asserted-Identity: <sip:" + ani + "@carrier.example.net>\r\n")
			sb.WriteString("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, REFER, NOTIFY\r\n")
			sb.WriteString("Supported: timer, replaces\r\nUser-Agent: Carrier SBC 9.2.1\r\n")
			sb.WriteString("X-Genesys-Call-ID: " + key + "\r\n")
			sb.WriteString("x-inin-cnv: " + conv + "\r\n")
			if leg.sdp {
				sdp := "v=0\r\no=- 2890844526 2890844526 IN IP4 " + src + "\r\ns=-\r\nc=IN IP4 " + src +
					"\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
					"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
				sb.WriteString("Content-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp)
			} else {
				sb.WriteString("Content-Length: 0\r\n\r\n")
			}
			field("msg", sb.String())
		}
		field("sourceAlias", "")
		field("destinationAlias", "")
		field("conversationId", conv)
		field("participantId", fmt.Sprintf("%08x-6e5f-4a3b-9c2d-%012x", call, i%2))
		b = append(b, `"selfUri":"/api/v2/telephony/siptraces"}`...)
		if i < n-1 {
			b = append(b, ',')
		}
		w.Write(b)
	}
	fmt.Fprintf(w, `],"count":%d}`, n)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syntheticFile returns the path of a cached synthetic trace.
func syntheticFile(tb testing.TB, n int, msg bool) string {
	tb.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("genesys-sip-trace-bench-v1-%d-msg%v.json", n, msg))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	if err := writeSynthetic(tmp, n, msg); err != nil {
		os.Remove(tmp)
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkLoadFile loads synthetic siptraces responses. The one-million
// record cases (about 2 GB with messages) are skipped with -short. Peak
// memory: run one case under /usr/bin/time -v, see the package report.
func BenchmarkLoadFile(b *testing.B) {
	for _, bc := range []struct {
		n   int
		msg bool
	}{{100_000, true}, {1_000_000, true}, {1_000_000, false}} {
		b.Run(fmt.Sprintf("records=%d/msg=%v", bc.n, bc.msg), func(b *testing.B) {
			if bc.n > 100_000 && testing.Short() {
				b.Skip("large trace skipped in -short mode")
			}
			path := syntheticFile(b, bc.n, bc.msg)
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			b.ReportAllocs()
			var heap uint64
			for b.Loop() {
				ix, rep, err := LoadFile(context.Background(), path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if rep.Added != bc.n {
					b.Fatalf("added %d of %d", rep.Added, bc.n)
				}
				b.StopTimer()
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heap = ms.HeapAlloc
				runtime.KeepAlive(ix)
				ix.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(heap)/(1<<20), "heapMiB")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(bc.n), "ns/record")
		})
	}
}

// BenchmarkLookup measures key lookups on a loaded index.
func BenchmarkLookup(b *testing.B) {
	ix, _, err := LoadFile(context.Background(), syntheticFile(b, 100_000, true), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	keys := make([]string, 0, 1000)
	for r := range ix.All() {
		if len(keys) == cap(keys) {
			break
		}
		keys = append(keys, r.Key)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if len(ix.ByKey(keys[i%len(keys)])) == 0 {
			b.Fatal("not found")
		}
		i++
	}
}

// BenchmarkParseChunk parses one 4 MiB block of API records on one
// goroutine: the worker's share of loading, without I/O or the index.
func BenchmarkParseChunk(b *testing.B) {
	path := syntheticFile(b, 100_000, true)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, blockSize)
	if _, err := f.ReadAt(buf, 0); err != nil {
		b.Fatal(err)
	}
	lo := strings.Index(string(buf[:100]), "[") + 1
	hi := lastArrayCut(buf)
	cfg := &config{file: true, mf: &msgFile{name: path, f: f}, recycle: make(chan []crec, 1)}
	bl := newBuilder(cfg)
	b.SetBytes(int64(hi - lo))
	for b.Loop() {
		t := &task{buf: buf, lo: lo, hi: hi, chunk: true, array: true, first: true, format: FormatAPI}
		bl.parseTask(t)
		if t.res.err != nil || t.res.crossed {
			b.Fatal(t.res.err, t.res.crossed)
		}
		cfg.giveRecs(t.res.recs)
	}
}

// BenchmarkLoadSmall loads the API fixture from memory, as a poller does
// with each response.
func BenchmarkLoadSmall(b *testing.B) {
	in, err := os.ReadFile("testdata/siptraces_response.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Load(context.Background(), strings.NewReader(string(in)), "api", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
