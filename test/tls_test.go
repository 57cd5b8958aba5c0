package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
	"github.com/genesys-sip/genesys-sip/internal/tlsdec/tlsgen"
)

// The E.164 numbers of the generated call; none may survive redaction.
const (
	tlsCaller = "+15551230001"
	tlsCallee = "+15559870002"
	tlsGCID   = "7d1e4c2a-3b5f-4e6d-9a8b-1c2d3e4f5a6b"
	pduIface  = "SIP over TLS (decrypted)"
)

// tlsCall is the SIP exchange tlsgen plays over TLS: what the client and
// the server write, in order.
func tlsCall() []tlsgen.Message {
	const callID = "b7c1e0d2a9f84c3e@198.51.100.10"
	from := `"Caller" <sip:` + tlsCaller + `@carrier.example.net;user=phone>;tag=c1a2b3`
	to := `<sip:` + tlsCallee + `@byoc.mypurecloud.com;user=phone>`
	toTag := to + ";tag=gc-77f1"
	head := func(start, via, from, to, cseq string) string {
		return start + "\r\n" +
			"Via: SIP/2.0/TLS " + via + "\r\n" +
			"Max-Forwards: 70\r\n" +
			"From: " + from + "\r\n" +
			"To: " + to + "\r\n" +
			"Call-ID: " + callID + "\r\n" +
			"CSeq: " + cseq + "\r\n" +
			"X-Genesys-Call-ID: " + tlsGCID + "\r\n"
	}
	const via = "192.0.2.10:50123;branch=z9hG4bK-tls-1;rport"
	const byeVia = "192.0.2.10:50123;branch=z9hG4bK-tls-2;rport"
	sdp := "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/SAVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
	invite := head("INVITE sip:"+tlsCallee+"@byoc.mypurecloud.com:5061;transport=tls SIP/2.0", via, from, to, "1 INVITE") +
		"Contact: <sip:" + tlsCaller + "@192.0.2.10:50123;transport=tls>\r\n" +
		"P-Asserted-Identity: <sip:" + tlsCaller + "@carrier.example.net>\r\n" +
		"Content-Type: application/sdp\r\n" +
		"Content-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp
	resp := func(status, cseq, to, v string) string {
		return head("SIP/2.0 "+status, v, from, to, cseq) + "Content-Length: 0\r\n\r\n"
	}
	req := func(start, cseq, v string) string {
		return head(start, v, from, toTag, cseq) + "Content-Length: 0\r\n\r\n"
	}
	ruri := "sip:" + tlsCallee + "@byoc.mypurecloud.com:5061;transport=tls SIP/2.0"
	return []tlsgen.Message{
		{Data: []byte(invite)},
		{FromServer: true, Data: []byte(resp("100 Trying", "1 INVITE", to, via))},
		{FromServer: true, Data: []byte(resp("180 Ringing", "1 INVITE", toTag, via))},
		{FromServer: true, Data: []byte(resp("200 OK", "1 INVITE", toTag, via))},
		{Data: []byte(req("ACK "+ruri, "1 ACK", byeVia))},
		{Data: []byte(req("BYE "+ruri, "2 BYE", byeVia))},
		{FromServer: true, Data: []byte(resp("200 OK", "2 BYE", toTag, byeVia))},
	}
}

// tlsWant is what tshark shows of tlsCall: method or status code per message.
var tlsWant = []string{"INVITE", "100", "180", "200", "ACK", "BYE", "200"}

// tlsFiles is a generated exchange written to disk.
type tlsFiles struct {
	dir, pcap, keylog, trace string
	cap                      *tlsgen.Capture
}

// genTLS generates the call over TLS with segments of mss bytes, so that
// records span segments, and writes the capture, the key log and a
// Genesys trace of the call.
func genTLS(t *testing.T, version, suite uint16, mss int) *tlsFiles {
	t.Helper()
	msgs := tlsCall()
	c, err := tlsgen.Generate(tlsgen.Config{Version: version, CipherSuite: suite, Messages: msgs, MSS: mss})
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != version || (suite != 0 && c.CipherSuite != suite) {
		t.Fatalf("negotiated %#04x %s", c.Version, tls.CipherSuiteName(c.CipherSuite))
	}
	if len(msgs[0].Data) <= 2*mss {
		t.Fatalf("the INVITE (%d bytes) must span several %d-byte segments", len(msgs[0].Data), mss)
	}
	f := &tlsFiles{dir: t.TempDir(), cap: c}
	f.pcap = filepath.Join(f.dir, "tls.pcap")
	f.keylog = filepath.Join(f.dir, "keylog.txt")
	f.trace = filepath.Join(f.dir, "trace.ndjson")
	var b bytes.Buffer
	if err := c.WritePcap(&b); err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.pcap, b.Bytes())
	writeFile(t, f.keylog, c.KeyLog)

	// Genesys saw each message a few milliseconds after the capture's
	// start (tlsgen's frames are 1 ms apart from 2026-01-01).
	b.Reset()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cli, srv := c.Client, c.Server
	for i, m := range msgs {
		src, dst := cli, srv
		if m.FromServer {
			src, dst = srv, cli
		}
		rec, _ := json.Marshal(map[string]string{
			"milliTs":  strconv.FormatInt(start.Add(time.Duration(10+5*i)*time.Millisecond).UnixMilli(), 10),
			"sourceIp": src.Addr().String(), "sourcePort": strconv.Itoa(int(src.Port())),
			"destinationIp": dst.Addr().String(), "destinationPort": strconv.Itoa(int(dst.Port())),
			"proto": "tcp", "node": "edge-tls-1", "msg": string(m.Data),
		})
		b.Write(append(rec, '\n'))
	}
	writeFile(t, f.trace, b.Bytes())
	return f
}

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsFrame is one frame of an output as tshark reads it (no key options).
type tlsFrame struct {
	number   int
	iface    string
	sip      string // method or status code, "" if tshark shows no SIP
	comments []string
}

func readTLSOutput(t *testing.T, h *home, file string) []tlsFrame {
	t.Helper()
	r := h.run(t, 60*time.Second, h.tshark, "-r", file, "-T", "fields", "-E", "separator=\t", "-E", "aggregator=\x1f",
		"-e", "frame.number", "-e", "frame.interface_name", "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "frame.comment")
	if r.err != nil {
		t.Fatalf("tshark -r %s: %v\n%s", file, r.err, r.stderr)
	}
	var out []tlsFrame
	for _, line := range strings.Split(strings.TrimRight(r.stdout, "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 5 {
			t.Fatalf("tshark line %q", line)
		}
		n, _ := strconv.Atoi(f[0])
		// A response's CSeq method is not sip.Method; a request has no status.
		fr := tlsFrame{number: n, iface: f[1], sip: f[2] + f[3]}
		if f[4] != "" {
			fr.comments = strings.Split(f[4], "\x1f")
		}
		out = append(out, fr)
	}
	return out
}

// sipShown lists the SIP messages tshark shows, in frame order.
func sipShown(frames []tlsFrame) (shown []string, at []tlsFrame) {
	for _, f := range frames {
		if f.sip != "" {
			for _, s := range strings.Split(f.sip, "\x1f") {
				shown = append(shown, s)
				at = append(at, f)
			}
		}
	}
	return
}

// keySecrets returns the secrets of a key log in hex (as written) and raw.
func keySecrets(t *testing.T, keylog []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, line := range strings.Split(strings.TrimSpace(string(keylog)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("key log line with %d fields", len(f))
		}
		raw, err := hex.DecodeString(f[2])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, []byte(strings.ToLower(f[2])), []byte(strings.ToUpper(f[2])), raw)
	}
	return out
}

// pcapngBlocks lists the block types of a pcapng file in order.
func pcapngBlocks(t *testing.T, file string) []uint32 {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if len(b) >= 12 && binary.BigEndian.Uint32(b[8:]) == 0x1A2B3C4D {
		bo = binary.BigEndian
	}
	var types []uint32
	for len(b) >= 12 {
		n := int(bo.Uint32(b[4:]))
		if n < 12 || n > len(b) {
			t.Fatalf("pcapng block of %d bytes with %d left", n, len(b))
		}
		types = append(types, bo.Uint32(b))
		b = b[n:]
	}
	return types
}

const (
	blockEPB = 6
	blockDSB = 10
)

var tlsCases = []struct {
	name    string
	version uint16
	suite   uint16
}{
	{"TLS1.2-ECDHE-RSA-AES128-GCM", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	{"TLS1.3-AES128-GCM", tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256},
	{"TLS1.3-ChaCha20", tls.VersionTLS13, tls.TLS_CHACHA20_POLY1305_SHA256},
}

// TestTLSInjectSecretsThroughTshark is mode (a): with redaction off and
// --inject-secrets, the output is the original packets plus a Decryption
// Secrets Block, and tshark decrypts every SIP message with no key option.
func TestTLSInjectSecretsThroughTshark(t *testing.T) {
	h := installHome(t)
	for _, tc := range tlsCases {
		t.Run(tc.name, func(t *testing.T) {
			f := genTLS(t, tc.version, tc.suite, 200)
			out := filepath.Join(f.dir, "out.pcapng")
			r := h.tsharkCapture(t, out, map[string]string{
				"replayfile": f.pcap, "replayspeed": "0", "redact": "false",
				"tlskeylog": f.keylog, "injectsecrets": "true", "tracefile": f.trace,
			})
			if r.err != nil {
				t.Fatalf("tshark capture: %v\n%s", r.err, r.stderr)
			}
			frames := readTLSOutput(t, h, out)
			if len(frames) != len(f.cap.Packets) {
				t.Errorf("%d frames, want the %d original ones", len(frames), len(f.cap.Packets))
			}
			for _, fr := range frames {
				if fr.iface == pduIface {
					t.Fatalf("frame %d is a decrypted PDU in inject mode", fr.number)
				}
			}
			shown, at := sipShown(frames)
			if strings.Join(shown, " ") != strings.Join(tlsWant, " ") {
				t.Fatalf("tshark decrypts %q, want %q", shown, tlsWant)
			}
			// Without PDUs, the Genesys records annotate the encrypted frames.
			for i, fr := range at {
				if !hasGenesysComment(fr, tlsWant[i]) {
					t.Errorf("frame %d (%s): no genesys: comment for it; comments %q", fr.number, tlsWant[i], fr.comments)
				}
			}

			// tshark decrypts both Finished messages, so it had the keys
			// from the first encrypted record on.
			r = h.run(t, 60*time.Second, h.tshark, "-r", out, "-Y", "tls.handshake.type == 20", "-T", "fields", "-e", "frame.number")
			finished := strings.Fields(r.stdout)
			if r.err != nil || len(finished) != 2 {
				t.Fatalf("tshark decrypts the Finished messages in frames %q, want 2 frames (%v)", finished, r.err)
			}
			firstEncrypted, _ := strconv.Atoi(finished[0])

			// One DSB, before the first encrypted record.
			var epbs, dsbAt, dsbs int
			for _, typ := range pcapngBlocks(t, out) {
				switch typ {
				case blockEPB:
					epbs++
				case blockDSB:
					dsbs++
					dsbAt = epbs
				}
			}
			if dsbs != 1 {
				t.Fatalf("%d Decryption Secrets Blocks, want 1", dsbs)
			}
			if dsbAt >= firstEncrypted {
				t.Errorf("the secrets follow %d frames; the first encrypted record is in frame %d", dsbAt, firstEncrypted)
			}
			t.Logf("%s: %d frames, DSB after frame %d, SIP in frames %v", tc.name, len(frames), dsbAt, frameNumbers(at))
		})
	}
}

// hasGenesysComment reports whether fr carries the annotation of the
// record of message want (method or status code).
func hasGenesysComment(fr tlsFrame, want string) bool {
	for _, c := range fr.comments {
		p := commentPairs(c)
		if strings.HasPrefix(c, "genesys:") && strings.HasPrefix(p["event"], want) && p["key"] != "" {
			return true
		}
	}
	return false
}

func frameNumbers(fs []tlsFrame) []int {
	var n []int
	for _, f := range fs {
		n = append(n, f.number)
	}
	return n
}

// TestTLSDecryptedPDUsThroughTshark is mode (b), the default with a key log
// and redaction on: the encrypted frames plus the decrypted SIP as exported
// PDUs, redacted and annotated from the trace, and no key in the output.
func TestTLSDecryptedPDUsThroughTshark(t *testing.T) {
	h := installHome(t)
	for _, tc := range tlsCases {
		t.Run(tc.name, func(t *testing.T) {
			f := genTLS(t, tc.version, tc.suite, 200)
			out := filepath.Join(f.dir, "out.pcapng")
			r := h.tsharkCapture(t, out, map[string]string{
				"replayfile": f.pcap, "replayspeed": "0",
				"tlskeylog": f.keylog, "tracefile": f.trace,
			})
			if r.err != nil {
				t.Fatalf("tshark capture: %v\n%s", r.err, r.stderr)
			}
			frames := readTLSOutput(t, h, out)
			var wire, pdus []tlsFrame
			for _, fr := range frames {
				if fr.iface == pduIface {
					pdus = append(pdus, fr)
				} else {
					wire = append(wire, fr)
				}
			}
			if len(wire) != len(f.cap.Packets) {
				t.Errorf("%d encrypted frames, want %d", len(wire), len(f.cap.Packets))
			}
			shown, at := sipShown(frames)
			if strings.Join(shown, " ") != strings.Join(tlsWant, " ") || len(pdus) != len(tlsWant) {
				t.Fatalf("tshark shows %q in %d PDUs, want %q", shown, len(pdus), tlsWant)
			}
			// Each PDU follows the frame that completes its message, which is
			// where tshark itself shows the message given the key log.
			r = h.run(t, 60*time.Second, h.tshark, "-r", f.pcap, "-o", "tls.keylog_file:"+f.keylog, "-Y", "sip", "-T", "fields", "-e", "frame.number")
			completing := strings.Fields(r.stdout)
			if r.err != nil || len(completing) != len(tlsWant) {
				t.Fatalf("tshark with the key log shows SIP in frames %q (%v)", completing, r.err)
			}
			for i, fr := range at {
				if fr.iface != pduIface {
					t.Errorf("%s shown on frame %d of interface %q", shown[i], fr.number, fr.iface)
				}
				wireBefore := 0
				for _, w := range wire {
					if w.number < fr.number {
						wireBefore++
					}
				}
				if strconv.Itoa(wireBefore) != completing[i] {
					t.Errorf("the %s PDU follows input frame %d, not %s which completes it", tlsWant[i], wireBefore, completing[i])
				}
				// The Genesys record of this message is annotated on its PDU.
				if !hasGenesysComment(fr, tlsWant[i]) {
					t.Errorf("PDU frame %d (%s): no genesys: comment for it; comments %q", fr.number, tlsWant[i], fr.comments)
				}
			}
			for _, fr := range wire {
				for _, c := range fr.comments {
					if strings.HasPrefix(c, "genesys:") {
						t.Errorf("encrypted frame %d carries %q (comments belong on the PDU)", fr.number, c)
					}
				}
			}

			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{tlsCaller, tlsCallee} {
				if bytes.Contains(b, []byte(n[1:])) {
					t.Errorf("the output holds the number %s", n)
				}
			}
			for _, s := range keySecrets(t, f.cap.KeyLog) {
				if bytes.Contains(b, s) {
					t.Fatal("the output holds key material from the key log")
				}
			}
			if !bytes.Contains(b, []byte(tlsGCID)) {
				t.Error("the output lacks the X-Genesys-Call-ID (redaction should keep it)")
			}
			t.Logf("%s: %d encrypted frames + %d PDUs", tc.name, len(wire), len(pdus))
		})
	}
}

// TestTLSInjectSecretsRefusedWithRedaction: keys next to redacted SIP would
// undo the redaction, so the CLI and the extcap refuse, at once and clearly.
func TestTLSInjectSecretsRefusedWithRedaction(t *testing.T) {
	h := installHome(t)
	f := genTLS(t, tls.VersionTLS13, 0, 200)
	out := filepath.Join(f.dir, "out.pcapng")
	const want = "--inject-secrets is refused while redaction is on"

	r := h.run(t, 30*time.Second, binPath, "capture", "--replay-file", f.pcap, "--replay-speed", "0",
		"--tls-keylog", f.keylog, "--inject-secrets", "-w", out)
	if r.err == nil || !strings.Contains(r.stderr, want) {
		t.Errorf("CLI: err %v, stderr %q; want a failure saying %q", r.err, r.stderr, want)
	}
	if _, err := os.Stat(out); err == nil {
		if b, _ := os.ReadFile(out); len(b) > 0 {
			t.Errorf("CLI wrote %d bytes despite refusing", len(b))
		}
	}

	r = h.tsharkCapture(t, out, map[string]string{
		"replayfile": f.pcap, "replayspeed": "0", "tlskeylog": f.keylog, "injectsecrets": "true",
	})
	if r.err == nil {
		t.Error("tshark capture succeeded with --inject-secrets and redaction on")
	}
	if n := strings.Count(r.stderr, want); n != 1 {
		t.Errorf("tshark stderr says %q %d times, want once:\n%s", want, n, r.stderr)
	}
	for _, s := range keySecrets(t, f.cap.KeyLog) {
		if strings.Contains(r.stderr, string(s)) {
			t.Error("stderr holds key material")
		}
	}
	t.Logf("tshark stderr: %s", strings.TrimSpace(r.stderr))
}

// undecryptableRE finds the decryption summary in the log.
var undecryptableRE = regexp.MustCompile(`level=WARN msg="TLS decryption" connections=(\d+) records_decrypted=(\d+) records_undecryptable=(\d+)`)

// TestTLSWrongOrMissingKeys: with secrets that do not decrypt, or none for
// the connection, every packet still flows, nothing is decrypted, and the
// log says how many records could not be.
func TestTLSWrongOrMissingKeys(t *testing.T) {
	h := installHome(t)
	for _, tc := range tlsCases[:2] {
		f := genTLS(t, tc.version, tc.suite, 200)
		// Wrong: random secrets of the right length for the right client
		// randoms. Missing: the right secrets for another client random.
		var wrong, missing bytes.Buffer
		for _, line := range strings.Split(strings.TrimSpace(string(f.cap.KeyLog)), "\n") {
			fl := strings.Fields(line)
			sec := make([]byte, len(fl[2])/2)
			cr := make([]byte, 32)
			rand.Read(sec)
			rand.Read(cr)
			fmt.Fprintf(&wrong, "%s %s %x\n", fl[0], fl[1], sec)
			fmt.Fprintf(&missing, "%s %x %s\n", fl[0], cr, fl[2])
		}
		for _, kc := range []struct {
			name string
			log  []byte
		}{{"wrong", wrong.Bytes()}, {"missing", missing.Bytes()}} {
			t.Run(tc.name+"/"+kc.name, func(t *testing.T) {
				keylog := filepath.Join(f.dir, kc.name+".keylog")
				logFile := filepath.Join(f.dir, kc.name+".log")
				out := filepath.Join(f.dir, kc.name+".pcapng")
				writeFile(t, keylog, kc.log)
				r := h.tsharkCapture(t, out, map[string]string{
					"replayfile": f.pcap, "replayspeed": "0", "tlskeylog": keylog,
					"logfile": logFile, "loglevel": "info",
				})
				if r.err != nil {
					t.Fatalf("tshark capture: %v\n%s", r.err, r.stderr)
				}
				frames := readTLSOutput(t, h, out)
				if len(frames) != len(f.cap.Packets) {
					t.Errorf("%d frames, want all %d", len(frames), len(f.cap.Packets))
				}
				for _, fr := range frames {
					if fr.iface == pduIface || fr.sip != "" {
						t.Fatalf("frame %d: a decrypted message (%q on %q) from a %s key log", fr.number, fr.sip, fr.iface, kc.name)
					}
				}
				lb, err := os.ReadFile(logFile)
				if err != nil {
					t.Fatal(err)
				}
				m := undecryptableRE.FindSubmatch(lb)
				if m == nil {
					t.Fatalf("no TLS decryption warning in the log:\n%s", lb)
				}
				if string(m[1]) != "1" || string(m[2]) != "0" {
					t.Errorf("log: %s", m[0])
				}
				if n, _ := strconv.Atoi(string(m[3])); n < len(tlsWant) {
					t.Errorf("%d records undecryptable, want at least the %d SIP messages", n, len(tlsWant))
				}
				for _, s := range keySecrets(t, kc.log) {
					if bytes.Contains(lb, s) {
						t.Fatal("the log holds key material")
					}
				}
				t.Logf("log: %s", bytes.TrimSpace(lineOf(lb, m[0])))
			})
		}
	}
}

func lineOf(b, sub []byte) []byte {
	i := bytes.Index(b, sub)
	if i < 0 {
		return nil
	}
	s := bytes.LastIndexByte(b[:i], '\n') + 1
	e := bytes.IndexByte(b[i:], '\n')
	if e < 0 {
		return b[s:]
	}
	return b[s : i+e]
}

// TestTLSRSAKeySharedCapture decrypts the shared SIP-over-TLS capture
// (TLS_RSA key exchange) with the server key, through the CLI, into PDUs.
func TestTLSRSAKeySharedCapture(t *testing.T) {
	dir := testenv.Captures(t)
	pcap := filepath.Join(dir, "voipshark__sip-over-tls-rsa_rtp_full-call.pcap")
	key := filepath.Join(dir, "voipshark__sip-over-tls-rsa_rtp_full-call.default.key")
	h := installHome(t)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	r := h.run(t, 60*time.Second, binPath, "capture", "--replay-file", pcap, "--replay-speed", "0",
		"--tls-rsa-key", key, "-w", out)
	if r.err != nil {
		t.Fatalf("capture: %v\n%s", r.err, r.stderr)
	}
	frames := readTLSOutput(t, h, out)
	in := len(frames)
	var pdus int
	for _, fr := range frames {
		if fr.iface == pduIface {
			pdus++
			in--
		}
	}
	shown, at := sipShown(frames)
	for i, fr := range at {
		if fr.iface != pduIface {
			t.Errorf("%s shown on frame %d of %q, not a PDU", shown[i], fr.number, fr.iface)
		}
	}
	// tlsdec decrypts 48 messages. tshark with the key shows 40 (in 37
	// frames): in the connection from 192.168.20.1:57969 the capture holds
	// the client's ACK of server bytes 2463-3923 before the segment that
	// carries them (frame 36, then 37), so tshark calls that segment a
	// spurious retransmission, leaves it out of the TLS stream, and decrypts
	// nothing more in that direction: 8 messages.
	if pdus != 48 || len(shown) != 48 {
		t.Errorf("%d PDUs showing %d SIP messages, want 48", pdus, len(shown))
	}
	t.Logf("%d input frames, %d PDUs", in, pdus)

	// Every message tshark decrypts by itself is among the PDUs.
	r = h.run(t, 60*time.Second, h.tshark, "-r", pcap, "-o", "tls.keys_list:,,,"+key, "-Y", "sip", "-T", "fields", "-e", "sip.CSeq")
	if r.err != nil {
		t.Fatalf("tshark -r with the key: %v\n%s", r.err, r.stderr)
	}
	ours := map[string]int{}
	r2 := h.run(t, 60*time.Second, h.tshark, "-r", out, "-Y", "sip", "-T", "fields", "-e", "sip.CSeq")
	for _, c := range strings.Fields(strings.ReplaceAll(r2.stdout, " ", "_")) {
		ours[c]++
	}
	var theirs int
	for _, c := range strings.Fields(strings.ReplaceAll(strings.ReplaceAll(r.stdout, ",", "\n"), " ", "_")) {
		theirs++
		if ours[c] == 0 {
			t.Errorf("tshark decrypts CSeq %s, which no PDU shows", c)
		}
		ours[c]--
	}
	if theirs != 40 {
		t.Logf("tshark with the key alone shows %d SIP messages (40 with tshark 4.0)", theirs)
	}
}
