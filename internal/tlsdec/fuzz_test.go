package tlsdec_test

import (
	"bytes"
	"crypto/tls"
	"strings"
	"testing"

	"github.com/genesys-sip/genesys-sip/internal/tlsdec"
	"github.com/genesys-sip/genesys-sip/internal/tlsdec/tlsgen"
)

func FuzzKeyLog(f *testing.F) {
	f.Add([]byte("CLIENT_RANDOM " + cr1 + " " + ms + "\n"))
	f.Add([]byte("# comment\r\n\r\nCLIENT_TRAFFIC_SECRET_0 " + cr1 + " " + s32 + "\r\nRSA 0011223344556677 " + ms))
	f.Add([]byte("SERVER_HANDSHAKE_TRAFFIC_SECRET " + cr2 + " " + ms + "\nEXPORTER_SECRET x y\n\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kl := tlsdec.NewKeyLog(4)
		added, err := kl.Read(bytes.NewReader(data))
		st := kl.Stats()
		if added < 0 || st.Sessions > 4 || st.Bad > st.Lines {
			t.Fatalf("added %d, stats %+v", added, st)
		}
		if err != nil && strings.Contains(err.Error(), ms[:12]) {
			t.Fatal("error reveals a secret")
		}
	})
}

// FuzzFeed feeds arbitrary bytes as the two directions of a connection,
// with a key log that decrypts the seed connections (TLS 1.2 and 1.3), so
// that mutations reach the decryption and post-handshake code.
func FuzzFeed(f *testing.F) {
	kl := tlsdec.NewKeyLog(0)
	for _, cfg := range []tlsgen.Config{
		{Version: tls.VersionTLS13, Messages: sipCall()[:3], MSS: 300},
		{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, Messages: sipCall()[:3], MSS: 300},
		{Version: tls.VersionTLS10, CipherSuite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, Messages: sipCall()[:2]},
	} {
		c, err := tlsgen.Generate(cfg)
		if err != nil {
			f.Fatal(err)
		}
		if _, err := kl.Read(bytes.NewReader(c.KeyLog)); err != nil {
			f.Fatal(err)
		}
		// Encode the segments: per segment a direction byte and a
		// 2-byte length, then the payload.
		var in []byte
		for _, s := range segments(f, c) {
			in = append(in, byte(s.dir), byte(len(s.data)>>8), byte(len(s.data)))
			in = append(in, s.data...)
		}
		f.Add(in)
	}
	f.Add([]byte{0, 0, 5, 22, 3, 3, 0, 1, 1, 0, 0, 5, 23, 3, 3, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		conn := tlsdec.NewConn(kl)
		emits := 0
		emit := func(tlsdec.Direction, uint64, []byte) { emits++ }
		for frame := uint64(1); len(in) >= 3; frame++ {
			ctl, n := in[0], int(in[1])<<8|int(in[2])
			in = in[3:]
			n = min(n, len(in))
			dir := tlsdec.Direction(ctl & 1)
			if ctl&0x80 != 0 {
				conn.Lost(dir, n)
			} else {
				_ = conn.Feed(dir, frame, in[:n], emit)
			}
			in = in[n:]
		}
		conn.Flush(emit)
		st := conn.Stats()
		if st.Decrypted != emits || st.NoKeys < 0 || st.Failed < 0 || st.SkippedBytes < 0 {
			t.Fatalf("stats %+v, %d emits", st, emits)
		}
	})
}
