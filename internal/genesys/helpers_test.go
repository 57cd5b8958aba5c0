package genesys

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/genesys/fakegenesys"
	"golang.org/x/time/rate"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testConfig returns a Config pointing at fake with short waits, no rate
// limit, and a debug logger writing to logs.
func testConfig(fake *fakegenesys.Server, logs *syncBuffer) Config {
	cfg := Config{
		APIURL:          fake.URL,
		LoginURL:        fake.URL,
		Credentials:     Credentials{ClientID: fake.ClientID(), ClientSecret: fake.ClientSecret(), Source: "test"},
		RequestTimeout:  5 * time.Second,
		RetryBudget:     10 * time.Second,
		RetryWaitMin:    time.Millisecond,
		RetryWaitMax:    5 * time.Millisecond,
		DownloadPollMin: time.Millisecond,
		DownloadPollMax: 2 * time.Millisecond,
		DownloadTimeout: 5 * time.Second,
		Limiter:         rate.NewLimiter(rate.Inf, 1),
	}
	if logs != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return cfg
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// base is the time around which test records live.
var base = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// homer returns a Homer record as the API sends it (numbers as strings).
func homer(at time.Time, callid, cseq, method, toUser string) string {
	return fmt.Sprintf(`{"date":%q,"microTs":"%d","method":%q,"replyReason":"","ruri":"sip:%s@edge","ruriUser":%q,`+
		`"fromUser":"+15550001","toUser":%q,"callid":%q,"cseq":%q,"via1Branch":"z9hG4bK-%s-%s","sourceIp":"10.0.0.1",`+
		`"sourcePort":"5060","destinationIp":"10.0.0.2","destinationPort":"5060","proto":"udp",`+
		`"conversationId":"conv-1","msg":"%s sip:%s@edge SIP/2.0\r\nCall-ID: %s\r\n\r\n"}`,
		at.Format("2006-01-02T15:04:05.000Z"), at.UnixMicro(), method, toUser, toUser, toUser, callid, cseq,
		callid, cseq, method, toUser, callid)
}

func query(d time.Duration) Query { return Query{Start: base.Add(-d), End: base.Add(d)} }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
