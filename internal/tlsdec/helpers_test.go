package tlsdec_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/genesys-sip/genesys-sip/internal/tlsdec"
	"github.com/genesys-sip/genesys-sip/internal/tlsdec/tlsgen"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// segment is the TCP payload of one frame.
type segment struct {
	dir   tlsdec.Direction
	frame uint64
	data  []byte
}

// segments extracts the TCP payloads of a tlsgen capture (in order, no
// loss, so no reassembly is needed).
func segments(t testing.TB, c *tlsgen.Capture) []segment {
	t.Helper()
	var out []segment
	for i, p := range c.Packets {
		pkt := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.NoCopy)
		tl, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			t.Fatalf("frame %d: no TCP layer", i+1)
		}
		if len(tl.Payload) == 0 {
			continue
		}
		dir := tlsdec.ServerToClient
		if uint16(tl.SrcPort) == c.Client.Port() {
			dir = tlsdec.ClientToServer
		}
		out = append(out, segment{dir: dir, frame: uint64(i + 1), data: tl.Payload})
	}
	return out
}

// result is what decrypting a capture produced.
type result struct {
	plain  [2]bytes.Buffer
	frames [2][]uint64
	emits  int
	stats  tlsdec.ConnStats
	conn   *tlsdec.Conn
}

// decrypt feeds segs to a new Conn.
func decrypt(t testing.TB, kl *tlsdec.KeyLog, segs []segment) *result {
	t.Helper()
	r := &result{conn: tlsdec.NewConn(kl)}
	emit := func(d tlsdec.Direction, f uint64, p []byte) {
		r.emits++
		r.plain[d].Write(p)
		r.frames[d] = append(r.frames[d], f)
	}
	for _, s := range segs {
		if err := r.conn.Feed(s.dir, s.frame, s.data, emit); err != nil {
			t.Fatalf("frame %d: Feed: %v", s.frame, err)
		}
	}
	r.conn.Flush(emit)
	r.stats = r.conn.Stats()
	return r
}

// sent returns what each side of a script sent.
func sent(msgs []tlsgen.Message) (out [2][]byte) {
	for _, m := range msgs {
		d := 0
		if m.FromServer {
			d = 1
		}
		out[d] = append(out[d], m.Data...)
	}
	return out
}

func parseKeyLog(t testing.TB, b []byte) *tlsdec.KeyLog {
	t.Helper()
	kl, err := tlsdec.ParseKeyLog(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("ParseKeyLog: %v", err)
	}
	return kl
}

// sipCall is a SIP dialog: INVITE with SDP, provisional and final answers
// (several server records in one flight), ACK, BYE, 200, and an INFO
// larger than a TLS record.
func sipCall() []tlsgen.Message {
	sdp := "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	req := func(method, extra, body string) []byte {
		return fmt.Appendf(nil, "%s sip:+15550100@genesys.invalid;transport=tls SIP/2.0\r\n"+
			"Via: SIP/2.0/TLS 192.0.2.10:50123;branch=z9hG4bK-%s\r\n"+
			"From: <sip:+15550199@sbc.invalid>;tag=a1\r\nTo: <sip:+15550100@genesys.invalid>\r\n"+
			"Call-ID: call-1@sbc.invalid\r\nCSeq: 1 %s\r\nX-Genesys-Call-ID: 0d3c5f4e-1111-2222-3333-444455556666\r\n%s"+
			"Content-Length: %d\r\n\r\n%s", method, strings.ToLower(method), method, extra, len(body), body)
	}
	resp := func(status string) []byte {
		return fmt.Appendf(nil, "SIP/2.0 %s\r\nVia: SIP/2.0/TLS 192.0.2.10:50123;branch=z9hG4bK-invite\r\n"+
			"From: <sip:+15550199@sbc.invalid>;tag=a1\r\nTo: <sip:+15550100@genesys.invalid>;tag=b2\r\n"+
			"Call-ID: call-1@sbc.invalid\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n", status)
	}
	big := strings.Repeat("x", 19998) + "\r\n"
	return []tlsgen.Message{
		{Data: req("INVITE", "Content-Type: application/sdp\r\n", sdp)},
		{FromServer: true, Data: resp("100 Trying")},
		{FromServer: true, Data: resp("180 Ringing")},
		{FromServer: true, Data: resp("200 OK")},
		{Data: req("ACK", "", "")},
		{Data: req("INFO", "Content-Type: text/plain\r\n", big)},
		{FromServer: true, Data: resp("200 OK")},
		{Data: req("BYE", "", "")},
		{FromServer: true, Data: resp("200 OK")},
	}
}

// startLine matches SIP request and status lines.
var startLine = regexp.MustCompile(`(?m)^(?:[A-Z]+ sip:\S+ SIP/2\.0|SIP/2\.0 \d{3} [^\r\n]*)\r?$`)

// startLines lists the SIP start lines in b.
func startLines(b []byte) []string {
	var out []string
	for _, m := range startLine.FindAll(b, -1) {
		out = append(out, strings.TrimRight(string(m), "\r"))
	}
	return out
}

func generate(t testing.TB, cfg tlsgen.Config) *tlsgen.Capture {
	t.Helper()
	if cfg.Messages == nil {
		cfg.Messages = sipCall()
	}
	c, err := tlsgen.Generate(cfg)
	if err != nil {
		t.Fatalf("tlsgen: %v", err)
	}
	return c
}

// suites are the configurations every decryption test covers.
var suites = []struct {
	name    string
	version uint16
	suite   uint16
	mss     int
}{
	{"TLS12-ECDHE-RSA-AES128-GCM", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 1460},
	{"TLS12-ECDHE-ECDSA-AES256-GCM-SHA384", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, 100},
	{"TLS12-ECDHE-RSA-CHACHA20", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, 1460},
	{"TLS12-RSA-AES128-GCM", tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, 1460},
	{"TLS12-ECDHE-RSA-AES128-CBC-SHA", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, 536},
	{"TLS12-ECDHE-ECDSA-AES128-CBC-SHA256", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, 1460},
	{"TLS12-RSA-AES256-CBC-SHA", tls.VersionTLS12, tls.TLS_RSA_WITH_AES_256_CBC_SHA, 1460},
	{"TLS11-ECDHE-RSA-AES256-CBC-SHA", tls.VersionTLS11, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, 1460},
	{"TLS10-ECDHE-ECDSA-AES128-CBC-SHA", tls.VersionTLS10, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, 700},
	{"TLS13-AES128-GCM", tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, 1460},
	{"TLS13-AES128-GCM-MSS40", tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, 40},
	{"TLS13-CHACHA20", tls.VersionTLS13, tls.TLS_CHACHA20_POLY1305_SHA256, 1460},
}
