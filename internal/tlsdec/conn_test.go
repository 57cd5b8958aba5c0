package tlsdec_test

import (
	"bytes"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
	"github.com/genesys-sip/genesys-sip/internal/tlsdec"
	"github.com/genesys-sip/genesys-sip/internal/tlsdec/tlsgen"
)

// TestCaptures generates one exchange per version and suite with Go's
// crypto/tls and checks decryption, its failure modes, and tshark's view.
func TestCaptures(t *testing.T) {
	for _, tc := range suites {
		t.Run(tc.name, func(t *testing.T) {
			c := generate(t, tlsgen.Config{Version: tc.version, CipherSuite: tc.suite, MSS: tc.mss})
			if c.Version != tc.version || c.CipherSuite != tc.suite {
				t.Fatalf("negotiated %x/%x", c.Version, c.CipherSuite)
			}
			segs := segments(t, c)
			t.Run("decrypt", func(t *testing.T) { checkDecrypt(t, c, segs) })
			t.Run("no-keys", func(t *testing.T) { checkNoKeys(t, segs) })
			t.Run("wrong-keys", func(t *testing.T) { checkWrongKeys(t, c, segs) })
			t.Run("lost", func(t *testing.T) { checkLost(t, c, segs) })
			t.Run("mid-connection", func(t *testing.T) { checkMidConnection(t, c, segs) })
			if strings.Contains(tc.name, "-RSA-AES") && !strings.Contains(tc.name, "ECDHE") {
				t.Run("rsa-private-key", func(t *testing.T) { checkRSAKey(t, c, segs) })
			}
			if tc.mss != 1460 || tc.version == tls.VersionTLS10 || strings.Contains(tc.name, "CHACHA") {
				t.Run("tshark", func(t *testing.T) { checkTshark(t, c, segs) })
			}
		})
	}
}

func checkDecrypt(t *testing.T, c *tlsgen.Capture, segs []segment) {
	kl := parseKeyLog(t, c.KeyLog)
	r := decrypt(t, kl, segs)
	want := sent(sipCall())
	for d := range 2 {
		if !bytes.Equal(r.plain[d].Bytes(), want[d]) {
			t.Errorf("%v: plaintext differs: got %d bytes, want %d", tlsdec.Direction(d), r.plain[d].Len(), len(want[d]))
		}
		if !slices.IsSorted(r.frames[d]) {
			t.Errorf("%v: frames not in order: %v", tlsdec.Direction(d), r.frames[d])
		}
		for _, f := range r.frames[d] {
			if i := slices.IndexFunc(segs, func(s segment) bool { return s.frame == f }); i < 0 || segs[i].dir != tlsdec.Direction(d) {
				t.Errorf("%v: emitted frame %d is not a frame of that direction", tlsdec.Direction(d), f)
			}
		}
	}
	s := r.stats
	if s.Version != c.Version || s.CipherSuite != c.CipherSuite || s.Undecryptable() != 0 || s.Problem != "" || s.Decrypted != r.emits {
		t.Errorf("stats %+v", s)
	}
	if s.Alerts == 0 || s.LastAlert.Description != 0 {
		t.Errorf("close_notify not seen: %+v", s)
	}
	// The lines the connection used decrypt it again, and are lines of
	// the original key log.
	lines := r.conn.KeyLogLines()
	if len(lines) == 0 {
		t.Fatal("KeyLogLines empty")
	}
	for _, l := range strings.SplitAfter(string(lines), "\n") {
		if l != "" && !bytes.Contains(c.KeyLog, []byte(l)) {
			t.Errorf("KeyLogLines line %q not in the key log", l[:20])
		}
	}
	r2 := decrypt(t, parseKeyLog(t, lines), segs)
	if !bytes.Equal(r2.plain[0].Bytes(), want[0]) || !bytes.Equal(r2.plain[1].Bytes(), want[1]) {
		t.Error("KeyLogLines do not decrypt the connection")
	}
}

func checkNoKeys(t *testing.T, segs []segment) {
	for _, kl := range []*tlsdec.KeyLog{nil, tlsdec.NewKeyLog(0)} {
		r := decrypt(t, kl, segs)
		s := r.stats
		if r.emits != 0 || s.Decrypted != 0 || s.NoKeys == 0 || s.Failed != 0 || !strings.Contains(s.Problem, "client random") {
			t.Errorf("stats %+v", s)
		}
	}
}

func checkWrongKeys(t *testing.T, c *tlsgen.Capture, segs []segment) {
	// Change one hex digit of every secret.
	var b bytes.Buffer
	for _, l := range strings.Split(strings.TrimSpace(string(c.KeyLog)), "\n") {
		f := strings.Fields(l)
		last := []byte(f[2])
		last[5] ^= 1 // '0'↔'1', 'a'↔'`'… keep it hex:
		if !strings.ContainsRune("0123456789abcdef", rune(last[5])) {
			last[5] = '0'
		}
		b.WriteString(f[0] + " " + f[1] + " " + string(last) + "\n")
	}
	r := decrypt(t, parseKeyLog(t, b.Bytes()), segs)
	s := r.stats
	if r.emits != 0 || s.Failed == 0 || s.NoKeys != 0 || !strings.Contains(s.Problem, "authenticate") {
		t.Errorf("stats %+v", s)
	}
}

// checkLost drops a client segment in the middle of the large INFO message,
// telling the Conn (with and without its size), and expects the damage to
// stay local: the BYE after it decrypts.
func checkLost(t *testing.T, c *tlsgen.Capture, segs []segment) {
	var total int
	for _, s := range segs {
		if s.dir == tlsdec.ClientToServer {
			total += len(s.data)
		}
	}
	drop, off := -1, 0
	for i, s := range segs {
		if s.dir == tlsdec.ClientToServer {
			off += len(s.data)
			if off > total*3/5 {
				drop = i
				break
			}
		}
	}
	for _, known := range []bool{true, false} {
		conn := tlsdec.NewConn(parseKeyLog(t, c.KeyLog))
		var plain [2]bytes.Buffer
		emit := func(d tlsdec.Direction, _ uint64, p []byte) { plain[d].Write(p) }
		for i, s := range segs {
			if i == drop {
				n := 0
				if known {
					n = len(s.data)
				}
				conn.Lost(s.dir, n)
				continue
			}
			if err := conn.Feed(s.dir, s.frame, s.data, emit); err != nil {
				t.Fatal(err)
			}
		}
		st := conn.Stats()
		// The BYE is the last client message. Its first byte may be lost
		// with TLS 1.0, whose chained IV garbles the first block after a
		// gap, and whose 1/n-1 record splitting puts it in its own record.
		msgs := sipCall()
		bye := msgs[len(msgs)-2].Data
		if !bytes.HasSuffix(plain[0].Bytes(), bye[1:]) || len(startLines(plain[1].Bytes())) != 5 {
			t.Errorf("known=%v: after the loss: client %q, stats %+v", known, startLines(plain[0].Bytes()), st)
		}
		if st.Lost+st.Failed == 0 || st.Failed > 1 || st.NoKeys != 0 || !strings.Contains(st.Problem, "missing") && !strings.Contains(st.Problem, "authenticate") {
			t.Errorf("known=%v: stats %+v", known, st)
		}
	}
}

// checkMidConnection starts the capture after the handshake, then in the
// middle of a record.
func checkMidConnection(t *testing.T, c *tlsgen.Capture, segs []segment) {
	kl := parseKeyLog(t, c.KeyLog)
	// After the handshake: from the segment holding the first INVITE bytes.
	first := len(segs) / 2
	r := decrypt(t, kl, segs[first:])
	if r.emits != 0 || r.stats.NoKeys == 0 || !strings.Contains(r.stats.Problem, "mid-connection") {
		t.Errorf("after handshake: stats %+v", r.stats)
	}
	// Inside a record.
	cut := append([]segment(nil), segs[first:]...)
	cut[0].data = cut[0].data[min(3, len(cut[0].data)-1):]
	r = decrypt(t, kl, cut)
	if r.emits != 0 || r.stats.NoKeys == 0 {
		t.Errorf("inside a record: stats %+v", r.stats)
	}
}

// checkRSAKey decrypts a TLS_RSA_* connection with the server's private key
// instead of the key log (Go negotiates extended_master_secret, so this
// also covers the session hash).
func checkRSAKey(t *testing.T, c *tlsgen.Capture, segs []segment) {
	kl := tlsdec.NewKeyLog(0)
	if err := kl.AddRSAKey(c.ServerKeyPEM); err != nil {
		t.Fatal(err)
	}
	r := decrypt(t, kl, segs)
	want := sent(sipCall())
	if !bytes.Equal(r.plain[0].Bytes(), want[0]) || !bytes.Equal(r.plain[1].Bytes(), want[1]) || r.stats.Undecryptable() != 0 {
		t.Fatalf("stats %+v", r.stats)
	}
	// The derived master secret is what Go logged.
	if l := r.conn.KeyLogLines(); !bytes.Contains(c.KeyLog, l) {
		t.Errorf("derived %q…, key log has %q…", l[:30], c.KeyLog[:30])
	}
}

// checkTshark confirms that tshark, given the key log, sees the SIP messages
// this package decrypts: that validates tlsgen's capture and key log.
func checkTshark(t *testing.T, c *tlsgen.Capture, segs []segment) {
	got := tsharkLines(t, c)
	r := decrypt(t, parseKeyLog(t, c.KeyLog), segs)
	want := append(startLines(r.plain[0].Bytes()), startLines(r.plain[1].Bytes())...)
	slices.Sort(want)
	if len(want) != 9 || !slices.Equal(got, want) {
		t.Errorf("tshark sees %q\nwe decrypt %q", got, want)
	}
}

// tsharkLines returns the sorted SIP start lines tshark sees in c, given
// its key log.
func tsharkLines(t *testing.T, c *tlsgen.Capture) []string {
	t.Helper()
	tshark := testenv.Tool(t, "tshark")
	dir := t.TempDir()
	pcap, keys := filepath.Join(dir, "c.pcapng"), filepath.Join(dir, "keys")
	var b bytes.Buffer
	if err := c.WritePcapng(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pcap, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keys, c.KeyLog, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-n", "-r", pcap, "-o", "tls.keylog_file:"+keys, "-Y", "sip",
		"-T", "fields", "-e", "sip.Request-Line", "-e", "sip.Status-Line").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var got []string
	for _, l := range strings.Split(string(out), "\n") {
		got = append(got, strings.FieldsFunc(l, func(r rune) bool { return r == '\t' || r == ',' })...)
	}
	slices.Sort(got)
	return got
}
