package redact

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestScrubSplit cuts generated messages at random points and scrubs both
// parts separately, as the pipeline scrubs frames of unfinished messages:
// no number survives, no number's token holds one of its windows, percent
// escapes and everything but digits stay as they were, and numbers in
// complete lines of known place get the tokens Message gives them.
func TestScrubSplit(t *testing.T) {
	g := &gen{rnd: rand.New(rand.NewPCG(7, 8))}
	r := newTest(t, Config{})
	for it := range 2000 {
		in, marks := template(g.message())
		full := []byte(in)
		r.Message(full)
		k := 1 + g.rnd.IntN(len(in)-1)
		out := []byte(in)
		r.Scrub(out[:k])
		r.Scrub(out[k:])
		// Lines of unknown place: the first of the second part, the cut
		// last line of the first.
		cutStart := bytes.LastIndexByte(out[:k], '\n') + 1
		firstEnd := k + bytes.IndexByte(out[k:], '\n')
		for i := range in {
			// An escape cut in two may change: the second part cannot
			// know its digits follow a '%'.
			escape := in[i] == '%' && (i+2 < k || i >= k) && i+1 < len(in) && in[i+1] != out[i+1]
			if in[i] != out[i] && !isDigit(in[i]) || escape {
				t.Fatalf("iteration %d, cut %d: byte %d (%q) changed:\n%s", it, k, i, in[i], out)
			}
		}
		for _, m := range marks {
			pos := digitPos(in, m[0], m[1])
			num, tok := digitsAt(in, pos), digitsAt(string(out), pos)
			if split := pos[0] < k && pos[len(pos)-1] >= k; split {
				// Each part of a number cut in two is redacted on its own:
				// a part of three or more digits must not be left as it was,
				// and its token holds no 4-digit window of that part.
				below := countBelow(pos, k)
				for _, ps := range [][]int{pos[:below], pos[below:]} {
					orig, part := digitsAt(in, ps), digitsAt(string(out), ps)
					if len(orig) >= minDigits && (part == orig || len(leaks([]byte(part), orig)) > 0) {
						t.Fatalf("iteration %d, cut %d: part %s of %s left as %s:\n%s", it, k, orig, num, part, out)
					}
				}
				continue
			}
			if tok == num || len(leaks([]byte(tok), num)) > 0 {
				t.Fatalf("iteration %d, cut %d: %s -> %s:\n%s", it, k, num, tok, out)
			}
			unknown := pos[0] >= cutStart && pos[0] < k || pos[0] >= k && pos[0] < firstEnd
			if want := digitsAt(string(full), pos); !unknown && tok != want && !bytes.Contains([]byte(in[m[0]:m[1]]), []byte("%")) {
				t.Fatalf("iteration %d, cut %d: %s got %s, Message gives %s:\n%s", it, k, num, tok, want, out)
			}
		}
	}
}

func countBelow(pos []int, k int) int {
	n := 0
	for n < len(pos) && pos[n] < k {
		n++
	}
	return n
}

// TestScrubLines checks the line rules on a message cut after its From
// header: structure and non-number digits of known lines stay.
func TestScrubLines(t *testing.T) {
	r := newTest(t, Config{RedactCallIDs: true})
	in := "INVITE sip:+15551234567@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK776\r\n" +
		"CSeq: 1021 INVITE\r\nContent-Length: 1234\r\nCall-ID: abc123@host\r\n" +
		"From: \"+1 (555) 987-6543\" <tel:+1-555-987-6543>;tag=x\r\n" +
		"To: <sip:%2B1%35%35%35%32%32%32%33%33%33%33@example.com>\r\n" +
		"Contact: <sip:+1555444"
	out := []byte(in)
	r.Scrub(out)
	full := []byte(in[:len(in)-len("Contact: <sip:+1555444")])
	r.Message(full)
	if !bytes.HasPrefix(out, full) {
		t.Errorf("complete lines differ from Message:\n%s\n%s", out, full)
	}
	if bytes.Count(out, []byte("%3")) != 10 {
		t.Errorf("percent escapes changed:\n%s", out)
	}
	for _, keep := range []string{"10.0.0.1:5060;branch=z9hG4bK776", "CSeq: 1021 ", "Content-Length: 1234", "<sip:%2B"} {
		if !bytes.Contains(out, []byte(keep)) {
			t.Errorf("%q changed:\n%s", keep, out)
		}
	}
	for _, gone := range []string{"5551234567", "abc123", "555) 987-6543", "1555444"} {
		if bytes.Contains(out, []byte(gone)) {
			t.Errorf("%q left:\n%s", gone, out)
		}
	}
}
