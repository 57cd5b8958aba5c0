package genesys

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// maxRetryAfter caps a Retry-After value so absurd headers cannot overflow
// durations; RetryBudget then decides whether to wait at all.
const maxRetryAfter = 24 * time.Hour

// retryPolicy is the per-request state behind retryablehttp's hooks:
// RequestLogHook counts attempts, the response handler reads the body (so
// a body cut short is a failed attempt, retried like any other), CheckRetry
// decides and computes the wait, Backoff returns it. Policy:
//
//   - 429 and 503: wait for Retry-After (delta-seconds or HTTP-date), or back
//     off exponentially when it is absent;
//   - other 5xx, timeouts, connections reset or closed (also in the middle of
//     the body), temporary DNS failures: exponential backoff with jitter
//     (only for idempotent requests; a POST is repeated only on 429/503,
//     which promise the request was not processed, or when the connection
//     was never made);
//   - errors that do not clear by waiting are not retried: a host name that
//     does not resolve, a TLS certificate that does not verify, a server
//     that does not speak TLS, a connection refused on a URL given
//     explicitly (or on the proxy); see permanentCause;
//   - 400, 401 (handled by one token refresh in Client.call), 403, 404 and
//     other 4xx: no retry;
//   - never beyond RetryBudget: a wait that would end after it is not taken.
//
// Every attempt, retries included, passes the client's rate limiter.
type retryPolicy struct {
	c          *Client
	start      time.Time
	idempotent bool
	// fixed: the host was given explicitly (Config.APIURL/LoginURL), so a
	// refused connection is a configuration error, not an outage.
	fixed    bool
	endpoint string
	host     string
	// buffer: read the whole body (bounded) in the response handler.
	buffer bool
	body   []byte

	attempts  int // attempts started
	refusals  int // attempts refused (connection refused)
	wait      time.Duration
	retryAt   time.Time // when the next attempt is due (during a backoff)
	lastCause string    // cause of the last failed attempt, secret-free
	phase     phase     // what the request is waiting for now
	permanent string    // why the last failure was not retried
}

// phase is where a request stands, for InterruptedError.
type phase int

const (
	phaseAnswer  phase = iota // attempt sent, waiting for the status line
	phaseLimiter              // held by the client-side rate limiter
	phaseBody                 // reading the response body
	phaseBackoff              // waiting to retry
)

type policyKey struct{}

// policyFrom returns the policy of a request's context (nil for requests
// that are not the client's).
func policyFrom(ctx context.Context) *retryPolicy {
	p, _ := ctx.Value(policyKey{}).(*retryPolicy)
	return p
}

// requestHook runs before every attempt (i counts from 0).
func (p *retryPolicy) requestHook(_ retryablehttp.Logger, _ *http.Request, i int) {
	p.attempts = i + 1
	p.phase = phaseAnswer
}

// readBody is the response handler of buffered requests: reading the body
// inside retryablehttp's loop lets CheckRetry retry a body that breaks off.
func (p *retryPolicy) readBody(resp *http.Response) error {
	p.phase = phaseBody
	b, err := readAllLimited(resp.Body, p.c.cfg.MaxResponseBytes)
	resp.Body.Close()
	resp.Body = http.NoBody
	if err != nil {
		return err
	}
	p.body = b
	return nil
}

// errTooLarge is returned by readAllLimited for a body over the limit.
type errTooLarge struct{ limit int64 }

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("response larger than %d bytes", e.limit)
}

// bodyError is a failure reading a response body.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "reading the response: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

func (p *retryPolicy) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	var wait time.Duration
	var why string
	switch {
	case err != nil:
		why = shortCause(err)
		p.lastCause = why
		if perm := p.permanentCause(err); perm != "" {
			p.permanent = perm
			// Debug only: the error returned says the same, in one line.
			p.c.log.Debug("genesys not retrying", "endpoint", p.endpoint, "cause", why,
				"attempt", p.attempts, "reason", perm)
			return false, nil
		}
		if !p.idempotent && !notSent(err) {
			return false, nil
		}
		wait = p.expBackoff()
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		d, ok := retryAfter(resp.Header, p.c.cfg.Now())
		if !ok {
			d = p.expBackoff()
		}
		wait, why = d, statusText(resp.StatusCode)
		p.lastCause = why
		if resp.StatusCode == http.StatusTooManyRequests {
			p.c.setState(State{Kind: StateRateLimited, Until: p.c.cfg.Now().Add(d)})
		}
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		why = statusText(resp.StatusCode)
		p.lastCause = why
		if !p.idempotent {
			return false, nil
		}
		wait = p.expBackoff()
	default:
		return false, nil
	}
	if p.attempts > p.c.cfg.MaxRetries {
		p.c.log.Warn("genesys giving up: retries exhausted", "endpoint", p.endpoint,
			"cause", why, "attempts", p.attempts)
		return false, nil
	}
	if time.Since(p.start)+wait > p.c.cfg.RetryBudget {
		p.c.log.Warn("genesys giving up: retry budget exhausted", "endpoint", p.endpoint,
			"cause", why, "attempts", p.attempts, "next_wait", wait.String())
		return false, nil
	}
	p.wait = wait
	p.retryAt = time.Now().Add(wait)
	p.phase = phaseBackoff
	p.c.log.Warn("genesys retrying", "endpoint", p.endpoint, "cause", why,
		"attempt", p.attempts, "wait", wait.String())
	return true, nil
}

// wsaeConnRefused is Windows' WSAECONNREFUSED, which syscall does not name
// and syscall.ECONNREFUSED does not match there.
const wsaeConnRefused = syscall.Errno(10061)

// isRefused reports a refused TCP connection (nothing listens, or a
// firewall rejects).
func isRefused(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && (errno == syscall.ECONNREFUSED || errno == wsaeConnRefused)
}

// permanentCause returns why a transport error will not clear by retrying
// ("" when it may). A wait cannot fix these, and retrying them is what made
// a typo in the region take 90 s to report:
//
//   - DNS NXDOMAIN (net.DNSError.IsNotFound; temporary DNS failures and
//     timeouts are retried);
//   - TLS: certificate by an unknown authority, for another host name,
//     expired or otherwise invalid, or the server answered in plain HTTP;
//   - connection refused: on a URL given explicitly or on the proxy, a
//     configuration error (wrong port, nothing started); on the region's
//     own hosts, one retry. Genesys' API and login hosts are load balancers
//     that accept on 443 at all times, so a refusal comes from the local
//     path (a firewall rejecting, a stopped local proxy, a hosts-file
//     override) and will not clear within the retry budget either; the
//     single retry, RetryWaitMin later, only covers a network that is
//     being switched (VPN coming up);
//   - what retryablehttp's default policy also refuses to retry (too many
//     redirects, an unsupported scheme, an invalid header);
//   - a client-side rate-limiter wait that cannot fit the deadline, and a
//     body over MaxResponseBytes.
func (p *retryPolicy) permanentCause(err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		if p.fixed {
			return "the host name does not resolve; check the URL (--genesys-api-url, --genesys-login-url)"
		}
		return "the host name does not resolve; check the region (--genesys-region) and the DNS settings"
	}
	var unknownCA x509.UnknownAuthorityError
	if errors.As(err, &unknownCA) {
		return "the server's TLS certificate is not signed by a trusted authority; if a TLS-inspecting proxy is in the path, add its CA to the system trust store (or SSL_CERT_FILE)"
	}
	var badHost x509.HostnameError
	if errors.As(err, &badHost) {
		return "the server's TLS certificate is for another host name; check the URL"
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		if invalid.Reason == x509.Expired {
			return "the server's TLS certificate is expired or not yet valid; check the system clock"
		}
		return "the server's TLS certificate is invalid"
	}
	var verify *tls.CertificateVerificationError
	if errors.As(err, &verify) {
		return "the server's TLS certificate does not verify"
	}
	var plain tls.RecordHeaderError
	if errors.As(err, &plain) || errors.Is(err, http.ErrSchemeMismatch) {
		return "the server does not speak TLS on this port; check the URL's scheme and port"
	}
	var tooLarge *errTooLarge
	if errors.As(err, &tooLarge) {
		return "the response is too large"
	}
	var lim *limiterError
	if errors.As(err, &lim) {
		return "the client-side rate limit leaves no attempt before the deadline"
	}
	if isRefused(err) {
		var op *net.OpError
		switch {
		case errors.As(err, &op) && op.Op == "proxyconnect":
			return "the proxy refused the connection; check HTTPS_PROXY/HTTP_PROXY"
		case p.fixed:
			return "nothing accepts connections there; check the URL (--genesys-api-url, --genesys-login-url)"
		}
		p.refusals++
		if p.refusals > 1 {
			return "the connection was refused again; a firewall or local proxy may reject it"
		}
		return ""
	}
	if retry, _ := retryablehttp.DefaultRetryPolicy(context.Background(), nil, err); !retry {
		return "the request cannot succeed as made"
	}
	return ""
}

func (p *retryPolicy) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	return p.wait
}

// expBackoff is RetryWaitMin·2^(n-1), capped at RetryWaitMax, with "equal
// jitter": half fixed, half random, so parallel clients spread out.
func (p *retryPolicy) expBackoff() time.Duration {
	return expJitter(p.c.cfg.RetryWaitMin, p.c.cfg.RetryWaitMax, p.attempts)
}

// interrupted describes the request's wait when ctx ended.
func (p *retryPolicy) interrupted(ctxErr error) *InterruptedError {
	e := &InterruptedError{Host: p.host, What: describe(p.endpoint), Attempt: p.attempts,
		LastError: p.lastCause, Err: ctxErr}
	switch p.phase {
	case phaseLimiter:
		e.State = "held by the client-side rate limit"
	case phaseBody:
		e.State = "reading the response"
	case phaseBackoff:
		e.State = "failed; next attempt due in " + time.Until(p.retryAt).Round(time.Millisecond).String()
	default:
		e.State = "no answer yet"
	}
	return e
}

func expJitter(lo, hi time.Duration, attempt int) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	if d > hi {
		d = hi
	}
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// notSent reports a transport error raised before the request reached the
// server (dial failure), so even a POST may be repeated.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// statusText is "503 Service Unavailable".
func statusText(code int) string {
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

// retryAfter parses Retry-After (RFC 9110 §10.2.3): delta-seconds or an
// HTTP-date relative to now. Negative results become 0.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		if n > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		switch {
		case d < 0:
			return 0, true
		case d > maxRetryAfter:
			return maxRetryAfter, true
		}
		return d, true
	}
	return 0, false
}
