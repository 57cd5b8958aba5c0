package redact

import (
	"bytes"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	for _, tc := range messageTests {
		in, _ := template(tc.tmpl)
		f.Add([]byte(in))
	}
	f.Add([]byte("INVITE sip:%3\r\nf: \"\\"))
	f.Add([]byte("SIP/2.0 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nv=0\r\no=+12345 1 1 IN IP4 x\r\np=+1 555 0100"))
	f.Add([]byte("INVITE tel:+1-555-0100;rn=%2B1%35%35%35 SIP/2.0\nt:<tel:0000000000000000000000000000000000000000>\n\n"))
	// Every place of TestPlaces: multipart, PIDF, XML, text, sipfrag.
	for _, tc := range placeTests {
		f.Add([]byte(sipMessage(tc.headers, tc.ctype, tc.body)))
	}
	f.Add([]byte("MESSAGE sip:a SIP/2.0\r\nc: multipart/mixed; boundary=\"\r\n\r\n--\r\n--\r\n\r\n"))
	f.Add([]byte("MESSAGE sip:a SIP/2.0\nContent-Type: multipart/x;boundary=b\n\n--b\nContent-Type: multipart/x;boundary=b\n\n--b\n--b--\n+13125550100 1.2.3.4 2026-1-1"))
	f.Add([]byte("NOTIFY sip:a SIP/2.0\nContent-Type: application/pidf+xml\n\n<p a=\"sip:1234567@\" call-id='1234567@x' b=tel:+1(312)555-01 ::1.2.3.4 99.999.9.9"))
}

// FuzzMessage checks that Message never panics, never changes the length and
// is stable: the same input and key give the same output, also from another
// Redactor.
func FuzzMessage(f *testing.F) {
	fuzzSeeds(f)
	a := newTest(f, Config{RedactCallIDs: true, KeepDigits: 2})
	b := newTest(f, Config{RedactCallIDs: true, KeepDigits: 2})
	f.Fuzz(func(t *testing.T, msg []byte) {
		x, y := bytes.Clone(msg), bytes.Clone(msg)
		a.Message(x)
		b.Message(y)
		if len(x) != len(msg) {
			t.Fatalf("length %d -> %d", len(msg), len(x))
		}
		if !bytes.Equal(x, y) {
			t.Fatalf("unstable:\n%q\n%q", x, y)
		}
		z := bytes.Clone(msg)
		if a.Message(z); !bytes.Equal(x, z) {
			t.Fatalf("unstable across calls:\n%q\n%q", x, z)
		}
	})
}

// FuzzText checks Text and Number: no panic, same length, stable, and
// AppendNumber agrees with Number.
func FuzzText(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte("2026-11-25T10:05:01.123456Z call +1 (555) 123-4567 id 550e8400-e29b-41d4-a716-446655440000"))
	r := newTest(f, Config{})
	f.Fuzz(func(t *testing.T, in []byte) {
		s := string(in)
		txt := r.Text(s)
		if len(txt) != len(s) || txt != r.Text(s) {
			t.Fatalf("Text(%q) = %q", s, txt)
		}
		num := r.Number(s)
		if len(num) != len(s) || string(r.AppendNumber(nil, in)) != num {
			t.Fatalf("Number(%q) = %q", s, num)
		}
	})
}

// FuzzScrub checks Scrub on any stretch of text: no panic, same length,
// stable, and without RedactCallIDs only digits change.
func FuzzScrub(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte("ntact: <sip:+1555%3\r\n f: \"+1 (555) 123-4567\" <tel:+1-555-123-4567>\r\nCall-ID: 12345@x\r\nTo: <sip:+1555"))
	a := newTest(f, Config{})
	b := newTest(f, Config{RedactCallIDs: true, KeepDigits: 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		x, y := bytes.Clone(in), bytes.Clone(in)
		a.Scrub(x)
		if a.Scrub(y); !bytes.Equal(x, y) || len(x) != len(in) {
			t.Fatalf("unstable or resized:\n%q\n%q", x, y)
		}
		for i := range in {
			if x[i] != in[i] && !isDigit(in[i]) {
				t.Fatalf("byte %d (%q) changed:\n%q\n%q", i, in[i], in, x)
			}
		}
		z := bytes.Clone(in)
		if b.Scrub(z); len(z) != len(in) {
			t.Fatalf("length %d -> %d", len(in), len(z))
		}
	})
}
