package redact

import "bytes"

// Scrub redacts b in place: a stretch of SIP text that cannot be parsed as
// a whole message, such as the payload of a frame that must be written
// while the rest of its message is still missing (the live hold limit, the
// end of the input). b may start and end anywhere in a message and may hold
// the end of one message and the start of the next. It returns the number
// of replacements; the length never changes.
//
// Complete lines get what Message gives them, with the same tokens: the
// Request-URI of a request line, the values of the configured headers (and
// their folded lines), the values of the Call-ID headers when
// Config.RedactCallIDs is set, SDP lines (o=, p=, URIs), and lines that are
// not headers (those of an XML or text body) with the free-text rules.
// Other header lines are left alone, as Message leaves them, so CSeq,
// Content-Length, Via and addresses survive. Two lines have no known place: the first, unless it is a SIP
// start line (it may be the rest of any header), and a last line cut by the
// end of b (a URI may have lost its "@"). In them every digit group of three
// or more digits is redacted, digits joined by up to three separators of
// URIs or display names ("-", ".", "(", ")", space, tab, "/", "\") and
// percent-encoded digits included; with RedactCallIDs a cut line of a
// Call-ID header has its whole value replaced. A number cut by the end of b
// is redacted in parts, each with the token of its own digits. Percent
// escapes are never altered, except one cut in two by the start of b.
func (r *Redactor) Scrub(b []byte) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.scrub(b)
}

func (r *Redactor) scrub(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		first := i == 0
		le, ce := lineEnd(b, i)
		end, vend := le, ce
		for end+1 < len(b) && (b[end+1] == ' ' || b[end+1] == '\t') { // folded lines
			end, vend = lineEnd(b, end+1)
		}
		cut := end == len(b) // no line end: the line may go on in the next frame
		line := b[i:ce]
		s, e, request := requestURI(line)
		switch {
		case hasPrefixFold(line, "SIP/2.0 "): // a status line carries no number
		case request && !cut:
			if r.ruri {
				n += r.uri(b, i+s, i+e, true)
			}
		case cut || first:
			if colon := bytes.IndexByte(line, ':'); cut && !first && colon > 0 && r.headerKind(line[:colon]) == kindCallID {
				if s, e := trim(b, i+colon+1, vend); s < e {
					r.tok.callID(b[s:e])
					n++
				}
				break
			}
			n += r.groups(b, i, vend, ctxAny)
		case isSDPLine(line):
			n += r.sdpLine(b, i, ce)
		default:
			colon := bytes.IndexByte(line, ':')
			if colon <= 0 || !isToken(bytes.TrimRight(line[:colon], " \t")) {
				// Not a header: a line of a body (XML, text).
				if printable(line) {
					n += r.freeText(b, i, vend)
				}
				break
			}
			switch kind := r.headerKind(line[:colon]); kind {
			case kindContentType, kindContentLength:
			default:
				n += r.header(b, kind, i+colon+1, vend)
			}
		}
		i = end + 1
	}
	return n
}

// requestURI returns the range of the Request-URI in line when it is a SIP
// request line ("METHOD URI SIP/2.0").
func requestURI(line []byte) (s, e int, ok bool) {
	sp1, sp2 := bytes.IndexByte(line, ' '), bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1 || !hasPrefixFold(line[sp2+1:], "SIP/") {
		return 0, 0, false
	}
	for _, c := range line[:sp1] { // the method is a token
		if !isAlnum(c) && !isTokenMark(c) {
			return 0, 0, false
		}
	}
	return sp1 + 1, sp2, true
}
