package sip

import "testing"

func benchmarkParse(b *testing.B, msg []byte) {
	var m Message
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Parse(msg, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseInvite parses a typical 900-byte INVITE with SDP.
func BenchmarkParseInvite(b *testing.B) { benchmarkParse(b, crlf(genesysInvite)) }

// BenchmarkParse200OK parses a 400-byte 200 OK in compact form.
func BenchmarkParse200OK(b *testing.B) { benchmarkParse(b, crlf(genesysOK)) }

// BenchmarkParseTortuous parses RFC 4475 wsinv: folding everywhere.
func BenchmarkParseTortuous(b *testing.B) { benchmarkParse(b, loadTorture(b, "wsinv")) }

// BenchmarkParseMalformed parses an INVITE with Content-Length "bad",
// accepted as malformed.
func BenchmarkParseMalformed(b *testing.B) { benchmarkParse(b, crlf(malformedInvite)) }

// BenchmarkLookup looks up the two default correlation headers.
func BenchmarkLookup(b *testing.B) {
	var m Message
	if err := Parse(crlf(genesysInvite), &m); err != nil {
		b.Fatal(err)
	}
	set := NewHeaderSet("X-Genesys-Call-ID", "x-inin-cnv")
	dst := make([][]byte, 0, set.Len())
	b.ReportAllocs()
	for b.Loop() {
		dst = m.Lookup(set, dst)
	}
}

// BenchmarkMessageLength frames the INVITE as a stream decoder does.
func BenchmarkMessageLength(b *testing.B) {
	msg := crlf(genesysInvite)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MessageLength(msg); err != nil {
			b.Fatal(err)
		}
	}
}
