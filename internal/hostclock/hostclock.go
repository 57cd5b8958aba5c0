// Package hostclock reads how well the capture host's clock is synchronised,
// once, at capture start.
//
// The clock-skew estimate against Genesys Cloud (the annotations' skew=)
// is Genesys clock minus capture clock. It says something about Genesys
// only when the capture clock itself is close to UTC: the project's rule is
// an NTP offset under 50 ms (Limit). This package tells the analyst, in the
// section comment and the toolbar, whether that holds.
//
// Sources, best first: chrony (`chronyc -n -c tracking`), ntpd
// (`ntpq -n -c rv`), and the kernel's own view (adjtimex(2) with modes 0,
// a pure read). Each daemon query has a short timeout and the whole read
// stays within Budget; nothing here ever fails a capture — what cannot be
// read is reported as Unknown. Only Linux is probed; elsewhere Read
// returns Unknown.
package hostclock

import (
	"fmt"
	"strings"
	"time"
)

// Limit is the largest offset (or error bound) of the capture host's clock
// for which the clock-skew estimate against Genesys Cloud means anything.
const Limit = 50 * time.Millisecond

// Budget bounds how long Read may take, all probes included. A capture must
// not wait on a daemon that does not answer.
const Budget = 900 * time.Millisecond

// Sync is the verdict on the host clock.
type Sync int

// The verdicts.
const (
	// Unknown: nothing could be read (not Linux, adjtimex refused, no
	// daemon answered and the kernel was not readable).
	Unknown Sync = iota
	// Synchronised: a daemon (or the kernel, on its behalf) says the clock
	// follows a time source.
	Synchronised
	// Unsynchronised: the clock follows no time source, or the daemon says
	// so.
	Unsynchronised
)

// State is what was learnt about the host clock.
type State struct {
	Sync Sync
	// Source names what the verdict rests on: "chrony", "ntpd", "kernel",
	// or "" when Unknown.
	Source string
	// Reason says why the clock is Unsynchronised or Unknown, e.g.
	// "kernel STA_UNSYNC" or "chrony: leap status Not synchronised".
	Reason string
	// Reference is the time source the daemon follows (an address, or a
	// reference clock name such as PPS); "" if none or not known.
	Reference string

	// Offset is the host clock minus true time as the source estimates it
	// (positive: the host clock is ahead). Valid when HasOffset.
	Offset    time.Duration
	HasOffset bool
	// Error is how far off the clock may be. From a daemon it is the bound
	// chrony documents, |offset| + root dispersion + root delay/2 (ntpd:
	// the same from its system variables); from the kernel alone it is
	// esterror, an estimate the daemon wrote there. Valid when HasError.
	Error    time.Duration
	HasError bool
	// ErrorIsBound tells an upper bound (a daemon's) from an estimate (the
	// kernel's esterror) for the text.
	ErrorIsBound bool

	// Kernel is the adjtimex reading, when there was one.
	Kernel *Kernel
	// Daemon is the daemon's report the verdict rests on, if any.
	Daemon *Daemon
	// Notes say what each probe found (for the log): "chronyc: not
	// installed", "ntpq: exit status 1: …".
	Notes []string
}

// Summary is the verdict without the "host clock: " prefix, e.g.
// "synchronised (chrony, ref 192.0.2.1, offset +0.8 ms, error bound 12 ms)".
func (s State) Summary() string {
	switch s.Sync {
	case Synchronised:
		parts := []string{s.Source}
		if s.Reference != "" {
			parts = append(parts, "ref "+s.Reference)
		}
		if s.HasOffset {
			parts = append(parts, "offset "+formatDuration(s.Offset, true))
		}
		if s.HasError {
			what := "est. error "
			if s.ErrorIsBound {
				what = "error bound "
			}
			parts = append(parts, what+formatDuration(s.Error, false))
		}
		return "synchronised (" + strings.Join(parts, ", ") + ")"
	case Unsynchronised:
		return "NOT synchronised (" + s.Reason + ")"
	}
	if s.Reason == "" {
		return "unknown"
	}
	return "unknown (" + s.Reason + ")"
}

// String is the one-line report for people, the log and the section
// comment: "host clock: synchronised (chrony, offset +0.8 ms, error bound
// 12 ms)", "host clock: NOT synchronised (kernel STA_UNSYNC)".
func (s State) String() string { return "host clock: " + s.Summary() }

// Short is the toolbar's form: "host clock ok (+0.8 ms)", "host clock NOT
// SYNCED", "host clock OFF (+73 ms)", "host clock ?".
func (s State) Short() string {
	switch s.Sync {
	case Unsynchronised:
		return "host clock NOT SYNCED"
	case Unknown:
		return "host clock ?"
	}
	if s.offBy() {
		if s.HasOffset && abs(s.Offset) > Limit {
			return "host clock OFF (" + formatDuration(s.Offset, true) + ")"
		}
		return "host clock OFF (error " + formatDuration(s.Error, false) + ")"
	}
	if s.HasOffset {
		return "host clock ok (" + formatDuration(s.Offset, true) + ")"
	}
	return "host clock ok"
}

// Warn is non-empty when the clock-skew estimate against Genesys Cloud
// cannot be trusted because of the host clock: it is unsynchronised, or
// its offset or its error exceeds Limit. Both numbers count: a small
// offset with a large error bound (a distant or poor server) means the
// clock may be that far off; the offset counts even when no error is
// known. An Unknown state gives no warning: there is nothing to say (on
// Windows and macOS the clock is not read at all).
func (s State) Warn() string {
	const why = "the clock-skew estimate against Genesys Cloud needs the capture host's clock within 50 ms of UTC (NTP)"
	switch {
	case s.Sync == Unsynchronised:
		return "host clock NOT synchronised (" + s.Reason + "): " + why
	case s.Sync != Synchronised:
		return ""
	case s.HasOffset && abs(s.Offset) > Limit:
		return fmt.Sprintf("host clock is off by %s (%s): %s", formatDuration(s.Offset, true), s.Source, why)
	case s.offBy():
		return fmt.Sprintf("host clock error may reach %s (%s): %s", formatDuration(s.Error, false), s.Source, why)
	}
	return ""
}

// offBy reports whether a synchronised clock is nevertheless beyond Limit.
func (s State) offBy() bool {
	return (s.HasOffset && abs(s.Offset) > Limit) || (s.HasError && s.Error > Limit)
}

// Kernel is what adjtimex(2) reports when asked with modes 0.
type Kernel struct {
	// State is the call's return value: TIME_OK (0) … TIME_ERROR (5).
	State int
	// Status holds the STA_* flags.
	Status int32
	// Offset is the phase offset the kernel PLL is still correcting;
	// meaningful only with STA_PLL (ntpd, systemd-timesyncd; chrony does
	// not use the kernel PLL).
	Offset time.Duration
	// EstError and MaxError are what the daemon last wrote there; the
	// kernel grows MaxError by 500 ppm per second between updates.
	EstError, MaxError time.Duration
}

// Kernel status flags and states (linux/timex.h). They are defined here
// rather than taken from x/sys/unix so the interpretation is portable and
// tested everywhere.
const (
	staPLL      = 0x0001
	staUnsync   = 0x0040
	staClockErr = 0x1000
	staNano     = 0x2000
	timeError   = 5
)

// Daemon is an NTP daemon's report on the host clock.
type Daemon struct {
	// Name is "chrony" or "ntpd".
	Name string
	// Synced is the daemon's own verdict; Reason says why not.
	Synced bool
	Reason string
	// Reference is the source followed (address or refclock name).
	Reference string
	Stratum   int
	// Offset is the host clock minus the daemon's true time (positive:
	// ahead). chrony: minus "System time"; ntpd: minus "offset".
	Offset time.Duration
	// RootDelay and RootDispersion are to the stratum-1 source.
	RootDelay, RootDispersion time.Duration
	// LastOffset and RMSOffset are chrony's (zero from ntpd).
	LastOffset, RMSOffset time.Duration
}

// Bound is the largest error of the host clock the report allows, as
// chrony's documentation gives it: |offset| + root dispersion + root
// delay / 2 (assuming the stratum-1 source is right).
func (d *Daemon) Bound() time.Duration {
	return abs(d.Offset) + d.RootDispersion + d.RootDelay/2
}

// decide turns what the probes found into a State. A daemon that answered
// outranks the kernel: chrony leaves STA_UNSYNC set on Linux unless
// rtcsync is configured, so the kernel flag alone would call a well
// synchronised host unsynchronised.
func decide(k *Kernel, kernelErr error, d *Daemon, notes []string) State {
	s := State{Kernel: k, Daemon: d, Notes: notes}
	switch {
	case d != nil:
		s.Source, s.Reference = d.Name, d.Reference
		if !d.Synced {
			s.Sync, s.Reason = Unsynchronised, d.Name+": "+d.Reason
			return s
		}
		s.Sync = Synchronised
		s.Offset, s.HasOffset = d.Offset, true
		s.Error, s.HasError, s.ErrorIsBound = d.Bound(), true, true
	case k != nil:
		s.Source = "kernel"
		switch {
		case k.Status&staUnsync != 0:
			s.Sync, s.Reason = Unsynchronised, "kernel STA_UNSYNC"
		case k.Status&staClockErr != 0:
			s.Sync, s.Reason = Unsynchronised, "kernel STA_CLOCKERR"
		case k.State == timeError:
			s.Sync, s.Reason = Unsynchronised, "kernel TIME_ERROR"
		default:
			s.Sync = Synchronised
			if k.Status&staPLL != 0 {
				s.Offset, s.HasOffset = k.Offset, true
			}
			// systemd-timesyncd writes 0: that is "not estimated",
			// not a perfect clock.
			if k.EstError > 0 {
				s.Error, s.HasError = k.EstError, true
			}
		}
	default:
		s.Reason = "clock state not readable"
		if kernelErr != nil {
			s.Reason = "adjtimex: " + kernelErr.Error()
		}
	}
	return s
}

// kernelFrom converts raw adjtimex fields: offset is in µs, or in ns with
// STA_NANO; esterror and maxerror are always in µs.
func kernelFrom(state int, status int32, offset, esterror, maxerror int64) *Kernel {
	off := time.Duration(offset) * time.Microsecond
	if status&staNano != 0 {
		off = time.Duration(offset)
	}
	return &Kernel{
		State: state, Status: status, Offset: off,
		EstError: time.Duration(esterror) * time.Microsecond,
		MaxError: time.Duration(maxerror) * time.Microsecond,
	}
}

// formatDuration writes d in the unit a person reads at a glance:
// "0.007 ms", "+0.8 ms", "12 ms", "1.25 s".
func formatDuration(d time.Duration, signed bool) string {
	sign := ""
	if signed {
		sign = "+"
		if d < 0 {
			sign = "-"
		}
	}
	a := abs(d)
	ms := float64(a) / float64(time.Millisecond)
	switch {
	case a < time.Millisecond:
		return fmt.Sprintf("%s%.3f ms", sign, ms)
	case a < 10*time.Millisecond:
		return fmt.Sprintf("%s%.1f ms", sign, ms)
	case a < time.Second:
		return fmt.Sprintf("%s%.0f ms", sign, ms)
	}
	return fmt.Sprintf("%s%.2f s", sign, ms/1000)
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		if d == -1<<63 {
			return 1<<63 - 1
		}
		return -d
	}
	return d
}
