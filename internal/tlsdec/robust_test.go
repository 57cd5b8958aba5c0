package tlsdec_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/tlsdec"
	"github.com/genesys-sip/genesys-sip/internal/tlsdec/tlsgen"
)

// TestLiveKeysArriveLate: in live mode the key log line may be written after
// the packets were seen; records wait (bounded) and decrypt once it appears.
func TestLiveKeysArriveLate(t *testing.T) {
	c := generate(t, tlsgen.Config{Version: tls.VersionTLS13})
	segs := segments(t, c)
	path := filepath.Join(t.TempDir(), "keys")
	kl := tlsdec.NewKeyLog(0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); kl.Follow(ctx, path, 5*time.Millisecond, nil) }()
	defer func() { cancel(); <-done }()
	time.Sleep(20 * time.Millisecond) // Follow is running
	conn := tlsdec.NewConn(kl)
	var plain [2]bytes.Buffer
	emit := func(d tlsdec.Direction, _ uint64, p []byte) { plain[d].Write(p) }
	for _, s := range segs {
		if err := conn.Feed(s.dir, s.frame, s.data, emit); err != nil {
			t.Fatal(err)
		}
	}
	if st := conn.Stats(); st.Decrypted != 0 || st.NoKeys != 0 {
		t.Fatalf("before the keys: %+v", st)
	}
	if err := os.WriteFile(path, c.KeyLog, 0o600); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); kl.Stats().Sessions == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("key log not picked up")
		}
	}
	conn.Flush(emit)
	want := sent(sipCall())
	if st := conn.Stats(); !bytes.Equal(plain[0].Bytes(), want[0]) || !bytes.Equal(plain[1].Bytes(), want[1]) || st.Undecryptable() != 0 {
		t.Errorf("after the keys: %+v", st)
	}
}

// TestDirectionsOutOfOrder feeds the whole client direction before the
// server's: client records wait for the ServerHello.
func TestDirectionsOutOfOrder(t *testing.T) {
	for _, cfg := range []tlsgen.Config{{Version: tls.VersionTLS12}, {Version: tls.VersionTLS13}, {Version: tls.VersionTLS13, HelloRetry: true}} {
		cfg.Messages = sipCall()[:5]
		c := generate(t, cfg)
		segs := segments(t, c)
		var reordered []segment
		for _, d := range []tlsdec.Direction{tlsdec.ClientToServer, tlsdec.ServerToClient} {
			for _, s := range segs {
				if s.dir == d {
					reordered = append(reordered, s)
				}
			}
		}
		r := decrypt(t, parseKeyLog(t, c.KeyLog), reordered)
		want := sent(sipCall()[:5])
		if !bytes.Equal(r.plain[0].Bytes(), want[0]) || !bytes.Equal(r.plain[1].Bytes(), want[1]) || r.stats.Undecryptable() != 0 {
			t.Errorf("%s hrr=%v: %+v", tlsdec.VersionName(cfg.Version), cfg.HelloRetry, r.stats)
		}
	}
}

// TestServerDirectionMissing: asymmetric routing, only the client side was
// captured. Records are counted, memory stays bounded.
func TestServerDirectionMissing(t *testing.T) {
	c := generate(t, tlsgen.Config{Version: tls.VersionTLS13})
	var client []segment
	for _, s := range segments(t, c) {
		if s.dir == tlsdec.ClientToServer {
			client = append(client, s)
		}
	}
	r := decrypt(t, parseKeyLog(t, c.KeyLog), client)
	if r.emits != 0 || r.stats.NoKeys == 0 || !strings.Contains(r.stats.Problem, "ServerHello") {
		t.Errorf("%+v", r.stats)
	}
}

// TestGarbage feeds inputs that are not (or not quite) TLS.
func TestGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	c := generate(t, tlsgen.Config{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, Messages: sipCall()[:2]})
	var stream bytes.Buffer
	for _, s := range segments(t, c) {
		if s.dir == tlsdec.ClientToServer {
			stream.Write(s.data)
		}
	}
	real := stream.Bytes()
	tests := []struct {
		name      string
		in        []byte
		wantNoTLS bool
	}{
		{"random", random, true},
		{"sip in clear", bytes.Repeat([]byte("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n"), 8000), true},
		{"huge length", []byte{22, 3, 3, 0xff, 0xff, 1, 2, 3}, false},
		{"truncated record", real[:len(real)/2], false},
		{"zero-length records", bytes.Repeat([]byte{23, 3, 3, 0, 0}, 1000), false},
		{"hello with garbage body", append([]byte{22, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0}, random[:100]...), false},
		{"handshake length overflow", []byte{22, 3, 3, 0, 4, 1, 0xff, 0xff, 0xff}, false},
		{"real stream then garbage", append(bytes.Clone(real), random[:5000]...), false},
		{"flipped bytes", flip(real, 97), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{1, 7, 1460, 1 << 20} {
				conn := tlsdec.NewConn(parseKeyLog(t, c.KeyLog))
				var err error
				for b := tc.in; len(b) > 0 && err == nil; {
					n := min(chunk, len(b))
					err = conn.Feed(tlsdec.ClientToServer, 1, b[:n], nil)
					b = b[n:]
				}
				conn.Flush(nil)
				if gotNoTLS := errors.Is(err, tlsdec.ErrNotTLS); gotNoTLS != tc.wantNoTLS {
					t.Errorf("chunk %d: err %v, stats %+v", chunk, err, conn.Stats())
				}
			}
		})
	}
}

// flip changes every nth byte.
func flip(b []byte, n int) []byte {
	b = bytes.Clone(b)
	for i := n; i < len(b); i += n {
		b[i] ^= 0x5a
	}
	return b
}

func TestFeedArguments(t *testing.T) {
	conn := tlsdec.NewConn(nil)
	if err := conn.Feed(2, 1, []byte{22}, nil); err == nil {
		t.Error("no error for an invalid direction")
	}
	conn.Lost(7, 10) // ignored
	if err := conn.Feed(tlsdec.ClientToServer, 1, nil, nil); err != nil {
		t.Error(err)
	}
}

func TestDetect(t *testing.T) {
	c := generate(t, tlsgen.Config{Version: tls.VersionTLS13, Messages: sipCall()[:2]})
	segs := segments(t, c)
	var server []byte
	for _, s := range segs {
		if s.dir == tlsdec.ServerToClient {
			server = s.data
			break
		}
	}
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"client hello", segs[0].data, true},
		{"server hello", server, true},
		{"client hello first 6 bytes", segs[0].data[:6], true},
		{"too short", segs[0].data[:5], false},
		{"application data", []byte{23, 3, 3, 0, 20, 1, 2, 3, 4, 5, 6}, false},
		{"sip", []byte("INVITE sip:a@b SIP/2.0\r\n"), false},
		{"bad version", []byte{22, 2, 0, 0, 50, 1, 0, 0, 46, 3, 3}, false},
		{"bad inner version", []byte{22, 3, 1, 0, 50, 1, 0, 0, 46, 9, 3}, false},
		{"tiny handshake", []byte{22, 3, 1, 0, 50, 1, 0, 0, 2, 3, 3}, false},
		{"empty", nil, false},
	}
	for _, tc := range tests {
		if got := tlsdec.Detect(tc.in); got != tc.want {
			t.Errorf("%s: Detect = %v", tc.name, got)
		}
	}
}

// TestNoSecretsInOutput prints Conns and their stats every way fmt allows
// and checks that no secret of the key log shows.
func TestNoSecretsInOutput(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c := generate(t, tlsgen.Config{Version: v, Messages: sipCall()[:2]})
		kl := parseKeyLog(t, c.KeyLog)
		r := decrypt(t, kl, segments(t, c))
		var secrets []string
		for _, l := range strings.Split(strings.TrimSpace(string(c.KeyLog)), "\n") {
			secrets = append(secrets, strings.Fields(l)[2][:16])
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			for _, x := range []any{r.conn, *r.conn, r.stats, kl} {
				out := strings.ToLower(fmt.Sprintf(verb, x))
				for _, s := range secrets {
					if strings.Contains(out, s) {
						t.Fatalf("%s of %T shows a secret", verb, x)
					}
				}
			}
		}
	}
}

// TestHelloRetryRequest: the server asks for another key share; the client
// sends a second ClientHello before the real ServerHello.
func TestHelloRetryRequest(t *testing.T) {
	c := generate(t, tlsgen.Config{Version: tls.VersionTLS13, HelloRetry: true})
	hrr := []byte{0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91}
	segs := segments(t, c)
	var sawHRR bool
	for _, s := range segs {
		sawHRR = sawHRR || s.dir == tlsdec.ServerToClient && bytes.Contains(s.data, hrr)
	}
	if !sawHRR {
		t.Fatal("no HelloRetryRequest in the capture")
	}
	r := decrypt(t, parseKeyLog(t, c.KeyLog), segs)
	want := sent(sipCall())
	if !bytes.Equal(r.plain[0].Bytes(), want[0]) || !bytes.Equal(r.plain[1].Bytes(), want[1]) || r.stats.Undecryptable() != 0 {
		t.Errorf("%+v", r.stats)
	}
	checkTshark(t, c, segs)
}
