//go:build linux

package hostclock

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// The real read on this machine: adjtimex must answer (modes 0 needs no
// privilege), the state must be a verdict, and it must come in time.
func TestReadThisHost(t *testing.T) {
	start := time.Now()
	s := Read(context.Background())
	took := time.Since(start)
	t.Logf("%s (took %v; notes %q)", s, took, s.Notes)
	if s.Kernel == nil {
		t.Fatalf("adjtimex gave nothing: %+v", s)
	}
	k := s.Kernel
	if k.State < 0 || k.State > 5 {
		t.Errorf("adjtimex state %d is not TIME_OK…TIME_ERROR", k.State)
	}
	// The kernel caps maxerror at NTP_PHASE_LIMIT (16 s).
	if k.MaxError < 0 || k.MaxError > 16*time.Second || k.EstError < 0 || k.EstError > 16*time.Second {
		t.Errorf("implausible kernel errors: %+v", k)
	}
	if s.Sync == Unknown {
		t.Errorf("no verdict although adjtimex answered: %+v", s)
	}
	if took > Budget+200*time.Millisecond {
		t.Errorf("Read took %v, over its %v budget", took, Budget)
	}
	if !strings.HasPrefix(s.String(), "host clock: ") || s.Short() == "" {
		t.Errorf("texts: %q %q", s.String(), s.Short())
	}
}

// A daemon that does not answer is abandoned at the budget; the kernel's
// verdict stands and the note says what happened.
func TestReadSlowDaemon(t *testing.T) {
	r := reader{
		adjtimex: func() (*Kernel, error) { return kernelFrom(5, 0x40, 0, 16000000, 16000000), nil },
		run: func(ctx context.Context, name string, args ...string) ([]byte, error) {
			if name != "chronyc" {
				return nil, errNotInstalled
			}
			<-ctx.Done() // chronyc retrying a dead daemon
			return nil, errors.New("no answer within " + Budget.String())
		},
	}
	start := time.Now()
	s := r.read(context.Background())
	if took := time.Since(start); took > Budget+200*time.Millisecond {
		t.Errorf("took %v", took)
	}
	if s.Sync != Unsynchronised || s.Source != "kernel" {
		t.Errorf("%+v", s)
	}
	if got := strings.Join(s.Notes, "; "); !strings.Contains(got, "chronyc: no answer") || !strings.Contains(got, "ntpq: not installed") {
		t.Errorf("notes %q", got)
	}
}

// A real program that outlives the budget is killed in time
// (runCommand's deadline and WaitDelay).
func TestRunCommandDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := runCommand(ctx, "sleep", "5")
	if took := time.Since(start); took > time.Second {
		t.Errorf("sleep 5 ran %v", took)
	}
	if err == nil || !strings.Contains(err.Error(), "no answer within") {
		t.Errorf("err %v", err)
	}
	if _, err := runCommand(context.Background(), "genesys-sip-no-such-ntp-tool"); !errors.Is(err, errNotInstalled) {
		t.Errorf("missing program: %v", err)
	}
	out, err := runCommand(context.Background(), "sh", "-c", "echo 506 Cannot talk to daemon; exit 1")
	if err == nil || !strings.Contains(err.Error(), "506 Cannot talk to daemon") {
		t.Errorf("failing program: %q %v", out, err)
	}
}

// chrony outranks ntpd when both answer; a report that does not parse is
// noted and the next source used.
func TestReadPrefersChrony(t *testing.T) {
	chrony := chronyCases[3].out
	ntpq := ntpqCases[0].out
	for _, c := range []struct {
		name, chronyOut, ntpqOut, source, note string
	}{
		{"both", chrony, ntpq, "chrony", ""},
		{"chrony-garbage", "506 Cannot talk to daemon\n", ntpq, "ntpd", "chronyc tracking: 1 fields"},
		{"neither", "", "", "kernel", "chronyc tracking: empty output"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := reader{
				adjtimex: func() (*Kernel, error) { return kernelFrom(0, 0, 0, 2000, 5000), nil },
				run: func(_ context.Context, name string, _ ...string) ([]byte, error) {
					if name == "chronyc" {
						return []byte(c.chronyOut), nil
					}
					return []byte(c.ntpqOut), nil
				},
			}
			s := r.read(context.Background())
			if s.Source != c.source || s.Sync != Synchronised {
				t.Errorf("%+v", s)
			}
			if got := strings.Join(s.Notes, "; "); !strings.Contains(got, c.note) {
				t.Errorf("notes %q, want %q", got, c.note)
			}
		})
	}
}
