package redact

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// gen writes SIP messages with random numbers in every supported place and
// in random notations.
type gen struct {
	rnd  *rand.Rand
	nums []string // the digit strings used in the current message
}

// number returns a new random digit string; sometimes an earlier one, or an
// earlier one without its first digits (a stripped country code).
func (g *gen) number() string {
	if len(g.nums) > 0 && g.rnd.IntN(4) == 0 {
		n := g.nums[g.rnd.IntN(len(g.nums))]
		if g.rnd.IntN(2) == 0 && len(n) > 8 {
			n = n[1+g.rnd.IntN(2):]
		}
		return n
	}
	b := make([]byte, 4+g.rnd.IntN(12))
	for k := range b {
		b[k] = '0' + byte(g.rnd.IntN(10))
	}
	g.nums = append(g.nums, string(b))
	return string(b)
}

// sepd writes d with random visual separators from seps between digits.
func (g *gen) sepd(d, seps string) string {
	var b strings.Builder
	for k := range len(d) {
		if k > 0 && g.rnd.IntN(4) == 0 {
			b.WriteByte(seps[g.rnd.IntN(len(seps))])
		}
		b.WriteByte(d[k])
	}
	return b.String()
}

// user returns a marked URI user part.
func (g *gen) user() string {
	d := g.number()
	switch g.rnd.IntN(6) {
	case 0:
		return "{{" + d + "}}"
	case 1:
		return "%2B{{" + d + "}}"
	case 2: // percent-encoded digits
		var b strings.Builder
		for k := range len(d) {
			if g.rnd.IntN(2) == 0 {
				fmt.Fprintf(&b, "%%3%c", d[k])
			} else {
				b.WriteByte(d[k])
			}
		}
		return "{{" + b.String() + "}}"
	case 3:
		return "+{{" + d + "}};npdi;rn=+{{" + g.number() + "}}"
	case 4:
		return "ab{{" + d + "}}"
	}
	return "+{{" + d + "}}"
}

// uri returns a marked sip: or tel: URI.
func (g *gen) uri() string {
	if g.rnd.IntN(3) == 0 {
		s := "tel:+{{" + g.sepd(g.number(), "-.()") + "}}"
		if g.rnd.IntN(2) == 0 {
			s += ";cic=+{{" + g.number() + "}}"
		}
		return s
	}
	host := [...]string{"carrier.example.net", "192.0.2.7:5061", "[2001:db8::7]", "byoc.mypurecloud.com"}[g.rnd.IntN(4)]
	return "sip:" + g.user() + "@" + host + [...]string{"", ";user=phone", ";transport=tls"}[g.rnd.IntN(3)]
}

// nameAddr returns a marked header value.
func (g *gen) nameAddr() string {
	var s string
	switch g.rnd.IntN(4) {
	case 0:
		s = `"{{+` + g.sepd(g.number(), " -.()/") + `}}" `
	case 1:
		s = `"Caller \"{{` + g.number() + `}}\" x" `
	case 2:
		s = "Name "
	}
	s += "<" + g.uri() + ">"
	if g.rnd.IntN(2) == 0 {
		s += `;tag=a7b;reason="busy, no-answer";counter=2`
	}
	return s
}

func (g *gen) list() string {
	s := g.nameAddr()
	for g.rnd.IntN(3) == 0 {
		s += [...]string{",", ", ", ",\n "}[g.rnd.IntN(3)] + g.nameAddr()
	}
	return s
}

// message returns a marked SIP message template.
func (g *gen) message() string {
	g.nums = g.nums[:0]
	var b strings.Builder
	b.WriteString("INVITE " + g.uri() + " SIP/2.0\n")
	b.WriteString("Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKab\n")
	for _, h := range []string{"From", "f", "To", "t", "P-Asserted-Identity", "P-Preferred-Identity",
		"Remote-Party-ID", "Diversion", "History-Info", "Contact", "m", "Refer-To", "r", "Referred-By", "b",
		"P-Called-Party-ID", "P-Charge-Info"} {
		if g.rnd.IntN(3) == 0 {
			continue
		}
		switch g.rnd.IntN(5) {
		case 0: // addr-spec
			b.WriteString(h + ": sip:" + g.user() + "@host.example.com;tag=xy\n")
		case 1:
			b.WriteString(h + ": <" + g.uri() + "?Reason=SIP%3Bcause%3D480>;index=1.1\n")
		default:
			b.WriteString(h + ":" + [...]string{" ", "", "  "}[g.rnd.IntN(3)] + g.list() + "\n")
		}
	}
	b.WriteString("Call-ID: ab.cd@host\nCSeq: 1 INVITE\nContent-Type: application/sdp\nContent-Length: #\n\n")
	b.WriteString("v=0\no={{" + g.number() + "}} 1 1 IN IP4 192.0.2.7\ns=-\np={{+" + g.sepd(g.number(), " -") + "}}\nc=IN IP4 192.0.2.7\n")
	return b.String()
}

// TestProperty checks generated messages: the output is exactly the input
// with the token of every number in every place, and no 4-digit window of any
// number survives except where the rest of the message or the token of
// another number happens to contain it.
func TestProperty(t *testing.T) {
	iterations := 3000
	if testing.Short() {
		iterations = 300
	}
	g := &gen{rnd: rand.New(rand.NewPCG(1, 2))}
	coincidences := 0
	for it := range iterations {
		r, err := New(Config{Key: fmt.Appendf(nil, "key %d", it), KeepDigits: [...]int{0, 0, 0, 1, 3}[it%5]})
		if err != nil {
			t.Fatal(err)
		}
		tmpl := g.message()
		in, marks := template(tmpl)
		out := []byte(in)
		r.Message(out)
		want := expected(r, in, marks, out)
		if string(out) != want {
			t.Fatalf("iteration %d:\n%s\nwant:\n%s", it, out, want)
		}
		checkSIP(t, []byte(in), out)

		hit := false
		skeleton := []byte(in)
		for _, m := range marks {
			for _, p := range digitPos(in, m[0], m[1]) {
				skeleton[p] = 'X'
			}
		}
		for _, m := range marks {
			num := digitsAt(in, digitPos(in, m[0], m[1]))
			for _, w := range leaksBut(out, num, skeleton) {
				// Attribute the window: if it is gone once the places of
				// num are blanked, it came from num's own token.
				if !bytes.Contains(blank(in, out, marks, num, r.tok.keep), []byte(w)) {
					t.Fatalf("iteration %d: %s of %s leaks:\n%s", it, w, num, out)
				}
				hit = true
			}
		}
		if hit {
			coincidences++
		}
	}
	t.Logf("%d messages; %d with a window of a number in the token of another", iterations, coincidences)
}

// blank returns out with the token digits of every mark of num (not the
// kept ones) replaced by X.
func blank(in string, out []byte, marks [][2]int, num string, keep int) []byte {
	b := bytes.Clone(out)
	for _, m := range marks {
		pos := digitPos(in, m[0], m[1])
		if digitsAt(in, pos) == num {
			for _, p := range pos[:len(pos)-min(keep, len(pos))] {
				b[p] = 'X'
			}
		}
	}
	return b
}

// TestPropertyStable checks that two Redactors with the same key agree, and
// that the message still parses with the same structure.
func TestPropertyStable(t *testing.T) {
	g := &gen{rnd: rand.New(rand.NewPCG(3, 4))}
	a, b := newTest(t, Config{RedactCallIDs: true}), newTest(t, Config{RedactCallIDs: true})
	for range 300 {
		in, _ := template(g.message())
		x, y := []byte(in), []byte(in)
		a.Message(x)
		b.Message(y)
		if !bytes.Equal(x, y) {
			t.Fatalf("same key, different output:\n%s\n%s", x, y)
		}
	}
}

// TestCrossNumberRate measures how often, in a call with 6 random 11-digit
// numbers, the token of one number happens to contain a 4-digit window of
// another. Tokens depend only on their own number, so this cannot be
// avoided; it reveals nothing about the other number.
func TestCrossNumberRate(t *testing.T) {
	r := newTest(t, Config{})
	rnd := rand.New(rand.NewPCG(5, 6))
	const calls = 2000
	hit := 0
	for range calls {
		nums := make([]string, 6)
		for k := range nums {
			nums[k] = fmt.Sprintf("1%010d", rnd.Int64N(1e10))
		}
	call:
		for _, a := range nums {
			tok := r.Number(a)
			for _, b := range nums {
				if b != a && len(leaks([]byte(tok), b)) > 0 {
					hit++
					break call
				}
			}
		}
	}
	t.Logf("%d of %d calls have a window of one number in another's token", hit, calls)
}
