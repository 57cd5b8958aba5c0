package trace

import (
	"errors"
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

// timeResult says what parseTime made of a value.
type timeResult uint8

const (
	timeBad   timeResult = iota // not a time in any accepted form
	timeOK                      // a time within [minTime, maxTime]
	timeRange                   // a well-formed time outside [minTime, maxTime]
)

// The representable range. Times are kept as int64 Unix nanoseconds, which
// end on 2262-04-11; and a trace record cannot predate the Unix epoch, so a
// time at or before it is a broken or placeholder value, not one to sort
// first. Outside this range a time is reported as out of range rather than
// wrapped around or clamped, which would silently misplace the record.
var (
	minTime = time.Unix(0, 1).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// timeRangeText describes the representable range in skip reports.
const timeRangeText = "after 1970-01-01 and before 2262-04-12"

// parseTime reads a timestamp from a JSON value: a number, or a string that
// holds either a number (epoch) or an RFC 3339 date-time with a zone. unit is
// the epoch unit the field name implies, or unitAuto. It returns Unix
// nanoseconds, always > 0 when the result is timeOK.
func parseTime(v []byte, unit int64) (int64, timeResult) {
	if len(v) == 0 {
		return 0, timeBad
	}
	if c := v[0]; c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9') {
		if len(v) >= 11 && (v[4] == '-' && v[7] == '-') {
			return parseRFC3339(v)
		}
		return parseEpoch(v, unit)
	}
	return 0, timeBad
}

// parseEpoch parses a decimal epoch "1764065101", "1764065101.123456" or, as
// a last resort, exponent notation. Zero and negative epochs, and numbers
// too large for int64 nanoseconds, are out of range.
func parseEpoch(v []byte, unit int64) (int64, timeResult) {
	var ip uint64
	i := 0
	big := false // more digits than a uint64 holds
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		if ip > (math.MaxUint64-9)/10 {
			big = true
		} else {
			ip = ip*10 + uint64(v[i]-'0')
		}
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
		if (err != nil && !errors.Is(err, strconv.ErrRange)) || math.IsNaN(f) {
			return 0, timeBad
		}
		return epochFloat(f, unit)
	}
	if big {
		return 0, timeRange
	}
	if ip == 0 && fracEnd == fracStart {
		return 0, timeRange // the epoch itself: a placeholder, not a time
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
		return 0, timeRange
	}
	ns := int64(ip) * unit
	// Fraction of one unit, to nanosecond precision.
	scale := unit / 10
	for k := fracStart; k < fracEnd && scale > 0; k++ {
		d := int64(v[k]-'0') * scale
		if ns > math.MaxInt64-d {
			return 0, timeRange
		}
		ns += d
		scale /= 10
	}
	if ns <= 0 {
		return 0, timeRange // "0.0000000001": before the first nanosecond
	}
	return ns, timeOK
}

func epochFloat(f float64, unit int64) (int64, timeResult) {
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
	// float64(MaxInt64) rounds up to 2^63, itself out of range.
	if ns >= math.MaxInt64 || ns < 1 {
		return 0, timeRange
	}
	return int64(ns), timeOK
}

// parseRFC3339 parses YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM) without
// allocating. A space or lower-case 't' may separate date and time; a zone is
// required, since a zone-less time on an unknown clock cannot be placed.
func parseRFC3339(v []byte) (int64, timeResult) {
	if len(v) < 20 {
		return 0, timeBad
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
		return 0, timeBad
	}
	if year < 0 || mon < 1 || mon > 12 || day < 1 || day > 31 || hh < 0 || hh > 23 ||
		mm < 0 || mm > 59 || ss < 0 || ss > 60 {
		return 0, timeBad
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
			return 0, timeBad
		}
		rest = rest[k:]
	}
	offset := 0
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, om := num(rest[1:3]), num(rest[4:6])
		if oh < 0 || oh > 23 || om < 0 || om > 59 {
			return 0, timeBad
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, timeBad
	}
	if ss == 60 { // leap second: the next second is as good as it gets
		ss = 59
		nsec = int(time.Second) - 1
	}
	t := time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, time.UTC)
	if t.Day() != day { // February 30 and friends
		return 0, timeBad
	}
	t = t.Add(-time.Duration(offset) * time.Second)
	if t.Before(minTime) || t.After(maxTime) {
		return 0, timeRange // UnixNano would wrap around
	}
	return t.UnixNano(), timeOK
}
