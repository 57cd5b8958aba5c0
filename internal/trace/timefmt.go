package trace

import (
	"math"
	"strconv"
	"time"
)

// Epoch units. unitAuto decides by magnitude (see parseEpoch).
const (
	unitAuto = 0
	unitSec  = int64(time.Second)
	unitMs   = int64(time.Millisecond)
	unitUs   = int64(time.Microsecond)
)

// Magnitude limits for epoch numbers of unknown unit. Any instant between
// 1973 and 5138 reads the same in only one unit, so a number below 1e11 is
// seconds, below 1e14 milliseconds, below 1e17 microseconds, and anything
// larger nanoseconds.
const (
	maxAutoSec = 1e11
	maxAutoMs  = 1e14
	maxAutoUs  = 1e17
)

// parseTime reads a timestamp from a JSON value: a number, or a string that
// holds either a number (epoch) or an RFC 3339 date-time with a zone. unit is
// the epoch unit the field name implies, or unitAuto. It returns Unix
// nanoseconds.
func parseTime(v []byte, unit int64) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	if c := v[0]; c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9') {
		if len(v) >= 11 && (v[4] == '-' && v[7] == '-') {
			return parseRFC3339(v)
		}
		return parseEpoch(v, unit)
	}
	return 0, false
}

// parseEpoch parses a decimal epoch "1764065101", "1764065101.123456" or, as
// a last resort, exponent notation.
func parseEpoch(v []byte, unit int64) (int64, bool) {
	var ip uint64
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		if ip > (math.MaxUint64-9)/10 {
			return 0, false
		}
		ip = ip*10 + uint64(v[i]-'0')
		i++
	}
	fracStart, fracEnd := i, i
	if i < len(v) && v[i] == '.' {
		i++
		fracStart = i
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		fracEnd = i
	}
	if i != len(v) || (fracStart == 0 && fracEnd == 0) {
		// Signs, exponents: rare enough to go through float64.
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) {
			return 0, false
		}
		return epochFloat(f, unit)
	}
	if ip == 0 && fracEnd == fracStart {
		return 0, false
	}
	if unit == unitAuto {
		switch {
		case ip < maxAutoSec:
			unit = unitSec
		case ip < maxAutoMs:
			unit = unitMs
		case ip < maxAutoUs:
			unit = unitUs
		default:
			unit = 1
		}
	}
	if ip > uint64(math.MaxInt64/unit) {
		return 0, false
	}
	ns := int64(ip) * unit
	// Fraction of one unit, to nanosecond precision.
	scale := unit / 10
	for k := fracStart; k < fracEnd && scale > 0; k++ {
		ns += int64(v[k]-'0') * scale
		scale /= 10
	}
	if ns <= 0 {
		return 0, false
	}
	return ns, true
}

func epochFloat(f float64, unit int64) (int64, bool) {
	if unit == unitAuto {
		switch {
		case f < maxAutoSec:
			unit = unitSec
		case f < maxAutoMs:
			unit = unitMs
		case f < maxAutoUs:
			unit = unitUs
		default:
			unit = 1
		}
	}
	ns := f * float64(unit)
	if ns >= math.MaxInt64 || ns < 1 {
		return 0, false
	}
	return int64(ns), true
}

// parseRFC3339 parses YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM) without
// allocating. A space or lower-case 't' may separate date and time; a zone is
// required, since a zone-less time on an unknown clock cannot be placed.
func parseRFC3339(v []byte) (int64, bool) {
	if len(v) < 20 {
		return 0, false
	}
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, mon, day := num(v[0:4]), num(v[5:7]), num(v[8:10])
	hh, mm, ss := num(v[11:13]), num(v[14:16]), num(v[17:19])
	if v[4] != '-' || v[7] != '-' || (v[10] != 'T' && v[10] != 't' && v[10] != ' ') ||
		v[13] != ':' || v[16] != ':' {
		return 0, false
	}
	if year < 0 || mon < 1 || mon > 12 || day < 1 || day > 31 || hh < 0 || hh > 23 ||
		mm < 0 || mm > 59 || ss < 0 || ss > 60 {
		return 0, false
	}
	rest := v[19:]
	var nsec int
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		k := 1
		scale := int(time.Second / 10)
		for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
			nsec += int(rest[k]-'0') * scale
			scale /= 10
			k++
		}
		if k == 1 {
			return 0, false
		}
		rest = rest[k:]
	}
	offset := 0
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, om := num(rest[1:3]), num(rest[4:6])
		if oh < 0 || oh > 23 || om < 0 || om > 59 {
			return 0, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	if ss == 60 { // leap second: the next second is as good as it gets
		ss = 59
		nsec = int(time.Second) - 1
	}
	t := time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, time.UTC)
	if t.Day() != day { // February 30 and friends
		return 0, false
	}
	t = t.Add(-time.Duration(offset) * time.Second)
	if t.Year() < 1678 || t.Year() > 2261 { // outside int64 nanoseconds
		return 0, false
	}
	return t.UnixNano(), true
}
