package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/hostclock"
)

func shbComment(t *testing.T, b []byte) string {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	return r.SectionInfo().Comment
}

// The capture host's clock state goes into the section comment beside the
// skew report, with a WARNING when it undermines the estimate, and onto the
// toolbar — when the output's times are this host's (re-based replay; live
// captures take the same path). A plain replay keeps the original times:
// the state is then labelled as the replaying host's, without a warning.
func TestHostClockInSectionComment(t *testing.T) {
	in := capture(t, 0, 10*time.Millisecond)
	unsynced := &hostclock.State{Sync: hostclock.Unsynchronised, Source: "kernel", Reason: "kernel STA_UNSYNC"}
	synced := &hostclock.State{Sync: hostclock.Synchronised, Source: "chrony", Reference: "192.0.2.1",
		Offset: 800 * time.Microsecond, HasOffset: true, Error: 12 * time.Millisecond, HasError: true, ErrorIsBound: true}
	for _, c := range []struct {
		name    string
		hc      *hostclock.State
		rebase  bool
		comment []string // in this order
		absent  []string
		status  string
	}{{
		name: "rebased-unsynced", hc: unsynced, rebase: true,
		comment: []string{"t: replay of in.pcap", "; host clock: NOT synchronised (kernel STA_UNSYNC)", "; WARNING: note", "; WARNING: host clock NOT synchronised (kernel STA_UNSYNC): the clock-skew estimate"},
		status:  "host clock NOT SYNCED",
	}, {
		name: "rebased-synced", hc: synced, rebase: true,
		comment: []string{"; host clock: synchronised (chrony, ref 192.0.2.1, offset +0.800 ms, error bound 12 ms)", "; WARNING: note"},
		absent:  []string{"WARNING: host clock"},
		status:  "host clock ok (+0.800 ms)",
	}, {
		name: "plain-replay", hc: unsynced,
		comment: []string{"; clock of the replaying host (not the capture's): NOT synchronised (kernel STA_UNSYNC)", "; WARNING: note"},
		absent:  []string{"WARNING: host clock", "; host clock:"},
	}} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			st := &Status{}
			_, err := Run(context.Background(), Config{ReplayFile: in, Speed: 0, Rebase: c.rebase, Out: &out, Application: "t",
				Notes: []string{"note"}, HostClock: c.hc, Status: st})
			if err != nil {
				t.Fatal(err)
			}
			got := shbComment(t, out.Bytes())
			rest := got
			for _, want := range c.comment {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("section comment lacks %q (in order):\n%s", want, got)
				}
				rest = rest[i+len(want):]
			}
			for _, no := range c.absent {
				if strings.Contains(got, no) {
					t.Errorf("section comment has %q:\n%s", no, got)
				}
			}
			s := st.String()
			if c.status != "" && !strings.HasSuffix(s, " | "+c.status) {
				t.Errorf("toolbar %q lacks %q", s, c.status)
			}
			if c.status == "" && strings.Contains(s, "host clock") {
				t.Errorf("toolbar %q shows a host clock that does not apply", s)
			}
		})
	}
}

// Without a state given, the run reads this host's clock itself.
func TestHostClockReadByRun(t *testing.T) {
	in := capture(t, 0)
	var out bytes.Buffer
	start := time.Now()
	if _, err := Run(context.Background(), Config{ReplayFile: in, Rebase: true, Out: &out, Application: "t"}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > hostclock.Budget+time.Second {
		t.Errorf("run took %v", took)
	}
	if got := shbComment(t, out.Bytes()); !strings.Contains(got, "; host clock: ") {
		t.Errorf("section comment without the host clock: %s", got)
	}
}
