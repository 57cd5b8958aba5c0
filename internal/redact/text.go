package redact

// minTextDigits is the shortest digit run Text redacts.
const minTextDigits = 6

// text redacts free text in place (see Text).
func (r *Redactor) text(b []byte) int {
	n := 0
	wordEnd, wordHex := -1, false // the alphanumeric word of the last run
	for i := 0; i < len(b); {
		if b[i] == '+' && i+1 < len(b) && b[i+1] != '0' {
			// A "+" number: digits joined by separators, as in display
			// names. Country codes never start with 0; "+0200" is a UTC
			// offset.
			j, digits := plusSpan(b, i+1)
			if digits >= minTextDigits {
				n += r.groups(b, i+1, j, ctxDisplay)
				i = j
				continue
			}
			i++
			continue
		}
		if !isDigit(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if j-i < minTextDigits || isTimestamp(b, i, j) {
			i = j
			continue
		}
		if i >= wordEnd { // a new word: classify it once
			wordEnd, wordHex = hexWord(b, i, j)
		}
		if !wordHex && !inUUID(b, i, j) {
			n += r.groups(b, i, j, ctxUser)
		}
		i = j
	}
	return n
}

// plusSpan returns the end of the digit group starting at b[i] and its
// number of digits (0 when b[i] is not a digit).
func plusSpan(b []byte, i int) (end, digits int) {
	end = i
	for j, seps := i, 0; j < len(b); j++ {
		kind, _ := unit(b, j, len(b), ctxDisplay)
		switch {
		case kind == uDigit:
			digits++
			seps = 0
			end = j + 1
		case kind == uSep && digits > 0 && seps < maxSeps:
			seps++
		default:
			return end, digits
		}
	}
	return end, digits
}

// isTimestamp reports whether the digit run b[i:j] is part of a time stamp:
// a fraction of a second ("10:05:01.123456"), a time after 'T'
// ("T100501"), a compact date ("20261125", "20261125100501…") or a Unix
// time in s, ms, µs or ns between 2001 and 2033 (10, 13, 16, 19 digits
// starting with 1).
func isTimestamp(b []byte, i, j int) bool {
	l := j - i
	if i >= 4 && (b[i-1] == '.' || b[i-1] == ',') && isDigit(b[i-2]) && isDigit(b[i-3]) && b[i-4] == ':' {
		return true
	}
	if i >= 1 && b[i-1] == 'T' && validClock(b[i:j]) {
		return true
	}
	if l >= 8 && l != 9 && l != 11 && l != 13 && validDate(b[i:i+8]) && validClock(b[i+8:j]) {
		return true
	}
	switch l {
	case 10, 13, 16, 19:
		return b[i] == '1' && (i == 0 || b[i-1] != '+')
	}
	return false
}

// validDate reports whether d (8 digits) is YYYYMMDD in 1900-2099.
func validDate(d []byte) bool {
	y := two(d[0:2])
	m, day := two(d[4:6]), two(d[6:8])
	return (y == 19 || y == 20) && m >= 1 && m <= 12 && day >= 1 && day <= 31
}

// validClock reports whether d is hh[mm[ss[fraction]]] or empty.
func validClock(d []byte) bool {
	for k, limit := range [...]int{23, 59, 60} {
		if len(d) <= 2*k {
			return true
		}
		if len(d) < 2*k+2 || two(d[2*k:2*k+2]) > limit {
			return false
		}
	}
	return true
}

func two(d []byte) int { return int(d[0]-'0')*10 + int(d[1]-'0') }

// hexWord returns the end of the alphanumeric word around the digit run
// b[i:j] and whether it is a hex id: hex digits with at least one letter, or
// a word starting with 0x.
func hexWord(b []byte, i, j int) (end int, hex bool) {
	l, r := i, j
	for l > 0 && isAlnum(b[l-1]) {
		l--
	}
	for r < len(b) && isAlnum(b[r]) {
		r++
	}
	if r-l > 2 && b[l] == '0' && b[l+1]|0x20 == 'x' {
		return r, true
	}
	hex, letter := true, false
	for _, c := range b[l:r] {
		hex = hex && isHex(c)
		letter = letter || isAlpha(c)
	}
	return r, hex && letter
}

// inUUID reports whether the digit run b[i:j] is part of a UUID.
func inUUID(b []byte, i, j int) bool {
	const uuidLen = 36
	if j-i > 12 {
		return false
	}
	for u := max(0, j-uuidLen); u <= i && u+uuidLen <= len(b); u++ {
		if isUUID(b[u : u+uuidLen]) {
			return true
		}
	}
	return false
}

// isUUID reports whether u (36 bytes) is 8-4-4-4-12 hex digits.
func isUUID(u []byte) bool {
	for k, c := range u {
		if k == 8 || k == 13 || k == 18 || k == 23 {
			if c != '-' {
				return false
			}
		} else if !isHex(c) {
			return false
		}
	}
	return true
}
