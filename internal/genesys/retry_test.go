package genesys

import (
	"net/http"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"2", 2 * time.Second, true},
		{" 0 ", 0, true},
		{"120", 2 * time.Minute, true},
		{"99999999999999999999", 0, false}, // overflows uint64: not a delta
		{"9999999999", maxRetryAfter, true},
		{"Wed, 25 Nov 2026 10:00:30 GMT", 30 * time.Second, true},
		{"Wed, 25 Nov 2026 09:00:00 GMT", 0, true},
		{"Sun, 06 Nov 2099 08:49:37 GMT", maxRetryAfter, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.in != "" {
			h.Set("Retry-After", tt.in)
		}
		got, ok := retryAfter(h, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestExpJitter(t *testing.T) {
	for attempt := 1; attempt <= 12; attempt++ {
		ceil := time.Second << (attempt - 1)
		if ceil > 30*time.Second {
			ceil = 30 * time.Second
		}
		for i := 0; i < 50; i++ {
			d := expJitter(time.Second, 30*time.Second, attempt)
			if d < ceil/2 || d > ceil {
				t.Fatalf("attempt %d: %s outside [%s, %s]", attempt, d, ceil/2, ceil)
			}
		}
	}
}

// maxInWindow returns the largest number of times within any window.
func maxInWindow(times []time.Time, window time.Duration) int {
	best, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= window {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// The real limiter, driven by a greedy caller on a simulated clock, never
// allows more than 300 requests in any 60-s window.
func TestRealLimiterConfiguration(t *testing.T) {
	lim := NewLimiter()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var times []time.Time
	for range 1000 {
		r := lim.ReserveN(now, 1)
		if !r.OK() {
			t.Fatal("reservation refused")
		}
		now = now.Add(r.DelayFrom(now))
		times = append(times, now)
	}
	got := maxInWindow(times, time.Minute)
	if got > APIRequestsPerMinute {
		t.Fatalf("%d requests in a 60-s window, limit %d", got, APIRequestsPerMinute)
	}
	if got > LimiterBurst+LimiterPerMinute || got < LimiterPerMinute {
		t.Fatalf("max in window = %d, want about burst+rate = %d", got, LimiterBurst+LimiterPerMinute)
	}
	t.Logf("max %d requests in any 60-s window; 1000 requests take %s", got, times[len(times)-1].Sub(times[0]))
	if total := times[len(times)-1].Sub(times[0]); total < 4*time.Minute {
		t.Fatalf("1000 requests in %s", total)
	}
	if lim.Limit() != rate.Limit(float64(LimiterPerMinute)/60) {
		t.Fatalf("limit = %v", lim.Limit())
	}
}
