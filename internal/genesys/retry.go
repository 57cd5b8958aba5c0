package genesys

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter caps a Retry-After value so absurd headers cannot overflow
// durations; RetryBudget then decides whether to wait at all.
const maxRetryAfter = 24 * time.Hour

// retryPolicy is the per-request state behind retryablehttp's CheckRetry and
// Backoff hooks: CheckRetry decides and computes the wait, Backoff returns
// it. Policy:
//
//   - 429 and 503: wait for Retry-After (delta-seconds or HTTP-date), or back
//     off exponentially when it is absent;
//   - other 5xx and network errors: exponential backoff with jitter (only for
//     idempotent requests; a POST is repeated only on 429/503, which promise
//     the request was not processed, or when the connection was never made);
//   - 400, 401 (handled by a token refresh), 403, 404 and other 4xx: no retry;
//   - never beyond RetryBudget: a wait that would end after it is not taken.
type retryPolicy struct {
	c          *Client
	start      time.Time
	idempotent bool
	endpoint   string
	attempts   int
	wait       time.Duration
}

func (p *retryPolicy) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	p.attempts++
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	var wait time.Duration
	var why string
	switch {
	case err != nil:
		if !p.idempotent && !notSent(err) {
			return false, nil
		}
		wait, why = p.expBackoff(), shortCause(err)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		d, ok := retryAfter(resp.Header, p.c.cfg.Now())
		if !ok {
			d = p.expBackoff()
		}
		wait, why = d, strconv.Itoa(resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			p.c.setState(State{Kind: StateRateLimited, Until: p.c.cfg.Now().Add(d)})
		}
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		if !p.idempotent {
			return false, nil
		}
		wait, why = p.expBackoff(), strconv.Itoa(resp.StatusCode)
	default:
		return false, nil
	}
	if time.Since(p.start)+wait > p.c.cfg.RetryBudget {
		p.c.log.Warn("genesys giving up: retry budget exhausted", "endpoint", p.endpoint,
			"cause", why, "attempts", p.attempts, "next_wait", wait.String())
		return false, nil
	}
	p.wait = wait
	p.c.log.Warn("genesys retrying", "endpoint", p.endpoint, "cause", why,
		"attempt", p.attempts, "wait", wait.String())
	return true, nil
}

func (p *retryPolicy) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	return p.wait
}

// expBackoff is RetryWaitMin·2^(n-1), capped at RetryWaitMax, with "equal
// jitter": half fixed, half random, so parallel clients spread out.
func (p *retryPolicy) expBackoff() time.Duration {
	return expJitter(p.c.cfg.RetryWaitMin, p.c.cfg.RetryWaitMax, p.attempts)
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
