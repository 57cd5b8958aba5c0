package correlate

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Skew is the clock offset between Genesys and the capture, estimated from
// same-message pairs.
//
// For a message Genesys sent, record time - wire time = offset - transit;
// for one it received, offset + transit (transit: one-way delay between the
// capture point and Genesys). The pairs are grouped by sender: the senders
// whose pairs sit lowest are Genesys' side. The offset is the midpoint of
// the two groups' medians, the transit half their distance; medians make the
// estimate robust to outliers (retransmissions, queueing).
type Skew struct {
	// Offset is the Genesys clock minus the capture clock; positive means
	// Genesys is ahead.
	Offset time.Duration
	// Transit is the estimated one-way delay (0 when only one direction
	// was seen).
	Transit time.Duration
	// Spread is the robust spread of the pairs around the estimate
	// (1.4826 × median absolute deviation, comparable to a standard
	// deviation).
	Spread time.Duration
	// Pairs is how many same-message pairs the estimate uses.
	Pairs int
	// Fixed means the offset was given (--clock-offset), not estimated.
	Fixed bool
	// OneWay means only one direction was seen: Offset then includes the
	// one-way transit.
	OneWay bool
	// genesys holds the addresses classified as Genesys' side.
	genesys map[netip.Addr]bool
}

// Direction says who sent a record's message, from Genesys' side: "out"
// (Genesys sent it), "in" (Genesys received it) or "" when unknown.
func (s Skew) Direction(src, dst netip.Addr) string {
	switch {
	case s.genesys[src]:
		return "out"
	case s.genesys[dst]:
		return "in"
	}
	return ""
}

// WarnThreshold is where clocks are off by more than NTP keeps them.
const WarnThreshold = 50 * time.Millisecond

// Large reports whether the offset exceeds WarnThreshold.
func (s Skew) Large() bool { return s.Offset > WarnThreshold || s.Offset < -WarnThreshold }

// String is the one-line report used in the log and the section comment.
func (s Skew) String() string {
	switch {
	case s.Fixed:
		return fmt.Sprintf("clock offset %s (given by --clock-offset)", FormatDuration(s.Offset))
	case s.Pairs == 0:
		return "clock offset unknown (no same-message pairs)"
	}
	how := fmt.Sprintf("one-way transit %s", FormatDuration(s.Transit))
	if s.OneWay {
		how = "one direction only: includes the one-way transit"
	}
	return fmt.Sprintf("clock offset %s (Genesys minus capture; spread ±%s over %d pairs; %s)",
		FormatDuration(s.Offset), FormatDuration(s.Spread)[1:], s.Pairs, how)
}

// estimate computes the skew from the pairs made so far.
func (e *Engine) estimate() Skew {
	var s Skew
	if e.opt.Offset != nil {
		s.Offset, s.Fixed = *e.opt.Offset, true
	}
	type pair struct {
		sender netip.Addr
		d      time.Duration
	}
	pairs := make([]pair, 0, len(e.matches))
	for _, m := range e.matches {
		sender := m.Record.SrcIP
		if !sender.IsValid() {
			sender = m.WireSrc.Addr()
		}
		pairs = append(pairs, pair{sender: sender, d: m.Record.Time.Sub(m.WireTime)})
	}
	s.Pairs = len(pairs)
	if len(pairs) == 0 {
		return s
	}
	// Median per sender, then split the senders at the widest gap between
	// consecutive medians: below it, Genesys' side.
	// One backing array for all senders' durations, cut by count.
	count := map[netip.Addr]int{}
	for _, p := range pairs {
		count[p.sender]++
	}
	all := make([]time.Duration, 0, len(pairs))
	bySender := make(map[netip.Addr][]time.Duration, len(count))
	for a, n := range count {
		bySender[a], all = all[len(all):len(all):len(all)+n], all[:len(all)+n]
	}
	for _, p := range pairs {
		bySender[p.sender] = append(bySender[p.sender], p.d)
	}
	type senderMedian struct {
		addr netip.Addr
		med  time.Duration
	}
	var meds []senderMedian
	for a, ds := range bySender {
		meds = append(meds, senderMedian{a, median(ds)})
	}
	slices.SortFunc(meds, func(a, b senderMedian) int {
		if c := cmp.Compare(a.med, b.med); c != 0 {
			return c
		}
		return a.addr.Compare(b.addr)
	})
	split, gap := 0, time.Duration(-1)
	for i := 1; i < len(meds); i++ {
		if g := meds[i].med - meds[i-1].med; g > gap {
			split, gap = i, g
		}
	}
	low := map[netip.Addr]bool{}
	var lows, highs []time.Duration
	for i, m := range meds {
		if i < split {
			low[m.addr] = true
			lows = append(lows, bySender[m.addr]...)
		} else {
			highs = append(highs, bySender[m.addr]...)
		}
	}
	var offset, transit time.Duration
	if len(lows) == 0 {
		s.OneWay = true
		offset = median(highs)
	} else {
		lo, hi := median(lows), median(highs)
		offset, transit = (lo+hi)/2, (hi-lo)/2
		s.genesys = low
	}
	dev := make([]time.Duration, 0, len(pairs))
	for _, p := range pairs {
		want := offset
		if !s.OneWay {
			if low[p.sender] {
				want -= transit
			} else {
				want += transit
			}
		}
		r := p.d - want
		if r < 0 {
			r = -r
		}
		dev = append(dev, r)
	}
	s.Spread = time.Duration(1.4826 * float64(median(dev)))
	s.Transit = transit
	if !s.Fixed {
		s.Offset = offset
	}
	return s
}

// median returns the median; it reorders ds.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return ds[n/2-1] + (ds[n/2]-ds[n/2-1])/2
}

// FormatDuration writes a signed duration with its unit the way comments
// carry it: "+2.333s", "-850ms", "+0.4ms", "+0s".
func FormatDuration(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	switch {
	case d == 0:
		return "+0s"
	case d >= time.Second:
		return sign + trimZeros(fmt.Sprintf("%.3f", d.Seconds())) + "s"
	case d >= time.Millisecond:
		return sign + trimZeros(fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))) + "ms"
	}
	return sign + trimZeros(fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond))) + "µs"
}

func trimZeros(s string) string {
	for len(s) > 1 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}
