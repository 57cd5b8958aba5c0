package redact

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// sipMessage builds an INVITE with the given extra header lines and body
// (Content-Type ctype, none when empty), CRLF line ends and the right
// Content-Length. Its own headers carry correlation keys, tags, a branch
// and addresses that must survive redaction.
func sipMessage(headers, ctype, body string) string {
	crlf := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n") }
	var b strings.Builder
	b.WriteString("INVITE sip:+13175550100@byoc.mypurecloud.com:5061;transport=tls SIP/2.0\r\n" +
		"Via: SIP/2.0/TLS 203.0.113.15:5061;branch=z9hG4bK-524287-1---3f0a6b1c8f2d7e11;rport\r\n" +
		"From: <sip:+13125550188@203.0.113.15;user=phone>;tag=8f3c2a91\r\n" +
		"To: <sip:+13175550100@byoc.mypurecloud.com>\r\n" +
		"Call-ID: 3125550199-5b8e1c3a@203.0.113.15\r\n" +
		"CSeq: 101 INVITE\r\n" +
		"X-Genesys-Call-ID: 0f8e3c2a-5d4b-4c1e-9a7f-2b6d8e1c3f50\r\n" +
		"x-inin-cnv: 3b1d7a2e-9c4f-4e8b-b2a1-7d6c5e4f3a21\r\n")
	if headers != "" {
		b.WriteString(crlf(strings.TrimRight(headers, "\n") + "\n"))
	}
	body = crlf(body)
	if ctype != "" {
		b.WriteString("Content-Type: " + ctype + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// tokenOf returns what a spelling of a number must become: its digits
// replaced by the token of all its digits, everything else kept.
func tokenOf(r *Redactor, spelling string) string {
	var d []byte
	for i := 0; i < len(spelling); i++ {
		if isDigit(spelling[i]) {
			d = append(d, spelling[i])
		}
	}
	tok := r.Number(string(d))
	out := []byte(spelling)
	k := 0
	for i := range out {
		if isDigit(out[i]) {
			out[i] = tok[k]
			k++
		}
	}
	return string(out)
}

// The kept strings every message of placeTests must keep.
var alwaysKept = []string{
	"203.0.113.15:5061;branch=z9hG4bK-524287-1---3f0a6b1c8f2d7e11", "tag=8f3c2a91",
	"Call-ID: 3125550199-5b8e1c3a@203.0.113.15", "X-Genesys-Call-ID: 0f8e3c2a-5d4b-4c1e-9a7f-2b6d8e1c3f50",
	"x-inin-cnv: 3b1d7a2e-9c4f-4e8b-b2a1-7d6c5e4f3a21", "CSeq: 101 INVITE",
}

// placeTests enumerates every place a phone number is redacted outside
// the identity headers of TestMessage: headers, then bodies by type. gone
// lists spellings that must not survive (each must become the token of
// its digits, as everywhere else), kept what must stay as it is.
var placeTests = []struct {
	place         string
	headers       string
	ctype, body   string
	gone, kept    []string
	cfg           Config
	scrubSkipGone bool // Scrub cannot know (see the case)
}{
	{place: "x-inin-ani tel URI", headers: "x-inin-ani: tel:+13125550115", gone: []string{"+13125550115"}},
	{place: "x-inin-dnis bare number", headers: "x-inin-dnis: 3125550116", gone: []string{"3125550116"}},
	{place: "x-inin-dnis short number as a whole value", headers: "x-inin-dnis: 7001", gone: []string{"7001"}},
	{place: "x-inin-* sip URI and number in a list", headers: "x-inin-ext-ani: sip:+13125550117@203.0.113.15;user=phone, +1 312 555 0118",
		gone: []string{"+13125550117", "+1 312 555 0118"}, kept: []string{"@203.0.113.15;user=phone"}},
	{place: "x-genesys-* other than X-Genesys-Call-ID", headers: "X-Genesys-Original-DNIS: +18005550119", gone: []string{"+18005550119"}},
	{place: "x-inin-* keeps UUIDs and short ids", headers: "x-inin-crn: 7d6c5e4f-3a21-4e8b-b2a1-446655440000;seq=12",
		kept: []string{"x-inin-crn: 7d6c5e4f-3a21-4e8b-b2a1-446655440000;seq=12"}},
	{place: "x-inin-cnv is a correlation key even when numeric", headers: "x-inin-cnv: 31255501200",
		kept: []string{"x-inin-cnv: 31255501200"}},
	{place: "Subject", headers: "Subject: call from 3125550122", gone: []string{"3125550122"}},
	{place: "Subject (compact) with separators and a date", headers: "s: Call back (312) 555-0125 before 2026-11-25 10:05",
		gone: []string{"312) 555-0125"}, kept: []string{"2026-11-25 10:05"}},
	{place: "Organization", headers: "Organization: Acme 800-555-0126 Chicago", gone: []string{"800-555-0126"}},
	{place: "Warning keeps the agent address", headers: `Warning: 399 203.0.113.40 "no route to +13125550127"`,
		gone: []string{"+13125550127"}, kept: []string{"399 203.0.113.40 "}},
	{place: "Reason text", headers: `Reason: Q.850;cause=16;text="released by 3125550160"`,
		gone: []string{"3125550160"}, kept: []string{"Q.850;cause=16"}},
	{place: "Call-Info", headers: "Call-Info: <sip:+13125550133@203.0.113.15>;answer-after=0", gone: []string{"+13125550133"}},
	{place: "Record-Route user part", headers: "Record-Route: <sip:+13125550128@203.0.113.15:5061;lr;ftag=8f3c2a91;transport=tls>",
		gone: []string{"+13125550128"}, kept: []string{"@203.0.113.15:5061;lr;ftag=8f3c2a91"}},
	{place: "Route user part", headers: "Route: <sip:3125550129@proxy.example.net;lr>", gone: []string{"3125550129"}},
	{place: "P-Associated-URI", headers: "P-Associated-URI: <sip:+13125550130@ims.example.net>, <tel:+1-312-555-0130>",
		gone: []string{"+13125550130", "+1-312-555-0130"}},
	{place: "Path, Service-Route, P-Served-User, Reply-To", headers: "Path: <sip:3125550161@pcscf.example.net;lr>\n" +
		"Service-Route: <sip:3125550162@scscf.example.net;lr>\nP-Served-User: <sip:+13125550163@example.net>;sescase=orig\n" +
		"Reply-To: \"3125550164\" <sip:+13125550164@example.net>",
		gone: []string{"3125550161", "3125550162", "+13125550163", `"3125550164"`}},
	{place: "Authorization username and uri", headers: `Authorization: Digest username="3125550131", realm="example.net", ` +
		`nonce="1234567890abcdef", uri="sip:+13125550132@example.net", response="4fa2f3b4a6b5c7d8e9f0a1b2c3d4e5f6", algorithm=MD5`,
		gone: []string{`"3125550131"`, "+13125550132"}, kept: []string{`nonce="1234567890abcdef"`, `realm="example.net"`, `response="4fa2f3b4a6b5c7d8e9f0a1b2c3d4e5f6"`}},
	{place: "Proxy-Authorization", headers: `Proxy-Authorization: Digest username="+13125550134",realm="example.net",uri="tel:+13125550135"`,
		gone: []string{"+13125550134", "+13125550135"}},
	{
		place: "PIDF body", ctype: "application/pidf+xml",
		body: `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:+13125550123@x"><tuple id="t8f3c"><status><basic>open</basic></status><contact>tel:+13125550124</contact><timestamp>2026-11-25T10:05:01.123456Z</timestamp></tuple>
</presence>
`,
		gone: []string{"+13125550123", "+13125550124"}, kept: []string{`version="1.0"`, "2026-11-25T10:05:01.123456Z", `id="t8f3c"`},
	},
	{
		place: "multipart/mixed: SDP and PIDF parts", ctype: `multipart/mixed;boundary=unique-boundary-1`,
		body: `--unique-boundary-1
Content-Type: application/sdp

v=0
o=3125550150 2890844526 2890844526 IN IP4 203.0.113.15
c=IN IP4 203.0.113.40
m=audio 21866 RTP/AVP 0 101
--unique-boundary-1
Content-Type: application/pidf+xml

<presence entity="sip:+13125550123@x"><tuple><contact>tel:+13125550124</contact></tuple></presence>
--unique-boundary-1--
`,
		gone: []string{"o=3125550150", "+13125550123", "+13125550124"},
		kept: []string{"2890844526 2890844526 IN IP4 203.0.113.15", "c=IN IP4 203.0.113.40", "m=audio 21866 RTP/AVP 0 101"},
	},
	{
		place: "nested multipart, quoted boundaries, resource-lists and ISUP", ctype: `Multipart/Mixed; charset=utf-8; Boundary="=_outer; 1"`,
		body: `preamble
--=_outer; 1
Content-Type: multipart/alternative; boundary="inner:2"

--inner:2
Content-Type: application/resource-lists+xml

<resource-lists><list><entry uri="sip:+13125550141@example.net;user=phone"/><entry uri="tel:3125550142"/></list></resource-lists>
--inner:2
Content-Type: text/plain; charset=utf-8

call 312.555.0143 from 192.168.100.200:5060
--inner:2--
--=_outer; 1
Content-Type: application/ISUP;version=nxv3

0123456789
--=_outer; 1--
epilogue
`,
		gone: []string{"+13125550141", "3125550142", "312.555.0143"},
		kept: []string{"192.168.100.200:5060", "0123456789"},
	},
	{
		place: "multipart without a boundary parameter", ctype: "multipart/mixed",
		body: `--b1
Content-Type: application/pidf+xml

<presence entity="sip:+13125550151@x"/>
--b1--
`,
		gone: []string{"+13125550151"},
	},
	{
		place: "multipart with a garbled boundary", ctype: `multipart/related;boundary="nope`,
		body: `--real
Content-Type: text/plain

+44 20 7946 0958
--real
Content-Type: application/sdp

v=0
o=+13125550152 1 1 IN IP4 203.0.113.15
t=3034423619 3042462419
--real--
`,
		gone: []string{"+44 20 7946 0958", "+13125550152"}, kept: []string{"t=3034423619 3042462419"},
	},
	{
		place: "text/plain body", ctype: "text/plain",
		body: "Please call me back at +44 20 7946 0958 or 312.555.0140, not 5550100x. Ticket 41.8781 -87.6298 id 550e8400-e29b-41d4-a716-446655440000 at 1732528800\n",
		gone: []string{"+44 20 7946 0958", "312.555.0140"},
		kept: []string{"5550100x", "41.8781 -87.6298", "550e8400-e29b-41d4-a716-446655440000", "1732528800"},
	},
	{
		place: "dialog-info keeps the call-id", ctype: "application/dialog-info+xml",
		body: `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="12" state="full" entity="sip:3125550144@example.net">
<dialog id="d1" call-id="3125550199-5b8e1c3a@203.0.113.15" local-tag="8f3c2a91" direction="initiator">
<local><identity display="3125550145">sip:+13125550146@example.net</identity><target uri="sip:3125550147@10.0.0.1:5060"/></local>
</dialog></dialog-info>
`,
		gone: []string{"3125550144", `"3125550145"`, "+13125550146", "3125550147"},
		kept: []string{`call-id="3125550199-5b8e1c3a@203.0.113.15"`, `@10.0.0.1:5060`, `version="12"`},
	},
	{
		place: "message/sipfrag body", ctype: "message/sipfrag;version=2.0",
		body: "SIP/2.0 180 Ringing\nContact: <sip:+13125550148@203.0.113.15>\nSubject: 3125550149\n",
		gone: []string{"+13125550148", "3125550149"},
	},
	{
		place: "body without Content-Type (XML)",
		body:  `<conference-info><user entity="tel:+13125550153"/></conference-info>`,
		gone:  []string{"+13125550153"},
	},
	{
		place: "SDP URIs outside o= and p=", ctype: "application/sdp",
		body: "v=0\no=- 3947209384 3947209385 IN IP4 10.20.30.40\ns=-\ni=call sip:+13125550154@example.net\nc=IN IP4 10.20.30.41\nt=0 0\nm=audio 16384 RTP/AVP 0\na=rtcp:16385 IN IP4 10.20.30.41\n",
		gone: []string{"+13125550154"},
		kept: []string{"o=- 3947209384 3947209385 IN IP4 10.20.30.40", "c=IN IP4 10.20.30.41", "m=audio 16384 RTP/AVP 0", "a=rtcp:16385 IN IP4 10.20.30.41"},
	},
	{
		place: "one number, one token: header and body", headers: "x-inin-ani: +13125550188", ctype: "application/pidf+xml",
		body: `<presence entity="sip:+13125550188@x"/>`,
		gone: []string{"x-inin-ani: +13125550188", `"sip:+13125550188@x"`},
	},
}

// TestPlaces checks every place of placeTests with Message and Scrub.
func TestPlaces(t *testing.T) {
	for _, tc := range placeTests {
		t.Run(tc.place, func(t *testing.T) {
			r := newTest(t, tc.cfg)
			in := sipMessage(tc.headers, tc.ctype, tc.body)
			out := []byte(in)
			r.Message(out)
			checkSIP(t, []byte(in), out)
			for _, g := range tc.gone {
				if !strings.Contains(in, g) {
					t.Fatalf("test error: %q not in the input", g)
				}
				if bytes.Contains(out, []byte(g)) {
					t.Errorf("%q survives in\n%s", g, out)
				} else if tok := tokenOf(r, g); !bytes.Contains(out, []byte(tok)) {
					t.Errorf("%q: its token %q is not in\n%s", g, tok, out)
				}
			}
			for _, k := range append(tc.kept, alwaysKept...) {
				if !bytes.Contains(out, []byte(k)) {
					t.Errorf("%q changed in\n%s", k, out)
				}
			}
			again := []byte(in)
			if r.Message(again); !bytes.Equal(again, out) {
				t.Errorf("unstable")
			}
			sc := []byte(in)
			r.Scrub(sc)
			for _, g := range tc.gone {
				if bytes.Contains(sc, []byte(g)) {
					t.Errorf("Scrub: %q survives in\n%s", g, sc)
				}
			}
		})
	}
}
