package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/pcapng"
	"github.com/genesys-sip/genesys-sip/internal/source/live"
)

// liveFlushEvery bounds how long a packet waits in the output buffer under
// continuous traffic; when traffic pauses the source reports idle within
// its 5 ms read timeout and the buffer is flushed at once. Together they
// keep packet-to-FIFO latency well under Wireshark's 50 ms budget.
const liveFlushEvery = 20 * time.Millisecond

func (r *run) isLive() bool { return r.cfg.ReplayFile == "" && r.cfg.Live != nil }

// capture runs a live capture until ctx is cancelled or the capture fails.
// At the end libpcap's counters are written as an Interface Statistics
// Block and logged.
func (r *run) capture(ctx context.Context) error {
	src, err := live.Open(*r.cfg.Live)
	if err != nil {
		return err
	}
	defer src.Close()
	started := r.cfg.Now()
	r.log.Info("live capture started", "device", src.Device(), "filter", src.Filter())
	r.sink, err = pcapng.NewSink(r.cfg.Out, pcapng.Options{
		Application: r.cfg.Application,
		Comment:     r.sectionComment("live capture on " + src.Device()),
	}, src.Interface(0))
	if err != nil {
		return err
	}
	r.proc.ifaceOut = []int{0}
	if r.cfg.Trace != nil {
		c := r.proc.corr
		c.engine = c.newEngine()
		c.written = map[int]bool{}
	}
	// Wireshark learns the interface before the first packet arrives.
	if err := r.flush(); err != nil {
		return err
	}
	r.lastFlush = started
	err = r.captureLoop(ctx, src)
	if err == nil && r.sink.Err() == nil {
		err = r.proc.drain()
	}
	r.writeLiveStats(src, started)
	return err
}

func (r *run) captureLoop(ctx context.Context, src *live.Source) error {
	link := src.Interface(0).LinkType
	for ctx.Err() == nil {
		if err := r.takeRecords(); err != nil {
			return err
		}
		p, err := src.Next()
		if errors.Is(err, live.ErrIdle) {
			if r.proc.dec != nil {
				r.proc.dec.Advance(r.cfg.Now())
			}
			if err := r.proc.release(false); err != nil {
				return err
			}
			if r.sink.Buffered() > 0 {
				if err := r.flush(); err != nil {
					return err
				}
			}
			r.proc.publish()
			continue
		}
		if err != nil {
			return err
		}
		if err := r.proc.frame(p, 0, link, p.CI.Timestamp); err != nil {
			return err
		}
		if now := r.cfg.Now(); now.Sub(r.lastFlush) >= liveFlushEvery {
			if err := r.flush(); err != nil {
				return err
			}
			r.proc.publish()
		}
	}
	return nil
}

// takeRecords adds the trace records the API poller delivered, without
// waiting for any.
func (r *run) takeRecords() error {
	if r.cfg.Records == nil {
		return nil
	}
	for {
		select {
		case recs, ok := <-r.cfg.Records:
			if !ok {
				r.cfg.Records = nil
				return nil
			}
			if err := r.proc.corr.addRecords(recs); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

func (r *run) writeLiveStats(src *live.Source, started time.Time) {
	if r.sink.Err() != nil {
		return // the output is gone; nothing more can be written
	}
	st, err := src.Stats()
	if err != nil {
		r.log.Warn("capture statistics unavailable", "err", err)
		return
	}
	r.stats.Dropped = st.Dropped + st.IfDropped
	now := r.cfg.Now()
	if err := r.sink.WriteStats(0, pcapgo.NgInterfaceStatistics{
		LastUpdate:      now,
		StartTime:       started,
		EndTime:         now,
		PacketsReceived: st.Received,
		PacketsDropped:  st.Dropped + st.IfDropped,
	}); err != nil {
		r.log.Warn("writing capture statistics", "err", err)
	}
	level := r.log.Info
	if r.stats.Dropped > 0 {
		level = r.log.Warn
	}
	level("live capture statistics", "received", st.Received, "dropped", st.Dropped, "if_dropped", st.IfDropped, "written", r.stats.Packets)
}
