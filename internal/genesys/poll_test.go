package genesys

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/genesys/fakegenesys"
)

func TestPollDeliversNewRecordsOnce(t *testing.T) {
	f := fakegenesys.New(fakegenesys.Options{})
	defer f.Close()
	add := func(at time.Time, callid string) {
		if err := f.AddRecord(json.RawMessage(homer(at, callid, "1 INVITE", "INVITE", "+15551234"))); err != nil {
			t.Fatal(err)
		}
	}
	add(base.Add(-time.Minute), "early")
	add(base.Add(-time.Hour), "too-old")

	cfg := testConfig(f, nil)
	clk := &fakeClock{t: base}
	cfg.Now = clk.Now
	polled := make(chan time.Duration)
	tick := make(chan struct{})
	cfg.Sleep = func(ctx context.Context, d time.Duration) error {
		select {
		case polled <- d:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-tick:
			clk.Advance(d)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c := newClient(t, cfg)
	got := make(chan []Record, 10)
	var states []State
	var errs []error
	p, err := c.Poll(context.Background(), PollConfig{
		Interval:  time.Minute,
		Lookback:  10 * time.Minute,
		Query:     Query{Destination: "+1555*"},
		OnRecords: func(r []Record) { got <- r },
		OnError:   func(err error) { errs = append(errs, err) },
		OnState:   func(s State) { states = append(states, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	next := func() []Record {
		t.Helper()
		if d := <-polled; d != time.Minute {
			t.Fatalf("interval %s", d)
		}
		select {
		case r := <-got:
			return r
		default:
			return nil
		}
	}
	callids := func(rs []Record) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.CallID)
		}
		return out
	}
	if r := next(); len(r) != 1 || r[0].CallID != "early" {
		t.Fatalf("poll 1: %v", callids(r))
	}
	// A record that shows up late, timed before the previous poll.
	add(base.Add(-30*time.Second), "late")
	tick <- struct{}{}
	if r := next(); len(r) != 1 || r[0].CallID != "late" {
		t.Fatalf("poll 2: %v", callids(r))
	}
	// Nothing new: no callback.
	tick <- struct{}{}
	if r := next(); r != nil {
		t.Fatalf("poll 3 redelivered %v", callids(r))
	}
	// An API failure is reported, polling goes on.
	f.Inject(fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 403})
	tick <- struct{}{}
	next()
	tick <- struct{}{}
	next()
	p.Stop()
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrForbidden) {
		t.Fatalf("errors = %v", errs)
	}
	kinds := []StateKind{}
	for _, s := range states {
		kinds = append(kinds, s.Kind)
	}
	if len(kinds) != 3 || kinds[0] != StateOK || kinds[1] != StateAuthError || kinds[2] != StateOK {
		t.Fatalf("state changes = %v", states)
	}
	// Window of the first poll: [now-lookback, now].
	q := f.Requests()[1].Query
	if q.Get("dateStart") != "2026-11-25T09:50:00.000Z" || q.Get("dateEnd") != "2026-11-25T10:00:00.000Z" {
		t.Fatalf("first window %v", q)
	}
}

func TestPollDoesNotBlockCaller(t *testing.T) {
	f := newFake(t, fakegenesys.Options{})
	f.Inject(fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Hang, Times: 10})
	c := newClient(t, testConfig(f, nil))
	start := time.Now()
	p, err := c.Poll(context.Background(), PollConfig{Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 100*time.Millisecond {
		t.Fatalf("Poll blocked for %s", el)
	}
	// Stop cancels the hanging request.
	p.Stop()
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Stop took %s", el)
	}
}

func TestPollConfigErrors(t *testing.T) {
	f := newFake(t, fakegenesys.Options{})
	c := newClient(t, testConfig(f, nil))
	for name, pc := range map[string]PollConfig{
		"zero interval": {},
		"bad pattern":   {Interval: time.Minute, Query: Query{Destination: "a*b"}},
		"huge lookback": {Interval: time.Minute, Lookback: 365 * 24 * time.Hour},
	} {
		if _, err := c.Poll(context.Background(), pc); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
