package genesys

import (
	"fmt"
	"time"
)

// StateKind classifies the client's view of the API.
type StateKind int

// The API states shown in the log and the toolbar.
const (
	StateUnknown     StateKind = iota // no request made yet
	StateOK                           // the last request succeeded
	StateRateLimited                  // a 429 was received; Until says when the wait ends
	StateAuthError                    // credentials refused (401) or permission missing (403)
	StateUnreachable                  // network error, timeout or persistent 5xx
)

// State is the client's current view of the API.
type State struct {
	Kind   StateKind
	Until  time.Time // StateRateLimited: end of the Retry-After wait
	Detail string    // short cause, never a secret
	Since  time.Time // when this state was entered
}

// String renders the state in one line, e.g. "rate-limited until 10:05:02Z".
func (s State) String() string {
	var t string
	switch s.Kind {
	case StateUnknown:
		t = "not contacted yet"
	case StateOK:
		t = "ok"
	case StateRateLimited:
		t = "rate-limited until " + s.Until.UTC().Format("15:04:05Z")
	case StateAuthError:
		t = "auth error"
	case StateUnreachable:
		t = "unreachable"
	default:
		t = fmt.Sprintf("state(%d)", int(s.Kind))
	}
	if s.Detail != "" {
		t += ": " + s.Detail
	}
	return t
}

// same reports whether two states would display the same apart from Since.
func (s State) same(o State) bool {
	return s.Kind == o.Kind && s.Detail == o.Detail && s.Until.Equal(o.Until)
}
