package decode

import (
	"net/netip"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/sip"
)

// defaultPortHints are the ports where SIP is expected when Config.PortHints
// is nil: the IANA SIP and SIPS ports and the ports SBCs commonly add.
var defaultPortHints = [...]uint16{5060, 5061, 5062, 5080}

// DefaultPortHints returns the ports used when Config.PortHints is nil:
// 5060 (SIP), 5061 (SIPS), 5062 and 5080 (common SBC ports).
func DefaultPortHints() []uint16 { return append([]uint16(nil), defaultPortHints[:]...) }

// Defaults for the Config bounds, used when a field is zero.
const (
	DefaultMaxFragmentDatagrams = 1024
	DefaultMaxFragmentBytes     = 16 << 20
	DefaultFragmentTimeout      = 30 * time.Second // Linux ipfrag_time
	DefaultMaxStreams           = 16384
	DefaultStreamIdleTimeout    = 10 * time.Minute
	DefaultMaxStreamBytes       = 2 << 20
	DefaultMaxBufferedBytes     = 64 << 20
	DefaultMaxOutOfOrder        = 256
	DefaultGapTimeout           = 2 * time.Second
	DefaultResyncBudget         = 256 << 10
)

// minStreamBytes is the smallest per-direction buffer that still holds the
// largest SIP message plus a WebSocket frame header.
const minStreamBytes = sip.MaxMessage + 64<<10

// Config configures a Decoder. The zero value is ready to use: every bound
// has a default.
type Config struct {
	// PortHints are ports where SIP is expected. SIP is detected by content
	// on every port; a hint only makes the decoder keep resynchronising a
	// TCP stream on that port that does not start with, or loses track of,
	// SIP. Elsewhere a stream whose first bytes (after a SYN) are not SIP,
	// an HTTP WebSocket upgrade or WebSocket is ignored, and a stream
	// picked up mid-way is given up after ResyncBudget bytes without a SIP
	// start line. Nil means DefaultPortHints; an empty non-nil slice means
	// none.
	PortHints []uint16

	// MaxFragmentDatagrams bounds IP datagrams awaiting fragments; the
	// oldest is dropped when a new one would exceed it.
	MaxFragmentDatagrams int
	// MaxFragmentBytes bounds the bytes held by all pending fragments.
	MaxFragmentBytes int
	// FragmentTimeout drops a datagram whose fragments have not all arrived
	// within this capture time. It also bounds SCTP partial messages.
	FragmentTimeout time.Duration

	// MaxStreams bounds tracked TCP connections; the least recently active
	// one is evicted first.
	MaxStreams int
	// StreamIdleTimeout forgets a TCP connection after this much capture
	// time without a segment.
	StreamIdleTimeout time.Duration
	// MaxStreamBytes bounds the bytes buffered for one direction of a TCP
	// connection (partial message plus out-of-order segments). Values below
	// sip.MaxMessage plus 64 KiB are raised to it.
	MaxStreamBytes int
	// MaxBufferedBytes bounds the bytes buffered by all TCP connections
	// together; the least recently active connections are evicted to stay
	// below it.
	MaxBufferedBytes int
	// MaxOutOfOrder bounds the out-of-order segments held per direction.
	MaxOutOfOrder int
	// GapTimeout is how long (capture time) the decoder waits for a missing
	// TCP segment before skipping the hole and resynchronising.
	GapTimeout time.Duration
	// ResyncBudget is how many bytes of a stream on a port without a hint
	// are searched for a SIP start line before the stream is ignored.
	ResyncBudget int

	// OnMalformed, if set, is called for SIP data that could not be framed
	// and was skipped (oversized message, stream that lost sync or ended
	// inside a message, broken WebSocket framing; not a bad Content-Length,
	// which frames as 0 and is returned for sip.Parse to flag). frame
	// is the frame being decoded when the problem was found.
	OnMalformed func(frame uint64, err error)

	// StreamHandler, if set, is offered every new TCP connection when its
	// first payload arrives; see StreamHandlerFunc.
	StreamHandler StreamHandlerFunc
}

// Flow is one direction of a TCP connection.
type Flow struct {
	Src, Dst netip.AddrPort
}

// Reverse returns the opposite direction.
func (f Flow) Reverse() Flow { return Flow{Src: f.Dst, Dst: f.Src} }

// StreamHandler is an upper layer between TCP reassembly and SIP framing,
// attached to one TCP connection: a TLS decryptor (internal/tlsdec) is one.
// It receives the in-order payload of both directions, exactly once each
// byte, and returns the plaintext they complete. The decoder then frames
// that plaintext as SIP (or SIP over WebSocket, "wss"); such messages have
// Transport TLS or WSS and no Pieces, since their bytes cannot be rewritten
// in the frames. Methods are called from Decoder.Decode only, never
// concurrently.
type StreamHandler interface {
	// Feed consumes the next in-order payload bytes sent on flow f and
	// appends to out the plaintext they complete, returning the extended
	// slice. payload is only valid during the call. A non-nil error is
	// reported through Config.OnMalformed; the handler stays attached.
	Feed(f Flow, payload []byte, out []byte) ([]byte, error)
	// Gap tells the handler that bytes of flow f were lost (capture loss
	// or a hole the decoder gave up waiting for); the next Feed on f starts
	// after the hole.
	Gap(f Flow)
	// Close ends the connection (FIN/RST, idle timeout, eviction or
	// Decoder.Reset). No method is called after Close.
	Close()
}

// StreamHandlerFunc decides whether to attach a StreamHandler to a new TCP
// connection. It is called once per connection, with the flow and the
// bytes of the first payload seen on it (in either direction; a capture may
// start mid-connection). Returning nil leaves the connection to the
// decoder's own SIP and WebSocket detection.
type StreamHandlerFunc func(f Flow, first []byte) StreamHandler

// limits is Config with defaults applied.
type limits struct {
	maxFragDatagrams int
	maxFragBytes     int
	fragTimeout      int64 // ns
	maxStreams       int
	idleTimeout      int64 // ns
	maxStreamBytes   int
	maxBuffered      int
	maxOOO           int
	gapTimeout       int64 // ns
	resyncBudget     int
}

func (c *Config) limits() limits {
	l := limits{
		maxFragDatagrams: orInt(c.MaxFragmentDatagrams, DefaultMaxFragmentDatagrams),
		maxFragBytes:     orInt(c.MaxFragmentBytes, DefaultMaxFragmentBytes),
		fragTimeout:      int64(orDur(c.FragmentTimeout, DefaultFragmentTimeout)),
		maxStreams:       orInt(c.MaxStreams, DefaultMaxStreams),
		idleTimeout:      int64(orDur(c.StreamIdleTimeout, DefaultStreamIdleTimeout)),
		maxStreamBytes:   max(orInt(c.MaxStreamBytes, DefaultMaxStreamBytes), minStreamBytes),
		maxBuffered:      orInt(c.MaxBufferedBytes, DefaultMaxBufferedBytes),
		maxOOO:           orInt(c.MaxOutOfOrder, DefaultMaxOutOfOrder),
		gapTimeout:       int64(orDur(c.GapTimeout, DefaultGapTimeout)),
		resyncBudget:     orInt(c.ResyncBudget, DefaultResyncBudget),
	}
	l.maxBuffered = max(l.maxBuffered, l.maxStreamBytes)
	return l
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}
