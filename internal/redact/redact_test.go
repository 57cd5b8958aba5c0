package redact

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var testKey = []byte("genesys-sip test key")

func newTest(t testing.TB, cfg Config) *Redactor {
	t.Helper()
	if cfg.Key == nil {
		cfg.Key = testKey
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// template expands a test message. Line ends become CRLF, "{{...}}" marks a
// digit group that must be redacted, and "#" after "Content-Length: " or
// "l: " becomes the body length. It returns the input message and the marked
// ranges in it.
func template(s string) (msg string, marks [][2]int) {
	s = strings.ReplaceAll(s, "\n", "\r\n")
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.Index(s[i:], "}}")
		b.WriteString(s[:i])
		start := b.Len()
		b.WriteString(s[i+2 : i+j])
		marks = append(marks, [2]int{start, b.Len()})
		s = s[i+j+2:]
	}
	msg = b.String()
	if k := strings.Index(msg, "\r\n\r\n"); k >= 0 {
		n := len(msg) - k - 4
		for _, h := range []string{"\r\nContent-Length: #", "\r\nl: #"} {
			if p := strings.Index(msg, h); p >= 0 {
				// Keep the length: pad the number to the width of "#" plus
				// what it replaces, shifting the marks after it.
				num := strconv.Itoa(n)
				msg = msg[:p+len(h)-1] + num + msg[p+len(h):]
				n2 := len(msg) - strings.Index(msg, "\r\n\r\n") - 4
				if n2 != n {
					panic("body length changed")
				}
				for m := range marks {
					if marks[m][0] > p {
						marks[m][0] += len(num) - 1
						marks[m][1] += len(num) - 1
					}
				}
			}
		}
	}
	return msg, marks
}

// digitPos returns the positions of the digits in s[start:end]: literal
// digits and percent-encoded ones (%30-%39).
func digitPos(s string, start, end int) []int {
	var pos []int
	for i := start; i < end; i++ {
		switch {
		case s[i] == '%' && i+2 < end && s[i+1] == '3' && isDigit(s[i+2]):
			pos = append(pos, i+2)
			i += 2
		case s[i] == '%' && i+2 < end:
			i += 2
		case isDigit(s[i]):
			pos = append(pos, i)
		}
	}
	return pos
}

func digitsAt(s string, pos []int) string {
	b := make([]byte, len(pos))
	for k, p := range pos {
		b[k] = s[p]
	}
	return string(b)
}

// expected returns msg with the digits of every mark replaced by the token of
// the mark's digits, as Number gives it. A percent-encoded spelling may get
// another token (see flush); for marks with a '%' the digits are taken from
// got when that is not nil.
func expected(r *Redactor, msg string, marks [][2]int, got []byte) string {
	out := []byte(msg)
	for _, m := range marks {
		pos := digitPos(msg, m[0], m[1])
		tok := r.Number(digitsAt(msg, pos))
		variant := got != nil && strings.Contains(msg[m[0]:m[1]], "%")
		for k, p := range pos {
			out[p] = tok[k]
			if variant && len(got) == len(msg) && isDigit(got[p]) {
				out[p] = got[p]
			}
		}
	}
	return string(out)
}

// leaks returns the 4-digit windows of num that occur in out.
func leaks(out []byte, num string) []string {
	var found []string
	for i := 0; i+window <= len(num); i++ {
		if bytes.Contains(out, []byte(num[i:i+window])) {
			found = append(found, num[i:i+window])
		}
	}
	return found
}

// leaksBut returns the 4-digit windows of num that occur in out but not in
// skeleton.
func leaksBut(out []byte, num string, skeleton []byte) []string {
	var found []string
	for _, w := range leaks(out, num) {
		if !bytes.Contains(skeleton, []byte(w)) {
			found = append(found, w)
		}
	}
	return found
}

// checkSIP checks that out still has the SIP structure of in: the same start
// line words apart from the Request-URI, the same header names in order, a
// blank line at the same place.
func checkSIP(t testing.TB, in, out []byte) {
	t.Helper()
	if len(in) != len(out) {
		t.Fatalf("length changed: %d -> %d", len(in), len(out))
	}
	inL, outL := bytes.Split(in, []byte("\n")), bytes.Split(out, []byte("\n"))
	if len(inL) != len(outL) {
		t.Fatalf("line count changed")
	}
	first := true
	for k := range inL {
		a, b := inL[k], outL[k]
		if first {
			if len(bytes.TrimSpace(a)) == 0 {
				continue
			}
			first = false
			fa, fb := bytes.Fields(a), bytes.Fields(b)
			if len(fa) != len(fb) || !bytes.Equal(fa[0], fb[0]) || !bytes.Equal(fa[len(fa)-1], fb[len(fb)-1]) {
				t.Errorf("start line changed:\n%q\n%q", a, b)
			}
			continue
		}
		if len(a) > 0 && (a[0] == ' ' || a[0] == '\t') {
			continue // folded
		}
		if len(bytes.TrimSpace(a)) == 0 {
			if !bytes.Equal(a, b) {
				t.Errorf("blank line changed")
			}
			break
		}
		if c := bytes.IndexByte(a, ':'); c > 0 && !bytes.Equal(a[:c+1], b[:c+1]) {
			t.Errorf("header name changed: %q -> %q", a[:c+1], b[:c+1])
		}
	}
}

// Realistic messages. The numbers are from the fictional 555-01xx range or
// from the shared captures.
var messageTests = []struct {
	name string
	cfg  Config
	tmpl string
}{
	{
		name: "carrier INVITE with PAI, Diversion, RPID, History-Info, LNP",
		tmpl: `INVITE sip:+{{13175550123}};npdi;rn=+{{13175559999}}@byoc.mypurecloud.com:5061;user=phone;transport=tls SIP/2.0
Via: SIP/2.0/TLS 203.0.113.15:5061;branch=z9hG4bK-524287-1---3f0a6b1c8f2d7e11;rport
Max-Forwards: 69
From: "{{+1 (312) 555-0188}}" <sip:+{{13125550188}}@203.0.113.15;user=phone>;tag=8f3c2a91
To: <sip:+{{13175550123}}@byoc.mypurecloud.com;user=phone>
Call-ID: 5b8e1c3a-7d2f-4e9b-a1c6-0f3e2d1b9a87@203.0.113.15
CSeq: 101 INVITE
Contact: <sip:+{{13125550188}}@203.0.113.15:5061;transport=tls>
P-Asserted-Identity: "Wireless Caller {{3125550188}}" <sip:+{{13125550188}}@203.0.113.15;user=phone>, <tel:+{{1-312-555-0188}}>
Diversion: <sip:+{{18005550100}}@203.0.113.15;user=phone>;reason=unconditional;counter=1;privacy=off;screen=no
Remote-Party-ID: "{{3125550188}}" <sip:{{3125550188}}@203.0.113.15>;party=calling;screen=yes;privacy=off
History-Info: <sip:+{{18005550100}}@203.0.113.15?Reason=SIP%3Bcause%3D302%3Btext%3D%22Moved%20Temporarily%22>;index=1,
 <sip:+{{13175550123}}@byoc.mypurecloud.com;user=phone;cause=302>;index=1.1;rc=1
P-Charge-Info: <sip:+{{13125550100}}@203.0.113.15;user=phone>;npi=ISDN;noa=3
Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REFER, UPDATE, PRACK, INFO
Supported: 100rel, timer, replaces
Session-Expires: 1800
Content-Type: application/sdp
Content-Length: #

v=0
o={{13125550188}} 1738201839 1738201840 IN IP4 203.0.113.15
s=-
c=IN IP4 203.0.113.40
t=0 0
m=audio 21866 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
`,
	},
	{
		name: "Genesys 200 OK in compact form",
		tmpl: `SIP/2.0 200 OK
v: SIP/2.0/TLS 203.0.113.15:5061;branch=z9hG4bK-524287-1---3f0a6b1c8f2d7e11;rport=5061;received=203.0.113.15
f: "{{+1 (312) 555-0188}}" <sip:+{{13125550188}}@203.0.113.15;user=phone>;tag=8f3c2a91
t: <sip:+{{13175550123}}@byoc.mypurecloud.com;user=phone>;tag=7c1e0d5a-4402
i: 5b8e1c3a-7d2f-4e9b-a1c6-0f3e2d1b9a87@203.0.113.15
CSeq: 101 INVITE
m: <sip:+{{13175550123}}@10.20.30.40:5061;transport=tls>;expires=3600
X-Genesys-Call-ID: 0f8e3c2a-5d4b-4c1e-9a7f-2b6d8e1c3f50
x-inin-cnv: 3b1d7a2e-9c4f-4e8b-b2a1-7d6c5e4f3a21
P-Asserted-Identity: <sip:+{{13175550123}}@byoc.mypurecloud.com>
c: application/sdp
l: #

v=0
o=- 3947209384 3947209385 IN IP4 10.20.30.40
s=Genesys
c=IN IP4 10.20.30.41
t=0 0
m=audio 16384 RTP/AVP 0 101
`,
	},
	{
		name: "REFER with compact Refer-To and Referred-By, Replaces kept",
		tmpl: `REFER sip:+{{13125550188}}@203.0.113.15:5061;transport=tls SIP/2.0
Via: SIP/2.0/TLS 10.20.30.40:5061;branch=z9hG4bK.8a7c6e5d
From: <sip:+{{13175550123}}@byoc.mypurecloud.com>;tag=7c1e0d5a-4402
To: <sip:+{{13125550188}}@203.0.113.15>;tag=8f3c2a91
Call-ID: 5b8e1c3a-7d2f-4e9b-a1c6-0f3e2d1b9a87@203.0.113.15
CSeq: 2 REFER
r: <sip:{{4045550123}}@pstn.example.net?Replaces=a84b4c76e66710%40pc33.atlanta.com%3Bto-tag%3D1234%3Bfrom-tag%3D5678>
b: "Agent {{7001}}" <sip:{{7001}}@genesys.example.com>
Content-Length: 0

`,
	},
	{
		name: "tel URIs, escapes, IPv6, percent-encoding, mixed user parts",
		tmpl: `INVITE tel:{{555-0123}};phone-context=+{{1-312}} SIP/2.0
Via: SIP/2.0/UDP [2001:db8::10]:5060;branch=z9hG4bK74bf9
From: "J. O'Brien \"{{555}}\" Jr" <sip:jobrien{{4455}}@example.com>;tag=a6c85cf
To: <sip:%2B{{15551234567}}@carrier.example.com;user=phone>
Call-ID: 3848276298220188511@example.com
CSeq: 1 INVITE
Contact: <sip:{{13125550188}}@[2001:db8::10]:5060>;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";expires=3600
P-Preferred-Identity: sip:+{{15551234567}}@example.com
P-Called-Party-ID: <sip:voi{{18062}}@sip.cybercity.dk>
Referred-By: <sip:%2B{{%31%35%35%35%31%32%33%34%35%36%37}}@example.com>
Remote-Party-ID: {{5551234567}} <sip:{{5551234567}}@example.com>;party=calling
Diversion: <tel:+{{1.555.123.4567}};rn=+{{1-555-987-6543}}>;reason="user-busy, no-answer";counter=2, <sip:{{101}}@pbx.example.com>;reason=no-answer
Content-Length: 0

`,
	},
	{
		name: "addr-spec with header parameters and tel tag",
		tmpl: `BYE sip:{{97239287044}}@voip.brujula.net SIP/2.0
Via: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKnp1049
From: sip:{{816666}}@voip.brurjula.net;tag=6433ef9
To: tel:+{{97239287044}};tag=83452
Call-ID: 105090259-446faf7a@192.168.1.2
CSeq: 2 BYE
Contact: *
Content-Length: 0

`,
	},
	{
		name: "capture: sngrep INVITE",
		tmpl: `INVITE sip:{{97239287044}}@voip.brujula.net SIP/2.0
Via: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKnp104984053-44ce4a41192.168.1.2;rport
From: "arik" <sip:{{816666}}@voip.brurjula.net>;tag=6433ef9
To: <sip:{{97239287044}}@voip.brujula.net>
Call-ID: 105090259-446faf7a@192.168.1.2
CSeq: 1 INVITE
User-Agent: Nero SIPPS IP Phone Version 2.0.51.16
Expires: 120
Accept: application/sdp
Content-Type: application/sdp
Content-Length: #
Contact: <sip:{{816666}}@192.168.1.2>
Max-Forwards: 70
Allow: INVITE, ACK, CANCEL, BYE, REFER, OPTIONS, NOTIFY, INFO

v=0
o=SIPPS 105015165 105015162 IN IP4 192.168.1.2
s=SIP call
c=IN IP4 192.168.1.2
t=0 0
m=audio 30000 RTP/AVP 0 8 97 2 3
a=rtpmap:0 pcmu/8000
a=rtpmap:8 pcma/8000
a=rtpmap:97 iLBC/8000
a=rtpmap:2 G726-32/8000
a=rtpmap:3 GSM/8000
a=fmtp:97 mode=20
a=sendrecv
`,
	},
	{
		name: "capture: suricata compact form with a stray backslash",
		tmpl: `INVITE sip:{{97239287044}}@voip.brujula.net SIP/2.0
v: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKnp104984053-44ce4a41192.168.1.2;rport
f: \"arik\" <sip:{{816666}}@voip.brurjula.net>;tag=6433ef9
t: <sip:{{97239287044}}@voip.brujula.net>
Call-ID: 105090259-446faf7a@192.168.1.2
CSeq: 1 INVITE
c: application/sdp
l: #
Contact: <sip:{{816666}}@192.168.1.2>

v=0
o=SIPPS 105015165 105015162 IN IP4 192.168.1.2
e=j.doe@example.com (Jane Doe)
p={{+1 617 555-6011}} (Jane Doe)
c=IN IP4 192.168.1.2
t=3034423619 3042462419
r=604800 3600 0 90000
z=2882844526 -1h 2898848070 0
`,
	},
	{
		name: "multipart body with SDP and ISUP",
		tmpl: `INVITE sip:{{4045550123}}@10.0.0.5 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKmp1
From: <sip:{{4045550188}}@10.0.0.9>;tag=mp1
To: <sip:{{4045550123}}@10.0.0.5>
Call-ID: mp1@10.0.0.9
CSeq: 1 INVITE
Content-Type: multipart/mixed;boundary=unique-boundary-1
Content-Length: #

--unique-boundary-1
Content-Type: application/sdp

v=0
o={{4045550188}} 2890844526 2890844526 IN IP4 10.0.0.9
s=-
--unique-boundary-1
Content-Type: application/ISUP;version=nxv3
Content-Disposition: signal;handling=optional

0123456789
--unique-boundary-1--
`,
	},
	{
		name: "trailing data after Content-Length is not body",
		tmpl: `SIP/2.0 180 Ringing
From: <sip:{{4045550188}}@10.0.0.9>;tag=cl1
To: <sip:{{4045550123}}@10.0.0.5>;tag=cl2
Call-ID: cl@10.0.0.9
CSeq: 1 INVITE
Content-Type: application/sdp
Content-Length: 6

v=0
o=4045550188 1 1 IN IP4 10.0.0.9
`,
	},
	{
		name: "Request-URI and From left alone when not configured",
		cfg:  Config{Headers: []string{"To"}},
		tmpl: `INVITE sip:4045550123@10.0.0.5 SIP/2.0
From: <sip:4045550188@10.0.0.9>;tag=h1
t: <sip:{{4045550123}}@10.0.0.5>
Content-Length: 0

`,
	},
}

func TestMessage(t *testing.T) {
	for _, tc := range messageTests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTest(t, tc.cfg)
			in, marks := template(tc.tmpl)
			want := expected(r, in, marks, nil)
			out := []byte(in)
			n := r.Message(out)
			if string(out) != want {
				t.Errorf("got:\n%s\nwant:\n%s", out, want)
			}
			checkSIP(t, []byte(in), out)
			if n == 0 && len(marks) > 0 {
				t.Errorf("n = 0")
			}
			// Windows that occur in the text outside the marks (a port, a
			// Via branch) are not leaks.
			skeleton := []byte(in)
			for _, m := range marks {
				for _, p := range digitPos(in, m[0], m[1]) {
					skeleton[p] = 'X'
				}
			}
			// The guarantee: no 4-digit window of a number in its own token,
			// nor in the text around the tokens. A window inside another
			// number's token is a coincidence tokens that depend only on their
			// own number cannot avoid (see doc.go).
			owner := map[int]int{}
			for k, m := range marks {
				for _, p := range digitPos(in, m[0], m[1]) {
					owner[p] = k + 1
				}
			}
			for k, m := range marks {
				num := digitsAt(in, digitPos(in, m[0], m[1]))
				for _, w := range leaksBut(out, num, skeleton) {
					for at := 0; ; {
						i := bytes.Index(out[at:], []byte(w))
						if i < 0 {
							break
						}
						i += at
						others := true
						for p := i; p < i+window; p++ {
							if o := owner[p]; o == 0 || o == k+1 {
								others = false
							}
						}
						if !others {
							t.Errorf("number %s leaks %s at %d", num, w, i)
						}
						at = i + 1
					}
				}
			}
			// Stable: the same input gives the same output.
			again := []byte(in)
			r.Message(again)
			if !bytes.Equal(again, out) {
				t.Errorf("second run differs")
			}
		})
	}
}

func TestMessageCallIDs(t *testing.T) {
	msg := "SIP/2.0 200 OK\r\n" +
		"From: <sip:+13125550188@203.0.113.15>;tag=8f3c2a91\r\n" +
		"Call-ID: 5b8e1c3a-7d2f-4e9b-a1c6-0f3e2d1b9a87@203.0.113.15\r\n" +
		"X-Genesys-Call-ID: 0f8e3c2a-5d4b-4c1e-9a7f-2b6d8e1c3f50\r\n" +
		"x-inin-cnv:3b1d7a2e-9c4f-4e8b-b2a1-7d6c5e4f3a21 \r\n" +
		"i: 5b8e1c3a-7d2f-4e9b-a1c6-0f3e2d1b9a87@203.0.113.15\r\n" +
		"Content-Length: 0\r\n\r\n"
	off := newTest(t, Config{})
	out := []byte(msg)
	off.Message(out)
	for _, v := range []string{"5b8e1c3a-7d2f-4e9b-a1c6-0f3e2d1b9a87@203.0.113.15", "0f8e3c2a-5d4b-4c1e-9a7f-2b6d8e1c3f50", "3b1d7a2e-9c4f-4e8b-b2a1-7d6c5e4f3a21"} {
		if !bytes.Contains(out, []byte(v)) {
			t.Errorf("call id %s redacted without RedactCallIDs", v)
		}
		if off.CallID(v) != v {
			t.Errorf("CallID changed %s without RedactCallIDs", v)
		}
	}

	on := newTest(t, Config{RedactCallIDs: true})
	out = []byte(msg)
	n := on.Message(out)
	if n != 5 { // From + 4 ids
		t.Errorf("n = %d, want 5", n)
	}
	checkSIP(t, []byte(msg), out)
	lines := strings.Split(string(out), "\r\n")
	cid := strings.TrimPrefix(lines[2], "Call-ID: ")
	if cid == "5b8e1c3a-7d2f-4e9b-a1c6-0f3e2d1b9a87@203.0.113.15" || !strings.HasSuffix(lines[5], cid) {
		t.Errorf("Call-ID not replaced consistently: %q, %q", lines[2], lines[5])
	}
	if cid != on.CallID("5b8e1c3a-7d2f-4e9b-a1c6-0f3e2d1b9a87@203.0.113.15") {
		t.Errorf("CallID() differs from Message: %s", cid)
	}
	gid := strings.TrimPrefix(lines[3], "X-Genesys-Call-ID: ")
	if !isUUID([]byte(gid)) || gid == "0f8e3c2a-5d4b-4c1e-9a7f-2b6d8e1c3f50" {
		t.Errorf("X-Genesys-Call-ID %q: not a new UUID", gid)
	}
	if !strings.HasPrefix(lines[4], "x-inin-cnv:") || !strings.HasSuffix(lines[4], " ") || strings.Contains(lines[4], "3b1d7a2e") {
		t.Errorf("x-inin-cnv: %q", lines[4])
	}
	for k, c := range []byte(cid) {
		o := "5b8e1c3a-7d2f-4e9b-a1c6-0f3e2d1b9a87@203.0.113.15"[k]
		if isDigit(c) != isDigit(o) || isAlpha(c) != isAlpha(o) || (!isAlnum(o) && c != o) {
			t.Fatalf("Call-ID shape changed: %s", cid)
		}
	}
}

func TestConsistency(t *testing.T) {
	r := newTest(t, Config{})
	tok := r.Number("+15551234567")
	if len(tok) != 12 || tok[0] != '+' || tok == "+15551234567" {
		t.Fatalf("token %q", tok)
	}
	same := []struct{ in, want string }{
		{"15551234567", tok[1:]},
		{"tel:+1-555-123-4567", "tel:+" + tok[1:2] + "-" + tok[2:5] + "-" + tok[5:8] + "-" + tok[8:]},
		{"sip:+15551234567@example.com", "sip:" + tok + "@example.com"},
		{"sips:%2B15551234567@example.com", "sips:%2B" + tok[1:] + "@example.com"},
	}
	for _, s := range same {
		if got := r.Number(s.in); got != s.want {
			t.Errorf("Number(%q) = %q, want %q", s.in, got, s.want)
		}
	}
	// Across calls: a second message with the number in other places.
	out := []byte("INVITE sip:+15551234567@a SIP/2.0\r\nP-Asserted-Identity: tel:+15551234567\r\n\r\n")
	r.Message(out)
	if !bytes.Contains(out, []byte("sip:"+tok+"@a")) || !bytes.Contains(out, []byte("tel:"+tok+"\r\n")) {
		t.Errorf("message tokens differ from Number: %s", out)
	}
	// Suffix consistency: a stripped country code keeps the tail.
	if short := r.Number("5551234567"); short != tok[2:] {
		t.Errorf("Number(5551234567) = %s, want suffix of %s", short, tok)
	}
	// Another key, another token; the same key in a new Redactor, the same.
	if other := newTest(t, Config{Key: []byte("other")}).Number("+15551234567"); other == tok {
		t.Errorf("different keys give the same token %s", tok)
	}
	if again := newTest(t, Config{}).Number("+15551234567"); again != tok {
		t.Errorf("same key gives %s and %s", tok, again)
	}
	// Random keys differ per Redactor.
	a, _ := New(Config{})
	b, _ := New(Config{})
	if a.Number("+15551234567") == b.Number("+15551234567") {
		t.Errorf("two random keys gave the same token")
	}
}

func TestSuffixConsistencyRate(t *testing.T) {
	r := newTest(t, Config{})
	differ := 0
	const total = 3000
	for i := range total {
		long := fmt.Sprintf("1%010d", uint64(i)*2654435761%10000000000)
		if r.Number(long)[1:] != r.Number(long[1:]) {
			differ++
		}
	}
	// Shared tails differ only when they would reproduce a window of the
	// longer number: a fraction of a percent.
	if differ > total/100 {
		t.Errorf("%d of %d suffix tokens differ", differ, total)
	}
	t.Logf("suffix tokens differing: %d of %d", differ, total)
}

func TestNumber(t *testing.T) {
	r := newTest(t, Config{})
	tests := []struct {
		in      string
		changed bool
	}{
		{"anonymous", false},
		{"", false},
		{"12", false},
		{"*72", false},
		{"101", true},
		{"voi18062", true},
		{"+15551234567", true},
		{"alice@example.com", false},
		{"tel:+1-201-555-0123;phone-context=+1", true},
	}
	for _, tc := range tests {
		got := r.Number(tc.in)
		if len(got) != len(tc.in) || (got != tc.in) != tc.changed {
			t.Errorf("Number(%q) = %q, changed want %v", tc.in, got, tc.changed)
		}
		if got2 := string(r.AppendNumber([]byte("x"), []byte(tc.in))); got2 != "x"+got {
			t.Errorf("AppendNumber(%q) = %q, want x%s", tc.in, got2, got)
		}
	}
	if got := r.Number("voi18062"); got[:3] != "voi" || got[3:] != r.Number("18062") {
		t.Errorf("Number(voi18062) = %s", got)
	}
}

func TestKeepDigits(t *testing.T) {
	for _, keep := range []int{1, 2, 3, 4, 11, 15} {
		r := newTest(t, Config{KeepDigits: keep})
		for _, num := range []string{"+15551234567", "5550100", "3125550188", "1111111111", "1231231231"} {
			tok := r.Number(num)
			d := strings.TrimPrefix(num, "+")
			td := strings.TrimPrefix(tok, "+")
			k := min(keep, len(d))
			if td[len(td)-k:] != d[len(d)-k:] {
				t.Errorf("keep %d: %s -> %s: tail not kept", keep, num, tok)
			}
			if k < len(d) && td == d {
				t.Errorf("keep %d: %s unchanged", keep, num)
			}
			// Windows not entirely inside the kept tail must not survive.
			for i := 0; i+window <= len(d)-max(k, window-1); i++ {
				if strings.Contains(td[:len(td)-k], d[i:i+window]) {
					t.Errorf("keep %d: %s -> %s reproduces %s", keep, num, tok, d[i:i+window])
				}
			}
		}
	}
	if _, err := New(Config{KeepDigits: -1}); err == nil {
		t.Error("KeepDigits -1 accepted")
	}
	if _, err := New(Config{KeepDigits: MaxKeepDigits + 1}); err == nil {
		t.Error("KeepDigits too large accepted")
	}
}

func TestConfig(t *testing.T) {
	for _, h := range [][]string{{""}, {"From:"}, {"P Asserted"}} {
		if _, err := New(Config{Headers: h}); err == nil {
			t.Errorf("header %q accepted", h)
		}
	}
	// A compact name configures its long form and vice versa.
	r := newTest(t, Config{Headers: []string{"f"}})
	out := []byte("SIP/2.0 200 OK\r\nFrom: <sip:5550100@x>\r\nf: <sip:5550100@x>\r\nt: <sip:5550100@x>\r\n\r\n")
	if n := r.Message(out); n != 2 || !bytes.Contains(out, []byte("t: <sip:5550100@x>")) {
		t.Errorf("n = %d: %s", n, out)
	}
}

func TestNotSIP(t *testing.T) {
	r := newTest(t, Config{})
	for _, s := range []string{"", "\r\n\r\n", "hello 5551234567", "GET /5551234567 HTTP/1.1\r\nFrom: <sip:5551234567@x>\r\n\r\n"} {
		b := []byte(s)
		if n := r.Message(b); n != 0 || string(b) != s {
			t.Errorf("%q changed to %q", s, b)
		}
	}
}

func TestText(t *testing.T) {
	r := newTest(t, Config{})
	tok := r.Number("+15551234567")
	tests := []struct{ in, want string }{
		{"call from +15551234567 to 15551234567", "call from " + tok + " to " + tok[1:]},
		{"dialing +1 555 123-4567 now", "dialing +" + tok[1:2] + " " + tok[2:5] + " " + tok[5:8] + "-" + tok[8:] + " now"},
		{"sip:+15551234567@10.0.0.1:5060", "sip:" + tok + "@10.0.0.1:5060"},
		{"user15551234567 x", "user" + tok[1:] + " x"},
		{"2026-11-25T10:05:01.123456Z", ""},
		{"20261125T100501Z 20261125100501", ""},
		{"ts=1732528800 ms=1732528800123", ""},
		{"id a84b4c76e66710@pc33 and 0x12345678", ""},
		{"conv 550e8400-e29b-41d4-a716-446655440000", ""},
		{"from 10.0.0.1 port 5060 cseq 102 INVITE", ""},
		{"+0200 12345 +44 20", ""},
	}
	for _, tc := range tests {
		want := tc.want
		if want == "" {
			want = tc.in
		}
		if got := r.Text(tc.in); got != want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, want)
		}
	}
}

// TestHardRuleNumbers checks the token rule on many numbers, including
// repetitive ones where collisions are likely.
func TestHardRuleNumbers(t *testing.T) {
	r := newTest(t, Config{})
	check := func(num string) {
		tok := r.Number(num)
		if len(tok) != len(num) {
			t.Fatalf("%s -> %s: length", num, tok)
		}
		if l := leaks([]byte(tok), num); len(l) > 0 {
			t.Fatalf("%s -> %s reproduces %v", num, tok, l)
		}
	}
	for _, s := range []string{"0000", "00000000000", "1111111111111111", "1212121212121", "1234567890123456789012345678901234567890",
		"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
		"00010002000300040005000600070008000900001000200030004000500060007000800090"} {
		check(s)
	}
	seed := uint64(1)
	for range 20000 {
		seed = seed*6364136223846793005 + 1442695040888963407
		n := 4 + int(seed>>59)%12
		b := make([]byte, n)
		x := seed
		for k := range b {
			x = x*6364136223846793005 + 1
			b[k] = '0' + byte((x>>33)%uint64(2+int(seed>>40)%9)) // few distinct digits: many collisions
		}
		check(string(b))
	}
}

// TestPathological feeds large crafted inputs: they must finish quickly and
// keep the length.
func TestPathological(t *testing.T) {
	r := newTest(t, Config{RedactCallIDs: true, KeepDigits: 1})
	const size = 60000
	cases := map[string]string{
		"digits":      "INVITE sip:" + strings.Repeat("1234567890", size/10) + "@h SIP/2.0\r\n\r\n",
		"pct digits":  "INVITE sip:" + strings.Repeat("%31%32%33", size/9) + "1@h SIP/2.0\r\n\r\n",
		"mixed pct":   "INVITE sip:" + strings.Repeat("%3912", size/5) + "@h SIP/2.0\r\n\r\n",
		"display":     "SIP/2.0 200 OK\r\nFrom: \"" + strings.Repeat("1-2 ", size/4) + "\" <sip:1@h>\r\n\r\n",
		"commas":      "SIP/2.0 200 OK\r\nContact: " + strings.Repeat("<sip:123@h>,", size/12) + "\r\n\r\n",
		"quotes":      "SIP/2.0 200 OK\r\nTo: " + strings.Repeat("\"\\", size/2) + "\r\n\r\n",
		"folding":     "SIP/2.0 200 OK\r\nTo: <sip:5550100@h>" + strings.Repeat("\r\n ", size/3) + "\r\n\r\n",
		"call-id":     "SIP/2.0 200 OK\r\nCall-ID: " + strings.Repeat("a1-", size/3) + "\r\n\r\n",
		"sdp":         "SIP/2.0 200 OK\r\n\r\nv=0\r\n" + strings.Repeat("o=5550100 1 1 IN IP4 h\r\n", size/24),
		"lines":       "SIP/2.0 200 OK\r\n" + strings.Repeat("t:<tel:5550100>\n", size/16) + "\r\n\r\n",
		"hex words":   strings.Repeat("123456a", size/7),
		"same window": "INVITE tel:" + strings.Repeat("0", size) + " SIP/2.0\r\n\r\n",
		"text groups": "SIP/2.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("1 2-3.", size/6),
		"text dates":  "SIP/2.0 200 OK\r\nSubject: " + strings.Repeat("2026-1-", size/7) + "\r\n\r\n",
		"text uris":   "SIP/2.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("sip:tel:", size/8),
		"boundaries":  "SIP/2.0 200 OK\r\nContent-Type: multipart/mixed;boundary=a\r\n\r\n" + strings.Repeat("--a\n", size/4),
		"nesting": "SIP/2.0 200 OK\r\nContent-Type: multipart/mixed;boundary=a\r\n\r\n" +
			strings.Repeat("--a\nContent-Type: multipart/mixed;boundary=a\n\n", size/48),
		"boundary chars": "SIP/2.0 200 OK\r\nContent-Type: multipart/mixed;boundary=a\r\n\r\n--a\n" + strings.Repeat("a", size),
	}
	for name, msg := range cases {
		b := []byte(msg)
		start := time.Now()
		r.Message(b)
		if d := time.Since(start); d > 2*time.Second || len(b) != len(msg) {
			t.Errorf("%s: %v, length %d -> %d", name, d, len(msg), len(b))
		}
		start = time.Now()
		r.Text(msg)
		r.Number(msg)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: Text+Number took %v", name, d)
		}
	}
}

// TestConcurrent uses one Redactor from several goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	r := newTest(t, Config{RedactCallIDs: true})
	in, _ := template(messageTests[0].tmpl)
	want := []byte(in)
	newTest(t, Config{RedactCallIDs: true}).Message(want)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 200 {
				b := []byte(in)
				r.Message(b)
				if !bytes.Equal(b, want) {
					t.Errorf("goroutine %d: different output", g)
					return
				}
				r.Number(fmt.Sprint(g*1000+k, "5550100"))
				r.Text("from +13125550188")
				r.CallID("abc")
			}
		}()
	}
	wg.Wait()
}
