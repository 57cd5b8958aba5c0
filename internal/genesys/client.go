package genesys

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"
)

// Defaults of Config.
const (
	DefaultRegion           = "mypurecloud.com"
	DefaultRequestTimeout   = 30 * time.Second
	DefaultRetryBudget      = 2 * time.Minute
	DefaultMaxRetries       = 8
	DefaultRetryWaitMin     = time.Second
	DefaultRetryWaitMax     = 30 * time.Second
	DefaultSearchWindow     = time.Hour
	DefaultMaxSearchSpan    = 7 * 24 * time.Hour
	DefaultDownloadTimeout  = 5 * time.Minute
	DefaultDownloadPollMin  = 2 * time.Second
	DefaultDownloadPollMax  = 15 * time.Second
	DefaultMaxResponseBytes = 256 << 20
)

// Rate limit: Genesys allows 300 requests per minute per token. The client
// keeps a margin: a steady 240/min plus a burst of 20, so any 60-s window
// holds at most 20 + 240 = 260 requests.
const (
	APIRequestsPerMinute = 300
	LimiterPerMinute     = 240
	LimiterBurst         = 20
)

// NewLimiter returns the client-side limiter used when Config.Limiter is nil.
func NewLimiter() *rate.Limiter {
	return rate.NewLimiter(rate.Every(time.Minute/LimiterPerMinute), LimiterBurst)
}

// Config configures a Client. Zero values take the defaults above.
type Config struct {
	// Region is a Genesys Cloud region domain or AWS name (see Regions);
	// empty means DefaultRegion.
	Region string
	// APIURL and LoginURL override the hosts derived from Region (proxies,
	// tests), e.g. "https://api.example.net". No path, query or user info.
	APIURL, LoginURL string
	// Credentials of the OAuth client (client credentials grant).
	Credentials Credentials

	RequestTimeout time.Duration // one HTTP attempt, including the body
	RetryBudget    time.Duration // all attempts of one request, waits included
	MaxRetries     int           // retries after the first attempt
	RetryWaitMin   time.Duration // first backoff of the exponential series
	RetryWaitMax   time.Duration // backoff cap (Retry-After is honoured beyond it, within RetryBudget)

	SearchWindow  time.Duration // longest dateStart..dateEnd of one siptraces request
	MaxSearchSpan time.Duration // longest window Search accepts (guards against typos)

	DownloadTimeout time.Duration // PCAP: waiting for the URL, and fetching it
	DownloadPollMin time.Duration // PCAP: first wait between status polls
	DownloadPollMax time.Duration // PCAP: longest wait between status polls

	MaxResponseBytes int64 // largest API response body read

	// Limiter paces every API attempt (retries included); nil: NewLimiter().
	Limiter *rate.Limiter
	// Transport carries all HTTP; nil: a clone of http.DefaultTransport, which
	// honours HTTPS_PROXY/NO_PROXY.
	Transport http.RoundTripper
	// Logger receives debug/info/warn records; nil discards them. Records
	// never contain secrets, query strings or phone numbers.
	Logger *slog.Logger
	// Now and Sleep replace the clock in tests (token expiry, Retry-After
	// dates, download and poll intervals). HTTP retry waits use real timers.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls the Genesys Cloud Platform API. It is safe for concurrent use.
type Client struct {
	cfg      Config
	region   string
	loginURL string
	apiURL   string
	api      *http.Client // bearer-token calls, rate limited
	login    *http.Client // token requests, rate limited too
	plain    *http.Client // signed URLs: never carries credentials
	log      *slog.Logger

	tokSem chan struct{} // one token fetch at a time

	mu       sync.Mutex
	tok      token
	oldToks  []string // recent tokens, scrubbed from error messages
	state    State
	fetchCnt int
}

type token struct {
	value     string
	expires   time.Time
	refreshAt time.Time
}

// New validates cfg and returns a Client. It makes no request.
func New(cfg Config) (*Client, error) {
	if err := cfg.Credentials.Validate(); err != nil {
		return nil, err
	}
	c := &Client{tokSem: make(chan struct{}, 1)}
	if cfg.APIURL == "" || cfg.LoginURL == "" || cfg.Region != "" {
		name := cfg.Region
		if name == "" {
			name = DefaultRegion
		}
		r, err := LookupRegion(name)
		if err != nil {
			return nil, err
		}
		c.region, c.apiURL, c.loginURL = r.Domain, r.APIURL(), r.LoginURL()
	}
	var err error
	if cfg.APIURL != "" {
		if c.apiURL, err = baseURL("API URL", cfg.APIURL); err != nil {
			return nil, err
		}
	}
	if cfg.LoginURL != "" {
		if c.loginURL, err = baseURL("login URL", cfg.LoginURL); err != nil {
			return nil, err
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.RequestTimeout, DefaultRequestTimeout)
	def(&cfg.RetryBudget, DefaultRetryBudget)
	def(&cfg.RetryWaitMin, DefaultRetryWaitMin)
	def(&cfg.RetryWaitMax, DefaultRetryWaitMax)
	def(&cfg.SearchWindow, DefaultSearchWindow)
	def(&cfg.MaxSearchSpan, DefaultMaxSearchSpan)
	def(&cfg.DownloadTimeout, DefaultDownloadTimeout)
	def(&cfg.DownloadPollMin, DefaultDownloadPollMin)
	def(&cfg.DownloadPollMax, DefaultDownloadPollMax)
	if cfg.RetryWaitMax < cfg.RetryWaitMin {
		cfg.RetryWaitMax = cfg.RetryWaitMin
	}
	if cfg.DownloadPollMax < cfg.DownloadPollMin {
		cfg.DownloadPollMax = cfg.DownloadPollMin
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	} else if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.Limiter == nil {
		cfg.Limiter = NewLimiter()
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	c.log = cfg.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.cfg = cfg
	c.api = &http.Client{Transport: &attemptTransport{cfg.Transport, cfg.Limiter, cfg.RequestTimeout}}
	// Token requests share the limiter: they are rare when all is well, but
	// a login host answering 429 or 5xx to every caller would otherwise be
	// hammered at the speed of the retries.
	c.login = &http.Client{Transport: &attemptTransport{cfg.Transport, cfg.Limiter, cfg.RequestTimeout}}
	c.plain = &http.Client{Transport: &attemptTransport{cfg.Transport, nil, cfg.DownloadTimeout}}
	return c, nil
}

// baseURL validates an override URL and returns it without a trailing slash.
func baseURL(what, s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("genesys: %s %q: want http(s)://host[:port]", what, s)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("genesys: %s: user info, query and fragment are not allowed", what)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// Region is the region domain the client was configured with ("" when both
// hosts are overridden).
func (c *Client) Region() string { return c.region }

// APIURL is the base URL of the Platform API host in use.
func (c *Client) APIURL() string { return c.apiURL }

// LoginURL is the base URL of the OAuth host in use.
func (c *Client) LoginURL() string { return c.loginURL }

// State returns the client's current view of the API, for the log and the
// toolbar.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *Client) setState(s State) {
	c.mu.Lock()
	changed := !c.state.same(s)
	if changed {
		s.Since = c.cfg.Now()
		c.state = s
	}
	c.mu.Unlock()
	if changed {
		c.log.Info("genesys API state", "state", s.String())
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attemptTransport bounds every attempt by a timeout that starts after the
// rate limiter let it through (an http.Client.Timeout would also count the
// limiter's wait) and ends when the body is closed.
type attemptTransport struct {
	base    http.RoundTripper
	limiter *rate.Limiter // nil: no pacing
	timeout time.Duration
}

// limiterError is a rate-limiter wait that failed: the context ended, or
// the wait would outlast its deadline.
type limiterError struct{ err error }

func (e *limiterError) Error() string { return "client-side rate limit: " + e.err.Error() }
func (e *limiterError) Unwrap() error { return e.err }

// isInvalidName reports a host under the "invalid" TLD, which RFC 6761
// §6.4 reserves as never resolving and asks resolver libraries to answer
// negatively at once; Go's resolver asks DNS, which may be slow or absent.
func isInvalidName(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return h == "invalid" || strings.HasSuffix(h, ".invalid")
}

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if h := req.URL.Hostname(); isInvalidName(h) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp",
			Err: &net.DNSError{Err: "no such host", Name: h, IsNotFound: true}}
	}
	if t.limiter != nil {
		p := policyFrom(req.Context())
		if p != nil {
			p.phase = phaseLimiter
		}
		err := t.limiter.Wait(req.Context())
		if p != nil {
			p.phase = phaseAnswer
		}
		if err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, &limiterError{err}
		}
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		if ctx.Err() == context.DeadlineExceeded && req.Context().Err() == nil {
			return nil, fmt.Errorf("no response within %s: %w", t.timeout, ctx.Err())
		}
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel, ctx: ctx, timeout: t.timeout}
	return resp, nil
}

// cancelOnClose releases the attempt's context when the body is closed and
// names the timeout when it cut the body short.
type cancelOnClose struct {
	io.ReadCloser
	cancel  context.CancelFunc
	ctx     context.Context
	timeout time.Duration
}

func (b *cancelOnClose) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("body not complete within %s: %w", b.timeout, err)
	}
	return n, err
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// scrub removes the client secret and recent access tokens from s.
func (c *Client) scrub(s string) string {
	c.mu.Lock()
	secrets := append([]string{c.cfg.Credentials.ClientSecret, c.tok.value}, c.oldToks...)
	c.mu.Unlock()
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	return s
}

// token returns a valid access token, fetching one when none is cached or
// the cached one reached its refresh time (90 % of its lifetime).
func (c *Client) token(ctx context.Context) (string, error) {
	select {
	case c.tokSem <- struct{}{}:
	case <-ctx.Done():
		return "", &InterruptedError{Host: hostOf(c.loginURL), What: "OAuth token",
			State: "another request is fetching one", Err: ctx.Err()}
	}
	defer func() { <-c.tokSem }()
	c.mu.Lock()
	t := c.tok
	c.mu.Unlock()
	if t.value != "" && c.cfg.Now().Before(t.refreshAt) {
		return t.value, nil
	}
	return c.fetchToken(ctx)
}

// invalidate drops the cached token if it is still v (another caller may
// already have refreshed it).
func (c *Client) invalidate(v string) {
	c.mu.Lock()
	if c.tok.value == v {
		c.tok = token{}
	}
	c.mu.Unlock()
}

// TokenFetches returns how many tokens the client obtained (tests, stats).
func (c *Client) TokenFetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetchCnt
}

const tokenPath = "/oauth/token"

func (c *Client) fetchToken(ctx context.Context) (string, error) {
	endpoint := "POST " + tokenPath
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/x-www-form-urlencoded")
	hdr.Set("Accept", "application/json")
	hdr.Set("Authorization", "Basic "+basicAuth(c.cfg.Credentials.ClientID, c.cfg.Credentials.ClientSecret))
	body := []byte(url.Values{"grant_type": {"client_credentials"}}.Encode())
	resp, err := c.send(ctx, c.login, http.MethodPost, c.loginURL+tokenPath, body, hdr, true, endpoint)
	if err != nil {
		return "", err
	}
	if resp.status != http.StatusOK {
		e := c.apiError(endpoint, resp)
		if resp.status == http.StatusBadRequest || resp.status == http.StatusUnauthorized {
			e.loginRefused = true
			e.hint = fmt.Sprintf("the login host refused client id %q; check the client id/secret and the region (%s)",
				c.cfg.Credentials.ClientID, c.loginURL)
			c.setState(State{Kind: StateAuthError, Detail: "login refused the client credentials"})
		}
		return "", e
	}
	var tr struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(resp.body, &tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("%w: %s: expected {\"access_token\":…,\"expires_in\":…}", ErrMalformed, endpoint)
	}
	if tt := strings.ToLower(tr.TokenType); tt != "" && tt != "bearer" {
		return "", fmt.Errorf("%w: %s: token_type %q, want bearer", ErrMalformed, endpoint, truncate(tr.TokenType, 20))
	}
	secs, ok := parseSeconds(tr.ExpiresIn)
	if !ok {
		// A token without a lifetime: assume a short one rather than fail.
		secs = 300
	}
	life := time.Duration(secs) * time.Second
	now := c.cfg.Now()
	c.mu.Lock()
	if c.tok.value != "" {
		c.oldToks = append(c.oldToks, c.tok.value)
		if len(c.oldToks) > 4 {
			c.oldToks = c.oldToks[1:]
		}
	}
	c.tok = token{value: tr.AccessToken, expires: now.Add(life), refreshAt: now.Add(life * 9 / 10)}
	c.fetchCnt++
	c.mu.Unlock()
	c.log.Debug("genesys token obtained", "expires_in", life.String())
	return tr.AccessToken, nil
}

// parseSeconds reads expires_in, a JSON number or numeric string.
func parseSeconds(raw json.RawMessage) (int64, bool) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		n = json.Number(s)
	}
	f, err := n.Float64()
	if err != nil || f <= 0 || f > 10*365*24*3600 {
		return 0, false
	}
	return int64(f), true
}

// basicAuth encodes id:secret as the Genesys SDKs do (no form-encoding of
// the parts, unlike RFC 6749 §2.3.1; Genesys ids and secrets are URL-safe).
func basicAuth(id, secret string) string {
	return base64Std(id + ":" + secret)
}

// request is one Platform API call.
type request struct {
	method     string
	path       string
	query      url.Values
	body       []byte // JSON
	permission string // needed permission, named on 403
	idempotent bool
}

// response is a fully read response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call performs an authenticated API request. A 401 refreshes the token
// once and repeats the request once. On a non-2xx status it returns both the
// response and an *APIError.
func (c *Client) call(ctx context.Context, r request) (*response, error) {
	endpoint := r.method + " " + r.path
	u := c.apiURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	for try := 0; ; try++ {
		tok, err := c.token(ctx)
		if err != nil {
			return nil, err
		}
		hdr := http.Header{}
		hdr.Set("Authorization", "Bearer "+tok)
		hdr.Set("Accept", "application/json")
		if r.body != nil {
			hdr.Set("Content-Type", "application/json")
		}
		resp, err := c.send(ctx, c.api, r.method, u, r.body, hdr, r.idempotent, endpoint)
		if err != nil {
			return nil, err
		}
		if resp.status == http.StatusUnauthorized && try == 0 {
			c.log.Info("genesys token refused; refreshing once", "endpoint", endpoint)
			c.invalidate(tok)
			continue
		}
		if resp.status >= 200 && resp.status < 300 {
			c.setState(State{Kind: StateOK})
			return resp, nil
		}
		e := c.apiError(endpoint, resp)
		switch {
		case resp.status == http.StatusUnauthorized:
			e.hint = "the API refused a freshly issued token; check the client id/secret and the region"
			c.setState(State{Kind: StateAuthError, Detail: "token refused (401)"})
		case resp.status == http.StatusForbidden:
			e.Permission = r.permission
			if r.permission != "" {
				e.hint = "the OAuth client's role needs permission " + r.permission
			}
			c.setState(State{Kind: StateAuthError, Detail: "missing permission " + r.permission})
		case resp.status == http.StatusTooManyRequests:
			c.setState(State{Kind: StateRateLimited, Until: c.cfg.Now().Add(e.RetryAfter)})
		case resp.status >= 500:
			c.setState(State{Kind: StateUnreachable, Detail: fmt.Sprintf("%s: %d", endpoint, resp.status)})
		}
		return resp, e
	}
}

func (c *Client) apiError(endpoint string, resp *response) *APIError {
	e := parseAPIError(endpoint, resp.status, resp.body)
	e.Message = c.scrub(e.Message)
	if d, ok := retryAfter(resp.header, c.cfg.Now()); ok {
		e.RetryAfter = d
	}
	return e
}

// send performs one logical request with the retry policy and reads the
// whole body (bounded by MaxResponseBytes). The body is read inside the
// retry loop, so a connection reset or closed in the middle of it is a
// failed attempt like any other.
func (c *Client) send(ctx context.Context, hc *http.Client, method, rawURL string, body []byte, hdr http.Header, idempotent bool, endpoint string) (*response, error) {
	resp, p, err := c.do(ctx, hc, method, rawURL, body, hdr, idempotent, endpoint, true)
	if err != nil {
		return nil, err
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: p.body}, nil
}

// sendStream performs one logical request with the retry policy and returns
// the response with its body unread.
func (c *Client) sendStream(ctx context.Context, hc *http.Client, method, rawURL string, body []byte, hdr http.Header, idempotent bool, endpoint string) (*http.Response, error) {
	resp, _, err := c.do(ctx, hc, method, rawURL, body, hdr, idempotent, endpoint, false)
	return resp, err
}

func (c *Client) do(ctx context.Context, hc *http.Client, method, rawURL string, body []byte, hdr http.Header, idempotent bool, endpoint string, buffer bool) (*http.Response, *retryPolicy, error) {
	var raw any
	if body != nil {
		raw = body
	}
	host := hostOf(rawURL)
	p := &retryPolicy{c: c, start: time.Now(), idempotent: idempotent, endpoint: endpoint, host: host, buffer: buffer,
		fixed: (hc == c.api && c.cfg.APIURL != "") || (hc == c.login && c.cfg.LoginURL != "")}
	req, err := retryablehttp.NewRequestWithContext(context.WithValue(ctx, policyKey{}, p), method, rawURL, raw)
	if err != nil {
		return nil, nil, fmt.Errorf("genesys: %s: building the request: %w", endpoint, sanitizeErr(err))
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "genesys-sip")
	if buffer {
		req.SetResponseHandler(p.readBody)
	}
	rc := &retryablehttp.Client{
		HTTPClient:     hc,
		Logger:         nil, // its messages would carry URLs; we log ourselves
		RetryWaitMin:   c.cfg.RetryWaitMin,
		RetryWaitMax:   c.cfg.RetryWaitMax,
		RetryMax:       c.cfg.MaxRetries,
		CheckRetry:     p.checkRetry,
		Backoff:        p.backoff,
		RequestLogHook: p.requestHook,
		ErrorHandler:   retryablehttp.PassthroughErrorHandler,
	}
	resp, err := rc.Do(req)
	elapsed := time.Since(p.start).Round(time.Millisecond)
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if ctx.Err() != nil {
			return nil, nil, p.interrupted(ctx.Err())
		}
		var tooLarge *errTooLarge
		if errors.As(err, &tooLarge) {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrMalformed, endpoint, tooLarge)
		}
		c.setState(State{Kind: StateUnreachable, Detail: host + ": " + truncate(shortCause(err), 80)})
		tail := ""
		if p.permanent != "" {
			tail = "; not retried: " + p.permanent
		}
		return nil, nil, fmt.Errorf("%w: %s: %w (%s in %s%s)", ErrUnreachable, endpoint, sanitizeErr(err),
			plural(p.attempts, "attempt"), elapsed, tail)
	}
	c.log.Debug("genesys response", "endpoint", endpoint, "status", resp.StatusCode,
		"attempts", p.attempts, "elapsed", elapsed.String())
	return resp, p, nil
}

// readAllLimited reads r to the end, failing with *errTooLarge beyond limit
// bytes and with *bodyError when the read breaks off.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &bodyError{sanitizeErr(err)}
	}
	if int64(len(b)) > limit {
		return nil, &errTooLarge{limit}
	}
	return b, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Host
}

// sanitizeErr strips query strings and user info from URLs inside err: the
// query carries phone numbers, a signed URL's query carries its signature.
func sanitizeErr(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		return &url.Error{Op: ue.Op, URL: "(unparsable URL)", Err: ue.Err}
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
}

// shortCause is a brief, secret-free description of a transport error
// (without the URL, which can carry a query).
func shortCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return truncate(err.Error(), 160)
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
