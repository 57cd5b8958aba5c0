package genesys

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/genesys/fakegenesys"
)

func newFake(t *testing.T, o fakegenesys.Options) *fakegenesys.Server {
	t.Helper()
	f := fakegenesys.New(o)
	t.Cleanup(f.Close)
	if err := f.AddRecord([]byte(homer(base, "c1", "1 INVITE", "INVITE", "+15551234"))); err != nil {
		t.Fatal(err)
	}
	return f
}

// The one test that waits in real time: Retry-After: 2 must be honoured.
func TestRetryAfterWaitsRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 2 s")
	}
	f := newFake(t, fakegenesys.Options{})
	f.Inject(fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 429, RetryAfter: "2"})
	c := newClient(t, testConfig(f, nil))
	start := time.Now()
	recs, err := c.Search(ctxT(t), query(time.Minute))
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("records = %d, want 1", len(recs))
	}
	if elapsed < 2*time.Second {
		t.Fatalf("returned after %s, want >= 2s (Retry-After: 2)", elapsed)
	}
	reqs := f.Requests()
	var times []time.Time
	for _, r := range reqs {
		if r.Endpoint == fakegenesys.Search {
			times = append(times, r.Time)
		}
	}
	if len(times) != 2 {
		t.Fatalf("search requests = %d, want 2 (one 429, one retry)", len(times))
	}
	if gap := times[1].Sub(times[0]); gap < 2*time.Second {
		t.Fatalf("retry came %s after the 429, want >= 2s", gap)
	}
	if s := c.State(); s.Kind != StateOK {
		t.Fatalf("state after success = %s, want ok", s)
	}
	t.Logf("elapsed %s, gap %s", elapsed.Round(time.Millisecond), times[1].Sub(times[0]).Round(time.Millisecond))
}

func TestRetryPolicy(t *testing.T) {
	unavailable := func(n int) fakegenesys.Fault {
		return fakegenesys.Fault{Kind: fakegenesys.Status, Status: 503, Times: n}
	}
	tests := []struct {
		name       string
		faults     []fakegenesys.Fault
		maxRetries int
		budget     time.Duration
		wantErr    error
		wantSearch int
	}{
		{"503 burst then success", []fakegenesys.Fault{unavailable(4)}, 8, 0, nil, 5},
		{"503 burst exceeds retries", []fakegenesys.Fault{unavailable(50)}, 3, 0, ErrServer, 4},
		{"503 with Retry-After beyond budget", []fakegenesys.Fault{{Kind: fakegenesys.Status, Status: 503, RetryAfter: "30"}}, 8, time.Second, ErrServer, 1},
		{"429 with Retry-After beyond budget", []fakegenesys.Fault{{Kind: fakegenesys.Status, Status: 429, RetryAfter: "120"}}, 8, time.Second, ErrRateLimited, 1},
		{"429 with Retry-After 0", []fakegenesys.Fault{{Kind: fakegenesys.Status, Status: 429, RetryAfter: "0"}}, 8, 0, nil, 2},
		{"500 then success", []fakegenesys.Fault{{Kind: fakegenesys.Status, Status: 500, Times: 2}}, 8, 0, nil, 3},
		{"502 and 504", []fakegenesys.Fault{{Kind: fakegenesys.Status, Status: 502}, {Kind: fakegenesys.Status, Status: 504}}, 8, 0, nil, 3},
		{"dropped connection", []fakegenesys.Fault{{Kind: fakegenesys.Disconnect}}, 8, 0, nil, 2},
		{"slow but in time", []fakegenesys.Fault{{Kind: fakegenesys.Slow, Delay: 50 * time.Millisecond}}, 8, 0, nil, 1},
		{"400 not retried", []fakegenesys.Fault{{Kind: fakegenesys.Status, Status: 400}}, 8, 0, ErrBadRequest, 1},
		{"404 not retried", []fakegenesys.Fault{{Kind: fakegenesys.Status, Status: 404}}, 8, 0, ErrNotFound, 1},
		{"403 not retried", []fakegenesys.Fault{{Kind: fakegenesys.Status, Status: 403}}, 8, 0, ErrForbidden, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, fakegenesys.Options{})
			f.Inject(fakegenesys.Search, tt.faults...)
			cfg := testConfig(f, nil)
			cfg.MaxRetries = tt.maxRetries
			if tt.budget > 0 {
				cfg.RetryBudget = tt.budget
			}
			c := newClient(t, cfg)
			start := time.Now()
			_, err := c.Search(ctxT(t), query(time.Minute))
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if n := f.Count(fakegenesys.Search); n != tt.wantSearch {
				t.Fatalf("search requests = %d, want %d", n, tt.wantSearch)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Fatalf("took %s; retries must be bounded", el)
			}
		})
	}
}

func TestRateLimitedStateAndError(t *testing.T) {
	f := newFake(t, fakegenesys.Options{})
	f.Inject(fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 429, RetryAfter: "90"})
	cfg := testConfig(f, nil)
	cfg.RetryBudget = time.Second
	clk := &fakeClock{t: base}
	cfg.Now = clk.Now
	c := newClient(t, cfg)
	_, err := c.Search(ctxT(t), query(time.Minute))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter != 90*time.Second || ae.Code != "too.many.requests.retry.after" {
		t.Fatalf("err = %#v", err)
	}
	s := c.State()
	if s.Kind != StateRateLimited || !s.Until.Equal(base.Add(90*time.Second)) {
		t.Fatalf("state = %+v", s)
	}
	if got := s.String(); got != "rate-limited until 10:01:30Z" {
		t.Fatalf("state string = %q", got)
	}
}

func TestTokenRefreshOn401(t *testing.T) {
	f := newFake(t, fakegenesys.Options{})
	c := newClient(t, testConfig(f, nil))
	ctx := ctxT(t)
	if _, err := c.Search(ctx, query(time.Minute)); err != nil {
		t.Fatal(err)
	}
	f.ExpireTokens()
	if _, err := c.Search(ctx, query(time.Minute)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := f.Count(fakegenesys.Token); n != 2 {
		t.Fatalf("token requests = %d, want exactly 2 (one refresh)", n)
	}
	if n := f.Count(fakegenesys.Search); n != 3 {
		t.Fatalf("search requests = %d, want 3 (ok, 401, retry)", n)
	}

	// A second 401 in a row is an auth error, after exactly one refresh.
	f.Inject(fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 401, Times: 2})
	_, err := c.Search(ctx, query(time.Minute))
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if n := f.Count(fakegenesys.Token); n != 3 {
		t.Fatalf("token requests = %d, want 3", n)
	}
	if s := c.State(); s.Kind != StateAuthError {
		t.Fatalf("state = %s", s)
	}
}

func TestTokenRefreshBeforeExpiry(t *testing.T) {
	f := newFake(t, fakegenesys.Options{TokenTTL: 100 * time.Second})
	cfg := testConfig(f, nil)
	clk := &fakeClock{t: time.Now()}
	cfg.Now = clk.Now
	c := newClient(t, cfg)
	ctx := ctxT(t)
	for _, step := range []struct {
		advance    time.Duration
		wantTokens int
	}{{0, 1}, {50 * time.Second, 1}, {39 * time.Second, 1}, {2 * time.Second, 2}, {80 * time.Second, 2}, {20 * time.Second, 3}} {
		clk.Advance(step.advance)
		if _, err := c.Search(ctx, query(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if n := f.Count(fakegenesys.Token); n != step.wantTokens {
			t.Fatalf("after +%s: token requests = %d, want %d", step.advance, n, step.wantTokens)
		}
	}
	if c.TokenFetches() != 3 {
		t.Fatalf("TokenFetches = %d", c.TokenFetches())
	}
}

func TestLoginRefused(t *testing.T) {
	f := newFake(t, fakegenesys.Options{})
	cfg := testConfig(f, nil)
	cfg.Credentials.ClientSecret = "wrong-secret-value"
	c := newClient(t, cfg)
	_, err := c.Search(ctxT(t), query(time.Minute))
	if !errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrBadRequest) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	for _, want := range []string{"invalid_client", "/oauth/token", "fake-client-id", "check the client id/secret"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if f.Count(fakegenesys.Search) != 0 {
		t.Fatal("searched without a token")
	}
	if s := c.State(); s.Kind != StateAuthError {
		t.Fatalf("state = %s", s)
	}
}

func TestForbiddenNamesPermission(t *testing.T) {
	tests := []struct {
		name  string
		perms []string
		run   func(*Client) error
		want  string
	}{
		{"search without view", []string{}, func(c *Client) error {
			_, err := c.Search(ctxT(t), query(time.Minute))
			return err
		}, PermissionView},
		{"download without add", []string{fakegenesys.PermView}, func(c *Client) error {
			_, err := c.DownloadPCAP(ctxT(t), query(time.Minute), &strings.Builder{})
			return err
		}, PermissionAdd},
		{"download status without view", []string{fakegenesys.PermAdd}, func(c *Client) error {
			_, err := c.DownloadPCAP(ctxT(t), query(time.Minute), &strings.Builder{})
			return err
		}, PermissionView},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, fakegenesys.Options{Permissions: tt.perms})
			c := newClient(t, testConfig(f, nil))
			err := tt.run(c)
			var ae *APIError
			if !errors.Is(err, ErrForbidden) || !errors.As(err, &ae) {
				t.Fatalf("err = %v, want ErrForbidden", err)
			}
			if ae.Permission != tt.want || !strings.Contains(err.Error(), "needs permission "+tt.want) {
				t.Fatalf("error %q does not name %s", err, tt.want)
			}
			if ae.Code != "missing.permissions" || ae.ContextID == "" {
				t.Fatalf("body not parsed: %+v", ae)
			}
			if s := c.State(); s.Kind != StateAuthError || !strings.Contains(s.String(), tt.want) {
				t.Fatalf("state = %s", s)
			}
		})
	}
}

func TestMalformedJSON(t *testing.T) {
	tests := []struct {
		name string
		ep   fakegenesys.Endpoint
		body string
		want string
	}{
		{"truncated search", fakegenesys.Search, "", "GET /api/v2/telephony/siptraces"},
		{"search array", fakegenesys.Search, `[1,2]`, "GET /api/v2/telephony/siptraces"},
		{"search data not array", fakegenesys.Search, `{"data":{"x":1}}`, "GET /api/v2/telephony/siptraces"},
		{"html from a proxy", fakegenesys.Search, `<html>bad gateway</html>`, "GET /api/v2/telephony/siptraces"},
		{"token", fakegenesys.Token, `{"access_token":`, "POST /oauth/token"},
		{"token without access_token", fakegenesys.Token, `{"expires_in":3600}`, "POST /oauth/token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, fakegenesys.Options{})
			f.Inject(tt.ep, fakegenesys.Fault{Kind: fakegenesys.Malformed, Body: tt.body})
			c := newClient(t, testConfig(f, nil))
			_, err := c.Search(ctxT(t), query(time.Minute))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrMalformed naming %q", err, tt.want)
			}
		})
	}
}

func TestHangingResponseTimesOut(t *testing.T) {
	f := newFake(t, fakegenesys.Options{})
	f.Inject(fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Hang, Times: 100})
	cfg := testConfig(f, nil)
	cfg.RequestTimeout = 200 * time.Millisecond
	cfg.RetryBudget = 600 * time.Millisecond
	c := newClient(t, cfg)
	start := time.Now()
	_, err := c.Search(ctxT(t), query(time.Minute))
	el := time.Since(start)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "no response within 200ms") {
		t.Fatalf("err = %v", err)
	}
	// Bound: the budget plus one attempt's timeout, plus slack.
	if limit := cfg.RetryBudget + cfg.RequestTimeout + 500*time.Millisecond; el > limit {
		t.Fatalf("gave up after %s, bound %s", el, limit)
	}
	if s := c.State(); s.Kind != StateUnreachable {
		t.Fatalf("state = %s", s)
	}
	t.Logf("gave up after %s, %d attempts: %v", el.Round(time.Millisecond), f.Count(fakegenesys.Search), err)
}

func TestUnreachableHost(t *testing.T) {
	f := newFake(t, fakegenesys.Options{})
	cfg := testConfig(f, nil)
	f.Close() // nothing listens any more
	cfg.RetryBudget = 200 * time.Millisecond
	c := newClient(t, cfg)
	_, err := c.Search(ctxT(t), query(time.Minute))
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "dateStart") {
		t.Fatalf("error carries the query string: %v", err)
	}
}

func TestNewValidation(t *testing.T) {
	creds := Credentials{ClientID: "id", ClientSecret: "secret"}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
		api     string
	}{
		{"default region", Config{Credentials: creds}, "", "https://api.mypurecloud.com"},
		{"aws name", Config{Credentials: creds, Region: "eu-central-2"}, "", "https://api.euc2.pure.cloud"},
		{"unknown region", Config{Credentials: creds, Region: "mars"}, "valid regions are mypurecloud.com", ""},
		{"override", Config{Credentials: creds, APIURL: "http://127.0.0.1:9/", LoginURL: "http://127.0.0.1:9"}, "", "http://127.0.0.1:9"},
		{"bad override", Config{Credentials: creds, APIURL: "ftp://x"}, "want http(s)://host", ""},
		{"override with query", Config{Credentials: creds, APIURL: "https://x/?a=b"}, "not allowed", ""},
		{"no credentials", Config{}, "GENESYS_CLIENT_ID", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.APIURL() != tt.api {
				t.Fatalf("APIURL = %s, want %s", c.APIURL(), tt.api)
			}
		})
	}
}

func TestAPIErrorIs(t *testing.T) {
	for status, want := range map[int]error{400: ErrBadRequest, 401: ErrUnauthorized, 403: ErrForbidden,
		404: ErrNotFound, 429: ErrRateLimited, 500: ErrServer, 503: ErrServer} {
		e := parseAPIError("GET /x", status, []byte(`{"message":"m","code":"c","status":1}`))
		if !errors.Is(e, want) {
			t.Errorf("%d is not %v", status, want)
		}
		for _, other := range []error{ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrRateLimited, ErrServer} {
			if other != want && errors.Is(e, other) {
				t.Errorf("%d also matches %v", status, other)
			}
		}
	}
	e := parseAPIError("GET /x", http.StatusBadGateway, []byte("<html>\n<b>Bad\x00 gateway</b></html>"))
	if e.Message != "<html> <b>Bad gateway</b></html>" {
		t.Errorf("excerpt = %q", e.Message)
	}
}
