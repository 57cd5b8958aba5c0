package genesys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors for errors.Is. An *APIError matches the one for its status.
var (
	ErrBadRequest   = errors.New("genesys: bad request")               // 400
	ErrUnauthorized = errors.New("genesys: authentication failed")     // 401, or the login refused the client
	ErrForbidden    = errors.New("genesys: permission denied")         // 403
	ErrNotFound     = errors.New("genesys: not found")                 // 404
	ErrRateLimited  = errors.New("genesys: rate limited")              // 429
	ErrServer       = errors.New("genesys: server error")              // 5xx
	ErrUnreachable  = errors.New("genesys: unreachable")               // network error or timeout
	ErrMalformed    = errors.New("genesys: malformed response")        // a body that is not the documented JSON
	ErrNotReady     = errors.New("genesys: PCAP download not ready")   // download poll gave up
	ErrBadQuery     = errors.New("genesys: invalid siptraces query")   // rejected before any request
	ErrNotPCAP      = errors.New("genesys: download is not a capture") // signed URL served something else
)

// Permissions the SIP trace endpoints need.
const (
	PermissionView = "telephony:pcap:view" // siptraces search, download status
	PermissionAdd  = "telephony:pcap:add"  // request a PCAP download
)

// APIError is a non-2xx answer of the Platform API or the login host,
// carrying the Genesys error body {"message":…,"code":…,"status":…}.
type APIError struct {
	Endpoint   string        // "GET /api/v2/telephony/siptraces"
	Status     int           // HTTP status
	Code       string        // Genesys code, e.g. "missing.permissions"
	Message    string        // Genesys message (secrets scrubbed)
	ContextID  string        // Genesys contextId, for support tickets
	Permission string        // the permission the endpoint needs (set on 403)
	RetryAfter time.Duration // from Retry-After on 429/503

	hint         string // what to do, appended to the message
	loginRefused bool   // the login host refused the client (400/401 invalid_client)
}

// Error returns one line: endpoint, status, code, message and, for 403, the
// permission to grant.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "genesys: %s: %d %s", e.Endpoint, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	switch {
	case e.hint != "":
		b.WriteString("; ")
		b.WriteString(e.hint)
	case e.Status == http.StatusForbidden && e.Permission != "":
		fmt.Fprintf(&b, "; the OAuth client's role needs permission %s", e.Permission)
	case e.Status == http.StatusTooManyRequests && e.RetryAfter > 0:
		fmt.Fprintf(&b, "; retry after %s", e.RetryAfter)
	}
	if e.ContextID != "" {
		fmt.Fprintf(&b, " [contextId %s]", e.ContextID)
	}
	return b.String()
}

// Is matches the sentinel of the status class.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest && !e.loginRefused
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.loginRefused
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrServer:
		return e.Status >= 500
	}
	return false
}

// maxErrorMessage bounds the message kept from an error body.
const maxErrorMessage = 500

// parseAPIError builds an *APIError from a response; body is the (bounded)
// response body. Non-JSON bodies (proxies, load balancers) keep a short
// printable excerpt.
func parseAPIError(endpoint string, status int, body []byte) *APIError {
	e := &APIError{Endpoint: endpoint, Status: status}
	var g struct {
		Message          string `json:"message"`
		Code             string `json:"code"`
		ContextID        string `json:"contextId"`
		Error            string `json:"error"`             // OAuth errors (login host)
		ErrorDescription string `json:"error_description"` // OAuth errors
		Description      string `json:"description"`
	}
	if json.Unmarshal(body, &g) == nil {
		e.Message, e.Code, e.ContextID = g.Message, g.Code, g.ContextID
		if e.Code == "" {
			e.Code = g.Error
		}
		if e.Message == "" {
			e.Message = g.ErrorDescription
		}
		if e.Message == "" {
			e.Message = g.Description
		}
	} else {
		e.Message = excerpt(body)
	}
	e.Message = truncate(e.Message, maxErrorMessage)
	e.Code = truncate(e.Code, 100)
	e.ContextID = truncate(e.ContextID, 100)
	return e
}

// excerpt returns a short single-line printable prefix of a non-JSON body.
func excerpt(body []byte) string {
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return ' '
		}
		return r
	}, string(body))
	return truncate(strings.Join(strings.Fields(s), " "), 120)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// InterruptedError is returned when the caller's context ends (Ctrl-C, a
// stopped poller, a deadline) while a request waits. It says what the
// request was waiting for, so an interrupted "check" or "traces fetch" does
// not end on a bare "context canceled". It unwraps to the context's error.
type InterruptedError struct {
	Host      string // host waited for, e.g. "login.mypurecloud.com"
	What      string // "OAuth token", "SIP trace search", …
	Attempt   int    // attempts started (0: none yet)
	State     string // where the request stood: "no answer yet", "failed; next attempt due in 2s", …
	LastError string // cause of the last failed attempt, "" if none; never a secret
	Err       error  // context.Canceled or context.DeadlineExceeded
}

// Error returns one line, e.g. "interrupted while waiting for
// login.mypurecloud.com (OAuth token; attempt 3, no answer yet, last error:
// 503 Service Unavailable)".
func (e *InterruptedError) Error() string {
	var b strings.Builder
	if errors.Is(e.Err, context.DeadlineExceeded) {
		b.WriteString("timed out")
	} else {
		b.WriteString("interrupted")
	}
	fmt.Fprintf(&b, " while waiting for %s (%s", e.Host, e.What)
	sep := "; "
	if e.Attempt > 0 {
		fmt.Fprintf(&b, "; attempt %d", e.Attempt)
		sep = ", "
	}
	if e.State != "" {
		b.WriteString(sep)
		b.WriteString(e.State)
		sep = ", "
	}
	if e.LastError != "" {
		b.WriteString(sep)
		b.WriteString("last error: ")
		b.WriteString(e.LastError)
	}
	b.WriteByte(')')
	return b.String()
}

// Unwrap returns the context's error.
func (e *InterruptedError) Unwrap() error { return e.Err }

// describe names what an endpoint obtains, for InterruptedError.
func describe(endpoint string) string {
	switch {
	case endpoint == "POST "+tokenPath:
		return "OAuth token"
	case endpoint == "GET "+siptracesPath:
		return "SIP trace search"
	case endpoint == "POST "+downloadPath:
		return "PCAP download request"
	case strings.HasPrefix(endpoint, "GET "+downloadPath+"/"):
		return "PCAP download status"
	case strings.HasPrefix(endpoint, "GET signed URL"):
		return "PCAP file"
	}
	return endpoint
}
