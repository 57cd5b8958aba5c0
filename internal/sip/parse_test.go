package sip

import (
	"errors"
	"strings"
	"testing"
)

// crlf turns a readable message with "\n" line ends into the wire form.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// A Genesys Cloud BYOC INVITE as the carrier side sees it (addresses from
// documentation ranges), 900-odd bytes: the benchmark message.
const genesysInvite = `INVITE sip:+13175550100@198.51.100.10:5060;transport=udp SIP/2.0
Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK-524287-1---3f6c1a0e9d2b7c41;rport
Max-Forwards: 69
From: "Contact Center" <sip:+13175550199@203.0.113.5:5060>;tag=8a6f3c2d-1e4b-4c6a-9f1d-5b2e7a9c0d13
To: <sip:+13175550100@198.51.100.10:5060>
Call-ID: 2b7e1c94-6a3f-4d8e-b5c2-0f9a8d7e6c5b
CSeq: 1 INVITE
Contact: <sip:+13175550199@203.0.113.5:5060;transport=udp>
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY, REFER
P-Asserted-Identity: "Contact Center" <sip:+13175550199@203.0.113.5>, <tel:+13175550199>
X-Genesys-Call-ID: 7f1d2c3b-4a5e-4f60-8b71-92a3b4c5d6e7
x-inin-cnv: 0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f
Content-Type: application/sdp
Content-Length: 195

v=0
o=- 3917345123 3917345123 IN IP4 203.0.113.5
s=Genesys Cloud
c=IN IP4 203.0.113.5
t=0 0
m=audio 16384 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=sendrecv
`

// A 200 OK answering genesysInvite without SDP, about 400 bytes with the
// compact forms some SBCs use.
const genesysOK = `SIP/2.0 200 OK
v: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK-524287-1---3f6c1a0e9d2b7c41;rport=5060
f: "Contact Center" <sip:+13175550199@203.0.113.5:5060>;tag=8a6f3c2d-1e4b-4c6a-9f1d-5b2e7a9c0d13
t: <sip:+13175550100@198.51.100.10:5060>;tag=as6151ad25
i: 2b7e1c94-6a3f-4d8e-b5c2-0f9a8d7e6c5b
CSeq: 1 INVITE
m: <sip:+13175550100@198.51.100.10:5060>
Server: carrier-sbc/4.2
X-Genesys-Call-ID: 7f1d2c3b-4a5e-4f60-8b71-92a3b4c5d6e7
l: 0

`

func TestParseGenesys(t *testing.T) {
	var m Message
	inv := crlf(genesysInvite)
	if err := Parse(inv, &m); err != nil {
		t.Fatal(err)
	}
	checkIdentity(t, &m, identity{method: "INVITE", uri: "sip:+13175550100@198.51.100.10:5060;transport=udp",
		callID: "2b7e1c94-6a3f-4d8e-b5c2-0f9a8d7e6c5b", cseq: 1, cseqMethod: "INVITE",
		branch: "z9hG4bK-524287-1---3f6c1a0e9d2b7c41", fromTag: "8a6f3c2d-1e4b-4c6a-9f1d-5b2e7a9c0d13",
		toTag: "-", contentLength: 195, bodyLen: 195})
	if got := string(m.PAssertedIdentity); got != `"Contact Center" <sip:+13175550199@203.0.113.5>` {
		t.Errorf("PAssertedIdentity = %q", got)
	}
	set := NewHeaderSet("X-Genesys-Call-ID", "x-inin-cnv", "X-Missing")
	got := m.Lookup(set, nil)
	if len(got) != 3 || string(got[0]) != "7f1d2c3b-4a5e-4f60-8b71-92a3b4c5d6e7" ||
		string(got[1]) != "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f" || got[2] != nil {
		t.Errorf("Lookup = %q", got)
	}
	if len(inv) < 880 || len(inv) > 950 {
		t.Errorf("benchmark INVITE is %d bytes, want about 900", len(inv))
	}

	ok := crlf(genesysOK)
	if err := Parse(ok, &m); err != nil {
		t.Fatal(err)
	}
	checkIdentity(t, &m, identity{status: 200, reason: "OK",
		callID: "2b7e1c94-6a3f-4d8e-b5c2-0f9a8d7e6c5b", cseq: 1, cseqMethod: "INVITE",
		branch: "z9hG4bK-524287-1---3f6c1a0e9d2b7c41", fromTag: "8a6f3c2d-1e4b-4c6a-9f1d-5b2e7a9c0d13",
		toTag: "as6151ad25", contentLength: 0})
	if len(ok) < 380 || len(ok) > 450 {
		t.Errorf("benchmark 200 OK is %d bytes, want about 400", len(ok))
	}
	if got := string(m.AppendEvent(nil)); got != "200 OK" {
		t.Errorf("AppendEvent = %q", got)
	}
}

func TestCompactForms(t *testing.T) {
	// Every compact form of RFC 3261 §7.3.3 and the IANA registry, each
	// in both letter cases.
	want := map[string]string{
		"i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
		"c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To",
		"v": "Via", "r": "Refer-To", "b": "Referred-By", "o": "Event", "u": "Allow-Events",
		"x": "Session-Expires", "a": "Accept-Contact", "j": "Reject-Contact",
		"d": "Request-Disposition", "y": "Identity", "n": "Identity-Info",
	}
	for short, long := range want {
		for _, name := range []string{short, strings.ToUpper(short)} {
			h := Header{Name: []byte(name), id: idOf(name)}
			if h.Canonical() != long {
				t.Errorf("%q: Canonical = %q, want %q", name, h.Canonical(), long)
			}
			if !h.Is(long) || !h.Is(strings.ToLower(long)) || !h.Is(short) {
				t.Errorf("%q: Is(%q) = false", name, long)
			}
		}
	}
	for _, c := range "ghpqwz" {
		if id := idOf(string(c)); id != hOther {
			t.Errorf("%q is not a compact form but maps to %q", c, id.canonical())
		}
	}
}

func TestHeaderNamesRoundTrip(t *testing.T) {
	for id := hOther + 1; id < numHeaderIDs; id++ {
		name := id.canonical()
		if name == "" {
			t.Fatalf("header id %d has no canonical name", id)
		}
		for _, n := range []string{name, strings.ToLower(name), strings.ToUpper(name)} {
			if got := idOf(n); got != id {
				t.Errorf("idOf(%q) = %d (%q), want %d", n, got, got.canonical(), id)
			}
		}
	}
	if idOf("X-Genesys-Call-ID") != hOther || idOf("") != hOther {
		t.Error("unknown names must map to hOther")
	}
}

func TestCompactCapture(t *testing.T) {
	// The message of suricata-verify__sip_compact_form.pcap, as tshark
	// shows it; TestCaptures reads the capture file itself.
	msg := crlf(`INVITE sip:97239287044@voip.brujula.net SIP/2.0
v: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKnp104984053-44ce4a41192.168.1.2;rport
f: \"arik\" <sip:816666@voip.brurjula.net>;tag=6433ef9
t: <sip:97239287044@voip.brujula.net>
Call-ID: 105090259-446faf7a@192.168.1.2
CSeq: 1 INVITE
c: application/sdp
l: 4
Max-Forwards: 70

v=0
`)
	var m Message
	// The display name \"arik\" has backslashes outside a quoted string,
	// an artifact of the generator. Parse, like tshark, takes them as
	// escapes and finds the tag.
	if err := Parse(msg, &m); err != nil {
		t.Fatal(err)
	}
	checkIdentity(t, &m, identity{method: "INVITE", uri: "sip:97239287044@voip.brujula.net",
		callID: "105090259-446faf7a@192.168.1.2", cseq: 1, cseqMethod: "INVITE",
		branch: "z9hG4bKnp104984053-44ce4a41192.168.1.2", fromTag: "6433ef9", toTag: "-",
		contentLength: 4, bodyLen: 4})
	if got := string(m.Header("Content-Type")); got != "application/sdp" {
		t.Errorf("Content-Type via c: = %q", got)
	}
}

func TestParseLenient(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want identity
	}{
		{"bare LF, no Max-Forwards", "OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:x@y>;tag=1\nTo: <sip:a@b>\nCall-ID: c1\nCSeq: 2 OPTIONS\n\n",
			identity{method: "OPTIONS", uri: "sip:a@b", callID: "c1", cseq: 2, cseqMethod: "OPTIONS", branch: "z9hG4bK1", fromTag: "1", toTag: "-", contentLength: -1}},
		{"mixed line ends", "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\nCall-ID: c1\r\nCSeq: 2 OPTIONS\n\r\n",
			identity{method: "OPTIONS", uri: "sip:a@b", callID: "c1", cseq: 2, cseqMethod: "OPTIONS", branch: "z9hG4bK1", fromTag: "1", toTag: "-", contentLength: -1}},
		{"keep-alive before, no empty line after", "\r\n\r\nSIP/2.0 180 Ringing\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>;tag=2\r\ni: c1\r\nCSeq: 2 INVITE\r\n",
			identity{status: 180, reason: "Ringing", callID: "c1", cseq: 2, cseqMethod: "INVITE", branch: "-", fromTag: "1", toTag: "2", contentLength: -1}},
		{"status line without reason or SP", "SIP/2.0 183\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 2 INVITE\r\nl: 3\r\n\r\nabcdef",
			identity{status: 183, callID: "c1", cseq: 2, cseqMethod: "INVITE", branch: "-", fromTag: "1", toTag: "-", contentLength: 3, bodyLen: 3}},
		{"repeated identical Call-ID, tab before colon, bare tag", "BYE sip:a@b SIP/2.0\r\nVia\t: SIP/2.0/TCP h\r\nFrom: sip:x@y;tag\r\nTo: a <sip:a@b>;TAG=t9\r\nCall-ID: c1\r\ncall-id: c1\r\nCSeq: 4294967295 BYE\r\n\r\n",
			identity{method: "BYE", uri: "sip:a@b", callID: "c1", cseq: 4294967295, cseqMethod: "BYE", branch: "-", fromTag: "-", toTag: "t9", contentLength: -1}},
		{"Via list in one header, IPv6", "ACK sip:a@[2001:db8::1] SIP/2.0\r\nVia: SIP/2.0/TLS [2001:db8::2]:5061;branch=z9hG4bKa;received=2001:db8::9, SIP/2.0/UDP h2;branch=z9hG4bKb\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
			identity{method: "ACK", uri: "sip:a@[2001:db8::1]", callID: "c1", cseq: 1, cseqMethod: "ACK", branch: "z9hG4bKa", fromTag: "1", toTag: "2"}},
	}
	var m Message
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Parse([]byte(tt.msg), &m); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkIdentity(t, &m, tt.want)
		})
	}
}

func TestParseErrors(t *testing.T) {
	const hdrs = "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n"
	tests := []struct {
		name, msg, want string
	}{
		{"empty", "", "sip: not a SIP start line"},
		{"HTTP", "HTTP/1.1 200 OK\r\n\r\n", "sip: not a SIP start line"},
		{"HTTP request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "sip: not a SIP start line"},
		{"RTP-like", "\x80\x00\x12\x34", "sip: not a SIP start line"},
		{"status code letters", "SIP/2.0 4x8 Odd\r\n" + hdrs + "\r\n", `sip: bad status code "4x8" at offset 8`},
		{"status code 099", "SIP/2.0 099 Low\r\n" + hdrs + "\r\n", `sip: bad status code "099" at offset 8`},
		{"status code 700", "SIP/2.0 700 High\r\n" + hdrs + "\r\n", `sip: bad status code "700" at offset 8`},
		{"status without code", "SIP/2.0\r\n" + hdrs + "\r\n", "sip: missing status code at offset 7"},
		{"response version", "SIP/3.0 200 OK\r\n" + hdrs + "\r\n", `sip: unsupported SIP version "SIP/3.0" at offset 0`},
		{"bad method", "INV(ITE sip:a@b SIP/2.0\r\n" + hdrs + "\r\n", `sip: bad method "INV(ITE" at offset 0`},
		{"two spaces, no Request-URI", "0  SIP/2.0", "sip: more than one space between request line elements at offset 1"},
		{"no Request-URI", "INVITE SIP/2.0\r\n" + hdrs + "\r\n", "sip: missing Request-URI at offset 6"},
		{"URI without scheme", "INVITE a@b SIP/2.0\r\n" + hdrs + "\r\n", "sip: Request-URI without a scheme at offset 7"},
		{"URI with control char", "INVITE sip:a\x01b SIP/2.0\r\n" + hdrs + "\r\n", `sip: bad character "\x01" in Request-URI at offset 12`},
		{"missing CSeq", "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n\r\n", "sip: missing CSeq"},
		{"missing Via in request", "INVITE sip:a@b SIP/2.0\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n", "sip: missing Via"},
		{"empty Call-ID", "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCall-ID:\r\nCSeq: 1 INVITE\r\n\r\n", "sip: empty Call-ID"},
		{"conflicting Call-ID", "INVITE sip:a@b SIP/2.0\r\n" + hdrs + "i: c2\r\n\r\n", "sip: conflicting Call-ID headers at offset 130"},
		{"CSeq without method", "INVITE sip:a@b SIP/2.0\r\nCSeq: 1\r\n\r\n", "sip: bad CSeq at offset 30"},
		{"CSeq without number", "INVITE sip:a@b SIP/2.0\r\nCSeq: INVITE\r\n\r\n", "sip: bad CSeq number at offset 30"},
		{"CSeq junk", "INVITE sip:a@b SIP/2.0\r\nCSeq: 1 INVITE x\r\n\r\n", "sip: bad CSeq at offset 30"},
		{"CSeq 2^32", "INVITE sip:a@b SIP/2.0\r\nCSeq: 4294967296 INVITE\r\n\r\n", "sip: CSeq number too large at offset 30"},
		{"Content-Length huge", "INVITE sip:a@b SIP/2.0\r\n" + hdrs + "l: 99999999999999999999\r\n\r\n", "sip: Content-Length too large at offset 130"},
		{"empty Via", "INVITE sip:a@b SIP/2.0\r\nVia: ,\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n", "sip: empty Via"},
		{"bad Via", "INVITE sip:a@b SIP/2.0\r\nVia: h;branch=1\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n", "sip: bad Via sent-protocol or sent-by"},
		{"Via junk", "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h x\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n", "sip: bad Via: unexpected character in parameters"},
		{"unterminated <", "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:x@y;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n", "sip: bad From: unterminated <"},
	}
	var m Message
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Parse([]byte(tt.msg), &m)
			if err == nil {
				t.Fatalf("Parse accepted it; want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err, tt.want)
			}
			var se *SyntaxError
			if errors.Is(err, ErrNotSIP) == errors.As(err, &se) {
				t.Errorf("error %T is neither ErrNotSIP nor *SyntaxError", err)
			}
		})
	}
}

// malformedInvite is an INVITE from the zeek corpus capture
// sip_invalid-content-length.pcap (Content-Length "bad"), with an SDP body
// added: tshark shows it as SIP with the note "Invalid content_length".
const malformedInvite = `INVITE sip:bob@10.0.0.2 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776
From: <sip:alice@10.0.0.1>;tag=1928301774
To: <sip:bob@10.0.0.2>
Call-ID: a84b4c76e66710@10.0.0.1
CSeq: 1 INVITE
Content-Length: bad

v=0
o=- 1 1 IN IP4 10.0.0.1
`

// TestParseMalformed: defects that leave the identity intact are reported
// in Malformed, as tshark reports them with an expert note, instead of
// making the message disappear.
func TestParseMalformed(t *testing.T) {
	const (
		start = "INVITE sip:a@b SIP/2.0\r\n"
		hdrs  = "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n"
		body  = "v=0\r\nc=IN IP4 h\r\n"
	)
	inv := identity{method: "INVITE", uri: "sip:a@b", callID: "c1", cseq: 1, cseqMethod: "INVITE",
		branch: "z9hG4bK1", fromTag: "1", toTag: "-", contentLength: -1}
	withBody := func(id identity, n int) identity { id.bodyLen = n; return id }
	withCL := func(id identity, n int) identity { id.contentLength, id.bodyLen = n, n; return id }
	tests := []struct {
		name, msg, malformed string
		want                 identity
		headers              int // header fields kept
	}{
		{"Content-Length word: body to the end of the datagram", start + hdrs + "Content-Length: bad\r\n\r\n" + body,
			"bad Content-Length", withBody(inv, len(body)), 6},
		{"Content-Length negative", start + hdrs + "l: -5\r\n\r\n" + body, "bad Content-Length", withBody(inv, len(body)), 6},
		{"Content-Length empty", start + hdrs + "Content-Length:\r\n\r\n", "bad Content-Length", inv, 6},
		{"Content-Length digits and letters", start + hdrs + "Content-Length: 12abc\r\n\r\n" + body, "bad Content-Length", withBody(inv, len(body)), 6},
		{"Content-Length conflicting", start + hdrs + "Content-Length: 3\r\nl: 5\r\n\r\n" + body,
			"conflicting Content-Length headers", withBody(inv, len(body)), 7},
		{"Content-Length bad, then a number: still unusable", start + hdrs + "l: x\r\nl: 3\r\n\r\n" + body,
			"bad Content-Length", withBody(inv, len(body)), 7},
		{"header line without colon", start + hdrs + "Bogus line\r\nl: 3\r\n\r\n" + body,
			"header line without colon", withCL(inv, 3), 6},
		{"header line without colon before Call-ID", start + "NoColon\r\n" + hdrs + "\r\n", "header line without colon", inv, 5},
		{"lines folded onto a skipped line are skipped", start + hdrs + "Bogus\r\n Call-ID: c2\r\n\tmore\r\nX-Ok: 1\r\n\r\n",
			"header line without colon", inv, 6},
		{"bad character in header name", start + hdrs + "X-A@b: 1\r\n\r\n", "bad header name", inv, 5},
		{"space inside header name", start + hdrs + "Call ID: c9\r\n\r\n", "bad header name", inv, 5},
		{"empty header name", start + hdrs + ": 1\r\n\r\n", "bad header name", inv, 5},
		{"continuation before the first header", start + "  folded\r\n" + hdrs + "\r\n", "continuation line before the first header", inv, 5},
		{"first defect is named", start + "  folded\r\n" + hdrs + "Bogus\r\nl: x\r\n\r\n",
			"continuation line before the first header", inv, 6},
		{"zeek sip_invalid-content-length frame 1, with a body", string(crlf(malformedInvite)), "bad Content-Length",
			identity{method: "INVITE", uri: "sip:bob@10.0.0.2", callID: "a84b4c76e66710@10.0.0.1", cseq: 1, cseqMethod: "INVITE",
				branch: "z9hG4bK776", fromTag: "1928301774", toTag: "-", contentLength: -1, bodyLen: 30}, 6},
		{"well-formed", start + hdrs + "l: 3\r\n\r\n" + body, "", withCL(inv, 3), 6},
	}
	var m Message
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.msg)
			if err := Parse(b, &m); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.Malformed != tt.malformed {
				t.Errorf("Malformed = %q, want %q", m.Malformed, tt.malformed)
			}
			checkIdentity(t, &m, tt.want)
			if len(m.Headers()) != tt.headers {
				t.Errorf("%d headers, want %d", len(m.Headers()), tt.headers)
			}
			if m.ContentLength < 0 && len(m.Raw) != len(b) {
				t.Errorf("Raw is %d of %d bytes; without a usable Content-Length it runs to the end", len(m.Raw), len(b))
			}
			// On a stream the same bytes frame as Content-Length 0 (or
			// their own Content-Length), and Parse of that frame agrees.
			n, err := MessageLength(b)
			if err != nil {
				t.Fatalf("MessageLength: %v", err)
			}
			var f Message
			if err := Parse(b[:n], &f); err != nil || f.Malformed != tt.malformed || string(f.CallID) != tt.want.callID {
				t.Errorf("Parse(framed %d bytes) = %v, Malformed %q, Call-ID %q", n, err, f.Malformed, f.CallID)
			}
			if m.ContentLength < 0 && len(f.Body) != 0 {
				t.Errorf("framed on a stream: %d body bytes, want 0", len(f.Body))
			}
		})
	}
	// A well-formed message after a malformed one into the same Message
	// is not flagged.
	if err := Parse(crlf(genesysOK), &m); err != nil || m.Malformed != "" {
		t.Errorf("reused Message: %v, Malformed %q", err, m.Malformed)
	}
}

func TestTooManyHeaders(t *testing.T) {
	msg := func(headers int) []byte {
		var b strings.Builder
		b.WriteString("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n")
		for i := 5; i < headers; i++ {
			b.WriteString("X-Filler: 1\r\n")
		}
		b.WriteString("\r\n")
		return []byte(b.String())
	}
	var m Message
	if err := Parse(msg(MaxHeaders), &m); err != nil || len(m.Headers()) != MaxHeaders {
		t.Fatalf("Parse(%d headers) = %v, %d headers", MaxHeaders, err, len(m.Headers()))
	}
	err := Parse(msg(MaxHeaders+1), &m)
	if err == nil || !strings.Contains(err.Error(), "more than 128 header lines") {
		t.Fatalf("Parse(%d headers) = %v", MaxHeaders+1, err)
	}
}

func TestHeaderAccess(t *testing.T) {
	var m Message
	msg := crlf(`REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2
From: <sip:u@example.com>;tag=1
To: <sip:u@example.com>
i: reg-1
CSeq: 1 REGISTER
X-Empty:
Contact: "A, B" <sip:u@a;x="1,2">;expires=60, <sip:u@b>
v: SIP/2.0/UDP c;branch=z9hG4bK3
X-GENESYS-CALL-ID:   g-1  
P-Asserted-Identity: <sip:+1@a>,
 <tel:+1>

`)
	if err := Parse(msg, &m); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Call-ID", "call-id", "I", "i"} {
		if got := string(m.Header(name)); got != "reg-1" {
			t.Errorf("Header(%q) = %q", name, got)
		}
	}
	if v := m.Header("X-Empty"); v == nil || len(v) != 0 {
		t.Errorf("Header(X-Empty) = %q, nil %v; want empty, not nil", v, v == nil)
	}
	if v := m.Header("X-Absent"); v != nil {
		t.Errorf("Header(X-Absent) = %q", v)
	}
	if got := string(m.Header("x-genesys-call-id")); got != "g-1" {
		t.Errorf("X-Genesys-Call-ID = %q", got)
	}
	var vias, contacts []string
	for v := range m.Values("VIA") {
		vias = append(vias, string(v))
	}
	for v := range m.Values("m") {
		contacts = append(contacts, string(v))
	}
	if strings.Join(vias, "|") != "SIP/2.0/UDP a;branch=z9hG4bK1|SIP/2.0/UDP b;branch=z9hG4bK2|SIP/2.0/UDP c;branch=z9hG4bK3" {
		t.Errorf("Values(Via) = %q", vias)
	}
	if strings.Join(contacts, "|") != `"A, B" <sip:u@a;x="1,2">;expires=60|<sip:u@b>` {
		t.Errorf("Values(Contact) = %q", contacts)
	}
	for v := range m.Values("Via") {
		if string(v) != "SIP/2.0/UDP a;branch=z9hG4bK1" {
			t.Errorf("early break: %q", v)
		}
		break
	}
	if string(m.Via) != "SIP/2.0/UDP a;branch=z9hG4bK1" || string(m.Branch) != "z9hG4bK1" {
		t.Errorf("top Via %q branch %q", m.Via, m.Branch)
	}
	if string(m.PAssertedIdentity) != "<sip:+1@a>" {
		t.Errorf("PAssertedIdentity = %q", m.PAssertedIdentity)
	}
	var names []string
	for _, h := range m.Headers() {
		names = append(names, h.Canonical())
	}
	if got := strings.Join(names, ","); got != "Via,From,To,Call-ID,CSeq,,Contact,Via,,P-Asserted-Identity" {
		t.Errorf("canonical names = %s", got)
	}
	if dst := m.Lookup(HeaderSet{}, make([][]byte, 3)); len(dst) != 0 {
		t.Errorf("Lookup(empty set) = %q", dst)
	}
	set := NewHeaderSet("i", "X-Genesys-Call-ID")
	if set.Len() != 2 || set.Name(1) != "X-Genesys-Call-ID" {
		t.Errorf("HeaderSet = %d %q", set.Len(), set.Name(1))
	}
}

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		msg, event, cseq string
	}{
		{"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 007 INVITE\r\n\r\n", "INVITE", "7 INVITE"},
		{"SIP/2.0 408 Request Timeout\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n", "408 Request Timeout", "1 INVITE"},
		{"SIP/2.0 183 \r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq:\r\n 2\r\n  INVITE\r\n\r\n", "183", "2 INVITE"},
	}
	var m Message
	buf := []byte("event=")
	for _, tt := range tests {
		if err := Parse([]byte(tt.msg), &m); err != nil {
			t.Fatal(err)
		}
		if got := string(m.AppendEvent(buf)); got != "event="+tt.event {
			t.Errorf("AppendEvent = %q, want %q", got, tt.event)
		}
		if got := string(m.AppendCSeq(nil)); got != tt.cseq {
			t.Errorf("AppendCSeq = %q, want %q", got, tt.cseq)
		}
	}
}

func TestUnfold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a", "a"},
		{"a\r\n b", "a b"},
		{"a  \r\n\t\t b", "a b"},
		{"a\n b\r\n  c", "a b c"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := string(Unfold([]byte("x "), []byte(tt.in))); got != "x "+tt.want {
			t.Errorf("Unfold(%q) = %q, want %q", tt.in, got, "x "+tt.want)
		}
	}
}

func TestZeroAlloc(t *testing.T) {
	inv, ok, bad := crlf(genesysInvite), crlf(genesysOK), crlf(malformedInvite)
	var m Message
	set := NewHeaderSet("X-Genesys-Call-ID", "x-inin-cnv")
	dst := make([][]byte, 0, 2)
	buf := make([]byte, 0, 64)
	n := testing.AllocsPerRun(100, func() {
		for _, b := range [][]byte{inv, ok, bad} {
			if err := Parse(b, &m); err != nil {
				t.Fatal(err)
			}
			dst = m.Lookup(set, dst)
			_ = m.Header("Call-ID")
			_ = m.Header("X-Genesys-Call-ID")
			for v := range m.Values("Via") {
				_ = v
			}
			buf = m.AppendEvent(buf[:0])
			buf = m.AppendCSeq(buf[:0])
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}
