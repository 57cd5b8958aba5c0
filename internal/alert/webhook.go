package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Webhook posts alerts as JSON, one request per alert, from its own
// goroutine. Send never blocks: when the queue is full (the endpoint is down
// or slow) the alert is dropped and counted, because the capture must not
// wait for anyone.
type Webhook struct {
	url    string
	client *retryablehttp.Client
	log    *slog.Logger
	queue  chan Alert
	done   chan struct{}
	once   sync.Once

	sent, failed, dropped atomic.Uint64
}

// WebhookOptions tune a Webhook; zero values take defaults.
type WebhookOptions struct {
	QueueSize  int           // 1024
	Timeout    time.Duration // per attempt, 5 s
	RetryMax   int           // retries after the first attempt, 3
	RetryWait  time.Duration // first backoff, 500 ms (doubling, at most 5 s)
	HTTPClient *http.Client  // for tests
}

// NewWebhook validates rawURL and starts the sender.
func NewWebhook(rawURL string, log *slog.Logger, opt WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--alert-webhook: %q is not an http(s) URL", rawURL)
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = 1024
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Second
	}
	if opt.RetryMax <= 0 {
		opt.RetryMax = 3
	}
	if opt.RetryWait <= 0 {
		opt.RetryWait = 500 * time.Millisecond
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := retryablehttp.NewClient()
	c.Logger = nil // our own log lines; never print URLs with their query
	c.RetryMax = opt.RetryMax
	c.RetryWaitMin = opt.RetryWait
	c.RetryWaitMax = 10 * opt.RetryWait
	if opt.HTTPClient != nil {
		c.HTTPClient = opt.HTTPClient
	}
	c.HTTPClient.Timeout = opt.Timeout
	w := &Webhook{url: rawURL, client: c, log: log, queue: make(chan Alert, opt.QueueSize), done: make(chan struct{})}
	go w.run()
	return w, nil
}

// Send queues an alert; it never blocks.
func (w *Webhook) Send(a Alert) {
	select {
	case w.queue <- a:
	default:
		if w.dropped.Add(1) == 1 {
			w.log.Warn("alert webhook is not keeping up; dropping alerts")
		}
	}
}

func (w *Webhook) run() {
	defer close(w.done)
	for a := range w.queue {
		body, _ := json.Marshal(a)
		req, err := retryablehttp.NewRequest(http.MethodPost, w.url, bytes.NewReader(body))
		if err != nil {
			w.failed.Add(1)
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "genesys-sip")
		resp, err := w.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				w.sent.Add(1)
				continue
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		w.failed.Add(1)
		w.log.Warn("alert webhook failed", "status", a.Status, "frame", a.Frame, "err", redactURL(err, w.url))
	}
}

// Close stops accepting alerts and waits until the queue is sent or ctx
// ends.
func (w *Webhook) Close(ctx context.Context) {
	w.once.Do(func() { close(w.queue) })
	select {
	case <-w.done:
	case <-ctx.Done():
	}
}

// Stats returns how many alerts were sent, failed and dropped.
func (w *Webhook) Stats() (sent, failed, dropped uint64) {
	return w.sent.Load(), w.failed.Load(), w.dropped.Load()
}

// redactURL keeps a webhook's query string (often a token) out of logs.
func redactURL(err error, raw string) string {
	s := err.Error()
	if u, perr := url.Parse(raw); perr == nil && u.RawQuery != "" {
		s = string(bytes.ReplaceAll([]byte(s), []byte(u.RawQuery), []byte("…")))
	}
	return s
}
