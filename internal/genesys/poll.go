package genesys

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultPollLookback is how far back each poll reaches: traces reach the
// API minutes after the call, so every poll re-reads this window and only
// records not delivered before are reported.
const DefaultPollLookback = 15 * time.Minute

// PollConfig configures Poll.
type PollConfig struct {
	// Query holds the filters (CallID, ToUser, FromUser, ConversationID,
	// Destination); its Start and End are set by each poll.
	Query Query
	// Interval between polls, from the end of one to the start of the next.
	// The caller enforces its minimum (60 s for the extcap); Poll only
	// requires it to be positive.
	Interval time.Duration
	// Lookback is the window of each poll, [now-Lookback, now]; 0 means
	// DefaultPollLookback.
	Lookback time.Duration
	// Since, if set, is the earliest record time of interest (e.g. capture
	// start minus the clock-skew margin); windows never start before it.
	Since time.Time
	// OnRecords receives the records not delivered before. OnError receives
	// each failed poll's error. OnState receives API state changes. All run
	// on the poller's goroutine and must not block for long; nil callbacks
	// are skipped.
	OnRecords func([]Record)
	OnError   func(error)
	OnState   func(State)
}

// Poller is a running Poll. Stop it when the capture ends.
type Poller struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Poll starts fetching new records every pc.Interval on its own goroutine
// and returns at once: the capture never waits on the API. The first poll
// starts immediately. Polling ends when ctx is done or Stop is called.
func (c *Client) Poll(ctx context.Context, pc PollConfig) (*Poller, error) {
	if pc.Interval <= 0 {
		return nil, errors.New("genesys: poll interval must be positive")
	}
	if pc.Lookback <= 0 {
		pc.Lookback = DefaultPollLookback
	}
	if pc.Lookback > c.cfg.MaxSearchSpan {
		return nil, fmt.Errorf("genesys: poll lookback %s exceeds the %s search limit", pc.Lookback, c.cfg.MaxSearchSpan)
	}
	if _, err := ParsePattern(pc.Query.Destination); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Poller{cancel: cancel, done: make(chan struct{})}
	go c.pollLoop(ctx, pc, p.done)
	return p, nil
}

// Stop ends polling and waits until the goroutine has returned (an
// in-flight request is cancelled).
func (p *Poller) Stop() {
	p.cancel()
	<-p.done
}

// Done is closed when the poller has stopped.
func (p *Poller) Done() <-chan struct{} { return p.done }

func (c *Client) pollLoop(ctx context.Context, pc PollConfig, done chan<- struct{}) {
	defer close(done)
	seen := make(map[string]time.Time)
	var last State
	for {
		now := c.cfg.Now()
		start := now.Add(-pc.Lookback)
		if pc.Since.After(start) {
			start = pc.Since
		}
		if start.Before(now) {
			q := pc.Query
			q.Start, q.End = start, now
			recs, err := c.Search(ctx, q)
			switch {
			case err != nil && ctx.Err() != nil:
				// Stopping is no failure (OnError is not called), but the
				// log says what the stopped poll was waiting for.
				c.log.Info("genesys poller stopped during a poll", "detail", c.scrub(err.Error()))
				return
			case err != nil:
				if pc.OnError != nil {
					pc.OnError(err)
				}
			default:
				var fresh []Record
				for _, r := range recs {
					k := r.Key()
					if _, ok := seen[k]; ok {
						continue
					}
					t := r.Time
					if t.IsZero() {
						t = now
					}
					seen[k] = t
					fresh = append(fresh, r)
				}
				// A record older than the window cannot come back: forget it.
				cutoff := start.Add(-pc.Lookback)
				for k, t := range seen {
					if t.Before(cutoff) {
						delete(seen, k)
					}
				}
				c.log.Debug("genesys poll", "records", len(recs), "new", len(fresh))
				if len(fresh) > 0 && pc.OnRecords != nil {
					pc.OnRecords(fresh)
				}
			}
		}
		if st := c.State(); !st.same(last) {
			last = st
			if pc.OnState != nil {
				pc.OnState(st)
			}
		}
		if err := c.cfg.Sleep(ctx, pc.Interval); err != nil {
			return
		}
	}
}
