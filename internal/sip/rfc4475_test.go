package sip

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The files in testdata/rfc4475 hold the RFC 4475 torture messages typed
// from the RFC text, in the RFC's own notation (§2): every line ends in
// CRLF, <allOneLine> joins the lines it encloses, <hex> gives raw octets
// and <repeat count=N> repeats a string. loadTorture turns them into the
// octets on the wire.
//
// Two substitutions: mpart01's binary S/MIME part is the DER blob of the
// RFC's hex rendering (342 octets, as its Content-Length of 553 requires),
// and invut (§3.3.6) is left out because its body is binary we cannot
// reproduce from the text.
func loadTorture(t testing.TB, name string) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", "rfc4475", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	return decodeTorture(t, string(text))
}

var (
	allOneLineRE = regexp.MustCompile(`(?s)<allOneLine>\n(.*?)\n</allOneLine>`)
	hexRE        = regexp.MustCompile(`(?s)<hex>(.*?)</hex>`)
	repeatRE     = regexp.MustCompile(`<repeat count=(\d+)>(.*?)</repeat>`)
)

func decodeTorture(t testing.TB, text string) []byte {
	t.Helper()
	text = allOneLineRE.ReplaceAllStringFunc(text, func(s string) string {
		inner := allOneLineRE.FindStringSubmatch(s)[1]
		return strings.ReplaceAll(inner, "\n", "")
	})
	text = strings.TrimSuffix(text, "\n")
	var out []byte
	for _, line := range strings.Split(text, "\n") {
		line = repeatRE.ReplaceAllStringFunc(line, func(s string) string {
			m := repeatRE.FindStringSubmatch(s)
			n, _ := strconv.Atoi(m[1])
			return strings.Repeat(m[2], n)
		})
		line = hexRE.ReplaceAllStringFunc(line, func(s string) string {
			h := strings.Join(strings.Fields(hexRE.FindStringSubmatch(s)[1]), "")
			b, err := hex.DecodeString(h)
			if err != nil {
				t.Fatalf("bad <hex> in torture message: %v", err)
			}
			return string(b)
		})
		out = append(out, line...)
		out = append(out, "\r\n"...)
	}
	return out
}

// identity is what a test expects Parse to find.
type identity struct {
	method, uri    string
	status         int
	reason         string
	callID         string
	cseq           uint32
	cseqMethod     string
	branch         string // "-" for none
	fromTag, toTag string // "-" for none
	contentLength  int
	bodyLen        int
}

func checkIdentity(t *testing.T, m *Message, want identity) {
	t.Helper()
	opt := func(b []byte) string {
		if b == nil {
			return "-"
		}
		return string(b)
	}
	got := identity{
		method: string(m.Method), uri: string(m.RequestURI),
		status: m.StatusCode, reason: string(m.Reason),
		callID: string(m.CallID), cseq: m.CSeq, cseqMethod: string(m.CSeqMethod),
		branch: opt(m.Branch), fromTag: opt(m.FromTag), toTag: opt(m.ToTag),
		contentLength: m.ContentLength, bodyLen: len(m.Body),
	}
	if got != want {
		t.Errorf("identity mismatch\n got %+v\nwant %+v", got, want)
	}
}

const body150 = 150

func TestRFC4475Valid(t *testing.T) {
	r := strings.Repeat
	tests := []struct {
		name, section string
		want          identity
		trailing      bool // bytes past Content-Length (dblreq)
	}{
		{"wsinv", "3.1.1.1", identity{method: "INVITE", uri: "sip:vivekg@chair-dnrc.example.com;unknownparam",
			callID: "wsinv.ndaksdj@192.0.2.1", cseq: 9, cseqMethod: "INVITE", branch: "390skdjuw",
			fromTag: "98asjd8", toTag: "1918181833n", contentLength: 150, bodyLen: body150}, false},
		{"intmeth", "3.1.1.2", identity{method: "!interesting-Method0123456789_*+`.%indeed'~",
			uri:    "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
			callID: `intmeth.word%ZK-!.*_+'@word` + "`" + `~)(><:\/"][?}{`, cseq: 139122385,
			cseqMethod: "!interesting-Method0123456789_*+`.%indeed'~", branch: "z9hG4bK-.!%66*_+`'~",
			fromTag: "_token~1'+`*%!-.", toTag: "-"}, false},
		{"esc01", "3.1.1.3", identity{method: "INVITE", uri: "sip:sips%3Auser%40example.com@example.net",
			callID: "esc01.239409asdfakjkn23onasd0-3234", cseq: 234234, cseqMethod: "INVITE",
			branch: "z9hG4bKkdjuw", fromTag: "938", toTag: "-", contentLength: 150, bodyLen: body150}, false},
		{"escnull", "3.1.1.4", identity{method: "REGISTER", uri: "sip:example.com",
			callID: "escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd", cseq: 14398234, cseqMethod: "REGISTER",
			branch: "z9hG4bKkdjuw", fromTag: "839923423", toTag: "-"}, false},
		{"esc02", "3.1.1.5", identity{method: "RE%47IST%45R", uri: "sip:registrar.example.com",
			callID: "esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf", cseq: 29344, cseqMethod: "RE%47IST%45R",
			branch: "z9hG4bK209%fzsnel234", fromTag: "f232jadfj23", toTag: "-"}, false},
		{"lwsdisp", "3.1.1.6", identity{method: "OPTIONS", uri: "sip:user@example.com",
			callID: "lwsdisp.1234abcd@funky.example.com", cseq: 60, cseqMethod: "OPTIONS",
			branch: "z9hG4bKkdjuw", fromTag: "323", toTag: "-"}, false},
		{"longreq", "3.1.1.7", identity{method: "INVITE", uri: "sip:user@example.com",
			callID: "longreq.one" + r("really", 20) + "longcallid", cseq: 3882340, cseqMethod: "INVITE",
			branch: "-", fromTag: "12" + r("982", 50) + "424", toTag: "-", contentLength: 150, bodyLen: body150}, false},
		{"dblreq", "3.1.1.8", identity{method: "REGISTER", uri: "sip:example.com",
			callID: "dblreq.0ha0isndaksdj99sdfafnl3lk233412", cseq: 8, cseqMethod: "REGISTER",
			branch: "z9hG4bKkdjuw23492", fromTag: "43251j3j324", toTag: "-"}, true},
		{"semiuri", "3.1.1.9", identity{method: "OPTIONS", uri: "sip:user;par=u%40example.net@example.com",
			callID: "semiuri.0ha0isndaksdj", cseq: 8, cseqMethod: "OPTIONS",
			branch: "z9hG4bKkdjuw", fromTag: "33242", toTag: "-"}, false},
		{"transports", "3.1.1.10", identity{method: "OPTIONS", uri: "sip:user@example.com",
			callID: "transports.kijh4akdnaqjkwendsasfdj", cseq: 60, cseqMethod: "OPTIONS",
			branch: "z9hG4bKkdjuw", fromTag: "323", toTag: "-"}, false},
		{"mpart01", "3.1.1.11", identity{method: "MESSAGE", uri: "sip:kumiko@example.org",
			callID: "3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..", cseq: 1, cseqMethod: "MESSAGE",
			branch: "z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-", fromTag: "2fb0dcc9", toTag: "-",
			contentLength: 553, bodyLen: 553}, false},
		{"unreason", "3.1.1.12", identity{status: 200,
			reason: "= 2**3 * 5**2 но сто девяносто девять - простое",
			callID: "unreason.1234ksdfak3j2erwedfsASdf", cseq: 35, cseqMethod: "INVITE",
			branch: "z9hG4bK1324923", fromTag: "11141343", toTag: "2229", contentLength: 154, bodyLen: 154}, false},
		{"noreason", "3.1.1.13", identity{status: 100, callID: "noreason.asndj203insdf99223ndf",
			cseq: 35, cseqMethod: "INVITE", branch: "z9hG4bK2398ndaoe",
			fromTag: "39ansfi3", toTag: "902jndnke3"}, false},

		// §3.2 and §3.3: syntactically valid; the semantics are for the
		// application, not the parser.
		{"badbranch", "3.2.1", identity{method: "OPTIONS", uri: "sip:user@example.com",
			callID: "badbranch.sadonfo23i420jv0as0derf3j3n", cseq: 8, cseqMethod: "OPTIONS",
			branch: "z9hG4bK", fromTag: "33242", toTag: "-"}, false},
		{"unkscm", "3.3.2", identity{method: "OPTIONS", uri: "nobodyKnowsThisScheme:totallyopaquecontent",
			callID: "unkscm.nasdfasser0q239nwsdfasdkl34", cseq: 3923423, cseqMethod: "OPTIONS",
			branch: "z9hG4bKkdjuw39234", fromTag: "384", toTag: "-"}, false},
		{"novelsc", "3.3.3", identity{method: "OPTIONS", uri: "soap.beep://192.0.2.103:3002",
			callID: "novelsc.asdfasser0q239nwsdfasdkl34", cseq: 3923423, cseqMethod: "OPTIONS",
			branch: "z9hG4bKkdjuw39234", fromTag: "384", toTag: "-"}, false},
		{"unksm2", "3.3.4", identity{method: "REGISTER", uri: "sip:example.com",
			callID: "unksm2.daksdj@hyphenated-host.example.com", cseq: 234902, cseqMethod: "REGISTER",
			branch: "z9hG4bKkdjuw", fromTag: "3234233", toTag: "-"}, false},
		{"bext01", "3.3.5", identity{method: "OPTIONS", uri: "sip:user@example.com",
			callID: "bext01.0ha0isndaksdj", cseq: 8, cseqMethod: "OPTIONS",
			branch: "z9hG4bKkdjuw", fromTag: "242etr", toTag: "-"}, false},
		{"regaut01", "3.3.7", identity{method: "REGISTER", uri: "sip:example.com",
			callID: "regaut01.0ha0isndaksdj", cseq: 9338, cseqMethod: "REGISTER",
			branch: "z9hG4bKkdjuw", fromTag: "87321hj23128", toTag: "-"}, false},
		{"bcast", "3.3.10", identity{status: 200, reason: "OK",
			callID: "bcast.0384840201234ksdfak3j2erwedfsASdf", cseq: 35, cseqMethod: "INVITE",
			branch: "z9hG4bK1324923", fromTag: "11141343", toTag: "2229", contentLength: 154, bodyLen: 154}, false},
		{"zeromf", "3.3.11", identity{method: "OPTIONS", uri: "sip:user@example.com",
			callID: "zeromf.jfasdlfnm2o2l43r5u0asdfas", cseq: 39234321, cseqMethod: "OPTIONS",
			branch: "z9hG4bKkdjuw2349i", fromTag: "3ghsd41", toTag: "-"}, false},
		{"cparam01", "3.3.12", identity{method: "REGISTER", uri: "sip:example.com",
			callID: "cparam01.70710@saturn.example.com", cseq: 2, cseqMethod: "REGISTER",
			branch: "z9hG4bKkdjuw", fromTag: "DkfVgjkrtMwaerKKpe", toTag: "-"}, false},
		{"cparam02", "3.3.13", identity{method: "REGISTER", uri: "sip:example.com",
			callID: "cparam02.70710@saturn.example.com", cseq: 3, cseqMethod: "REGISTER",
			branch: "z9hG4bKkdjuw", fromTag: "838293", toTag: "-"}, false},
		{"regescrt", "3.3.14", identity{method: "REGISTER", uri: "sip:example.com",
			callID: "regescrt.k345asrl3fdbv@192.0.2.1", cseq: 14398234, cseqMethod: "REGISTER",
			branch: "z9hG4bKkdjuw", fromTag: "8", toTag: "-"}, false},
		{"sdp01", "3.3.15", identity{method: "INVITE", uri: "sip:user@example.com",
			callID: "sdp01.ndaksdj9342dasdd", cseq: 8, cseqMethod: "INVITE",
			branch: "z9hG4bKkdjuw", fromTag: "234", toTag: "-", contentLength: 150, bodyLen: body150}, false},
		// §3.4.1: RFC 2543 syntax, no branch and no Content-Length: the
		// body runs to the end of the datagram.
		{"inv2543", "3.4.1", identity{method: "INVITE", uri: "sip:UserB@example.com",
			callID: "inv2543.1717@ift.client.example.com", cseq: 56, cseqMethod: "INVITE",
			branch: "-", fromTag: "-", toTag: "-", contentLength: -1, bodyLen: 105}, false},
	}
	var m Message
	for _, tt := range tests {
		t.Run(tt.section+"_"+tt.name, func(t *testing.T) {
			b := loadTorture(t, tt.name)
			if err := Parse(b, &m); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkIdentity(t, &m, tt.want)
			// Content-Length must cover the body exactly; this also
			// checks that the message was typed in faithfully.
			if trailing := len(b) - len(m.Raw); (trailing > 0) != tt.trailing {
				t.Errorf("%d bytes after the message", trailing)
			}
		})
	}
}

func TestRFC4475Details(t *testing.T) {
	var msg Message
	parse := func(name string) *Message {
		t.Helper()
		if err := Parse(loadTorture(t, name), &msg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return &msg
	}
	values := func(m *Message, name string) (out []string) {
		for v := range m.Values(name) {
			out = append(out, string(Unfold(nil, v)))
		}
		return out
	}

	// wsinv: the Via header and the compact v: header are one list, and
	// folding is kept in the raw value but undone by Unfold.
	m := parse("wsinv")
	wantVia := []string{"SIP  /   2.0 /UDP 192.0.2.2;rport;branch=390skdjuw",
		"SIP  / 2.0  / TCP     spindle.example.com   ; branch  =   z9hG4bK9ikj8",
		"SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239"}
	if got := values(m, "via"); strings.Join(got, "|") != strings.Join(wantVia, "|") {
		t.Errorf("wsinv Via values = %q", got)
	}
	if got := string(m.Header("s")); got != "" || m.Header("Subject") == nil {
		t.Errorf("wsinv empty Subject = %q (nil %v)", got, m.Header("Subject") == nil)
	}
	if got := string(Unfold(nil, m.Header("NewFangledHeader"))); got != "newfangled value continued newfangled value" {
		t.Errorf("wsinv NewFangledHeader = %q", got)
	}
	if got := string(m.Header("UnknownHeaderWithUnusualValue")); got != ";;,,;;,;" {
		t.Errorf("wsinv UnknownHeaderWithUnusualValue = %q", got)
	}
	if got := string(m.AppendCSeq(nil)); got != "9 INVITE" {
		t.Errorf("wsinv AppendCSeq = %q", got)
	}

	// esc02: "C%6Fntact" is not Contact.
	m = parse("esc02")
	if got := values(m, "Contact"); len(got) != 2 {
		t.Errorf("esc02 Contact values = %q, want 2", got)
	}

	// longreq: 34 Via values in any letter case and form, in order.
	m = parse("longreq")
	vias := values(m, "Via")
	if len(vias) != 34 || vias[0] != "SIP/2.0/TCP sip33.example.com" ||
		!strings.HasSuffix(vias[33], "branch=very"+strings.Repeat("long", 50)+"branchvalue") {
		t.Errorf("longreq: %d Via values, first %q", len(vias), vias[0])
	}

	// transports: five separate Via headers.
	m = parse("transports")
	if got := values(m, "v"); len(got) != 5 || !strings.Contains(got[3], "UNKNOWN") {
		t.Errorf("transports Via = %q", got)
	}

	// semiuri: a folded comma list.
	m = parse("semiuri")
	if got := values(m, "Accept"); len(got) != 6 || got[5] != "message/sipfrag" {
		t.Errorf("semiuri Accept = %q", got)
	}

	// mpart01: a binary body containing NUL bytes, bounded by Content-Length.
	m = parse("mpart01")
	if !bytes.HasSuffix(m.Body, []byte("--7a9cbec02ceef655--\r\n")) || bytes.IndexByte(m.Body, 0) < 0 {
		t.Errorf("mpart01 body does not end with the closing boundary or lacks NULs")
	}

	// bcast: the top Via is the first of two Via headers.
	m = parse("bcast")
	if got := string(m.Via); got != "SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923" {
		t.Errorf("bcast top Via = %q", got)
	}
}

func TestRFC4475Invalid(t *testing.T) {
	tests := []struct {
		name, section string
		// wantErr is a substring of the error, or "" for a message that
		// Parse deliberately accepts; accepted says why. malformed is the
		// Message.Malformed reason of one accepted as malformed.
		wantErr   string
		accepted  string
		malformed string
	}{
		{"badinv01", "3.1.2.1", "bad Via: empty parameter", "", ""},
		{"clerr", "3.1.2.2", "Content-Length 9999 exceeds the 154 bytes after the headers", "", ""},
		{"ncl", "3.1.2.3", "", "a negative Content-Length leaves the identity intact; like tshark " +
			"(\"Invalid content_length\"), the message is kept, flagged, its body the rest of the datagram",
			"bad Content-Length"},
		{"scalar02", "3.1.2.4", "CSeq number too large", "", ""},
		{"scalarlg", "3.1.2.5", "CSeq number too large", "", ""},
		{"quotbal", "3.1.2.6", "bad To: unterminated quoted string", "", ""},
		{"ltgtruri", "3.1.2.7", `bad character "<" in Request-URI`, "", ""},
		{"lwsruri", "3.1.2.8", "white space in Request-URI", "", ""},
		{"lwsstart", "3.1.2.9", "more than one space between request line elements", "", ""},
		{"trws", "3.1.2.10", "white space after the SIP version", "", ""},
		{"escruri", "3.1.2.11", "", "the headers component of the Request-URI is not identity; " +
			"the UAS answers 400 and that answer must still correlate with this INVITE", ""},
		{"baddate", "3.1.2.12", "", "Date is not interpreted", ""},
		{"regbadct", "3.1.2.13", "", "Contact is not interpreted", ""},
		{"badaspec", "3.1.2.14", "", "the To URI is not interpreted; To has no tag either way", ""},
		{"baddn", "3.1.2.15", "", "display names are not interpreted; the From tag is unambiguous", ""},
		{"badvers", "3.1.2.16", `unsupported SIP version "SIP/7.0"`, "", ""},
		{"mismatch01", "3.1.2.17", `CSeq method "INVITE" does not match request method "OPTIONS"`, "", ""},
		{"mismatch02", "3.1.2.18", `CSeq method "INVITE" does not match request method "NEWMETHOD"`, "", ""},
		{"bigcode", "3.1.2.19", `bad status code "4294967301"`, "", ""},
		// §3.3: application-level errors; insuf and multi01 leave the
		// identity ambiguous, mcl01 only the end of the body.
		{"insuf", "3.3.1", "missing Call-ID, From, To", "", ""},
		{"multi01", "3.3.8", "conflicting CSeq headers", "", ""},
		{"mcl01", "3.3.9", "", "which Content-Length is right is unknowable, the identity is not: " +
			"kept and flagged, the body runs to the end of the datagram (on a stream, MessageLength " +
			"frames it as Content-Length 0)", "conflicting Content-Length headers"},
	}
	var m Message
	for _, tt := range tests {
		t.Run(tt.section+"_"+tt.name, func(t *testing.T) {
			b := loadTorture(t, tt.name)
			err := Parse(b, &m)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: %v; want it accepted (%s)", err, tt.accepted)
				}
				if len(m.CallID) == 0 || len(m.Branch) == 0 {
					t.Errorf("accepted message lacks identity: Call-ID %q branch %q", m.CallID, m.Branch)
				}
				if m.Malformed != tt.malformed {
					t.Errorf("Malformed = %q, want %q", m.Malformed, tt.malformed)
				}
				if tt.malformed != "" && (m.ContentLength != -1 || len(m.Raw) != len(b)-KeepAliveLength(b) ||
					len(m.Body) == 0 || !bytes.HasSuffix(b, m.Body)) {
					t.Errorf("malformed: Content-Length %d, %d body bytes, Raw %d of %d bytes; want the rest of the datagram",
						m.ContentLength, len(m.Body), len(m.Raw), len(b))
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse accepted it; want error %q", tt.wantErr)
			}
			if errors.Is(err, ErrShortBody) != (tt.name == "clerr") {
				t.Errorf("errors.Is(%v, ErrShortBody) = %v", err, !(tt.name == "clerr"))
			}
			if tt.name == "clerr" && (string(m.CallID) != "clerr.0ha0isndaksdjweiafasdk3" || len(m.Body) != 154) {
				t.Errorf("after ErrShortBody: Call-ID %q, %d body bytes", m.CallID, len(m.Body))
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "sip: ") {
				t.Errorf("error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
