// Package sip parses SIP messages (RFC 3261): the start line, the headers in
// long and compact form, and the identity that later stages correlate on
// (Call-ID, CSeq, top Via branch, From/To tags, P-Asserted-Identity and the
// configurable correlation headers such as X-Genesys-Call-ID).
//
// It also frames messages on stream transports (MessageLength), so the TCP,
// TLS and WebSocket decoders share one definition of where a message ends.
//
// Parsing never allocates in steady state and never panics on bad input; a
// malformed message yields an error that says what is wrong.
package sip
