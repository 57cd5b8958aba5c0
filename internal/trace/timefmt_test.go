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
		res  timeResult
	}{
		{"1764065101123456", unitUs, ref, timeOK},
		{"1764065101123", unitMs, ref.Truncate(time.Millisecond), timeOK},
		{"1764065101", unitAuto, ref.Truncate(time.Second), timeOK},
		{"1764065101.123456", unitAuto, ref, timeOK},
		{"1764065101123", unitAuto, ref.Truncate(time.Millisecond), timeOK},
		{"1764065101123456", unitAuto, ref, timeOK},
		{"1764065101123456789", unitAuto, ref.Add(789), timeOK},
		{"1.764065101123456e9", unitAuto, ref, timeOK},
		{"2025-11-25T10:05:01.123456Z", unitAuto, ref, timeOK},
		{"2025-11-25T10:05:01.123456789Z", unitAuto, ref.Add(789), timeOK},
		{"2025-11-25 10:05:01.123456z", unitAuto, ref, timeOK},
		{"2025-11-25T05:05:01.123456-05:00", unitAuto, ref, timeOK},
		{"2025-11-25T10:05:01Z", unitUs, ref.Truncate(time.Second), timeOK},
		{"1970-01-01T00:00:00.000000001Z", unitAuto, time.Unix(0, 1), timeOK},
		{"2262-04-11T23:47:16.854775807Z", unitAuto, time.Unix(0, 1<<63-1), timeOK},
		{"2025-11-25T10:05:01.123456", unitAuto, time.Time{}, timeBad}, // no zone
		{"2025-02-30T10:05:01Z", unitAuto, time.Time{}, timeBad},
		{"2025-11-25T24:05:01Z", unitAuto, time.Time{}, timeBad},
		{"2025-11-25T10:05:01+25:00", unitAuto, time.Time{}, timeBad},
		{"soon", unitAuto, time.Time{}, timeBad},
		{"", unitAuto, time.Time{}, timeBad},
		{"1e", unitAuto, time.Time{}, timeBad},
		// Well-formed, but int64 nanoseconds after 1970 cannot hold them:
		// out of range, never wrapped around (the fuzzer found 1700 read as
		// a negative time).
		{"1700-01-01 00:00:00+00:00", unitAuto, time.Time{}, timeRange},
		{"1969-12-31T23:59:59Z", unitAuto, time.Time{}, timeRange},
		{"1970-01-01T00:00:00Z", unitAuto, time.Time{}, timeRange},
		{"1970-01-01T00:30:00+01:00", unitAuto, time.Time{}, timeRange},
		{"1677-09-21T00:12:43.145224192Z", unitAuto, time.Time{}, timeRange},
		{"2262-04-11T23:47:16.854775808Z", unitAuto, time.Time{}, timeRange},
		{"2262-04-12T00:00:00Z", unitAuto, time.Time{}, timeRange},
		{"9999-12-31T23:59:59.999999Z", unitAuto, time.Time{}, timeRange},
		{"253402300799999999", unitUs, time.Time{}, timeRange}, // 9999 as microTs
		{"9223372036.9", unitAuto, time.Time{}, timeRange},     // seconds: 2262 plus a fraction
		{"0", unitAuto, time.Time{}, timeRange},
		{"0.0000000001", unitAuto, time.Time{}, timeRange},
		{".0000000001e0", unitAuto, time.Time{}, timeRange},
		{"-5", unitAuto, time.Time{}, timeRange},
		{"1e400", unitAuto, time.Time{}, timeRange},
		{"99999999999999999999999", unitAuto, time.Time{}, timeRange},
	}
	for _, tc := range tests {
		ns, res := parseTime([]byte(tc.in), tc.unit)
		if res != tc.res || (res == timeOK && !time.Unix(0, ns).Equal(tc.want)) {
			t.Errorf("parseTime(%q) = %v %v, want %v %v", tc.in, time.Unix(0, ns).UTC(), res, tc.want, tc.res)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2025-11-25T10:05:01.123456Z", "2025-11-25T05:05:01-05:00", "1764065101.5", "1e15", "1764065101123456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, res := parseTime([]byte(s), unitAuto)
		if res == timeOK && ns <= 0 {
			t.Fatalf("%q: non-positive time %d", s, ns)
		}
		if res != timeOK && ns != 0 {
			t.Fatalf("%q: result %v with time %d", s, res, ns)
		}
		// Whatever RFC 3339 accepts with a zone, parseRFC3339 reads the
		// same, or calls out of range exactly what int64 nanoseconds after
		// 1970 cannot hold.
		if want, err := time.Parse(time.RFC3339Nano, s); err == nil && len(s) >= 20 {
			got, res := parseRFC3339([]byte(s))
			inRange := !want.Before(minTime) && !want.After(maxTime)
			switch {
			case res == timeOK && (!inRange || got != want.UnixNano()):
				t.Fatalf("%q: got %v, want %v", s, time.Unix(0, got).UTC(), want.UTC())
			case res == timeRange && inRange:
				t.Fatalf("%q: out of range, want %v", s, want.UTC())
			}
		}
	})
}
