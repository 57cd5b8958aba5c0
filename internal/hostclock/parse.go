package hostclock

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxReport bounds the daemon output a parser looks at: a tracking report
// is one line, a readvar answer well under 2 KiB.
const maxReport = 64 << 10

// maxSeconds bounds a parsed offset, delay or dispersion so sums of them
// cannot overflow a time.Duration (about 292 years); a report beyond it is
// not a clock report.
const maxSeconds = 1e8

// ParseChronyTracking parses the output of `chronyc -c tracking` (chrony
// 2.x to 4.x): one CSV line of 14 fields,
//
//	reference ID (hex), reference name or address, stratum, reference time
//	(epoch s), system time (s, positive: the system clock is slow), last
//	offset (s), RMS offset (s), frequency (ppm), residual frequency (ppm),
//	skew (ppm), root delay (s), root dispersion (s), update interval (s),
//	leap status
//
// as printed by chrony's client.c. A daemon following nothing (reference ID
// 00000000, leap status "Not synchronised"), or only its own local clock
// (reference ID 7F7F0101, the `local` directive), is not synchronised to
// UTC.
func ParseChronyTracking(out []byte) (*Daemon, error) {
	line, err := oneLine(out)
	if err != nil {
		return nil, fmt.Errorf("chronyc tracking: %w", err)
	}
	f := strings.Split(line, ",")
	if len(f) != 14 {
		return nil, fmt.Errorf("chronyc tracking: %d fields, want 14 (%q)", len(f), clip(line))
	}
	refID, err := strconv.ParseUint(f[0], 16, 32)
	if err != nil || len(f[0]) != 8 {
		return nil, fmt.Errorf("chronyc tracking: reference ID %q is not 8 hex digits", clip(f[0]))
	}
	stratum, err := strconv.Atoi(f[2])
	if err != nil || stratum < 0 || stratum > 16 {
		return nil, fmt.Errorf("chronyc tracking: stratum %q is not 0…16", clip(f[2]))
	}
	var v [5]time.Duration // system time, last, RMS, root delay, root dispersion
	for i, idx := range []int{4, 5, 6, 10, 11} {
		if v[i], err = seconds(f[idx], time.Second); err != nil {
			return nil, fmt.Errorf("chronyc tracking: field %d: %w", idx+1, err)
		}
	}
	for _, idx := range []int{3, 7, 8, 9, 12} { // numbers not used, still checked
		if x, err := strconv.ParseFloat(f[idx], 64); err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("chronyc tracking: field %d: %q is not a number", idx+1, clip(f[idx]))
		}
	}
	d := &Daemon{
		Name: "chrony", Reference: f[1], Stratum: stratum,
		Offset:     -v[0], // "System time" > 0 means the host clock is behind
		LastOffset: v[1], RMSOffset: v[2],
		RootDelay: v[3], RootDispersion: v[4],
	}
	if v[3] < 0 || v[4] < 0 {
		return nil, fmt.Errorf("chronyc tracking: negative root delay or dispersion (%q, %q)", f[10], f[11])
	}
	switch leap := f[13]; leap {
	case "Normal", "Insert second", "Delete second":
		d.Synced = true
	case "Not synchronised":
		d.Reason = "leap status Not synchronised"
	default:
		return nil, fmt.Errorf("chronyc tracking: leap status %q is not one chrony prints", clip(leap))
	}
	switch {
	case !d.Synced:
	case refID == 0:
		d.Synced, d.Reason = false, "no reference"
	case refID == 0x7F7F0101:
		// chrony prints no name for its local reference.
		d.Synced, d.Reason, d.Reference = false, "following only its own local clock (local directive)", "LOCAL"
	}
	if d.Reference == "" && refID != 0 {
		d.Reference = strings.ToUpper(f[0])
	}
	return d, nil
}

// ParseNtpqRV parses the system variables ntpd prints for `ntpq -n -c rv`
// (ntp 4.2.x and NTPsec):
//
//	associd=0 status=0615 leap_none, sync_ntp, 1 event, clock_sync,
//	version="ntpd 4.2.6p5@1.2349-o …", processor="x86_64", …, leap=00,
//	stratum=3, precision=-23, rootdelay=122.293, rootdisp=101.044,
//	refid=133.18.174.255, …, offset=0.671, frequency=0.146, …
//
// Times are in milliseconds; offset is the servers' time relative to this
// host (positive: the host clock is behind). The clock is unsynchronised
// when the leap indicator is 11 (alarm), from leap= or, without it, the
// status word's top two bits; stratum 16 says the same.
func ParseNtpqRV(out []byte) (*Daemon, error) {
	if len(out) > maxReport {
		return nil, fmt.Errorf("ntpq rv: %d bytes of output, more than a readvar answer", len(out))
	}
	vars, err := ntpVars(string(out))
	if err != nil {
		return nil, fmt.Errorf("ntpq rv: %w", err)
	}
	leap := -1
	if s, ok := vars["leap"]; ok {
		if leap, err = leapBits(s); err != nil {
			return nil, fmt.Errorf("ntpq rv: leap=%q: %w", clip(s), err)
		}
	} else if s, ok := vars["status"]; ok {
		w, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 16)
		if err != nil {
			return nil, fmt.Errorf("ntpq rv: status=%q is not a 16-bit hex word", clip(s))
		}
		leap = int(w >> 14)
	}
	if leap < 0 {
		return nil, errors.New("ntpq rv: neither leap= nor status= in the answer")
	}
	d := &Daemon{Name: "ntpd", Stratum: -1}
	if s, ok := vars["stratum"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 16 {
			return nil, fmt.Errorf("ntpq rv: stratum=%q is not 0…16", clip(s))
		}
		d.Stratum = n
	}
	d.Reference = vars["refid"]
	fields := []struct {
		name string
		dst  *time.Duration
		neg  bool
	}{
		{"offset", &d.Offset, true},
		{"rootdelay", &d.RootDelay, false},
		{"rootdisp", &d.RootDispersion, false},
	}
	for _, fl := range fields {
		s, ok := vars[fl.name]
		if !ok {
			if leap == 3 {
				continue // an unsynchronised daemon may omit them
			}
			return nil, fmt.Errorf("ntpq rv: no %s= in the answer", fl.name)
		}
		v, err := seconds(s, time.Millisecond)
		if err != nil {
			return nil, fmt.Errorf("ntpq rv: %s=: %w", fl.name, err)
		}
		if !fl.neg && v < 0 {
			return nil, fmt.Errorf("ntpq rv: %s=%q is negative", fl.name, clip(s))
		}
		if fl.neg {
			v = -v
		}
		*fl.dst = v
	}
	switch {
	case leap == 3:
		d.Reason = "leap indicator alarm (11)"
	case d.Stratum == 16:
		d.Reason = "stratum 16"
	case d.Reference == "INIT" || d.Reference == ".INIT.":
		d.Reason = "refid INIT"
	default:
		d.Synced = true
	}
	return d, nil
}

// ntpVars splits a readvar answer into name=value pairs. Values may be
// double-quoted (with commas and spaces inside); pairs are separated by
// commas, spaces and line breaks. Words without '=' — the status word's
// decoding ("leap_none", "sync_ntp", "1 event") and the dates ntpq prints
// after reftime= and clock= — are skipped. The first of repeated names
// counts.
func ntpVars(s string) (map[string]string, error) {
	const sep = " \t\r\n,"
	vars := map[string]string{}
	for {
		s = strings.TrimLeft(s, sep)
		i := strings.IndexAny(s, sep+"=")
		if i < 0 {
			break // the last word, without '='
		}
		if s[i] != '=' {
			s = s[i:] // a word that is not a pair
			continue
		}
		name := s[:i]
		s = s[i+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			q := strings.IndexByte(s[1:], '"')
			if q < 0 {
				return nil, fmt.Errorf("unterminated quoted value for %q", clip(name))
			}
			val, s = s[1:1+q], s[2+q:]
		} else {
			j := strings.IndexAny(s, sep)
			if j < 0 {
				j = len(s)
			}
			val, s = s[:j], s[j:]
		}
		if _, dup := vars[name]; name != "" && !dup {
			vars[name] = val
		}
	}
	if len(vars) == 0 {
		return nil, errors.New("no name=value pairs (not a readvar answer)")
	}
	return vars, nil
}

// leapBits reads a leap indicator as ntpq prints it: two binary digits
// ("00", "11") in ntp 4.2, or a number 0…3.
func leapBits(s string) (int, error) {
	if len(s) == 2 && strings.Trim(s, "01") == "" {
		n, _ := strconv.ParseUint(s, 2, 8)
		return int(n), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 3 {
		return 0, errors.New("not a leap indicator (00…11 or 0…3)")
	}
	return n, nil
}

// seconds parses a decimal number of units into a Duration, refusing what
// is not a finite plausible number.
func seconds(s string, unit time.Duration) (time.Duration, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a number", clip(s))
	}
	if math.Abs(v)*float64(unit) > maxSeconds*float64(time.Second) {
		return 0, fmt.Errorf("%q is out of range", clip(s))
	}
	return time.Duration(math.Round(v * float64(unit))), nil
}

// oneLine returns the only non-empty line of out.
func oneLine(out []byte) (string, error) {
	if len(out) > maxReport {
		return "", fmt.Errorf("%d bytes of output, more than one report", len(out))
	}
	t := bytes.TrimSpace(out)
	if len(t) == 0 {
		return "", errors.New("empty output")
	}
	if i := bytes.IndexAny(t, "\r\n"); i >= 0 {
		return "", fmt.Errorf("more than one line (%q …)", clip(string(t[:i])))
	}
	return string(t), nil
}

// clip shortens what an error message quotes.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
