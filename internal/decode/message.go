package decode

import (
	"net/netip"
	"time"
)

// Transport is the protocol a SIP message was carried on.
type Transport uint8

// Transports, named as in the `messages --format jsonl` contract.
const (
	UDP Transport = iota + 1
	TCP
	WS
	SCTP
	TLS
	// WSS is SIP over WebSocket over TLS: WebSocket framing found in the
	// plaintext of a StreamHandler (RFC 7118 "wss").
	WSS
)

// numTransports sizes arrays indexed by Transport.
const numTransports = int(WSS) + 1

var transportNames = [...]string{UDP: "udp", TCP: "tcp", WS: "ws", SCTP: "sctp", TLS: "tls", WSS: "wss"}

// String returns the lower-case name used in output ("udp", "tcp", "ws",
// "sctp", "tls", "wss").
func (t Transport) String() string {
	if int(t) < len(transportNames) && transportNames[t] != "" {
		return transportNames[t]
	}
	return "unknown"
}

// Message is one complete SIP message found on the wire.
//
// Data and Pieces point into decoder-owned buffers, or into the frame bytes
// passed to Decoder.Decode, and stay valid only until the next call to
// Decoder.Decode (and only while the caller keeps those frame bytes
// unchanged); callers copy what they keep.
type Message struct {
	// Frame is the 1-based number of the frame that completes the message
	// (last TCP segment, last IP fragment), numbered as tshark numbers them.
	Frame uint64
	// Time is that frame's capture timestamp.
	Time time.Time
	// Transport is the innermost transport (WS for SIP over WebSocket).
	Transport Transport
	// Src and Dst are the innermost IP endpoints of the SIP message.
	Src, Dst netip.AddrPort
	// Data holds the SIP message bytes exactly as on the wire (WebSocket
	// payload unmasked, TLS decrypted).
	Data []byte
	// Pieces tell where Data's bytes sit inside the captured frames, so a
	// length-preserving rewrite of Data (redaction) can be written back into
	// the frames. Empty when the bytes cannot be rewritten in place (TLS).
	Pieces []Piece
}

// Piece maps Data[MsgOff:MsgOff+Len] onto the bytes of one captured frame.
type Piece struct {
	Frame    uint64 // 1-based frame number holding these bytes
	MsgOff   int    // offset in Message.Data
	FrameOff int    // offset in the frame's captured bytes
	Len      int
	// Mask is the WebSocket masking key in effect at FrameOff (already
	// rotated to that byte), valid when Masked is true: frame byte =
	// data byte XOR Mask[i%4].
	Mask   [4]byte
	Masked bool
	// Sums lists the transport checksums that cover these bytes but cannot
	// be recomputed from a single frame: the UDP or TCP checksum of a
	// segment that was split into IP fragments lives in the first fragment
	// and covers all of them. Nil in the common case, where FixChecksums
	// on the frame is enough. Rewrite applies them.
	Sums []ChecksumRef
}

// ChecksumRef locates a 16-bit ones'-complement checksum (UDP or TCP, RFC
// 1071) stored in one frame that covers bytes held in other frames as well,
// so that it can be updated incrementally (RFC 1624) after a length-
// preserving rewrite.
type ChecksumRef struct {
	Frame uint64 // frame holding the checksum field
	Off   int    // offset of the 2-byte field in that frame's captured bytes
	// Phase gives the position parity inside the summed data: the byte at
	// frame offset o of the Piece sits at an even (high-order) position
	// when (o+Phase)%2 == 0.
	Phase uint8
	// UDP marks a UDP checksum: 0 means "no checksum" and stays 0, and a
	// computed 0 is stored as 0xffff (RFC 768).
	UDP bool
	// Outer lists the checksums covering the field itself (a fragmented
	// datagram inside another fragmented datagram); Phase is relative to
	// the field's own frame offset Off.
	Outer []ChecksumRef
}
