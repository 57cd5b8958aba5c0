package hostclock

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustChrony(t *testing.T, name string) *Daemon {
	t.Helper()
	for _, c := range chronyCases {
		if c.name == name {
			d, err := ParseChronyTracking([]byte(c.out))
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	t.Fatalf("no chrony case %q", name)
	return nil
}

func mustNtpq(t *testing.T, name string) *Daemon {
	t.Helper()
	for _, c := range ntpqCases {
		if c.name == name {
			d, err := ParseNtpqRV([]byte(c.out))
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	t.Fatalf("no ntpq case %q", name)
	return nil
}

// The verdicts and the three texts, from kernel readings and real daemon
// reports.
func TestDecide(t *testing.T) {
	// This machine's kernel (a Firecracker VM without an NTP daemon):
	// TIME_ERROR, STA_UNSYNC, esterror = maxerror = 16 s.
	unsynced := kernelFrom(5, 0x0040, 0, 16000000, 16000000)
	// systemd-timesyncd style: STA_PLL|STA_NANO, offset in ns, esterror 0.
	timesyncd := kernelFrom(0, 0x2001, 1_500_000, 0, 16000)
	// ntpd with the kernel discipline: STA_PLL, offset in µs, esterror set.
	ntpdKernel := kernelFrom(0, 0x0001, -120, 3000, 250000)
	// chrony without rtcsync: the flag stays set though chrony is synced.
	chronyNoRTC := kernelFrom(5, 0x0040, 0, 1200, 9000)

	for _, c := range []struct {
		name              string
		k                 *Kernel
		kerr              error
		d                 *Daemon
		sync              Sync
		text, short, warn string
	}{{
		name: "kernel-unsync", k: unsynced, sync: Unsynchronised,
		text:  "host clock: NOT synchronised (kernel STA_UNSYNC)",
		short: "host clock NOT SYNCED",
		warn:  "host clock NOT synchronised (kernel STA_UNSYNC): the clock-skew estimate",
	}, {
		name: "kernel-clockerr", k: kernelFrom(5, 0x1000, 0, 0, 0), sync: Unsynchronised,
		text: "host clock: NOT synchronised (kernel STA_CLOCKERR)", short: "host clock NOT SYNCED", warn: "STA_CLOCKERR",
	}, {
		name: "kernel-time-error", k: kernelFrom(5, 0, 0, 0, 0), sync: Unsynchronised,
		text: "host clock: NOT synchronised (kernel TIME_ERROR)", short: "host clock NOT SYNCED", warn: "TIME_ERROR",
	}, {
		name: "kernel-timesyncd", k: timesyncd, sync: Synchronised,
		text:  "host clock: synchronised (kernel, offset +1.5 ms)",
		short: "host clock ok (+1.5 ms)",
	}, {
		name: "kernel-ntpd-pll", k: ntpdKernel, sync: Synchronised,
		text:  "host clock: synchronised (kernel, offset -0.120 ms, est. error 3.0 ms)",
		short: "host clock ok (-0.120 ms)",
	}, {
		name: "kernel-big-esterror", k: kernelFrom(0, 0, 0, 80000, 90000), sync: Synchronised,
		text:  "host clock: synchronised (kernel, est. error 80 ms)",
		short: "host clock OFF (error 80 ms)",
		warn:  "host clock error may reach 80 ms (kernel)",
	}, {
		name: "chrony-beats-kernel-flag", k: chronyNoRTC, d: mustChrony(t, "chrony-manual"), sync: Synchronised,
		text:  "host clock: synchronised (chrony, ref 203.0.113.15, offset -0.007 ms, error bound 7.9 ms)",
		short: "host clock ok (-0.007 ms)",
	}, {
		name: "chrony-fast", k: chronyNoRTC, d: mustChrony(t, "scale-fast"), sync: Synchronised,
		text:  "host clock: synchronised (chrony, ref 178.128.4.44, offset +0.260 ms, error bound 35 ms)",
		short: "host clock ok (+0.260 ms)",
	}, {
		name: "chrony-unsync", k: unsynced, d: mustChrony(t, "not-synchronised"), sync: Unsynchronised,
		text:  "host clock: NOT synchronised (chrony: leap status Not synchronised)",
		short: "host clock NOT SYNCED", warn: "chrony: leap status Not synchronised",
	}, {
		name: "chrony-local", d: mustChrony(t, "local-reference"), sync: Unsynchronised,
		text:  "host clock: NOT synchronised (chrony: following only its own local clock (local directive))",
		short: "host clock NOT SYNCED", warn: "local clock",
	}, {
		name: "ntpd-far-server", k: ntpdKernel, d: mustNtpq(t, "tidb-far-server"), sync: Synchronised,
		text:  "host clock: synchronised (ntpd, ref 133.18.174.255, offset -0.671 ms, error bound 163 ms)",
		short: "host clock OFF (error 163 ms)",
		warn:  "host clock error may reach 163 ms (ntpd): the clock-skew estimate against Genesys Cloud needs the capture host's clock within 50 ms of UTC (NTP)",
	}, {
		name: "ntpd-dispersion", d: mustNtpq(t, "pastebin-dispersion"), sync: Synchronised,
		text:  "host clock: synchronised (ntpd, ref 10.123.33.1, offset +0.720 ms, error bound 961 ms)",
		short: "host clock OFF (error 961 ms)", warn: "may reach 961 ms",
	}, {
		name: "ntpd-ok", d: mustNtpq(t, "forum-server-with-peers"), sync: Synchronised,
		text:  "host clock: synchronised (ntpd, ref 216.239.35.0, offset -0.834 ms, error bound 39 ms)",
		short: "host clock ok (-0.834 ms)",
	}, {
		name: "ntpd-unsync", d: mustNtpq(t, "forum-client-restart"), sync: Unsynchronised,
		text:  "host clock: NOT synchronised (ntpd: leap indicator alarm (11))",
		short: "host clock NOT SYNCED", warn: "leap indicator alarm",
	}, {
		name: "offset-over", d: &Daemon{Name: "chrony", Synced: true, Reference: "192.0.2.1", Offset: 73 * time.Millisecond, RootDispersion: time.Millisecond},
		sync:  Synchronised,
		text:  "host clock: synchronised (chrony, ref 192.0.2.1, offset +73 ms, error bound 74 ms)",
		short: "host clock OFF (+73 ms)",
		warn:  "host clock is off by +73 ms (chrony)",
	}, {
		name: "offset-at-limit", d: &Daemon{Name: "ntpd", Synced: true, Offset: -50 * time.Millisecond}, sync: Synchronised,
		text:  "host clock: synchronised (ntpd, offset -50 ms, error bound 50 ms)",
		short: "host clock ok (-50 ms)",
	}, {
		name: "unreadable", kerr: errors.New("operation not permitted"), sync: Unknown,
		text: "host clock: unknown (adjtimex: operation not permitted)", short: "host clock ?",
	}} {
		t.Run(c.name, func(t *testing.T) {
			s := decide(c.k, c.kerr, c.d, nil)
			if s.Sync != c.sync {
				t.Errorf("sync %v, want %v", s.Sync, c.sync)
			}
			if got := s.String(); got != c.text {
				t.Errorf("String\n got %q\nwant %q", got, c.text)
			}
			if got := s.Short(); got != c.short {
				t.Errorf("Short %q, want %q", got, c.short)
			}
			w := s.Warn()
			if (w == "") != (c.warn == "") || !strings.Contains(w, c.warn) {
				t.Errorf("Warn %q, want one containing %q", w, c.warn)
			}
			if strings.ContainsAny(s.String()+w, "\n\r;") {
				t.Errorf("texts must be one line without ';' (the section comment's separator): %q %q", s.String(), w)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	for _, c := range []struct {
		d      time.Duration
		signed bool
		want   string
	}{
		{0, true, "+0.000 ms"},
		{6523 * time.Nanosecond, false, "0.007 ms"},
		{-834 * time.Microsecond, true, "-0.834 ms"},
		{1500 * time.Microsecond, true, "+1.5 ms"},
		{12345 * time.Microsecond, false, "12 ms"},
		{-999 * time.Millisecond, true, "-999 ms"},
		{1250 * time.Millisecond, false, "1.25 s"},
		{-1 << 63, true, "-9223372036.85 s"},
	} {
		if got := formatDuration(c.d, c.signed); got != c.want {
			t.Errorf("formatDuration(%v, %v) = %q, want %q", c.d, c.signed, got, c.want)
		}
	}
}

// Raw adjtimex fields: the offset's unit follows STA_NANO, the error
// fields are always microseconds.
func TestKernelFrom(t *testing.T) {
	k := kernelFrom(0, 0x2001, 1500, 7, 9)
	if k.Offset != 1500*time.Nanosecond || k.EstError != 7*time.Microsecond || k.MaxError != 9*time.Microsecond {
		t.Errorf("STA_NANO: %+v", k)
	}
	k = kernelFrom(0, 0x0001, 1500, 7, 9)
	if k.Offset != 1500*time.Microsecond {
		t.Errorf("µs: %+v", k)
	}
}
