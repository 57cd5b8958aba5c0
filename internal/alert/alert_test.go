package alert

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseCodes(t *testing.T) {
	c, err := ParseCodes(DefaultCodes)
	if err != nil || !c.Has(408) || !c.Has(503) || !c.Has(504) || c.Has(500) || c.Has(0) || c.Has(9999) {
		t.Fatalf("%v", err)
	}
	c, err = ParseCodes(" 500-599 , 408")
	if err != nil || !c.Has(550) || !c.Has(408) || c.Has(407) {
		t.Fatal(err)
	}
	for _, bad := range []string{"abc", "99", "700", "600-500", "5x3"} {
		if _, err := ParseCodes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestComment(t *testing.T) {
	a := Alert{Status: 503, Event: "503 Service Unavailable", GenesysCallID: "8d2f", CSeq: "1 INVITE",
		Src: netip.MustParseAddrPort("198.51.100.20:5060"), Dst: netip.MustParseAddrPort("203.0.113.10:5060")}
	got := string(a.AppendComment(nil))
	want := `genesys-alert: status=503 event="503 Service Unavailable" call=8d2f cseq="1 INVITE" src=198.51.100.20:5060 dst=203.0.113.10:5060`
	if got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
}

func TestWebhookRetriesAndNeverBlocks(t *testing.T) {
	var calls, ok atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // first attempt fails, retried
			return
		}
		var a Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil || a.Status != 503 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		ok.Add(1)
	}))
	defer srv.Close()
	w, err := NewWebhook(srv.URL+"/hook?token=secret", nil, WebhookOptions{RetryWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w.Send(Alert{Status: 503})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.Close(ctx)
	if sent, failed, _ := w.Stats(); sent != 1 || failed != 0 || ok.Load() != 1 || calls.Load() != 2 {
		t.Fatalf("sent %d failed %d ok %d calls %d", sent, failed, ok.Load(), calls.Load())
	}

	// A hanging endpoint: Send must still return at once, and overflow is
	// dropped and counted.
	// The handler reads the body first: only then does the server notice
	// the client hanging up.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer hang.Close()
	w2, _ := NewWebhook(hang.URL, nil, WebhookOptions{QueueSize: 4, Timeout: 50 * time.Millisecond, RetryMax: 1, RetryWait: time.Millisecond})
	start := time.Now()
	for i := 0; i < 100; i++ {
		w2.Send(Alert{Status: 408})
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("Send blocked for %s", d)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	w2.Close(ctx2)
	if _, _, dropped := w2.Stats(); dropped < 90 {
		t.Fatalf("dropped %d, want most of 100", dropped)
	}
	if _, err := NewWebhook("ftp://x", nil, WebhookOptions{}); err == nil {
		t.Fatal("ftp URL accepted")
	}
}
