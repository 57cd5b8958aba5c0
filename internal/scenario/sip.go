package scenario

import (
	"net/netip"
	"strconv"
)

// header is one SIP header line other than those sipMsg names explicitly.
type header struct {
	name, compact, value string
}

// sipMsg is one SIP message as one leg carries it. Besides the text it keeps
// the identity fields a Genesys trace record repeats, so records never have
// to re-parse what the generator wrote.
type sipMsg struct {
	method   string // request method, or "" for a response
	ruri     string
	ruriUser string
	status   int
	reason   string

	via, branch             string
	from, fromUser, fromTag string
	to, toUser, toTag       string
	callID                  string
	cseq                    int
	cseqMethod              string
	contact, contactUser    string
	pai, paiUser            string
	agent                   string // User-Agent (requests) or Server (responses)
	hdrs                    []header
	hdrBuf                  [8]header
	xgcid, cnv              string // correlation headers; "" = absent
	body                    []byte
	maxForwards, isResponse bool
}

// event is the message's request method or "status reason".
func (m *sipMsg) event() string {
	if m.isResponse {
		return strconv.Itoa(m.status) + " " + m.reason
	}
	return m.method
}

// cseqValue is the CSeq header value, "1 INVITE".
func (m *sipMsg) cseqValue() string {
	return strconv.Itoa(m.cseq) + " " + m.cseqMethod
}

// appendHeader writes one header line in long or compact form
// (RFC 3261 section 7.3.3).
func appendHeader(dst []byte, long, short string, compact bool, value string) []byte {
	if compact && short != "" {
		dst = append(dst, short...)
	} else {
		dst = append(dst, long...)
	}
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// render appends the message text to dst.
func (m *sipMsg) render(dst []byte, compact bool) []byte {
	if m.isResponse {
		dst = append(dst, "SIP/2.0 "...)
		dst = strconv.AppendInt(dst, int64(m.status), 10)
		dst = append(dst, ' ')
		dst = append(dst, m.reason...)
	} else {
		dst = append(dst, m.method...)
		dst = append(dst, ' ')
		dst = append(dst, m.ruri...)
		dst = append(dst, " SIP/2.0"...)
	}
	dst = append(dst, "\r\n"...)
	dst = appendHeader(dst, "Via", "v", compact, m.via)
	if m.maxForwards {
		dst = appendHeader(dst, "Max-Forwards", "", compact, "70")
	}
	dst = appendHeader(dst, "From", "f", compact, m.from)
	dst = appendHeader(dst, "To", "t", compact, m.to)
	dst = appendHeader(dst, "Call-ID", "i", compact, m.callID)
	dst = appendHeader(dst, "CSeq", "", compact, m.cseqValue())
	if m.contact != "" {
		dst = appendHeader(dst, "Contact", "m", compact, m.contact)
	}
	if m.pai != "" {
		dst = appendHeader(dst, "P-Asserted-Identity", "", compact, m.pai)
	}
	for _, h := range m.hdrs {
		dst = appendHeader(dst, h.name, h.compact, compact, h.value)
	}
	if m.isResponse {
		dst = appendHeader(dst, "Server", "", compact, m.agent)
	} else {
		dst = appendHeader(dst, "User-Agent", "", compact, m.agent)
	}
	if m.xgcid != "" {
		dst = appendHeader(dst, "X-Genesys-Call-ID", "", compact, m.xgcid)
	}
	if m.cnv != "" {
		dst = appendHeader(dst, "x-inin-cnv", "", compact, m.cnv)
	}
	if len(m.body) > 0 {
		dst = appendHeader(dst, "Content-Type", "c", compact, "application/sdp")
	}
	dst = appendHeader(dst, "Content-Length", "l", compact, strconv.Itoa(len(m.body)))
	dst = append(dst, "\r\n"...)
	return append(dst, m.body...)
}

// size returns len(m.render(nil, compact)) without rendering.
func (m *sipMsg) size(compact bool) int {
	h := func(long, short, value string) int {
		if compact && short != "" {
			return len(short) + len(value) + 4
		}
		return len(long) + len(value) + 4
	}
	n := len("SIP/2.0 408 ") + len(m.reason) + 2
	if !m.isResponse {
		n = len(m.method) + len(m.ruri) + len(" SIP/2.0") + 3
	}
	n += h("Via", "v", m.via) + h("From", "f", m.from) + h("To", "t", m.to) + h("Call-ID", "i", m.callID)
	n += h("CSeq", "", m.cseqMethod) + 1 + len(strconv.Itoa(m.cseq))
	if m.maxForwards {
		n += h("Max-Forwards", "", "70")
	}
	if m.contact != "" {
		n += h("Contact", "m", m.contact)
	}
	if m.pai != "" {
		n += h("P-Asserted-Identity", "", m.pai)
	}
	for _, x := range m.hdrs {
		n += h(x.name, x.compact, x.value)
	}
	if m.isResponse {
		n += h("Server", "", m.agent)
	} else {
		n += h("User-Agent", "", m.agent)
	}
	if m.xgcid != "" {
		n += h("X-Genesys-Call-ID", "", m.xgcid)
	}
	if m.cnv != "" {
		n += h("x-inin-cnv", "", m.cnv)
	}
	if len(m.body) > 0 {
		n += h("Content-Type", "c", "application/sdp")
	}
	n += h("Content-Length", "l", strconv.Itoa(len(m.body)))
	return n + 2 + len(m.body)
}

// reasons holds the reason phrases of the status codes the flows use.
func reasonPhrase(status int) string {
	switch status {
	case 100:
		return "Trying"
	case 180:
		return "Ringing"
	case 183:
		return "Session Progress"
	case 200:
		return "OK"
	case 408:
		return "Request Timeout"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 503:
		return "Service Unavailable"
	}
	return "Unknown"
}

// sdpParams describes one side's media for an SDP body.
type sdpParams struct {
	user    string // o= username
	sess    uint64
	addr    netip.Addr
	port    uint16
	offer   bool // offer lists every codec; an answer picks one
	codec   int  // payload type the answer picks (0 PCMU or 8 PCMA)
	rich    bool // a large offer: many codecs and attributes
	version int
}

// appendSDP appends an SDP body (RFC 4566) for audio with PCMU/PCMA and
// telephone-event (RFC 4733).
func appendSDP(dst []byte, p sdpParams) []byte {
	ipv := "IP4"
	if p.addr.Is6() {
		ipv = "IP6"
	}
	dst = append(dst, "v=0\r\no="...)
	dst = append(dst, p.user...)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, p.sess, 10)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, p.sess+uint64(p.version), 10)
	dst = append(dst, " IN "+ipv+" "...)
	dst = p.addr.AppendTo(dst)
	dst = append(dst, "\r\ns=SIP Call\r\nc=IN "+ipv+" "...)
	dst = p.addr.AppendTo(dst)
	dst = append(dst, "\r\nt=0 0\r\nm=audio "...)
	dst = strconv.AppendUint(dst, uint64(p.port), 10)
	switch {
	case p.rich:
		dst = append(dst, " RTP/AVP 0 8 9 18 13 101\r\n"+
			"a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000\r\n"+
			"a=rtpmap:18 G729/8000\r\na=fmtp:18 annexb=no\r\na=rtpmap:13 CN/8000\r\n"+
			"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"+
			"a=ptime:20\r\na=maxptime:40\r\na=rtcp:"...)
		dst = strconv.AppendUint(dst, uint64(p.port)+1, 10)
		dst = append(dst, "\r\na=ssrc:"...)
		dst = strconv.AppendUint(dst, p.sess&0xffffffff, 10)
		dst = append(dst, " cname:edge-media@genesys.invalid\r\na=label:main-audio\r\na=sendrecv\r\n"...)
	case p.offer:
		dst = append(dst, " RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"+
			"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"...)
	default:
		codec := "0 101\r\na=rtpmap:0 PCMU/8000\r\n"
		if p.codec == 8 {
			codec = "8 101\r\na=rtpmap:8 PCMA/8000\r\n"
		}
		dst = append(dst, " RTP/AVP "...)
		dst = append(dst, codec...)
		dst = append(dst, "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"...)
	}
	return dst
}
