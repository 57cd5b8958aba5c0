package redact

import (
	"fmt"
	"testing"
)

// benchInvite is a typical 1 KB carrier INVITE with 6 distinct numbers.
func benchInvite(b *testing.B) []byte {
	in, _ := template(messageTests[0].tmpl)
	if len(in) < 1000 || len(in) > 1500 {
		b.Fatalf("benchmark message is %d bytes", len(in))
	}
	return []byte(in)
}

// BenchmarkMessage measures the steady state: the numbers of a call repeat
// in every message of the call, so their tokens come from the cache.
func BenchmarkMessage(b *testing.B) {
	r := newTest(b, Config{})
	in := benchInvite(b)
	buf := make([]byte, len(in))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, in)
		r.Message(buf)
	}
}

// BenchmarkMessageNewNumbers measures a message whose 6 numbers have never
// been seen: every token is derived (uncached).
func BenchmarkMessageNewNumbers(b *testing.B) {
	r := newTest(b, Config{})
	in := benchInvite(b)
	buf := make([]byte, len(in))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, in)
		clear(r.tok.cache[:])
		r.Message(buf)
	}
}

// BenchmarkNumberDerive measures deriving one 11-digit token.
func BenchmarkNumberDerive(b *testing.B) {
	r := newTest(b, Config{})
	num, out := []byte("13125550188"), make([]byte, 11)
	b.ReportAllocs()
	for b.Loop() {
		r.tok.derive(num, out, 0)
	}
}

// BenchmarkText measures Text on a typical log line.
func BenchmarkText(b *testing.B) {
	r := newTest(b, Config{})
	line := fmt.Sprintf("2026-11-25T10:05:01.123456Z INFO INVITE from +13125550188 to sip:+13175550123@byoc.mypurecloud.com call-id %s", "5b8e1c3a-7d2f-4e9b-a1c6-0f3e2d1b9a87")
	b.ReportAllocs()
	for b.Loop() {
		r.Text(line)
	}
}

// BenchmarkMessageMultipart measures a message whose multipart body holds
// SDP and PIDF parts, with x-inin-* and Subject headers: the body and
// free-text paths.
func BenchmarkMessageMultipart(b *testing.B) {
	r := newTest(b, Config{})
	tc := placeTests[0]
	for _, p := range placeTests {
		if p.place == "multipart/mixed: SDP and PIDF parts" {
			tc = p
		}
	}
	in := []byte(sipMessage("x-inin-ani: tel:+13125550115\nx-inin-dnis: 3125550116\nSubject: call from 3125550122", tc.ctype, tc.body))
	buf := make([]byte, len(in))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, in)
		r.Message(buf)
	}
}
