package genesys

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/genesys/fakegenesys"
	"golang.org/x/time/rate"
)

// resilienceSecret is the fake's client secret in these tests: distinctive,
// so a leak is found.
const resilienceSecret = "Res1lience-Secret-Value_9f2K"

// countingDialer counts TCP dials and can send every dial to one address
// (to reach a loopback server under another host name).
type countingDialer struct {
	n    atomic.Int32
	to   string // "" dials the address asked for
	dial net.Dialer
}

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.n.Add(1)
	if d.to != "" {
		addr = d.to
	}
	return d.dial.DialContext(ctx, network, addr)
}

// transport returns a transport dialing through d; roots, when set, are
// the only trusted CAs.
func (d *countingDialer) transport(roots *x509.CertPool) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = d.DialContext
	if roots != nil {
		tr.TLSClientConfig.RootCAs = roots
	}
	return tr
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// fakeDNS is a UDP DNS server on loopback that answers every query with
// rcode (3 NXDOMAIN, 2 SERVFAIL) and counts the queries. It lets a test run
// Go's own resolver, and the real *net.DNSError, without the network.
func fakeDNS(t *testing.T, rcode byte) (*net.Resolver, *atomic.Int32) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var n atomic.Int32
	go func() {
		buf := make([]byte, 1500)
		for {
			m, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:m]
			// Header (12 bytes), then the question: labels to a zero
			// byte, then QTYPE and QCLASS.
			end := 12
			for end < len(q) && q[end] != 0 {
				end += int(q[end]) + 1
			}
			end += 5
			if len(q) < 12 || end > len(q) {
				continue
			}
			n.Add(1)
			resp := append([]byte{q[0], q[1], 0x81, 0x80 | rcode, 0, 1, 0, 0, 0, 0, 0, 0}, q[12:end]...)
			_, _ = pc.WriteTo(resp, from)
		}
	}()
	addr := pc.LocalAddr().String()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
	return r, &n
}

// TestTransientFaultsRetried: faults that clear are retried and the call
// succeeds. The body faults (reset, closed or stalled in the middle of the
// body) were not retried before the body was read inside retryablehttp's
// loop.
func TestTransientFaultsRetried(t *testing.T) {
	tests := []struct {
		name   string
		ep     fakegenesys.Endpoint
		fault  fakegenesys.Fault
		want   int // requests to ep
		minDur time.Duration
	}{
		{"500 then success", fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 500}, 2, 0},
		{"502, 503, 504 then success", fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 503, Times: 3}, 4, 0},
		{"slow response beyond the timeout", fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Slow, Delay: time.Second}, 2, 300 * time.Millisecond},
		{"body stalls beyond the timeout", fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.SlowBody, Delay: time.Second}, 2, 300 * time.Millisecond},
		{"connection reset mid-body", fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.ResetBody}, 2, 0},
		{"connection closed mid-body", fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.TruncateBody}, 2, 0},
		{"token: connection reset mid-body", fakegenesys.Token, fakegenesys.Fault{Kind: fakegenesys.ResetBody, Times: 2}, 3, 0},
		{"429 with Retry-After 0", fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 429, RetryAfter: "0"}, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, fakegenesys.Options{ClientSecret: resilienceSecret})
			f.Inject(tt.ep, tt.fault)
			logs := &syncBuffer{}
			cfg := testConfig(f, logs)
			cfg.RequestTimeout = 300 * time.Millisecond
			c := newClient(t, cfg)
			start := time.Now()
			recs, err := c.Search(ctxT(t), query(time.Minute))
			el := time.Since(start)
			if err != nil {
				t.Fatalf("err = %v\nlog:\n%s", err, logs.String())
			}
			if len(recs) != 1 {
				t.Fatalf("records = %d, want 1", len(recs))
			}
			if n := f.Count(tt.ep); n != tt.want {
				t.Fatalf("%s requests = %d, want %d", tt.ep, n, tt.want)
			}
			if el < tt.minDur || el > 3*time.Second {
				t.Fatalf("took %s, want %s..3s", el, tt.minDur)
			}
			if !strings.Contains(logs.String(), "genesys retrying") {
				t.Fatalf("no retry logged:\n%s", logs.String())
			}
			assertNoSecrets(t, f, cfg.Credentials, logs.String(), c.State().String())
			t.Logf("%s: %s, %d requests", tt.name, el.Round(time.Millisecond), f.Count(tt.ep))
		})
	}
}

// TestPermanentErrorsNotRetried: errors that do not clear by waiting fail
// at once, after one attempt, in one line that names the host and the
// cause. Before, each was retried for ~90 s (8 retries with backoff).
func TestPermanentErrorsNotRetried(t *testing.T) {
	type setup struct {
		cfg    Config
		dialer *countingDialer
		want   []string // substrings of the error
	}
	nxdomain := func(t *testing.T) (*net.Resolver, *atomic.Int32) { return fakeDNS(t, 3) }
	tests := []struct {
		name      string
		make      func(t *testing.T, cfg Config) setup
		wantDials int32 // -1: no dial counter
	}{
		{"no such host (.invalid, RFC 6761)", func(t *testing.T, cfg Config) setup {
			cfg.LoginURL = "https://login.genesys-sip-test.invalid"
			cfg.APIURL = "https://api.genesys-sip-test.invalid"
			d := &countingDialer{}
			cfg.Transport = d.transport(nil)
			return setup{cfg, d, []string{"login.genesys-sip-test.invalid", "no such host", "not retried", "1 attempt in"}}
		}, 0},
		{"no such host (DNS answers NXDOMAIN)", func(t *testing.T, cfg Config) setup {
			r, queries := nxdomain(t)
			t.Cleanup(func() {
				if queries.Load() == 0 {
					t.Error("the fake DNS server got no query")
				}
			})
			d := &countingDialer{}
			d.dial.Resolver = r
			cfg.LoginURL = "https://login.genesys-sip-typo.example"
			cfg.Transport = d.transport(nil)
			return setup{cfg, d, []string{"login.genesys-sip-typo.example", "no such host", "check the URL", "1 attempt in"}}
		}, 1},
		{"connection refused, URL given", func(t *testing.T, cfg Config) setup {
			addr := closedAddr(t)
			cfg.LoginURL = "http://" + addr
			d := &countingDialer{}
			cfg.Transport = d.transport(nil)
			return setup{cfg, d, []string{addr, "connection refused", "check the URL", "1 attempt in"}}
		}, 1},
		{"connection refused, region default: one retry", func(t *testing.T, cfg Config) setup {
			cfg.LoginURL, cfg.APIURL = "", ""
			cfg.Region = "mypurecloud.ie"
			d := &countingDialer{to: closedAddr(t)}
			cfg.Transport = d.transport(nil)
			return setup{cfg, d, []string{"login.mypurecloud.ie", "connection refused", "refused again", "2 attempts in"}}
		}, 2},
		{"TLS certificate by an unknown authority", func(t *testing.T, cfg Config) setup {
			tf := fakegenesys.New(fakegenesys.Options{TLS: true, ClientSecret: resilienceSecret})
			t.Cleanup(tf.Close)
			cfg.LoginURL, cfg.APIURL = tf.URL, tf.URL
			d := &countingDialer{}
			cfg.Transport = d.transport(nil)
			return setup{cfg, d, []string{tf.URL, "certificate signed by unknown authority", "not retried", "trust store", "1 attempt in"}}
		}, 1},
		{"TLS certificate for another host name", func(t *testing.T, cfg Config) setup {
			tf := fakegenesys.New(fakegenesys.Options{TLS: true, ClientSecret: resilienceSecret})
			t.Cleanup(tf.Close)
			roots := x509.NewCertPool()
			roots.AddCert(tf.Certificate())
			d := &countingDialer{to: strings.TrimPrefix(tf.URL, "https://")}
			cfg.LoginURL, cfg.APIURL = "https://login.genesys-sip-test.example", "https://api.genesys-sip-test.example"
			cfg.Transport = d.transport(roots)
			return setup{cfg, d, []string{"login.genesys-sip-test.example", "certificate is valid for", "another host name", "1 attempt in"}}
		}, 1},
		{"plain HTTP server on an https URL", func(t *testing.T, cfg Config) setup {
			cfg.LoginURL = strings.Replace(cfg.LoginURL, "http://", "https://", 1)
			d := &countingDialer{}
			cfg.Transport = d.transport(nil)
			return setup{cfg, d, []string{"HTTP response to HTTPS client", "does not speak TLS", "1 attempt in"}}
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, fakegenesys.Options{ClientSecret: resilienceSecret})
			logs := &syncBuffer{}
			base := testConfig(f, logs)
			// Defaults as in production: a wrongly retried error would take
			// seconds, not milliseconds.
			base.RetryWaitMin, base.RetryWaitMax, base.RetryBudget = DefaultRetryWaitMin, DefaultRetryWaitMax, DefaultRetryBudget
			s := tt.make(t, base)
			c := newClient(t, s.cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			res, err := c.Check(ctx, "")
			el := time.Since(start)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			step := res.Steps[0]
			if step.OK || step.Name != "login host reachable" {
				t.Fatalf("first step = %+v", step)
			}
			for _, w := range s.want {
				if !strings.Contains(step.Detail, w) {
					t.Errorf("error lacks %q: %s", w, step.Detail)
				}
			}
			if strings.Contains(step.Detail, "\n") {
				t.Errorf("error is not one line: %q", step.Detail)
			}
			limit := time.Second
			if tt.wantDials == 2 {
				limit += DefaultRetryWaitMin // the one retry of a refusal on a region host
			}
			if el > limit {
				t.Errorf("took %s, want < %s", el, limit)
			}
			if n := s.dialer.n.Load(); n != tt.wantDials {
				t.Errorf("dials = %d, want %d", n, tt.wantDials)
			}
			if tt.wantDials < 2 && strings.Contains(logs.String(), "genesys retrying") {
				t.Errorf("retried:\n%s", logs.String())
			}
			if f.Count(fakegenesys.Token) != 0 {
				t.Errorf("the fake got a token request")
			}
			if st := c.State(); st.Kind != StateUnreachable {
				t.Errorf("state = %s", st)
			}
			assertNoSecrets(t, f, s.cfg.Credentials, step.Detail, logs.String(), c.State().String())
			t.Logf("%s: %s, %d dial(s): %s", tt.name, el.Round(time.Millisecond), s.dialer.n.Load(), step.Detail)
		})
	}
}

// TestTemporaryDNSFailureRetried: a DNS server failure (SERVFAIL) may
// clear, unlike NXDOMAIN, and is retried.
func TestTemporaryDNSFailureRetried(t *testing.T) {
	f := newFake(t, fakegenesys.Options{ClientSecret: resilienceSecret})
	r, queries := fakeDNS(t, 2)
	logs := &syncBuffer{}
	cfg := testConfig(f, logs)
	cfg.MaxRetries = 2
	d := &countingDialer{}
	d.dial.Resolver = r
	cfg.LoginURL = "https://login.genesys-sip-servfail.example"
	cfg.Transport = d.transport(nil)
	c := newClient(t, cfg)
	_, err := c.Search(ctxT(t), query(time.Minute))
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if d.n.Load() != 3 || queries.Load() < 3 {
		t.Fatalf("dials = %d, DNS queries = %d; want 3 dials", d.n.Load(), queries.Load())
	}
	assertNoSecrets(t, f, cfg.Credentials, append(errTexts(err), logs.String())...)
}

// TestInterruptedSaysWhatItWaitedFor: when the context ends, the error
// names the host, what was awaited, the attempt and the last error, not a
// bare "context canceled".
func TestInterruptedSaysWhatItWaitedFor(t *testing.T) {
	tests := []struct {
		name   string
		faults map[fakegenesys.Endpoint][]fakegenesys.Fault
		opts   fakegenesys.Options
		run    func(ctx context.Context, c *Client) error
		want   string // after "interrupted while waiting for HOST "
	}{
		{"check, login host not answering",
			map[fakegenesys.Endpoint][]fakegenesys.Fault{fakegenesys.Token: {{Kind: fakegenesys.Hang}}}, fakegenesys.Options{},
			func(ctx context.Context, c *Client) error { _, err := c.Check(ctx, ""); return err },
			"check: interrupted while waiting for HOST (OAuth token; attempt 1, no answer yet)"},
		{"check, login host answering 503",
			map[fakegenesys.Endpoint][]fakegenesys.Fault{fakegenesys.Token: {{Kind: fakegenesys.Status, Status: 503, Times: 2}, {Kind: fakegenesys.Hang}}}, fakegenesys.Options{},
			func(ctx context.Context, c *Client) error { _, err := c.Check(ctx, ""); return err },
			"check: interrupted while waiting for HOST (OAuth token; attempt 3, no answer yet, last error: 503 Service Unavailable)"},
		{"check, waiting to retry",
			map[fakegenesys.Endpoint][]fakegenesys.Fault{fakegenesys.Token: {{Kind: fakegenesys.Status, Status: 503, RetryAfter: "5"}}}, fakegenesys.Options{},
			func(ctx context.Context, c *Client) error { _, err := c.Check(ctx, ""); return err },
			"check: interrupted while waiting for HOST (OAuth token; attempt 1, failed; next attempt due in "},
		{"check, API host not answering",
			map[fakegenesys.Endpoint][]fakegenesys.Fault{fakegenesys.Search: {{Kind: fakegenesys.Hang}}}, fakegenesys.Options{},
			func(ctx context.Context, c *Client) error { _, err := c.Check(ctx, ""); return err },
			"check: interrupted while waiting for HOST (SIP trace search; attempt 1, no answer yet)"},
		{"traces fetch, body stalled",
			map[fakegenesys.Endpoint][]fakegenesys.Fault{fakegenesys.Search: {{Kind: fakegenesys.SlowBody, Delay: time.Minute}}}, fakegenesys.Options{},
			func(ctx context.Context, c *Client) error { _, err := c.Search(ctx, query(time.Minute)); return err },
			"interrupted while waiting for HOST (SIP trace search; attempt 1, reading the response)"},
		{"traces pcap, download not ready",
			nil, fakegenesys.Options{PendingPolls: 1000},
			func(ctx context.Context, c *Client) error {
				_, err := c.DownloadPCAP(ctx, query(time.Minute), &strings.Builder{})
				return err
			},
			"interrupted while waiting for HOST (PCAP download dl-0001-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.ClientSecret = resilienceSecret
			f := newFake(t, tt.opts)
			for ep, fs := range tt.faults {
				f.Inject(ep, fs...)
			}
			logs := &syncBuffer{}
			cfg := testConfig(f, logs)
			cfg.DownloadPollMin, cfg.DownloadPollMax = time.Second, time.Second
			c := newClient(t, cfg)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			start := time.Now()
			err := tt.run(ctx, c)
			if el := time.Since(start); el > 2*time.Second {
				t.Fatalf("returned %s after the cancel", el)
			}
			want := strings.ReplaceAll(tt.want, "HOST", strings.TrimPrefix(f.URL, "http://"))
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("err = %v\nwant   %s…", err, want)
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err does not match context.Canceled: %v", err)
			}
			assertNoSecrets(t, f, cfg.Credentials, append(errTexts(err), logs.String())...)
			t.Log(err)
		})
	}
}

// TestPollerStopSaysWhatItWaitedFor: a poller stopped in the middle of a
// poll logs what that poll was waiting for, and reports no error.
func TestPollerStopSaysWhatItWaitedFor(t *testing.T) {
	f := newFake(t, fakegenesys.Options{ClientSecret: resilienceSecret})
	f.Inject(fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 502}, fakegenesys.Fault{Kind: fakegenesys.Hang})
	logs := &syncBuffer{}
	c := newClient(t, testConfig(f, logs))
	var errs []error
	p, err := c.Poll(context.Background(), PollConfig{Interval: time.Hour, OnError: func(err error) { errs = append(errs, err) }})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.Count(fakegenesys.Search) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.Stop()
	want := "interrupted while waiting for " + strings.TrimPrefix(f.URL, "http://") +
		" (SIP trace search; attempt 2, no answer yet, last error: 502 Bad Gateway)"
	if !strings.Contains(logs.String(), "genesys poller stopped during a poll") || !strings.Contains(logs.String(), want) {
		t.Fatalf("log lacks %q:\n%s", want, logs.String())
	}
	if len(errs) != 0 {
		t.Fatalf("OnError called on stop: %v", errs)
	}
	assertNoSecrets(t, f, testConfig(f, nil).Credentials, logs.String())
}

// TestBurstOf429sStaysUnderRateLimit: a burst of 429s, on the login host
// and on the API, from 8 concurrent callers, never brings more than 300
// requests into any 60-s window: every attempt, token requests included,
// passes the limiter. Time is scaled down 100× as in
// TestBurstStaysUnderRateLimit. Before, token requests bypassed the
// limiter and a 429 burst on /oauth/token went out at the speed of the
// retries.
func TestBurstOf429sStaysUnderRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("takes ~2 s")
	}
	const scale = 100
	window := time.Minute / scale
	f := newFake(t, fakegenesys.Options{ClientSecret: resilienceSecret})
	f.Inject(fakegenesys.Token, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 429, RetryAfter: "0", Times: 250})
	f.Inject(fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 429, RetryAfter: "0", Times: 250})
	logs := &syncBuffer{}
	cfg := testConfig(f, logs)
	cfg.Limiter = rate.NewLimiter(rate.Every(time.Minute/LimiterPerMinute/scale), LimiterBurst)
	c := newClient(t, cfg)
	ctx := ctxT(t)
	const lookups, workers = 120, 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	ok := 0
	for w := range workers {
		wg.Go(func() {
			for i := w; i < lookups; i += workers {
				q := query(time.Minute)
				q.CallID = fmt.Sprintf("call-%d", i)
				_, err := c.Search(ctx, q)
				mu.Lock()
				if err != nil {
					if !errors.Is(err, ErrRateLimited) {
						t.Errorf("err = %v, want ErrRateLimited", err)
					}
					errs = append(errs, errTexts(err)...)
				} else {
					ok++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var times []time.Time
	for _, r := range f.Requests() {
		times = append(times, r.Time)
	}
	got := maxInWindow(times, window)
	t.Logf("%d requests (%d lookups, %d ok); max %d in any %s window (= 60 s unscaled)", len(times), lookups, ok, got, window)
	if got > APIRequestsPerMinute {
		t.Fatalf("%d requests in a scaled 60-s window, limit %d", got, APIRequestsPerMinute)
	}
	if ok == 0 {
		t.Fatal("no lookup succeeded after the burst")
	}
	assertNoSecrets(t, f, cfg.Credentials, append(errs, logs.String())...)
}
