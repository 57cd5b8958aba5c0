//go:build linux

package hostclock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Read reports the host clock's synchronisation state. It never fails and
// returns within Budget (sooner if ctx ends): a daemon that is not
// installed, not running or slow is left out and noted in State.Notes.
func Read(ctx context.Context) State {
	return reader{adjtimex: adjtimex, run: runCommand}.read(ctx)
}

// reader holds the two ways Read touches the system, so tests can replace
// them.
type reader struct {
	adjtimex func() (*Kernel, error)
	run      func(ctx context.Context, name string, args ...string) ([]byte, error)
}

// probe is one daemon query.
type probe struct {
	name  string
	args  []string
	parse func([]byte) (*Daemon, error)
}

// probes are asked at once, each for at most the remaining budget; the
// first in this order that answers wins (chrony's report is the better
// one: its offset is the system clock's, not the last sample's).
var probes = []probe{
	{"chronyc", []string{"-n", "-c", "tracking"}, ParseChronyTracking},
	{"ntpq", []string{"-n", "-c", "rv"}, ParseNtpqRV},
}

func (r reader) read(ctx context.Context) State {
	ctx, cancel := context.WithTimeout(ctx, Budget)
	defer cancel()
	k, kerr := r.adjtimex()
	var notes []string
	if kerr != nil {
		notes = append(notes, "adjtimex: "+kerr.Error())
	}
	found := make([]*Daemon, len(probes))
	why := make([]string, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := r.run(ctx, p.name, p.args...)
			if err != nil {
				why[i] = p.name + ": " + err.Error()
				return
			}
			d, err := p.parse(out)
			if err != nil {
				why[i] = err.Error()
				return
			}
			found[i] = d
		}()
	}
	wg.Wait()
	var d *Daemon
	for i := range probes {
		if found[i] != nil && d == nil {
			d = found[i]
		}
		if why[i] != "" {
			notes = append(notes, why[i])
		}
	}
	return decide(k, kerr, d, notes)
}

// adjtimex reads the kernel's NTP state. Modes 0 makes the call a pure
// read: it needs no privilege and changes nothing.
func adjtimex() (*Kernel, error) {
	var tx unix.Timex // Modes 0
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return nil, err
	}
	return kernelFrom(state, tx.Status, int64(tx.Offset), int64(tx.Esterror), int64(tx.Maxerror)), nil
}

// errNotInstalled marks a probe whose program is not on this host.
var errNotInstalled = errors.New("not installed")

// runCommand runs a daemon's query program with ctx's deadline and returns
// its standard output. The program is looked up on PATH and in the sbin
// directories a service account's PATH may lack.
func runCommand(ctx context.Context, name string, args ...string) ([]byte, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/bin/", "/usr/sbin/", "/sbin/"} {
			if p, e := exec.LookPath(dir + name); e == nil {
				path, err = p, nil
				break
			}
		}
	}
	if err != nil {
		return nil, errNotInstalled
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/bin:/bin"}
	var out, errOut limitedBuffer
	out.max, errOut.max = maxReport+1, 512
	cmd.Stdout, cmd.Stderr = &out, &errOut
	// A child that leaves a grandchild holding its pipes must not hold
	// the capture: stop waiting shortly after it was killed.
	cmd.WaitDelay = 50 * time.Millisecond
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("no answer within %s", Budget)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if msg := strings.TrimSpace(errOut.String()); msg != "" {
			return nil, fmt.Errorf("%v: %s", err, clip(firstLine(msg)))
		}
		if msg := strings.TrimSpace(out.String()); msg != "" {
			// chronyc prints "506 Cannot talk to daemon" on stdout.
			return nil, fmt.Errorf("%v: %s", err, clip(firstLine(msg)))
		}
		return nil, err
	}
	return out.Bytes(), nil
}

// limitedBuffer keeps the first max bytes written and drops the rest, so
// a runaway program cannot grow memory.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
