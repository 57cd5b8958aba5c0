package tlsdec

import (
	"crypto"
	"crypto/tls"
	"fmt"
)

// cipherKind is the record protection of a cipher suite.
type cipherKind uint8

const (
	kindGCM    cipherKind = iota + 1 // AES-GCM (TLS 1.2: 4-byte salt + 8-byte explicit nonce)
	kindChaCha                       // ChaCha20-Poly1305 (RFC 7905: 12-byte IV XOR sequence)
	kindCBC                          // AES-CBC with HMAC
)

// suite describes what decryption needs to know about a cipher suite; the
// key exchange does not matter because secrets come from the key log.
type suite struct {
	id     uint16
	kind   cipherKind
	keyLen int
	mac    crypto.Hash // CBC only: the HMAC hash
	prf    crypto.Hash // TLS 1.2 PRF hash, TLS 1.3 HKDF hash
	tls13  bool
	rsaKx  bool // TLS_RSA_*: the premaster is encrypted to the server's RSA key
}

// suiteByID returns the decryption parameters of a supported cipher suite.
func suiteByID(id uint16) (suite, bool) {
	s := suite{id: id, prf: crypto.SHA256}
	switch id {
	case 0x1301: // TLS_AES_128_GCM_SHA256
		s.kind, s.keyLen, s.tls13 = kindGCM, 16, true
	case 0x1302: // TLS_AES_256_GCM_SHA384
		s.kind, s.keyLen, s.tls13, s.prf = kindGCM, 32, true, crypto.SHA384
	case 0x1303: // TLS_CHACHA20_POLY1305_SHA256
		s.kind, s.keyLen, s.tls13 = kindChaCha, 32, true
	case 0xC02F, 0xC02B, 0x009E, 0x00A2: // (EC)DHE_{RSA,ECDSA,DSS}_WITH_AES_128_GCM_SHA256
		s.kind, s.keyLen = kindGCM, 16
	case 0x009C: // TLS_RSA_WITH_AES_128_GCM_SHA256
		s.kind, s.keyLen, s.rsaKx = kindGCM, 16, true
	case 0xC030, 0xC02C, 0x009F, 0x00A3: // (EC)DHE_*_WITH_AES_256_GCM_SHA384
		s.kind, s.keyLen, s.prf = kindGCM, 32, crypto.SHA384
	case 0x009D: // TLS_RSA_WITH_AES_256_GCM_SHA384
		s.kind, s.keyLen, s.prf, s.rsaKx = kindGCM, 32, crypto.SHA384, true
	case 0xCCA8, 0xCCA9, 0xCCAA: // (EC)DHE_*_WITH_CHACHA20_POLY1305_SHA256
		s.kind, s.keyLen = kindChaCha, 32
	case 0x002F: // TLS_RSA_WITH_AES_128_CBC_SHA
		s.kind, s.keyLen, s.mac, s.rsaKx = kindCBC, 16, crypto.SHA1, true
	case 0x0035: // TLS_RSA_WITH_AES_256_CBC_SHA
		s.kind, s.keyLen, s.mac, s.rsaKx = kindCBC, 32, crypto.SHA1, true
	case 0xC009, 0xC013, 0x0033, 0x0032: // (EC)DHE_*_WITH_AES_128_CBC_SHA
		s.kind, s.keyLen, s.mac = kindCBC, 16, crypto.SHA1
	case 0xC00A, 0xC014, 0x0039, 0x0038: // (EC)DHE_*_WITH_AES_256_CBC_SHA
		s.kind, s.keyLen, s.mac = kindCBC, 32, crypto.SHA1
	case 0x003C: // TLS_RSA_WITH_AES_128_CBC_SHA256
		s.kind, s.keyLen, s.mac, s.rsaKx = kindCBC, 16, crypto.SHA256, true
	case 0x003D: // TLS_RSA_WITH_AES_256_CBC_SHA256
		s.kind, s.keyLen, s.mac, s.rsaKx = kindCBC, 32, crypto.SHA256, true
	case 0xC023, 0xC027, 0x0067, 0x0040: // (EC)DHE_*_WITH_AES_128_CBC_SHA256
		s.kind, s.keyLen, s.mac = kindCBC, 16, crypto.SHA256
	case 0x006B, 0x006A: // DHE_*_WITH_AES_256_CBC_SHA256
		s.kind, s.keyLen, s.mac = kindCBC, 32, crypto.SHA256
	case 0xC024, 0xC028: // ECDHE_*_WITH_AES_256_CBC_SHA384
		s.kind, s.keyLen, s.mac, s.prf = kindCBC, 32, crypto.SHA384, crypto.SHA384
	default:
		return suite{}, false
	}
	return s, true
}

// CipherSuiteName returns the IANA name of a cipher suite, or its number in
// hex when unknown. It does not say whether this package supports it.
func CipherSuiteName(id uint16) string {
	switch id {
	case 0:
		return ""
	case 0x00A2:
		return "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"
	case 0x00A3:
		return "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"
	case 0x009E:
		return "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"
	case 0x009F:
		return "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"
	case 0xCCAA:
		return "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
	case 0x0032:
		return "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"
	case 0x0033:
		return "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"
	case 0x0038:
		return "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"
	case 0x0039:
		return "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"
	case 0x0040:
		return "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"
	case 0x0067:
		return "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"
	case 0x006A:
		return "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"
	case 0x006B:
		return "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"
	case 0x003D:
		return "TLS_RSA_WITH_AES_256_CBC_SHA256"
	case 0xC024:
		return "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"
	case 0xC028:
		return "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"
	}
	return tls.CipherSuiteName(id) // "0x1234" when unknown
}

// VersionName returns a protocol version's name ("TLS 1.2"), or its number
// in hex when unknown, or "" for 0.
func VersionName(v uint16) string {
	switch v {
	case 0:
		return ""
	case 0x0300:
		return "SSL 3.0"
	case 0x0301, 0x0302, 0x0303, 0x0304:
		return tls.VersionName(v)
	}
	return fmt.Sprintf("0x%04X", v)
}
