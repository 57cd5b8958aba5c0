package tlsdec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// Record-level failures; both are counted as ConnStats.Failed.
var (
	errAuth  = errors.New("record authentication failed")
	errShort = errors.New("record too short for its cipher")
)

// cbcMode is the CBC decrypter with a settable IV, as crypto/tls uses it,
// so that a connection allocates it once.
type cbcMode interface {
	cipher.BlockMode
	SetIV([]byte)
}

// recordCipher decrypts the records of one direction under one key. It
// keeps fixed scratch space so that steady-state decryption does not
// allocate. It holds keys: never print it.
type recordCipher struct {
	version uint16
	kind    cipherKind
	tls13   bool
	aead    cipher.AEAD
	cbc     cbcMode
	mac     hash.Hash
	macLen  int
	etm     bool     // encrypt_then_mac (RFC 7366)
	iv      [16]byte // GCM salt (4), ChaCha/TLS 1.3 IV (12), or TLS 1.0 CBC chained IV
	nextIV  [16]byte // TLS 1.0: last ciphertext block of the current record
	nonce   [12]byte
	aad     [13]byte
	macBuf  [64]byte
}

// newCipher12 builds a TLS 1.0–1.2 record cipher from one direction's slice
// of the key block.
func newCipher12(s suite, version uint16, key, iv, macKey []byte, etm bool) (*recordCipher, error) {
	rc := &recordCipher{version: version, kind: s.kind, etm: etm}
	copy(rc.iv[:], iv)
	switch s.kind {
	case kindGCM:
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		if rc.aead, err = cipher.NewGCM(b); err != nil {
			return nil, err
		}
		copy(rc.nonce[:4], iv)
	case kindChaCha:
		var err error
		if rc.aead, err = chacha20poly1305.New(key); err != nil {
			return nil, err
		}
	case kindCBC:
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		m, ok := cipher.NewCBCDecrypter(b, rc.iv[:]).(cbcMode)
		if !ok {
			return nil, errors.New("CBC decrypter without SetIV")
		}
		rc.cbc = m
		rc.mac = hmac.New(s.mac.New, macKey)
		rc.macLen = s.mac.Size()
	}
	return rc, nil
}

// newCipher13 builds a TLS 1.3 record cipher from a traffic secret
// (RFC 8446 section 7.3).
func newCipher13(s suite, trafficSecret []byte) (*recordCipher, error) {
	key, err := hkdfExpandLabel(s.prf, trafficSecret, "key", nil, s.keyLen)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	iv, err := hkdfExpandLabel(s.prf, trafficSecret, "iv", nil, 12)
	if err != nil {
		return nil, err
	}
	defer clear(iv)
	rc := &recordCipher{version: 0x0304, kind: s.kind, tls13: true}
	copy(rc.iv[:], iv)
	if s.kind == kindChaCha {
		rc.aead, err = chacha20poly1305.New(key)
	} else {
		var b cipher.Block
		if b, err = aes.NewCipher(key); err == nil {
			rc.aead, err = cipher.NewGCM(b)
		}
	}
	if err != nil {
		return nil, err
	}
	return rc, nil
}

// xorNonce sets rc.nonce to the 12-byte IV XOR the padded sequence number
// (RFC 8446 section 5.3, RFC 7905 section 2).
func (rc *recordCipher) xorNonce(seq uint64) {
	copy(rc.nonce[:], rc.iv[:12])
	for i := 0; i < 8; i++ {
		rc.nonce[4+i] ^= byte(seq >> (56 - 8*i))
	}
}

// setAAD fills the TLS 1.2 additional data / MAC header:
// seq_num ‖ type ‖ version ‖ length.
func (rc *recordCipher) setAAD(seq uint64, hdr []byte, n int) {
	binary.BigEndian.PutUint64(rc.aad[:8], seq)
	rc.aad[8], rc.aad[9], rc.aad[10] = hdr[0], hdr[1], hdr[2]
	binary.BigEndian.PutUint16(rc.aad[11:], uint16(n))
}

// open decrypts rec (5-byte header and body) with sequence number seq and
// returns the content type and plaintext. With out nil it decrypts in place
// and the plaintext aliases rec; otherwise out (capacity ≥ len(rec))
// receives the plaintext and rec is left intact, so the caller can retry.
func (rc *recordCipher) open(rec []byte, seq uint64, out []byte) (uint8, []byte, error) {
	body := rec[5:]
	switch {
	case rc.tls13:
		if len(body) < rc.aead.Overhead()+1 {
			return 0, nil, errShort
		}
		rc.xorNonce(seq)
		dst := body[:0]
		if out != nil {
			dst = out[:0]
		}
		p, err := rc.aead.Open(dst, rc.nonce[:], body, rec[:5])
		if err != nil {
			return 0, nil, errAuth
		}
		// Strip the zero padding; the last non-zero byte is the real
		// content type (RFC 8446 section 5.2).
		i := len(p) - 1
		for i >= 0 && p[i] == 0 {
			i--
		}
		if i < 0 {
			return 0, nil, errAuth
		}
		return p[i], p[:i], nil
	case rc.kind == kindGCM:
		if len(body) < 8+16 {
			return 0, nil, errShort
		}
		copy(rc.nonce[4:], body[:8])
		ct := body[8:]
		rc.setAAD(seq, rec, len(ct)-16)
		dst := ct[:0]
		if out != nil {
			dst = out[:0]
		}
		p, err := rc.aead.Open(dst, rc.nonce[:], ct, rc.aad[:])
		if err != nil {
			return 0, nil, errAuth
		}
		return rec[0], p, nil
	case rc.kind == kindChaCha:
		if len(body) < 16 {
			return 0, nil, errShort
		}
		rc.xorNonce(seq)
		rc.setAAD(seq, rec, len(body)-16)
		dst := body[:0]
		if out != nil {
			dst = out[:0]
		}
		p, err := rc.aead.Open(dst, rc.nonce[:], body, rc.aad[:])
		if err != nil {
			return 0, nil, errAuth
		}
		return rec[0], p, nil
	}
	return rc.openCBC(rec, seq, out)
}

// openCBC handles AES-CBC records: explicit IV for TLS ≥ 1.1, chained IV for
// TLS 1.0, MAC-then-encrypt or encrypt-then-MAC, padding check.
func (rc *recordCipher) openCBC(rec []byte, seq uint64, out []byte) (uint8, []byte, error) {
	const bs = aes.BlockSize
	body := rec[5:]
	ivLen := 0
	if rc.version >= 0x0302 {
		ivLen = bs
	}
	if len(body) >= bs && rc.version < 0x0302 {
		copy(rc.nextIV[:], body[len(body)-bs:])
	}
	end := len(body)
	if rc.etm {
		end -= rc.macLen
		if end < ivLen+bs || (end-ivLen)%bs != 0 {
			return 0, nil, errShort
		}
		if rc.version < 0x0302 {
			copy(rc.nextIV[:], body[end-bs:end])
		}
		rc.setAAD(seq, rec, end)
		if !hmac.Equal(rc.sum(body[:end]), body[end:]) {
			return 0, nil, errAuth
		}
	}
	if end < ivLen+bs {
		return 0, nil, errShort
	}
	ct := body[ivLen:end]
	if len(ct)%bs != 0 || (!rc.etm && len(ct) < rc.macLen+1) {
		return 0, nil, errShort
	}
	if ivLen > 0 {
		rc.cbc.SetIV(body[:bs])
	} else {
		rc.cbc.SetIV(rc.iv[:])
	}
	dst := ct
	if out != nil {
		dst = out[:len(ct)]
	}
	rc.cbc.CryptBlocks(dst, ct)
	pad := int(dst[len(dst)-1])
	n := len(dst) - pad - 1
	if !rc.etm {
		n -= rc.macLen
	}
	if n < 0 {
		return 0, nil, errAuth
	}
	for _, b := range dst[len(dst)-pad-1:] {
		if int(b) != pad {
			return 0, nil, errAuth
		}
	}
	if !rc.etm {
		rc.setAAD(seq, rec, n)
		if !hmac.Equal(rc.sum(dst[:n]), dst[n:n+rc.macLen]) {
			return 0, nil, errAuth
		}
	}
	return rec[0], dst[:n], nil
}

// sum returns HMAC(aad ‖ data) in rc.macBuf.
func (rc *recordCipher) sum(data []byte) []byte {
	rc.mac.Reset()
	rc.mac.Write(rc.aad[:])
	rc.mac.Write(data)
	return rc.mac.Sum(rc.macBuf[:0])
}

// advance moves to the next record: TLS 1.0 CBC chains the IV from the
// last ciphertext block, whether or not the record decrypted.
func (rc *recordCipher) advance() {
	if rc.kind == kindCBC && rc.version < 0x0302 {
		rc.iv = rc.nextIV
	}
}
