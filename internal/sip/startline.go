package sip

import "bytes"

// parseStartLine parses the request or status line b[start:end] (without
// its line end) into m.
func (m *Message) parseStartLine(b []byte, start, end int) error {
	line := b[start:end]
	if hasPrefixFold(line, "SIP/") {
		return m.parseStatusLine(line, start)
	}
	return m.parseRequestLine(line, start)
}

// parseStatusLine parses "SIP/2.0 SP Status-Code SP Reason-Phrase"
// (RFC 3261 §7.2).
func (m *Message) parseStatusLine(line []byte, off int) error {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		sp = len(line)
	}
	if !equalFold(line[:sp], "SIP/2.0") {
		return errAt(off, "unsupported SIP version "+quote(line[:sp]))
	}
	if sp == len(line) {
		return errAt(off+sp, "missing status code")
	}
	rest := line[sp+1:]
	n := bytes.IndexByte(rest, ' ')
	if n < 0 {
		n = len(rest)
	}
	code := rest[:n]
	if len(code) != 3 || !isDigit(code[0]) || !isDigit(code[1]) || !isDigit(code[2]) ||
		code[0] < '1' || code[0] > '6' {
		// RFC 4475 §3.1.2.19 bigcode: "4294967301" must not wrap around.
		return errAt(off+sp+1, "bad status code "+quote(code))
	}
	m.StatusCode = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if n == len(rest) {
		// Lenient: "SIP/2.0 100" without the SP before an empty reason.
		m.Reason = rest[n:]
		return nil
	}
	reason := rest[n+1:]
	for len(reason) > 0 && (reason[len(reason)-1] == ' ' || reason[len(reason)-1] == '\t') {
		reason = reason[:len(reason)-1]
	}
	m.Reason = reason
	return nil
}

// parseRequestLine parses "Method SP Request-URI SP SIP/2.0" (RFC 3261
// §7.1): exactly one SP between the elements and none after them.
func (m *Message) parseRequestLine(line []byte, off int) error {
	t := line
	for len(t) > 0 && (t[len(t)-1] == ' ' || t[len(t)-1] == '\t') {
		t = t[:len(t)-1]
	}
	last := bytes.LastIndexByte(t, ' ')
	if last < 0 || !hasPrefixFold(t[last+1:], "SIP/") {
		return ErrNotSIP
	}
	if version := t[last+1:]; !equalFold(version, "SIP/2.0") {
		// RFC 4475 §3.1.2.16 badvers.
		return errAt(off+last+1, "unsupported SIP version "+quote(version))
	}
	if len(t) != len(line) {
		// RFC 4475 §3.1.2.10 trws.
		return errAt(off+len(t), "white space after the SIP version")
	}
	sp := bytes.IndexByte(t, ' ')
	method := t[:sp]
	for _, c := range method {
		if !isTokenChar(c) {
			return errAt(off, "bad method "+quote(method))
		}
	}
	if sp == 0 {
		return errAt(off, "empty method")
	}
	if sp == last {
		return errAt(off+sp, "missing Request-URI")
	}
	uri := t[sp+1 : last]
	if len(uri) == 0 || uri[0] == ' ' || uri[len(uri)-1] == ' ' {
		// RFC 4475 §3.1.2.9 lwsstart.
		return errAt(off+sp, "more than one space between request line elements")
	}
	for i, c := range uri {
		switch {
		case c == ' ' || c == '\t':
			// RFC 4475 §3.1.2.8 lwsruri.
			return errAt(off+sp+1+i, "white space in Request-URI")
		case c < ' ' || c == 0x7f || c == '<' || c == '>' || c == '"':
			// RFC 4475 §3.1.2.7 ltgtruri; control characters.
			return errAt(off+sp+1+i, "bad character "+quote(uri[i:i+1])+" in Request-URI")
		}
	}
	if bytes.IndexByte(uri, ':') <= 0 {
		return errAt(off+sp+1, "Request-URI without a scheme")
	}
	m.Method, m.RequestURI = method, uri
	return nil
}

// hasPrefixFold reports whether b starts with prefix, ignoring ASCII case.
func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && equalFold(b[:len(prefix)], prefix)
}
