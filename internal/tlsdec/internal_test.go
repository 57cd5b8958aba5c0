package tlsdec

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"encoding/binary"
	"testing"
)

// sealCBC builds a TLS 1.0–1.2 AES-CBC record the way a sender would, for
// cases no available peer produces (encrypt_then_mac with Go's server).
func sealCBC(t testing.TB, s suite, version uint16, key, macKey, iv []byte, etm bool, seq uint64, typ uint8, data []byte) []byte {
	t.Helper()
	b, _ := aes.NewCipher(key)
	mac := func(n int, parts ...[]byte) []byte {
		m := hmac.New(s.mac.New, macKey)
		var h [13]byte
		binary.BigEndian.PutUint64(h[:], seq)
		h[8] = typ
		binary.BigEndian.PutUint16(h[9:], version)
		binary.BigEndian.PutUint16(h[11:], uint16(n))
		m.Write(h[:])
		for _, p := range parts {
			m.Write(p)
		}
		return m.Sum(nil)
	}
	pt := bytes.Clone(data)
	if !etm {
		pt = append(pt, mac(len(data), data)...)
	}
	pad := 16 - (len(pt)+1)%16
	if pad == 16 {
		pad = 0
	}
	pt = append(pt, bytes.Repeat([]byte{byte(pad)}, pad+1)...)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(ct, pt)
	body := ct
	if version >= 0x0302 {
		body = append(bytes.Clone(iv), ct...)
	}
	if etm {
		body = append(body, mac(len(body), body)...)
	}
	rec := []byte{typ, byte(version >> 8), byte(version), 0, 0}
	binary.BigEndian.PutUint16(rec[3:], uint16(len(body)))
	return append(rec, body...)
}

func TestCBC(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	macKey := bytes.Repeat([]byte{2}, 48)
	iv := bytes.Repeat([]byte{3}, 16)
	for _, tc := range []struct {
		name    string
		suite   uint16
		version uint16
		etm     bool
	}{
		{"tls12-sha1", 0xC014, 0x0303, false},
		{"tls12-sha1-etm", 0xC014, 0x0303, true},
		{"tls12-sha384-etm", 0xC028, 0x0303, true},
		{"tls11-sha256", 0x003D, 0x0302, false},
		{"tls10-sha1-etm", 0x0035, 0x0301, true},
		{"tls10-sha1", 0x002F, 0x0301, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := suiteByID(tc.suite)
			mk := macKey[:s.mac.Size()]
			rc, err := newCipher12(s, tc.version, key[:s.keyLen], iv, mk, tc.etm)
			if err != nil {
				t.Fatal(err)
			}
			// Two records: TLS 1.0 chains the IV from the first to the second.
			civ := iv
			for seq, msg := range []string{"INVITE sip:a@b SIP/2.0\r\n\r\n", "", "SIP/2.0 200 OK 0123456789abcdef\r\n"} {
				rec := sealCBC(t, s, tc.version, key[:s.keyLen], mk, civ, tc.etm, uint64(seq), recAppData, []byte(msg))
				tampered := bytes.Clone(rec)
				tampered[len(tampered)-1] ^= 1
				if _, _, err := rc.open(tampered, uint64(seq), make([]byte, len(rec))); err != errAuth {
					t.Errorf("record %d tampered: err %v", seq, err)
				}
				if _, _, err := rc.open(rec, uint64(seq)+1, make([]byte, len(rec))); err != errAuth {
					t.Errorf("record %d wrong seq: err %v", seq, err)
				}
				if tc.version < 0x0302 { // the next IV: last ciphertext block
					end := len(rec)
					if tc.etm {
						end -= s.mac.Size()
					}
					civ = bytes.Clone(rec[end-16 : end])
				}
				typ, p, err := rc.open(rec, uint64(seq), nil)
				if err != nil || typ != recAppData || string(p) != msg {
					t.Fatalf("record %d: %v %d %q", seq, err, typ, p)
				}
				rc.advance()
			}
			if _, _, err := rc.open([]byte{23, 3, 3, 0, 5, 1, 2, 3, 4, 5}, 9, nil); err != errShort {
				t.Errorf("short record: %v", err)
			}
		})
	}
}

// FuzzParseHello exercises the hello parsers and the handshake reassembly
// directly.
func FuzzParseHello(f *testing.F) {
	f.Add([]byte{1, 0, 0, 42, 3, 3}, uint8(3))
	f.Add(append([]byte{2, 0, 0, 46, 3, 3}, make([]byte, 60)...), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		_, _ = parseClientHello(b)
		_, _ = parseServerHello(b)
		var r hsReader
		n := int(chunk) + 1
		for in := b; len(in) > 0; {
			k := min(n, len(in))
			r.feed(in[:k], nil, func(typ uint8, body []byte) {
				if len(body) > maxHandshakeMsg {
					t.Fatalf("message of %d bytes buffered", len(body))
				}
				_, _ = parseClientHello(body)
				_, _ = parseServerHello(body)
			})
			in = in[k:]
		}
	})
}

// benchRecords returns a Conn in the application-data phase of a TLS 1.2
// AES-128-GCM or TLS 1.3 AES-128-GCM connection, and n records of size
// bytes sealed for sequence numbers 0…n-1.
func benchRecords(b *testing.B, tls13 bool, size, n int) (*Conn, [][]byte) {
	key, iv := bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 12)
	blk, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(blk)
	c := NewConn(nil)
	c.sawCH, c.sawSH = true, true
	h := c.h[ClientToServer]
	h.state = syncOK
	var err error
	if tls13 {
		c.sh = serverHello{version: 0x0304, suite: 0x1301}
		h.epoch = epochApp13
		h.rc = &recordCipher{version: 0x0304, kind: kindGCM, tls13: true, aead: aead}
		copy(h.rc.iv[:], iv)
	} else {
		s, _ := suiteByID(0xC02F)
		c.sh = serverHello{version: 0x0303, suite: 0xC02F}
		h.epoch = epochCCS12
		h.rc, err = newCipher12(s, 0x0303, key, iv[:4], nil, false)
		if err != nil {
			b.Fatal(err)
		}
	}
	data := bytes.Repeat([]byte("SIP/2.0 200 OK\r\n"), size/16)
	recs := make([][]byte, n)
	for seq := range recs {
		var nonce [12]byte
		var rec []byte
		if tls13 {
			copy(nonce[:], iv)
			for i := 0; i < 8; i++ {
				nonce[4+i] ^= byte(uint64(seq) >> (56 - 8*i))
			}
			hdr := []byte{23, 3, 3, 0, 0}
			binary.BigEndian.PutUint16(hdr[3:], uint16(len(data)+1+16))
			rec = aead.Seal(hdr, nonce[:], append(bytes.Clone(data), recAppData), hdr)
		} else {
			copy(nonce[:4], iv)
			binary.BigEndian.PutUint64(nonce[4:], uint64(seq))
			var aad [13]byte
			binary.BigEndian.PutUint64(aad[:], uint64(seq))
			aad[8], aad[9], aad[10] = 23, 3, 3
			binary.BigEndian.PutUint16(aad[11:], uint16(len(data)))
			hdr := []byte{23, 3, 3, 0, 0}
			binary.BigEndian.PutUint16(hdr[3:], uint16(8+len(data)+16))
			rec = aead.Seal(append(hdr, nonce[4:]...), nonce[:], data, aad[:])
		}
		recs[seq] = rec
	}
	return c, recs
}

func BenchmarkFeed(b *testing.B) {
	for _, bc := range []struct {
		name  string
		tls13 bool
		size  int
		chunk int // TCP payload per Feed call; 0 = one record per call
	}{
		{"TLS12-AES128GCM-1KiB", false, 1024, 0},
		{"TLS12-AES128GCM-16KiB", false, 16384, 0},
		{"TLS12-AES128GCM-16KiB-MSS1460", false, 16384, 1460},
		{"TLS13-AES128GCM-1KiB", true, 1024, 0},
		{"TLS13-AES128GCM-16KiB", true, 16384, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const n = 64
			c, recs := benchRecords(b, bc.tls13, bc.size, n)
			h := c.h[ClientToServer]
			got := 0
			emit := func(_ Direction, _ uint64, p []byte) { got += len(p) }
			b.SetBytes(int64(bc.size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%n == 0 {
					h.seq = 0
				}
				rec := recs[i%n]
				if bc.chunk == 0 {
					_ = c.Feed(ClientToServer, uint64(i), rec, emit)
					continue
				}
				for len(rec) > 0 {
					k := min(bc.chunk, len(rec))
					_ = c.Feed(ClientToServer, uint64(i), rec[:k], emit)
					rec = rec[k:]
				}
			}
			b.StopTimer()
			if st := c.Stats(); st.Decrypted != b.N || st.Failed != 0 || got != b.N*bc.size {
				b.Fatalf("stats %+v, %d bytes", st, got)
			}
		})
	}
}
