package trace

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	ref := time.Date(2025, 11, 25, 10, 5, 1, 123456000, time.UTC)
	tests := []struct {
		in   string
		unit int64
		want time.Time
		ok   bool
	}{
		{"1764065101123456", unitUs, ref, true},
		{"1764065101123", unitMs, ref.Truncate(time.Millisecond), true},
		{"1764065101", unitAuto, ref.Truncate(time.Second), true},
		{"1764065101.123456", unitAuto, ref, true},
		{"1764065101123", unitAuto, ref.Truncate(time.Millisecond), true},
		{"1764065101123456", unitAuto, ref, true},
		{"1764065101123456789", unitAuto, ref.Add(789), true},
		{"1.764065101123456e9", unitAuto, ref, true},
		{"2025-11-25T10:05:01.123456Z", unitAuto, ref, true},
		{"2025-11-25T10:05:01.123456789Z", unitAuto, ref.Add(789), true},
		{"2025-11-25 10:05:01.123456z", unitAuto, ref, true},
		{"2025-11-25T05:05:01.123456-05:00", unitAuto, ref, true},
		{"2025-11-25T10:05:01Z", unitUs, ref.Truncate(time.Second), true},
		{"2025-11-25T10:05:01.123456", unitAuto, time.Time{}, false}, // no zone
		{"2025-02-30T10:05:01Z", unitAuto, time.Time{}, false},
		{"2025-11-25T24:05:01Z", unitAuto, time.Time{}, false},
		{"2025-11-25T10:05:01+25:00", unitAuto, time.Time{}, false},
		{"0", unitAuto, time.Time{}, false},
		{"-5", unitAuto, time.Time{}, false},
		{"99999999999999999999999", unitAuto, time.Time{}, false},
		{"soon", unitAuto, time.Time{}, false},
		{"", unitAuto, time.Time{}, false},
	}
	for _, tc := range tests {
		ns, ok := parseTime([]byte(tc.in), tc.unit)
		if ok != tc.ok || (ok && !time.Unix(0, ns).Equal(tc.want)) {
			t.Errorf("parseTime(%q) = %v %v, want %v %v", tc.in, time.Unix(0, ns).UTC(), ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2025-11-25T10:05:01.123456Z", "2025-11-25T05:05:01-05:00", "1764065101.5", "1e15", "1764065101123456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, ok := parseTime([]byte(s), unitAuto)
		if ok && ns <= 0 {
			t.Fatalf("%q: non-positive time %d", s, ns)
		}
		// Whatever RFC 3339 accepts with a zone, parseRFC3339 reads the same.
		if want, err := time.Parse(time.RFC3339Nano, s); err == nil && len(s) >= 20 && want.Year() >= 1678 && want.Year() <= 2261 {
			got, ok := parseRFC3339([]byte(s))
			if ok && got != want.UnixNano() {
				t.Fatalf("%q: got %v, want %v", s, time.Unix(0, got).UTC(), want.UTC())
			}
		}
	})
}
