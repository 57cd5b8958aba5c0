package pipeline

import (
	"context"
	"strings"

	"github.com/genesys-sip/genesys-sip/internal/hostclock"
)

// readHostClock learns the capture host's clock state once, as the run
// starts (cfg.HostClock, or a read bounded by hostclock.Budget), logs it
// and puts its short form on the toolbar. It is logged at info level, not
// as a warning: on the command line warnings go to stderr, and the CLI
// decides itself whether to print this one; the section comment carries
// the warning either way.
func (r *run) readHostClock(ctx context.Context) {
	if r.cfg.HostClock == nil {
		s := hostclock.Read(ctx)
		r.cfg.HostClock = &s
	}
	hc := r.cfg.HostClock
	args := []any{"state", hc.Summary(), "source", hc.Source, "applies", r.hostClockApplies()}
	if len(hc.Notes) > 0 {
		args = append(args, "probes", strings.Join(hc.Notes, "; "))
	}
	if w := hc.Warn(); w != "" && r.hostClockApplies() {
		args = append(args, "warning", w)
	}
	r.log.Info("host clock", args...)
	if r.cfg.Status != nil && r.hostClockApplies() {
		r.cfg.Status.setHostClock(hc.Short())
	}
}

// hostClockApplies reports whether the output's timestamps come from this
// host's clock: in a live capture, and in a replay re-based onto the time
// it runs. A plain replay keeps the original capture's timestamps, which
// this host's clock says nothing about.
func (r *run) hostClockApplies() bool { return r.isLive() || r.cfg.Rebase }

// hostClockComment is the section comment's host-clock part, and the
// warning to add when the clock undermines the skew estimate.
func (r *run) hostClockComment() (line, warn string) {
	hc := r.cfg.HostClock
	switch {
	case hc == nil:
		return "", ""
	case !r.hostClockApplies():
		return "clock of the replaying host (not the capture's): " + hc.Summary(), ""
	}
	return hc.String(), hc.Warn()
}
