package correlate

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestAppendTimeMatchesLayout(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000000Z"
	rng := rand.New(rand.NewPCG(1, 2))
	times := []time.Time{
		time.Date(2026, 11, 25, 10, 5, 1, 123456789, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 23, 59, 59, 999999999, time.FixedZone("x", -5*3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 1000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for range 10000 {
		times = append(times, time.Unix(0, rng.Int64N(1<<62)).In(time.FixedZone("y", 3600)))
	}
	for _, tm := range times {
		if got, want := string(AppendTime(nil, tm)), tm.UTC().Format(layout); got != want {
			t.Fatalf("AppendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}
