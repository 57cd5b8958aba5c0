package pipeline

import (
	"fmt"
	"strings"
	"sync"

	"github.com/genesys-sip/genesys-sip/internal/alert"
)

// Status is what a running capture shows in Wireshark's toolbar. The
// pipeline updates it about once a second; String and Alerts may be called
// from another goroutine.
type Status struct {
	mu     sync.Mutex
	stats  Stats
	skew   string
	api    string
	alerts []alert.Alert

	// hostClock is the capture host's clock in short ("host clock ok
	// (+0.8 ms)", "host clock NOT SYNCED"); empty when it does not bear
	// on the packets' times (a replay that keeps the original ones).
	hostClock string
}

func (s *Status) set(st Stats, skew string) {
	s.mu.Lock()
	s.stats, s.skew = st, skew
	s.mu.Unlock()
}

// SetAPI records the Genesys Cloud API state ("ok", "rate-limited until …").
func (s *Status) SetAPI(state string) {
	s.mu.Lock()
	s.api = state
	s.mu.Unlock()
}

func (s *Status) setHostClock(short string) {
	s.mu.Lock()
	s.hostClock = short
	s.mu.Unlock()
}

func (s *Status) alert(a alert.Alert) {
	s.mu.Lock()
	s.alerts = append(s.alerts, a)
	s.mu.Unlock()
}

// TakeAlerts returns the alerts raised since the last call.
func (s *Status) TakeAlerts() []alert.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.alerts
	s.alerts = nil
	return a
}

// Stats returns the counters last published.
func (s *Status) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// String is the toolbar's status line.
func (s *Status) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	parts := []string{
		fmt.Sprintf("%d packets", st.Packets),
		fmt.Sprintf("%d SIP", st.SIP),
		fmt.Sprintf("%d annotated", st.Annotated),
		fmt.Sprintf("%d redacted", st.Redacted),
		fmt.Sprintf("%d drops", st.Dropped),
	}
	if st.Alerts > 0 {
		parts = append(parts, fmt.Sprintf("%d alerts", st.Alerts))
	}
	if s.skew != "" {
		parts = append(parts, s.skew)
	}
	if s.hostClock != "" {
		parts = append(parts, s.hostClock)
	}
	if s.api != "" {
		parts = append(parts, "API "+s.api)
	}
	return strings.Join(parts, " | ")
}
