package tlsdec

import (
	"crypto"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	_ "crypto/sha256" // registers crypto.SHA256 for suite tables
	_ "crypto/sha512" // registers crypto.SHA384
	"encoding/binary"
	"hash"
)

// pHash is P_hash of RFC 5246 section 5: it fills out with
// HMAC_hash(secret, A(i) + seed) for A(0) = seed, A(i) = HMAC(secret, A(i-1)).
func pHash(out, secret, seed []byte, h func() hash.Hash) {
	mac := hmac.New(h, secret)
	mac.Write(seed)
	a := mac.Sum(nil)
	for len(out) > 0 {
		mac.Reset()
		mac.Write(a)
		mac.Write(seed)
		out = out[copy(out, mac.Sum(nil)):]
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
}

// prf computes n bytes of the TLS PRF for version: P_<h> for TLS 1.2 (RFC
// 5246 section 5), P_MD5 XOR P_SHA1 over the two secret halves for TLS 1.0
// and 1.1 (RFC 2246 section 5).
func prf(version uint16, h crypto.Hash, secret []byte, label string, seed []byte, n int) []byte {
	ls := make([]byte, 0, len(label)+len(seed))
	ls = append(append(ls, label...), seed...)
	out := make([]byte, n)
	if version >= 0x0303 {
		pHash(out, secret, ls, h.New)
		return out
	}
	half := (len(secret) + 1) / 2
	pHash(out, secret[:half], ls, md5.New)
	tmp := make([]byte, n)
	pHash(tmp, secret[len(secret)-half:], ls, sha1.New)
	for i := range out {
		out[i] ^= tmp[i]
	}
	clear(tmp)
	return out
}

// hkdfExpandLabel is HKDF-Expand-Label of RFC 8446 section 7.1.
func hkdfExpandLabel(h crypto.Hash, sec []byte, label string, context []byte, n int) ([]byte, error) {
	info := make([]byte, 0, 4+6+len(label)+len(context))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	return hkdf.Expand(h.New, sec, string(info), n)
}
