package genesys

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/genesys/fakegenesys"
	"golang.org/x/time/rate"
)

// A burst of 1,000 lookups never exceeds the per-minute budget. Time is
// scaled down 100×: the limiter runs 100× faster and the window is 600 ms.
func TestBurstStaysUnderRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("takes ~2.5 s")
	}
	const scale = 100
	window := time.Minute / scale
	f := newFake(t, fakegenesys.Options{})
	cfg := testConfig(f, nil)
	cfg.Limiter = rate.NewLimiter(rate.Every(time.Minute/LimiterPerMinute/scale), LimiterBurst)
	c := newClient(t, cfg)
	ctx := ctxT(t)
	const lookups, workers = 1000, 8
	var wg sync.WaitGroup
	errs := make(chan error, lookups)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < lookups; i += workers {
				q := query(time.Minute)
				q.CallID = fmt.Sprintf("call-%d", i)
				if _, err := c.Search(ctx, q); err != nil {
					errs <- err
				}
			}
		})
	}
	start := time.Now()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var times []time.Time
	for _, r := range f.Requests() {
		if r.Endpoint == fakegenesys.Search {
			times = append(times, r.Time)
		}
	}
	if len(times) != lookups {
		t.Fatalf("%d search requests, want %d", len(times), lookups)
	}
	got := maxInWindow(times, window)
	t.Logf("%d lookups in %s; max %d requests in any %s window (= 60 s unscaled)", lookups,
		time.Since(start).Round(time.Millisecond), got, window)
	if got > APIRequestsPerMinute {
		t.Fatalf("%d requests in a scaled 60-s window, limit %d", got, APIRequestsPerMinute)
	}
}

// Secrets never appear in error strings, logs, states or request URLs.
func TestSecretsNeverLeak(t *testing.T) {
	const secret = "Sup3r-Secret-Client-Value_42"
	f := fakegenesys.New(fakegenesys.Options{ClientSecret: secret, PendingPolls: 1, TokenTTL: time.Hour})
	defer f.Close()
	if err := f.AddRecord([]byte(homer(base, "c1", "1 INVITE", "INVITE", "+15551234"))); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	// retryablehttp must not log through the standard logger either.
	var std syncBuffer
	log.SetOutput(&std)
	defer log.SetOutput(os.Stderr)
	cfg := testConfig(f, logs)
	cfg.RequestTimeout = 150 * time.Millisecond
	cfg.RetryBudget = 400 * time.Millisecond
	c := newClient(t, cfg)
	ctx := ctxT(t)
	var texts []string
	note := func(err error) {
		if err != nil {
			texts = append(texts, err.Error(), fmt.Sprintf("%+v %#v", err, err))
		}
		texts = append(texts, c.State().String())
	}
	_, err := c.Search(ctx, query(time.Minute))
	note(err)
	_, err = c.DownloadPCAP(ctx, query(time.Minute), &bytes.Buffer{})
	note(err)
	f.ExpireTokens()
	for _, fault := range []fakegenesys.Fault{
		{Kind: fakegenesys.Status, Status: 401, Times: 2},
		{Kind: fakegenesys.Status, Status: 403},
		{Kind: fakegenesys.Status, Status: 429, RetryAfter: "60"},
		{Kind: fakegenesys.Status, Status: 503, Times: 50},
		{Kind: fakegenesys.Malformed},
		{Kind: fakegenesys.Hang, Times: 20},
		{Kind: fakegenesys.Status, Status: 400, Body: `{"message":"echo: ` + secret + `","code":"bad.request"}`},
	} {
		f.Inject(fakegenesys.Search, fault)
		q := query(time.Minute)
		q.ToUser = "+15551234"
		_, err := c.Search(ctx, q)
		if err == nil {
			t.Fatalf("fault %+v: no error", fault)
		}
		note(err)
	}
	res, err := c.Check(ctx, "")
	note(err)
	var b strings.Builder
	res.WriteTo(&b)
	texts = append(texts, b.String())

	bad := cfg
	bad.Credentials.ClientSecret = "Wrong-" + secret
	cb := newClient(t, bad)
	_, err = cb.Search(ctx, query(time.Minute))
	note(err)

	tokens := f.IssuedTokens()
	if len(tokens) < 2 {
		t.Fatalf("only %d tokens issued", len(tokens))
	}
	forbidden := append([]string{secret, base64.StdEncoding.EncodeToString([]byte(f.ClientID() + ":" + secret))}, tokens...)
	texts = append(texts, logs.String())
	// Errors and logs carry neither signed-URL signatures nor query strings
	// (phone numbers).
	for _, s := range []string{"X-Amz-Signature", "toUser", "+15551234"} {
		if strings.Contains(strings.Join(texts, "\n"), s) {
			i := strings.Index(strings.Join(texts, "\n"), s)
			j := strings.Join(texts, "\n")
			t.Fatalf("%q found in errors/logs: …%s…", s, j[max(0, i-100):min(len(j), i+300)])
		}
	}
	for _, r := range f.Requests() {
		texts = append(texts, r.Path+"?"+r.Query.Encode())
		if r.Endpoint == fakegenesys.Signed && r.AuthScheme != "" {
			t.Fatal("signed URL fetched with credentials")
		}
	}
	all := strings.Join(texts, "\n")
	for _, s := range forbidden {
		if strings.Contains(all, s) {
			t.Fatalf("secret %.6s… found in errors/logs/URLs", s)
		}
	}
	if std.String() != "" {
		t.Fatalf("standard logger output: %s", std.String())
	}
	if !strings.Contains(logs.String(), "genesys retrying") {
		t.Fatal("logger captured nothing; the test would prove nothing")
	}
}

// assertNoSecrets fails if the client secret, the Basic credentials made of
// it, or an access token f issued (f may be nil) appears in any of texts:
// error strings (also as %+v and %#v), log output, states.
func assertNoSecrets(t *testing.T, f *fakegenesys.Server, creds Credentials, texts ...string) {
	t.Helper()
	forbidden := []string{creds.ClientSecret, base64.StdEncoding.EncodeToString([]byte(creds.ClientID + ":" + creds.ClientSecret))}
	if f != nil {
		forbidden = append(forbidden, f.IssuedTokens()...)
	}
	all := strings.Join(texts, "\n")
	for _, s := range forbidden {
		if len(s) >= 4 && strings.Contains(all, s) {
			t.Fatalf("secret %.6s… found in errors/logs", s)
		}
	}
}

// errTexts renders err every way a caller might print it.
func errTexts(err error) []string {
	if err == nil {
		return nil
	}
	return []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
}
