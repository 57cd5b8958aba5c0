package decode

// Stats counts what a Decoder has seen since it was created. Counters only
// grow; Reset does not clear them.
type Stats struct {
	Frames   uint64                // frames passed to Decode
	Messages [numTransports]uint64 // SIP messages found, indexed by Transport

	UnknownLinkType uint64 // frames of a link type the decoder does not know
	NonIP           uint64 // link payloads that are not IP (ARP, LLDP, STP, ...)
	OtherIPProtocol uint64 // IP payloads other than UDP, TCP, SCTP or a tunnel (ICMP, ESP, ...)
	UnknownTunnel   uint64 // GRE, ERSPAN, GTP-U or VXLAN headers of an unsupported kind
	TunnelTooDeep   uint64 // encapsulations nested deeper than the decoder follows
	Truncated       uint64 // headers cut short by the snap length or invalid

	FragmentsReassembled uint64 // IP datagrams rebuilt from fragments
	FragmentsExpired     uint64 // datagrams dropped on FragmentTimeout
	FragmentsDropped     uint64 // datagrams dropped for bounds or inconsistent fragments
	FragmentOverlaps     uint64 // fragments overlapping data already held (first copy kept)

	TCPRetransmissions uint64 // segments (or parts) carrying bytes already seen
	TCPOutOfOrder      uint64 // segments that arrived ahead of a hole
	TCPGaps            uint64 // holes given up on (bytes never captured)
	TCPResyncs         uint64 // times a stream was searched for the next SIP start line
	StreamsEvicted     uint64 // connections dropped to respect MaxStreams or MaxBufferedBytes
	StreamsExpired     uint64 // connections forgotten after StreamIdleTimeout
	TLSStreams         uint64 // connections carrying TLS that no StreamHandler took

	KeepAlives uint64 // CRLF keep-alive datagrams (RFC 5626 §3.5.1)
	Malformed  uint64 // SIP data skipped (see Config.OnMalformed)
}
