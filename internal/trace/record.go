package trace

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// Record is one SIP message as Genesys Cloud traced it, normalized from the
// many spellings of the trace formats. Records handed out by an [Index] are
// copies; their strings share the index's memory and are immutable.
type Record struct {
	// Time is when Genesys saw the message, on the Genesys clock, in UTC,
	// from the most precise field present: microTs, milliTs, then date,
	// timestamp or time.
	Time time.Time

	// Key is the X-Genesys-Call-ID: an export's call-id (callId,
	// x-genesys-call-id) field, else that header in Msg.
	Key string
	// ConversationID is the conversationId field, else the x-inin-cnv
	// header in Msg.
	ConversationID string
	// ParticipantID is the Genesys participant the message belongs to.
	ParticipantID string
	// CallID is the SIP Call-ID (callid or sipCallId, else from Msg). Proxies
	// rewrite it; it is a fallback key only.
	CallID string

	// Method is the request method, "" for a response.
	Method string
	// Status is the response status code, 0 for a request.
	Status int
	// Reason is the response reason phrase.
	Reason string

	// CSeqNum and CSeqMethod are the CSeq header's number and method.
	CSeqNum    uint32
	CSeqMethod string
	// ViaBranch is the branch of the top Via (via1Branch, else from Msg).
	ViaBranch string

	// FromUser, ToUser, RURIUser and PIDUser are the user parts (phone
	// numbers, usually) of From, To, the request URI and
	// P-Asserted-Identity.
	FromUser, ToUser, RURIUser, PIDUser string

	// SrcIP, SrcPort, DstIP and DstPort are the addresses Genesys recorded
	// for the message; IPv4-mapped addresses are unmapped.
	SrcIP, DstIP     netip.Addr
	SrcPort, DstPort uint16
	// Proto is the transport as the record gives it, e.g. "udp".
	Proto string
	// Node is the Genesys node (edge) that recorded the message.
	Node string

	// Msg is the raw SIP message when it is held in memory. Records loaded
	// by LoadFile keep it on disk; Message works for both.
	Msg string

	// ext locates a message kept on disk: a JSON string's escaped content.
	ext    *msgFile
	extOff int64
	extLen uint32
}

// Event describes the message the way the annotation comments do:
// "INVITE" or "408 Request Timeout".
func (r *Record) Event() string {
	if r.Status != 0 {
		if r.Reason == "" {
			return strconv.Itoa(r.Status)
		}
		return strconv.Itoa(r.Status) + " " + r.Reason
	}
	return r.Method
}

// HasMsg reports whether the record carries a raw SIP message.
func (r *Record) HasMsg() bool { return r.Msg != "" || r.ext != nil }

// Message returns the raw SIP message, "" when the record has none. For a
// file-backed record it reads the message back from the trace file, which
// must still be open (see Index.Close).
func (r *Record) Message() (string, error) {
	if r.Msg != "" || r.ext == nil {
		return r.Msg, nil
	}
	b, err := r.ext.read(r.extOff, r.extLen)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Header returns the value of the first header called name in the record's
// raw message (case-insensitive, compact forms accepted).
func (r *Record) Header(name string) (string, bool, error) {
	msg, err := r.Message()
	if err != nil {
		return "", false, err
	}
	v, ok := HeaderValue(msg, name)
	return v, ok, nil
}

// msgFile is a trace file that file-backed records read their messages
// from.
type msgFile struct {
	name   string
	f      *os.File
	closed atomic.Bool
}

// maxMsg bounds a single message read back from disk.
const maxMsg = 16 << 20

func (m *msgFile) read(off int64, n uint32) ([]byte, error) {
	if m.closed.Load() {
		return nil, fmt.Errorf("%s: trace file already closed", m.name)
	}
	if n > maxMsg {
		return nil, fmt.Errorf("%s: message at byte %d: longer than %d bytes", m.name, off, maxMsg)
	}
	raw := make([]byte, n)
	if _, err := m.f.ReadAt(raw, off); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%s: reading message at byte %d: %w", m.name, off, err)
	}
	out, err := unescape(make([]byte, 0, len(raw)), raw)
	if err != nil {
		return nil, fmt.Errorf("%s: message at byte %d: %v (file changed since loading?)", m.name, off, err)
	}
	return out, nil
}

func (m *msgFile) close() error {
	if m.closed.Swap(true) {
		return nil
	}
	return m.f.Close()
}
