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
)

var transportNames = [...]string{UDP: "udp", TCP: "tcp", WS: "ws", SCTP: "sctp", TLS: "tls"}

// String returns the lower-case name used in output ("udp", "tcp", "ws",
// "sctp", "tls").
func (t Transport) String() string {
	if int(t) < len(transportNames) && transportNames[t] != "" {
		return transportNames[t]
	}
	return "unknown"
}

// Message is one complete SIP message found on the wire.
//
// Data and Pieces point into decoder-owned buffers and stay valid only until
// the next call to Decoder.Decode; callers copy what they keep.
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
}
