// Package alert flags the SIP error responses that matter during an
// incident (by default 408, 503 and 504): as a "genesys-alert:" comment on
// the frame, and optionally as a JSON POST to a webhook that never blocks
// the capture.
package alert

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/correlate"
)

// DefaultCodes are the responses alerted on by default.
const DefaultCodes = "408,503,504"

// Codes is a set of SIP status codes.
type Codes struct{ set [700]bool }

// ParseCodes reads a comma-separated list of status codes or ranges
// ("408,503,504", "500-599"); an empty list alerts on nothing.
func ParseCodes(s string) (Codes, error) {
	var c Codes
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(f, "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 != nil || err2 != nil || a < 100 || b > 699 || a > b {
			return Codes{}, fmt.Errorf("%q is not a SIP status code or range (100-699)", f)
		}
		for i := a; i <= b; i++ {
			c.set[i] = true
		}
	}
	return c, nil
}

// Has reports whether status is in the set.
func (c *Codes) Has(status int) bool { return status > 0 && status < len(c.set) && c.set[status] }

// Alert is one alerted response.
type Alert struct {
	Time          time.Time      `json:"time"`
	Frame         uint64         `json:"frame"`
	Status        int            `json:"status"`
	Event         string         `json:"event"`
	CallID        string         `json:"call_id,omitempty"`
	GenesysCallID string         `json:"genesys_call_id,omitempty"`
	Conversation  string         `json:"conversation_id,omitempty"`
	CSeq          string         `json:"cseq,omitempty"`
	Transport     string         `json:"transport,omitempty"`
	Src           netip.AddrPort `json:"src"`
	Dst           netip.AddrPort `json:"dst"`
}

// AppendComment appends the frame comment of the alert, in the style of the
// annotation comments:
//
//	genesys-alert: status=503 event="503 Service Unavailable" call=<X-Genesys-Call-ID> cseq="1 INVITE" src=… dst=…
func (a *Alert) AppendComment(dst []byte) []byte {
	dst = append(dst, "genesys-alert:"...)
	dst = correlate.AppendPair(dst, "status", strconv.Itoa(a.Status))
	dst = correlate.AppendPair(dst, "event", a.Event)
	dst = correlate.AppendPair(dst, "call", a.GenesysCallID)
	dst = correlate.AppendPair(dst, "conv", a.Conversation)
	dst = correlate.AppendPair(dst, "callid", a.CallID)
	dst = correlate.AppendPair(dst, "cseq", a.CSeq)
	if a.Src.IsValid() {
		dst = correlate.AppendPair(dst, "src", a.Src.String())
	}
	if a.Dst.IsValid() {
		dst = correlate.AppendPair(dst, "dst", a.Dst.String())
	}
	return dst
}
