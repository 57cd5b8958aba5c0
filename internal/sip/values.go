package sip

import "errors"

// Internal errors of the value scanners. Parse turns them into a
// SyntaxError that names the header; they never reach callers directly.
var (
	errUnterminatedQuote = errors.New("unterminated quoted string")
	errUnterminatedAngle = errors.New("unterminated <")
	errEmptyParam        = errors.New("empty parameter")
	errParamJunk         = errors.New("unexpected character in parameters")
)

// isLWS reports whether c is linear white space inside a header value: SP,
// HTAB, and the CR and LF of a folded line (RFC 3261 §25.1 LWS).
func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func trimLeftLWS(b []byte) []byte {
	for len(b) > 0 && isLWS(b[0]) {
		b = b[1:]
	}
	return b
}

func trimLWS(b []byte) []byte {
	b = trimLeftLWS(b)
	for len(b) > 0 && isLWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// skipQuoted returns the index just past the quoted string that starts at
// b[i] == '"', honouring backslash escapes (RFC 3261 §25.1 quoted-pair), or
// -1 when the closing quote is missing.
func skipQuoted(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipAngle returns the index just past the '>' that closes the '<' at b[i],
// or -1. URIs contain neither '<' nor '>' nor quotes, so no nesting.
func skipAngle(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		if b[j] == '>' {
			return j + 1
		}
	}
	return -1
}

// cutElement splits a comma-separated header value (RFC 3261 §7.3.1) at its
// first comma outside quoted strings and <...>. elem is trimmed of LWS.
// An unterminated quote or bracket makes the rest of v one element.
func cutElement(v []byte) (elem, rest []byte) {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\': // as in addrParams
			i++
		case '"':
			j := skipQuoted(v, i)
			if j < 0 {
				return trimLWS(v), nil
			}
			i = j - 1
		case '<':
			j := skipAngle(v, i)
			if j < 0 {
				return trimLWS(v), nil
			}
			i = j - 1
		case ',':
			return trimLWS(v[:i]), v[i+1:]
		}
	}
	return trimLWS(v), nil
}

// firstElement returns the first non-empty element of a comma list.
func firstElement(v []byte) []byte {
	for len(v) > 0 {
		var e []byte
		e, v = cutElement(v)
		if len(e) > 0 {
			return e
		}
	}
	return nil
}

// addrParams returns the header parameters of a name-addr or addr-spec value
// such as a From or To header (RFC 3261 §20.20): what follows the closing '>'
// of "display <uri>", or, for a bare addr-spec, everything from its first
// ';' (RFC 3261 §20.10: those parameters belong to the header).
//
// Leniently, a backslash outside a quoted string escapes the next byte, so
// the display name \"arik\" (seen in suricata-verify's compact-form
// capture; tshark reads it too) does not open a quoted string. A quote that
// really opens one must close (RFC 4475 §3.1.2.6).
func addrParams(v []byte) ([]byte, error) {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			j := skipQuoted(v, i)
			if j < 0 {
				return nil, errUnterminatedQuote
			}
			i = j - 1
		case '<':
			j := skipAngle(v, i)
			if j < 0 {
				return nil, errUnterminatedAngle
			}
			return v[j:], nil
		case ';':
			return v[i:], nil
		}
	}
	return nil, nil
}

// nextParam parses one ";name[=value]" at the start of s, allowing LWS
// around every element (RFC 3261 §25.1 SEMI, EQUAL). The value is a token,
// host or quoted string, nil when the parameter has none. more is false at
// the end of s. Empty names are an error; so is anything but ';' between
// parameters.
func nextParam(s []byte) (name, value, rest []byte, more bool, err error) {
	s = trimLeftLWS(s)
	if len(s) == 0 {
		return nil, nil, nil, false, nil
	}
	if s[0] != ';' {
		return nil, nil, nil, false, errParamJunk
	}
	s = trimLeftLWS(s[1:])
	n := 0
	for n < len(s) && isTokenChar(s[n]) {
		n++
	}
	if n == 0 {
		return nil, nil, nil, false, errEmptyParam
	}
	name, s = s[:n], trimLeftLWS(s[n:])
	if len(s) == 0 || s[0] != '=' {
		return name, nil, s, true, nil
	}
	s = trimLeftLWS(s[1:])
	if len(s) > 0 && s[0] == '"' {
		j := skipQuoted(s, 0)
		if j < 0 {
			return nil, nil, nil, false, errUnterminatedQuote
		}
		return name, s[:j], s[j:], true, nil
	}
	n = 0
	for n < len(s) && !isLWS(s[n]) && s[n] != ';' && s[n] != ',' {
		n++
	}
	return name, s[:n], s[n:], true, nil
}

// paramValue finds the parameter called name (case-insensitively) in a run
// of ";name=value" parameters. A parameter without a value yields an empty
// non-nil slice; an absent one yields nil.
func paramValue(params []byte, name string) ([]byte, error) {
	for {
		n, v, rest, more, err := nextParam(params)
		if err != nil || !more {
			return nil, err
		}
		if equalFold(n, name) {
			if v == nil {
				v = n[len(n):]
			}
			return v, nil
		}
		params = rest
	}
}

// viaParams checks the sent-protocol and sent-by of one Via element
// (RFC 3261 §20.42: "SIP / 2.0 / UDP host:port", LWS allowed around the
// slashes) and returns its parameters.
func viaParams(e []byte) ([]byte, bool) {
	s := e
	for part := 0; part < 3; part++ {
		s = trimLeftLWS(s)
		n := 0
		for n < len(s) && isTokenChar(s[n]) {
			n++
		}
		if n == 0 {
			return nil, false
		}
		s = trimLeftLWS(s[n:])
		if part < 2 {
			if len(s) == 0 || s[0] != '/' {
				return nil, false
			}
			s = s[1:]
		}
	}
	// sent-by: host[:port], an IPv6 reference in brackets included.
	n := 0
	for n < len(s) && !isLWS(s[n]) && s[n] != ';' {
		n++
	}
	if n == 0 {
		return nil, false
	}
	return s[n:], true
}

// Unfold appends v to dst with every line fold (CRLF or LF followed by
// spaces or tabs) replaced by a single space, as RFC 3261 §7.3.1 allows a
// reader to do. Header values from Parse keep their folds because Parse
// never copies; use Unfold before showing a folded value on one line.
func Unfold(dst, v []byte) []byte {
	base := len(dst)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\r' && c != '\n' {
			dst = append(dst, c)
			continue
		}
		j := i
		for j < len(v) && isLWS(v[j]) {
			j++
		}
		// Drop white space already emitted before the fold.
		for len(dst) > base && (dst[len(dst)-1] == ' ' || dst[len(dst)-1] == '\t') {
			dst = dst[:len(dst)-1]
		}
		dst = append(dst, ' ')
		i = j - 1
	}
	return dst
}
