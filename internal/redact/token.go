package redact

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"hash"
)

const (
	// minDigits is the shortest digit group that is redacted. Shorter groups
	// ("*72", "ext 12", "1.1" in History-Info indexes) carry no identity, and
	// a token for them would be meaningless.
	minDigits = 3
	// minSuffix is the shortest suffix a token digit is derived from. With
	// one digit per position a token's last digit would be a substitution of
	// the number's last digit, open to frequency analysis; seven digits is a
	// subscriber number.
	minSuffix = 7
	// window is the length of the digit windows a token must never reproduce.
	window = 4
	// cacheSize is the number of remembered tokens (a power of two).
	cacheSize = 16384
	// cacheMaxDigits is the longest digit string the cache holds.
	cacheMaxDigits = 32
	// labelNumber and labelCallID separate the keyed hashes of the two kinds
	// of replacement, so one can never be derived from the other.
	labelNumber = "genesys-sip/redact/number/v2"
	labelCallID = "genesys-sip/redact/call-id/v1"
	labelChain  = "genesys-sip/redact/chain-key/v2"
)

// cacheEntry remembers the token of one digit string.
type cacheEntry struct {
	n   uint8 // number of digits; 0 marks an empty slot
	num [cacheMaxDigits]byte
	tok [cacheMaxDigits]byte
}

// tokenizer derives tokens for digit strings. It is not safe for concurrent
// use; Redactor serialises access to it.
type tokenizer struct {
	mac  hash.Hash
	blk  cipher.Block // AES-256 keyed with HMAC(key, labelChain): the chain's PRF
	seed chainValue   // chain start: AES(HMAC(key, labelNumber))
	keep int

	sum []byte // Sum output, cap sha256.Size
	// Scratch for the block cipher: buffers passed through cipher.Block's
	// interface escape, so they live here rather than on the stack.
	chain chainValue
	blkIn chainValue
	rand  [2 * aes.BlockSize]byte

	forbid [(10000 + 63) / 64]uint64 // the 4-digit windows of the current number
	perms  []byte                    // 10 candidate digits per position
	tried  []uint8                   // DFS state: candidates tried per position

	cache [cacheSize]cacheEntry
}

// chainValue is one link of a token's keyed chain.
type chainValue [aes.BlockSize]byte

func newTokenizer(key []byte, keep int) *tokenizer {
	t := &tokenizer{mac: hmac.New(sha256.New, key), keep: keep, sum: make([]byte, 0, sha256.Size)}
	t.mac.Write([]byte(labelChain))
	blk, err := aes.NewCipher(t.mac.Sum(t.sum[:0])) // 32 bytes: AES-256
	if err != nil {
		panic("redact: AES-256 with a 32-byte key: " + err.Error()) // cannot happen
	}
	t.blk = blk
	t.mac.Reset()
	t.mac.Write([]byte(labelNumber))
	copy(t.seed[:], t.mac.Sum(t.sum[:0]))
	t.blk.Encrypt(t.seed[:], t.seed[:])
	return t
}

// token writes the token of the ASCII digit string num into tok (same
// length). The token digit at position i is drawn from a keyed hash of
// num[i:], the number from that position to its end, or of the last
// minSuffix digits when i is among them. So numbers that differ only by a
// prefix (country code, trunk prefix) share the tail of their tokens, while
// no digit depends on fewer than minSuffix digits: a known (number, token)
// pair says nothing about the digits of numbers that do not share at least
// minSuffix trailing digits with it.
//
// Among the drawn candidates the first is taken that keeps every 4-digit
// window of the token different from every 4-digit window of num; a
// depth-first search backtracks in the rare dead end. Because the windows to
// avoid are those of the whole number, a shared tail can differ in a digit
// when it would otherwise reproduce a window of the longer number (about 1
// pair in 1,000).
func (t *tokenizer) token(num, tok []byte) {
	n := len(num)
	var slot *cacheEntry
	if n <= cacheMaxDigits {
		slot = &t.cache[fnv(num)&(cacheSize-1)]
		if int(slot.n) == n && string(slot.num[:n]) == string(num) {
			copy(tok, slot.tok[:n])
			return
		}
	}
	t.derive(num, tok, 0)
	if slot != nil {
		slot.n = uint8(n)
		copy(slot.num[:], num)
		copy(slot.tok[:], tok[:n])
	}
}

func fnv(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// derive computes the token of num; variants other than 0 give other
// tokens for the same number.
func (t *tokenizer) derive(num, tok []byte, variant byte) {
	n := len(num)
	keep := min(t.keep, n)
	m := n - keep // positions [0, m) get token digits
	copy(tok[m:n], num[m:])
	if m == 0 {
		return
	}
	t.setForbid(num, true)
	defer t.setForbid(num, false)

	if cap(t.perms) < 10*m {
		t.perms = make([]byte, 10*m)
		t.tried = make([]uint8, m)
	}
	perms, tried := t.perms[:10*m], t.tried[:m]
	// The chain absorbs the tail (the last minSuffix digits) first; each
	// tail position draws from the tail hash and its distance to the end,
	// each earlier position from the chain extended by its own digit.
	tail := n - min(minSuffix, n)
	h := t.seed
	if variant != 0 {
		t.step(&h, 0x80|variant)
	}
	for i := n - 1; i >= tail; i-- {
		t.step(&h, num[i])
	}
	c := h
	for i := n - 1; i >= 0; i-- {
		if i >= tail {
			h = c
			t.step(&h, byte(n-i))
		} else {
			if i == tail-1 {
				h = c
			}
			t.step(&h, num[i])
		}
		if i < m {
			shuffle(t.draws(&h), perms[10*i:10*i+10])
		}
	}

	// Depth-first search from the right, candidates in hash order. Dead ends
	// need ten windows of num sharing their last three digits, so in practice
	// the search never backtracks more than a step; the budget only bounds
	// crafted input, which then falls back to a greedy choice.
	budget := 16*m + 1024
	i := m - 1
	tried[i] = 0
	for i >= 0 {
		ok := false
		for tried[i] < 10 {
			tok[i] = '0' + perms[10*i+int(tried[i])]
			tried[i]++
			if t.valid(num, tok, i, m) {
				ok = true
				break
			}
		}
		budget--
		switch {
		case ok:
			i--
			if i >= 0 {
				tried[i] = 0
			}
		case i == m-1 || budget <= 0:
			t.greedy(num, tok, i, m)
			return
		default:
			i++ // backtrack: try the next candidate one position to the right
		}
	}
}

// reproduces reports whether the text b[lo:hi] around the token of num
// holds a 4-digit window of num that takes at least one token digit (pos
// lists where the digits of num are in b, ascending; the last KeepDigits of
// them are kept, not token digits).
func (t *tokenizer) reproduces(num, b []byte, lo, hi int, pos []int32) bool {
	t.setForbid(num, true)
	defer t.setForbid(num, false)
	gen := pos[:len(pos)-min(t.keep, len(pos))]
	run, j := 0, 0
	for i := lo; i < hi; i++ {
		if !isDigit(b[i]) {
			run = 0
			continue
		}
		if run++; run < window {
			continue
		}
		for j < len(gen) && int(gen[j]) <= i-window {
			j++
		}
		if w := win(b[i+1-window:]); t.forbid[w>>6]&(1<<(w&63)) != 0 && j < len(gen) && int(gen[j]) <= i {
			return true
		}
	}
	return false
}

// setForbid adds (or removes) the 4-digit windows of num to the forbidden
// set.
func (t *tokenizer) setForbid(num []byte, on bool) {
	for i := 0; i+window <= len(num); i++ {
		w := win(num[i:])
		if on {
			t.forbid[w>>6] |= 1 << (w & 63)
		} else {
			t.forbid[w>>6] &^= 1 << (w & 63)
		}
	}
}

// step replaces h by AES_K(h ⊕ c): a keyed chain (CBC-MAC style) over the
// digits and positions absorbed so far. The byte c keeps the kinds of steps
// apart: ASCII digits, positions 1-32 and variants 0x80|v never collide.
// With AES-NI a new number's token costs about a tenth of the HMAC-SHA256
// chain this replaced, with the same property: without the key the chain
// values, and so the tokens, are unpredictable.
func (t *tokenizer) step(h *chainValue, c byte) {
	t.chain = *h
	t.chain[0] ^= c
	t.blk.Encrypt(t.chain[:], t.chain[:])
	*h = t.chain
}

// draws expands h into the 20 bytes a permutation needs: h itself and
// AES_K(h with its last byte flipped).
func (t *tokenizer) draws(h *chainValue) *[2 * aes.BlockSize]byte {
	copy(t.rand[:aes.BlockSize], h[:])
	t.blkIn = *h
	t.blkIn[aes.BlockSize-1] ^= 0xff
	t.blk.Encrypt(t.rand[aes.BlockSize:], t.blkIn[:])
	return &t.rand
}

// greedy fills positions i down to 0 with the first valid candidate, or the
// first candidate when none is valid. It is reached only when no valid token
// exists below position i (KeepDigits tails) or for crafted digit strings
// that exhaust the search budget.
func (t *tokenizer) greedy(num, tok []byte, i, m int) {
	for ; i >= 0; i-- {
		c := 0
		for ; c < 10; c++ {
			tok[i] = '0' + t.perms[10*i+c]
			if t.valid(num, tok, i, m) {
				break
			}
		}
		if c == 10 {
			tok[i] = '0' + t.perms[10*i]
		}
	}
}

// valid reports whether digit tok[i] is acceptable given tok[i+1:]: the
// window starting at i must not be a window of num. Numbers too short to
// have a window must at least not map to themselves.
func (t *tokenizer) valid(num, tok []byte, i, m int) bool {
	n := len(num)
	if i+window <= n {
		w := win(tok[i:])
		return t.forbid[w>>6]&(1<<(w&63)) == 0
	}
	if n < window && i == 0 {
		return string(tok[:m]) != string(num[:m])
	}
	return true
}

// win returns the value of the 4 ASCII digits at b[0:4].
func win(b []byte) uint {
	return uint(b[0]-'0')*1000 + uint(b[1]-'0')*100 + uint(b[2]-'0')*10 + uint(b[3]-'0')
}

// shuffle writes a keyed permutation of the digits 0-9 into p (Fisher-Yates
// with 16-bit draws; the modulo bias is below 2^-12).
func shuffle(h *[2 * aes.BlockSize]byte, p []byte) {
	for j := range 10 {
		p[j] = byte(j)
	}
	for j := 9; j > 0; j-- {
		r := (int(h[2*j])<<8 | int(h[2*j+1])) % (j + 1)
		p[j], p[r] = p[r], p[j]
	}
}

// callID replaces the letters and digits of b in place with keyed
// substitutes of the same class (digit, hex letter, other letter; case
// kept), so a UUID stays a UUID. The replacement depends only on the key and
// the whole value.
func (t *tokenizer) callID(b []byte) {
	var block [sha256.Size]byte
	t.mac.Reset()
	t.mac.Write([]byte(labelCallID))
	t.mac.Write(b)
	copy(block[:], t.mac.Sum(t.sum[:0]))
	used := 0
	next := func() int {
		if used+2 > len(block) { // chain the next block: HMAC(key, block)
			t.mac.Reset()
			t.mac.Write(block[:])
			copy(block[:], t.mac.Sum(t.sum[:0]))
			used = 0
		}
		v := int(block[used])<<8 | int(block[used+1])
		used += 2
		return v
	}
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			b[i] = '0' + byte(next()%10)
		case c >= 'a' && c <= 'f':
			b[i] = 'a' + byte(next()%6)
		case c >= 'A' && c <= 'F':
			b[i] = 'A' + byte(next()%6)
		case c >= 'g' && c <= 'z':
			b[i] = 'a' + byte(next()%26)
		case c >= 'G' && c <= 'Z':
			b[i] = 'A' + byte(next()%26)
		}
	}
}
