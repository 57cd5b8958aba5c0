// Package decode turns captured frames into the complete SIP messages they
// carry, on every transport and encapsulation engineers capture at SBCs and
// carrier edges:
//
//	link     Ethernet (802.1Q, QinQ 0x88a8/0x9100, SNAP), Linux SLL and SLL2,
//	         raw IPv4/IPv6 (101, 12, 14, 228, 229), BSD null and loop, PPP,
//	         PPPoE session
//	tunnels  GRE (ERSPAN I/II/III, transparent Ethernet bridging, PPTP),
//	         IP-in-IP (4, 41), VXLAN (4789, 8472), VXLAN-GPE (4790),
//	         Geneve (6081), GTP-U (2152, with extension headers), MPLS
//	network  IPv4 and IPv6 (extension headers), fragment reassembly
//	         (RFC 791, RFC 8200 §4.5)
//	SIP over UDP (one datagram, one message), TCP (stream reassembly and
//	         RFC 3261 §18.3 framing), WebSocket (RFC 7118, RFC 6455),
//	         SCTP DATA/I-DATA chunks (RFC 4168), and TLS through a pluggable
//	         StreamHandler
//
// SIP is recognised by content on every port; Config.PortHints only decide
// how hard the decoder keeps looking for SIP in a TCP stream that does not
// start with it.
//
// A Decoder is fed frames in capture order. Every Message records where
// each of its bytes sits in the captured frames (Pieces), so the redaction
// stage can rewrite a message in place while the pipeline still holds
// those frames (Decoder.Oldest tells which frames may still be needed), and
// then make the checksums valid again with Rewrite or FixChecksums.
//
// Bounds: every piece of reassembly state (IP fragments, TCP streams,
// out-of-order segments, WebSocket and SCTP partial messages) is limited in
// count and bytes and expires on capture time, never wall-clock time, so
// memory stays constant whatever the input. Bad input is counted in Stats
// and reported through Config.OnMalformed; it never panics.
//
// The header parsing is hand-written and bounds-checked rather than built
// on gopacket's DecodingLayerParser: the decoder needs the frame offset of
// every payload byte across reassembly (for Pieces), supports headers that
// gopacket lacks (ERSPAN III, GTP-U extension chains, SLL2 as a link), and
// the same header helpers drive both decoding and FixChecksums. Decoding a
// UDP SIP frame or an in-order TCP segment carrying whole messages
// allocates nothing.
package decode
