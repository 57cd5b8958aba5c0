// Package scenario generates realistic synthetic SIP traffic on a Genesys
// Cloud BYOC trunk, deterministically from a seed: the packets a capture at
// the carrier's SBC would hold, the SIP trace records Genesys Cloud would
// return for the same calls (GET /api/v2/telephony/siptraces), and the ground
// truth that ties the two together. It feeds the product demo, the tests of
// the decoding, redaction and correlation stages, and the throughput
// benchmark. Nothing is downloaded; everything is generated.
//
// The model: a capture point next to the carrier/SBC side and Genesys Cloud
// edges Transit away (one way). A message the SBC sends is on the wire at t
// and logged by Genesys at t+Transit+ClockOffset; a message Genesys sends at
// t0 (its true time) is logged at t0+ClockOffset and is on the wire at
// t0+Transit. All times are whole microseconds, so pcap (µs), pcap (ns) and
// pcapng hold identical timestamps.
//
// Demo builds a small readable capture; Correlation builds the acceptance
// scenario of the correlation feature (UDP, TCP with split and coalesced
// messages, IPv6 with compact headers, an IP-fragmented INVITE, a B2BUA that
// rewrites Call-ID, branches and CSeq, Genesys-only records, a wire-only call,
// and matches through each correlation key). Bulk streams any number of
// packets in constant memory.
package scenario
