// Package sip parses SIP messages (RFC 3261): the start line, the headers in
// long and compact form, and the identity that later stages correlate on
// (Call-ID, CSeq, top Via branch, From/To tags, P-Asserted-Identity and the
// configurable correlation headers such as X-Genesys-Call-ID).
//
// It also frames messages on stream transports (MessageLength), so the TCP,
// TLS and WebSocket decoders share one definition of where a message ends.
//
// Parse fills a reusable Message whose fields are sub-slices of the input:
//
//	var m sip.Message
//	set := sip.NewHeaderSet("X-Genesys-Call-ID", "x-inin-cnv") // once
//	var keys [][]byte
//	if err := sip.Parse(payload, &m); err == nil {
//		keys = m.Lookup(set, keys)
//		event := m.AppendEvent(buf[:0]) // "INVITE" or "408 Request Timeout"
//	}
//
// Parsing never allocates in steady state and never panics on bad input.
// Like tshark, it keeps a message whose defects leave the identity intact
// (a Content-Length that is not a number, a header line without colon) and
// names the defect in Message.Malformed; a message it cannot identify
// yields an error that says what is wrong. Parse is strict where the
// identity would otherwise be ambiguous and lenient elsewhere; see Parse
// for the exact rules and the RFC 4475 torture tests in testdata/rfc4475
// for how each case is treated.
package sip
