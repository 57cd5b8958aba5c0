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
// its 10 ms read timeout and the buffer is flushed at once. Together they
// keep packet-to-FIFO latency well under Wireshark's 50 ms budget.
const liveFlushEvery = 20 * time.Millisecond

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
		Comment:     r.cfg.Application + ": live capture on " + src.Device(),
	}, src.Interface(0))
	if err != nil {
		return err
	}
	// Wireshark learns the interface before the first packet arrives.
	if err := r.flush(); err != nil {
		return err
	}
	r.lastFlush = started
	err = r.captureLoop(ctx, src)
	r.writeLiveStats(src, started)
	return err
}

func (r *run) captureLoop(ctx context.Context, src *live.Source) error {
	for ctx.Err() == nil {
		p, err := src.Next()
		if errors.Is(err, live.ErrIdle) {
			if r.sink.Buffered() > 0 {
				if err := r.flush(); err != nil {
					return err
				}
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := r.sink.WritePacket(p.CI, p.Data, nil); err != nil {
			return err
		}
		r.stats.Packets++
		r.stats.Bytes += uint64(len(p.Data))
		if now := r.cfg.Now(); now.Sub(r.lastFlush) >= liveFlushEvery {
			if err := r.flush(); err != nil {
				return err
			}
		}
	}
	return nil
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
