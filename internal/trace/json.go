package trace

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the small JSON scanner the loaders are built on. It works
// on byte windows and never allocates on the success path: the loaders scan
// gigabytes, and encoding/json decodes an order of magnitude slower than the
// budget allows. Every function is bounds-checked and reports the offset of
// a problem; running out of input is reported as errShort so that a
// streaming caller can read more and retry.

// syntaxError is a JSON syntax problem at byte offset Off of the window
// being scanned.
type syntaxError struct {
	Off int
	Msg string
}

func (e *syntaxError) Error() string { return e.Msg }

// errShort reports that the window ended inside a value.
var errShort = &syntaxError{Msg: "unexpected end of JSON input"}

func errAt(off int, msg string) *syntaxError { return &syntaxError{Off: off, Msg: msg} }

// badChar describes an unexpected byte the way encoding/json does.
func badChar(b []byte, off int, context string) *syntaxError {
	return errAt(off, "invalid character "+quoteChar(b[off])+" "+context)
}

func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	if c < 0x20 || c >= 0x7f {
		s := strconv.QuoteRune(rune(c))
		if c >= 0x80 {
			s = `'\x` + strconv.FormatUint(uint64(c), 16) + `'`
		}
		return s
	}
	return "'" + string(c) + "'"
}

// skipSpace returns the first offset at or after i that is not JSON
// whitespace, and how many newlines it passed.
func skipSpace(b []byte, i int) (int, int) {
	nl := 0
	for i < len(b) {
		switch b[i] {
		case '\n':
			nl++
		case ' ', '\r', '\t':
		default:
			return i, nl
		}
		i++
	}
	return i, nl
}

// scanString scans the string starting at b[i] == '"'. It returns the
// offset just past the closing quote and whether the content holds escapes.
// A raw newline inside a string is an error: it is never valid JSON and in
// NDJSON it means a line was cut.
func scanString(b []byte, i int) (end int, esc bool, err error) {
	j := i + 1
	// Short strings, eight bytes at a time (SWAR): find the first quote,
	// backslash or newline of a word without a per-byte loop.
	for lim := min(len(b), j+48); j < lim; {
		if j+8 <= len(b) {
			m := specialBytes(binary.LittleEndian.Uint64(b[j:]))
			if m == 0 {
				j += 8
				continue
			}
			j += bits.TrailingZeros64(m) >> 3
		} else if c := b[j]; c != '"' && c != '\\' && c != '\n' {
			j++
			continue
		}
		switch b[j] {
		case '"':
			return j + 1, esc, nil
		case '\\':
			esc = true
			j += 2 // the backslash and the escaped byte
		default:
			return 0, false, errAt(j, "invalid character '\\n' in string literal")
		}
	}
	// Long strings (messages, full of \r\n escapes): vectorized searches.
	// j is never inside an escape sequence here.
	for {
		if j >= len(b) {
			return 0, false, errShort
		}
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			if n := bytes.IndexByte(b[j:], '\n'); n >= 0 {
				return 0, false, errAt(j+n, "invalid character '\\n' in string literal")
			}
			return 0, false, errShort
		}
		q := j + k
		seg := b[j:q]
		if n := bytes.IndexByte(seg, '\n'); n >= 0 {
			return 0, false, errAt(j+n, "invalid character '\\n' in string literal")
		}
		if !esc && bytes.IndexByte(seg, '\\') >= 0 {
			esc = true
		}
		bs := 0
		for p := q - 1; p >= j && b[p] == '\\'; p-- {
			bs++
		}
		if bs%2 == 0 {
			return q + 1, esc, nil
		}
		j = q + 1
	}
}

// SWAR constants: a byte value repeated in every byte of a word.
const (
	swarLo    = 0x0101010101010101
	swarHi    = 0x8080808080808080
	swarQuote = '"' * swarLo
	swarBack  = '\\' * swarLo
	swarNL    = '\n' * swarLo
)

// specialBytes returns a mask with the high bit set in (at least) the lowest
// byte of w that is a quote, backslash or newline; 0 when there is none.
// Bits above the lowest match may be spurious; callers use only the lowest.
func specialBytes(w uint64) uint64 {
	q, b, n := w^swarQuote, w^swarBack, w^swarNL
	return ((q - swarLo) &^ q & swarHi) | ((b - swarLo) &^ b & swarHi) | ((n - swarLo) &^ n & swarHi)
}

// scanNumber scans a JSON number starting at b[i]. It is strict enough to
// reject garbage and lenient about the finer grammar (leading zeros).
func scanNumber(b []byte, i int) (int, error) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	digits := 0
	for j < len(b) {
		c := b[j]
		if c >= '0' && c <= '9' {
			digits++
		} else if c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-' {
			break
		}
		j++
	}
	if j == len(b) {
		return 0, errShort
	}
	if digits == 0 {
		return 0, badChar(b, j, "in numeric literal")
	}
	return j, nil
}

func scanLiteral(b []byte, i int) (int, error) {
	var lit string
	switch b[i] {
	case 't':
		lit = "true"
	case 'f':
		lit = "false"
	default:
		lit = "null"
	}
	for k := 1; k < len(lit); k++ {
		if i+k >= len(b) {
			return 0, errShort
		}
		if b[i+k] != lit[k] {
			return 0, badChar(b, i+k, "in literal "+lit+" (expecting "+quoteChar(lit[k])+")")
		}
	}
	return i + len(lit), nil
}

// skipValue skips one JSON value starting at b[i] (no leading space) and
// returns the offset after it and the newlines it contained. Nested
// containers are checked for balance but their inner grammar only loosely:
// the record parser validates the parts it reads.
func skipValue(b []byte, i int) (end, nl int, err error) {
	if i >= len(b) {
		return 0, 0, errShort
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err = scanString(b, i)
		return end, 0, err
	case c == '-' || (c >= '0' && c <= '9'):
		end, err = scanNumber(b, i)
		return end, 0, err
	case c == 't' || c == 'f' || c == 'n':
		end, err = scanLiteral(b, i)
		return end, 0, err
	case c == '{' || c == '[':
		return skipContainer(b, i)
	default:
		return 0, 0, badChar(b, i, "looking for beginning of value")
	}
}

// skipContainer finds the end of the object or array opening at b[i].
func skipContainer(b []byte, i int) (end, nl int, err error) {
	// A small stack of open brackets keeps "{]" from passing as balanced.
	var stack [64]byte
	deep := 0 // depth beyond the fixed stack, tracked without checking kind
	depth := 0
	for i < len(b) {
		c := b[i]
		switch c {
		case '"':
			e, _, err := scanString(b, i)
			if err != nil {
				return 0, nl, err
			}
			i = e
			continue
		case '{', '[':
			if depth < len(stack) {
				stack[depth] = c
				depth++
			} else {
				deep++
			}
		case '}', ']':
			if deep > 0 {
				deep--
				break
			}
			if depth == 0 || (c == '}') != (stack[depth-1] == '{') {
				return 0, nl, badChar(b, i, "in JSON value (unbalanced brackets)")
			}
			depth--
			if depth == 0 {
				return i + 1, nl, nil
			}
		case '\n':
			nl++
		}
		i++
	}
	return 0, nl, errShort
}

// unescape appends the decoded content of a JSON string (without its
// quotes) to dst.
func unescape(dst, s []byte) ([]byte, error) { return unescapeUntil(dst, s, false) }

// unescapeHeaders is unescape stopped after the blank line that ends a SIP
// message's headers: the body is not needed to read headers.
func unescapeHeaders(dst, s []byte) ([]byte, error) { return unescapeUntil(dst, s, true) }

func unescapeUntil(dst, s []byte, headers bool) ([]byte, error) {
	start := len(dst)
	for len(s) > 0 {
		k := bytes.IndexByte(s, '\\')
		if k < 0 {
			return append(dst, s...), nil
		}
		dst = append(dst, s[:k]...)
		s = s[k:]
		if len(s) < 2 {
			return dst, errAt(0, "invalid escape at end of string")
		}
		switch s[1] {
		case '"', '\\', '/':
			dst = append(dst, s[1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
			if headers {
				if h := dst[start:]; bytes.HasSuffix(h, []byte("\n\r\n")) || bytes.HasSuffix(h, []byte("\n\n")) {
					return dst, nil
				}
			}
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n := decodeU(s)
			if n == 0 {
				return dst, errAt(0, "invalid \\u escape in string literal")
			}
			dst = utf8.AppendRune(dst, r)
			s = s[n:]
			continue
		default:
			return dst, errAt(0, "invalid character "+quoteChar(s[1])+" in string escape code")
		}
		s = s[2:]
	}
	return dst, nil
}

// decodeU decodes \uXXXX (and a following low surrogate) at the start of s.
// It returns the rune and the bytes consumed, 0 when malformed.
func decodeU(s []byte) (rune, int) {
	r := hex4(s)
	if r < 0 {
		return 0, 0
	}
	if utf16.IsSurrogate(r) {
		if r2 := hex4(s[6:]); len(s) >= 12 && s[6] == '\\' && r2 >= 0 {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return d, 12
			}
		}
		return utf8.RuneError, 6
	}
	return r, 6
}

// hex4 decodes the XXXX of a \uXXXX escape at the start of s, or -1.
func hex4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
