package tlsdec

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// AddRSAKey adds the RSA private key(s) of a TLS server, PEM-encoded
// (PKCS #1 "RSA PRIVATE KEY" or PKCS #8 "PRIVATE KEY"), for connections
// that use a TLS_RSA_* cipher suite: the premaster secret in the
// ClientKeyExchange is decrypted with it, like Wireshark's RSA keys list.
// Any server's key may be added; each is tried in turn. Errors never
// contain key material.
func (kl *KeyLog) AddRSAKey(pemBytes []byte) error {
	var keys []*rsa.PrivateKey
	for n := 1; ; n++ {
		var blk *pem.Block
		blk, pemBytes = pem.Decode(pemBytes)
		if blk == nil {
			break
		}
		var k any
		var err error
		switch blk.Type {
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("RSA key: PEM block %d (%s) does not parse", n, blk.Type)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return fmt.Errorf("RSA key: PEM block %d is not an RSA key", n)
		}
		keys = append(keys, rk)
	}
	if len(keys) == 0 {
		return errNoRSAKey
	}
	kl.mu.Lock()
	defer kl.mu.Unlock()
	if len(kl.rsaKeys)+len(keys) > maxRSAKeys {
		return fmt.Errorf("RSA key: at most %d keys", maxRSAKeys)
	}
	kl.rsaKeys = append(kl.rsaKeys, keys...)
	kl.gen.Add(1)
	return nil
}

// premaster returns the premaster secret of an RSA-encrypted
// ClientKeyExchange, from an "RSA" key-log line or by decrypting it with
// one of the RSA keys from index *tried on (keys are only ever appended, so
// each is tried once per connection); nil if neither works.
func (kl *KeyLog) premaster(enc []byte, tried *int) secret {
	if kl == nil || len(enc) < 8 {
		return nil
	}
	kl.mu.RLock()
	pm := kl.rsaPre[[8]byte(enc[:8])]
	keys := kl.rsaKeys
	kl.mu.RUnlock()
	if pm != nil {
		return *pm
	}
	for ; *tried < len(keys); *tried++ {
		k := keys[*tried]
		if k.Size() != len(enc) {
			continue
		}
		// Passive decryption of a captured premaster, as Wireshark does;
		// the padding oracle concerns of PKCS #1 v1.5 do not apply.
		//lint:ignore SA1019 decrypting captured TLS_RSA key exchanges needs PKCS #1 v1.5.
		p, err := rsa.DecryptPKCS1v15(nil, k, enc)
		if err == nil && len(p) == 48 {
			*tried++
			return p
		}
	}
	return nil
}

// hasRSA reports whether kl can recover RSA premaster secrets.
func (kl *KeyLog) hasRSA() bool {
	if kl == nil {
		return false
	}
	kl.mu.RLock()
	defer kl.mu.RUnlock()
	return len(kl.rsaKeys) > 0 || len(kl.rsaPre) > 0
}
