package tlsdec

import (
	"bytes"
	"crypto"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"hash"
)

// Handshake message types (RFC 8446 section 4, RFC 5246 section 7.4).
const (
	hsClientHello       = 1
	hsServerHello       = 2
	hsClientKeyExchange = 16
	hsFinished          = 20
	hsKeyUpdate         = 24
)

// maxHandshakeMsg bounds a buffered handshake message. Only the messages
// this package reads are buffered (ClientHello is the largest, a few KiB
// even with post-quantum key shares); others are skipped as they stream by.
const maxHandshakeMsg = 64 << 10

// helloRetryRandom is the ServerHello.random of a HelloRetryRequest
// (RFC 8446 section 4.1.3).
var helloRetryRandom = [32]byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

var errMalformed = errors.New("malformed handshake message")

// hsReader reassembles handshake messages from a direction's handshake
// records; messages may span records and records may hold several.
type hsReader struct {
	hdr       [4]byte
	nhdr      int
	typ       uint8
	remaining int    // body bytes of the current message still to come
	keep      bool   // buffering the current message
	body      []byte // its body so far
}

func (r *hsReader) reset() {
	r.nhdr, r.remaining, r.keep = 0, 0, false
	if cap(r.body) > 4<<10 { // do not keep a large ClientHello's buffer for the connection's life
		r.body = nil
	}
	r.body = r.body[:0]
}

// wanted reports whether a handshake message type is read by this package.
func wanted(typ uint8) bool {
	switch typ {
	case hsClientHello, hsServerHello, hsClientKeyExchange, hsFinished, hsKeyUpdate:
		return true
	}
	return false
}

// feed consumes handshake-protocol bytes and calls fn for each complete
// wanted message. The body passed to fn is valid during the call only.
// If raw is not nil it receives every consumed byte (headers included)
// before the message that holds it is passed to fn: the transcript.
func (r *hsReader) feed(b []byte, raw func([]byte), fn func(typ uint8, body []byte)) {
	for len(b) > 0 {
		if r.nhdr < 4 {
			n := copy(r.hdr[r.nhdr:], b)
			if raw != nil {
				raw(b[:n])
			}
			r.nhdr += n
			b = b[n:]
			if r.nhdr < 4 {
				return
			}
			r.typ = r.hdr[0]
			r.remaining = int(r.hdr[1])<<16 | int(r.hdr[2])<<8 | int(r.hdr[3])
			r.keep = wanted(r.typ) && r.remaining <= maxHandshakeMsg
			r.body = r.body[:0]
		}
		n := min(r.remaining, len(b))
		if raw != nil {
			raw(b[:n])
		}
		if r.keep {
			r.body = append(r.body, b[:n]...)
		}
		r.remaining -= n
		b = b[n:]
		if r.remaining == 0 {
			if r.keep {
				fn(r.typ, r.body)
			}
			r.nhdr = 0
			r.keep = false
		}
	}
}

// reader is a bounds-checked cursor over a handshake message body.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) bytes(n int) []byte {
	if r.bad || n < 0 || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() int {
	v := r.bytes(1)
	if v == nil {
		return 0
	}
	return int(v[0])
}

func (r *reader) u16() int {
	v := r.bytes(2)
	if v == nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(v))
}

// vec8 and vec16 read a length-prefixed vector.
func (r *reader) vec8() []byte  { return r.bytes(r.u8()) }
func (r *reader) vec16() []byte { return r.bytes(r.u16()) }

// clientHello holds what decryption needs from a ClientHello.
type clientHello struct {
	version  uint16 // legacy_version (the RSA premaster starts with it)
	random   [32]byte
	suites   []uint16
	versions []uint16 // supported_versions extension
}

func parseClientHello(body []byte) (clientHello, error) {
	var ch clientHello
	r := reader{b: body}
	ch.version = uint16(r.u16())
	copy(ch.random[:], r.bytes(32))
	r.vec8() // session_id
	cs := r.vec16()
	if len(cs)%2 != 0 {
		return ch, errMalformed
	}
	for i := 0; i+1 < len(cs); i += 2 {
		ch.suites = append(ch.suites, binary.BigEndian.Uint16(cs[i:]))
	}
	r.vec8() // compression_methods
	if r.bad {
		return ch, errMalformed
	}
	if len(r.b) == 0 {
		return ch, nil // no extensions (TLS ≤ 1.2 clients may omit them)
	}
	exts := reader{b: r.vec16()}
	for len(exts.b) > 0 && !exts.bad {
		typ := exts.u16()
		data := exts.vec16()
		if typ == 43 { // supported_versions
			v := reader{b: data}
			list := v.vec8()
			for i := 0; i+1 < len(list); i += 2 {
				ch.versions = append(ch.versions, binary.BigEndian.Uint16(list[i:]))
			}
		}
	}
	if r.bad || exts.bad {
		return ch, errMalformed
	}
	return ch, nil
}

// serverHello holds what decryption needs from a ServerHello.
type serverHello struct {
	version uint16 // negotiated: supported_versions if present, else legacy_version
	random  [32]byte
	suite   uint16
	hrr     bool // HelloRetryRequest
	etm     bool // encrypt_then_mac (RFC 7366)
	ems     bool // extended_master_secret (RFC 7627)
}

func parseServerHello(body []byte) (serverHello, error) {
	var sh serverHello
	r := reader{b: body}
	sh.version = uint16(r.u16())
	copy(sh.random[:], r.bytes(32))
	r.vec8() // session_id
	sh.suite = uint16(r.u16())
	r.u8() // compression_method
	if r.bad {
		return sh, errMalformed
	}
	sh.hrr = bytes.Equal(sh.random[:], helloRetryRandom[:])
	if len(r.b) == 0 {
		return sh, nil
	}
	exts := reader{b: r.vec16()}
	for len(exts.b) > 0 && !exts.bad {
		typ := exts.u16()
		data := exts.vec16()
		switch typ {
		case 43: // supported_versions: the selected version
			if len(data) == 2 {
				sh.version = binary.BigEndian.Uint16(data)
			}
		case 22:
			sh.etm = true
		case 23:
			sh.ems = true
		}
	}
	if r.bad || exts.bad {
		return sh, errMalformed
	}
	return sh, nil
}

// transcript hashes the handshake messages from the ClientHello through the
// ClientKeyExchange, for the extended_master_secret session hash
// (RFC 7627 section 3). The hash depends on the suite, known only later, so
// all candidates run until then.
type transcript struct {
	md5, sha1, sha256, sha384 hash.Hash
	done                      bool
	sessionHash               []byte
}

func newTranscript() *transcript {
	return &transcript{md5: md5.New(), sha1: sha1.New(), sha256: sha256.New(), sha384: sha512.New384()}
}

func (t *transcript) write(b []byte) {
	if t.done || t.sessionHash != nil {
		return
	}
	t.md5.Write(b)
	t.sha1.Write(b)
	t.sha256.Write(b)
	t.sha384.Write(b)
}

// finish computes the session hash for the negotiated version and suite.
func (t *transcript) finish(version, suiteID uint16) {
	t.done = true
	s, ok := suiteByID(suiteID)
	switch {
	case !ok:
	case version < 0x0303:
		t.sessionHash = t.sha1.Sum(t.md5.Sum(nil))
	case s.prf == crypto.SHA384:
		t.sessionHash = t.sha384.Sum(nil)
	default:
		t.sessionHash = t.sha256.Sum(nil)
	}
	t.md5, t.sha1, t.sha256, t.sha384 = nil, nil, nil, nil
}
