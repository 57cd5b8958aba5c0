package sip

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// addSeeds adds the torture messages, the handcrafted messages and, when
// the shared corpus is present, the SIP payloads of its captures. Fuzzing
// does not need the corpus; TestCapturesAgainstTshark enforces it in CI.
func addSeeds(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "rfc4475"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		f.Add(loadTorture(f, strings.TrimSuffix(e.Name(), ".txt")))
	}
	f.Add(crlf(genesysInvite))
	f.Add(crlf(genesysOK))
	f.Add([]byte("SIP/2.0 100\nf:a;tag=1\nt:b\ni:c\nCSeq:1 X\n"))
	// Malformed but kept: bad and conflicting Content-Length, lines that
	// are not header lines, folding onto nothing.
	f.Add(crlf(malformedInvite))
	f.Add([]byte("SIP/2.0 200 OK\r\nf:a;tag=1\r\nt:b\r\ni:c\r\nCSeq:1 X\r\nl: 3\r\nContent-Length: 5\r\n\r\nabcde"))
	f.Add([]byte("SIP/2.0 200 OK\r\nNoColon\r\n folded: x\r\nf:a;tag=1\r\nt:b\r\ni:c\r\nCSeq:1 X\r\nl: -1\r\n\r\nbody"))
	f.Add([]byte("BYE sip:a@b SIP/2.0\r\n\tfold\r\nv: SIP/2.0/UDP h\r\n: empty\r\nA B: c\r\nf:a;tag=1\r\nt:b\r\ni:c\r\nCSeq:1 BYE\r\nl:\r\n\r\n"))
	dir := os.Getenv("GENESYS_SIP_CAPTURES")
	if dir == "" {
		dir = filepath.Join(testenv.RepoRoot(f), "..", "shared", "captures")
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	for _, p := range paths {
		for _, b := range captureSIP(f, p) {
			f.Add(b)
		}
	}
}

// within reports whether s is nil or lies inside b.
func within(b, s []byte) bool {
	if s == nil {
		return true
	}
	if len(b) == 0 {
		return len(s) == 0
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return p >= lo && p+uintptr(len(s)) <= lo+uintptr(len(b))
}

func FuzzParse(f *testing.F) {
	addSeeds(f)
	var m, m2 Message
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Parse(b, &m)
		if err != nil {
			var se *SyntaxError
			if !errors.Is(err, ErrNotSIP) && !errors.As(err, &se) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if !strings.HasPrefix(err.Error(), "sip: ") {
				t.Fatalf("error without prefix: %q", err)
			}
			if errors.Is(err, ErrShortBody) && (len(m.CallID) == 0 || !within(b, m.Body) || !within(b, m.Raw)) {
				t.Fatal("ErrShortBody without a usable message")
			}
			return
		}
		if m.IsRequest() == m.IsResponse() {
			t.Fatalf("request %v, response %v", m.IsRequest(), m.IsResponse())
		}
		if len(m.CallID) == 0 || len(m.CSeqMethod) == 0 || m.From == nil || m.To == nil ||
			(m.IsRequest() && len(m.Via) == 0) {
			t.Fatal("identity incomplete after a successful Parse")
		}
		for _, s := range [][]byte{m.Method, m.RequestURI, m.Reason, m.CallID, m.CSeqMethod, m.Via,
			m.Branch, m.From, m.To, m.FromTag, m.ToTag, m.PAssertedIdentity, m.Body, m.Raw} {
			if !within(b, s) {
				t.Fatal("field outside the input")
			}
		}
		for _, h := range m.Headers() {
			if !within(b, h.Name) || !within(b, h.Value) || len(h.Name) == 0 {
				t.Fatalf("bad header %q", h.Name)
			}
		}
		if m.ContentLength >= 0 && len(m.Body) != m.ContentLength {
			t.Fatalf("body %d bytes, Content-Length %d", len(m.Body), m.ContentLength)
		}
		switch m.Malformed {
		case "", malBadContentLength, malConflictingContentLength, malNoColon, malHeaderName, malContinuation:
		default:
			t.Fatalf("unknown Malformed reason %q", m.Malformed)
		}
		if m.clBad && (m.ContentLength != -1 || m.Malformed == "") {
			t.Fatalf("unusable Content-Length: ContentLength %d, Malformed %q", m.ContentLength, m.Malformed)
		}
		// Raw is the message on its own: parsing it again gives the same.
		if err := Parse(m.Raw, &m2); err != nil {
			t.Fatalf("Parse(Raw): %v", err)
		}
		if string(m2.CallID) != string(m.CallID) || m2.CSeq != m.CSeq || string(m2.Branch) != string(m.Branch) ||
			string(m2.Body) != string(m.Body) || len(m2.Raw) != len(m.Raw) {
			t.Fatal("Parse(Raw) differs")
		}
		// Stream framing agrees with Parse on where the message ends.
		if KeepAliveLength(b) == 0 {
			n, err := MessageLength(b)
			if m.ContentLength >= 0 && err == nil && n != len(m.Raw) {
				t.Fatalf("MessageLength %d, Parse took %d bytes", n, len(m.Raw))
			}
			// A message framed on a stream is the same message, with
			// the same defects (a bad Content-Length frames as 0).
			if err == nil {
				if err := Parse(b[:n], &m2); err != nil || string(m2.CallID) != string(m.CallID) || m2.Malformed != m.Malformed {
					t.Fatalf("Parse(framed %d bytes) = %v, Malformed %q; Parse(all) Malformed %q", n, err, m2.Malformed, m.Malformed)
				}
			}
		}
	})
}

func FuzzMessageLength(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := MessageLength(b)
		if err != nil {
			switch err {
			case ErrIncomplete, ErrNotSIP, ErrTooLong:
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n <= 0 || n > len(b) || n > MaxMessage {
			t.Fatalf("length %d of %d bytes", n, len(b))
		}
		// A framed message frames to itself, and every prefix is
		// incomplete: a stream decoder waiting for more bytes must get
		// the same answer once they arrive.
		if n2, err := MessageLength(b[:n]); err != nil || n2 != n {
			t.Fatalf("MessageLength(b[:%d]) = %d, %v", n, n2, err)
		}
		for _, k := range []int{n - 1, n / 2} {
			if _, err := MessageLength(b[:k]); err != ErrIncomplete {
				t.Fatalf("MessageLength(b[:%d]) = %v, want ErrIncomplete (full length %d)", k, err, n)
			}
		}
	})
}
