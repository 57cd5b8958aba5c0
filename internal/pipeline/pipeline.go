// Package pipeline wires a packet source to the pcapng sink: it replays a
// file at the requested pace (or captures live), and owns the flush policy,
// progress reporting and cancellation. Later stages (decode, redact,
// correlate) plug in between source and sink.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/pcapng"
	"github.com/genesys-sip/genesys-sip/internal/source"
	"github.com/genesys-sip/genesys-sip/internal/source/bpf"
	"github.com/genesys-sip/genesys-sip/internal/source/live"
	"github.com/genesys-sip/genesys-sip/internal/source/replay"
)

// Config describes one run.
type Config struct {
	// ReplayFile is the capture to replay.
	ReplayFile string
	// Speed is the replay pace: 1 is the original timing, N is N times
	// faster, 0 is as fast as possible.
	Speed float64
	// Loops is how many times the file is replayed (at least 1).
	Loops int
	// Rebase shifts timestamps so the first packet carries the time the
	// replay started; later loops follow on. Without it the original
	// timestamps are written unchanged (and repeat in each loop).
	Rebase bool
	// Filter is a capture filter (BPF, tcpdump syntax); empty keeps all.
	Filter string
	// Live, when set and ReplayFile is empty, captures from a network
	// interface instead of replaying (Filter is then ignored: set
	// Live.Filter).
	Live *live.Config

	// Out receives the pcapng stream.
	Out io.Writer
	// Application is written as the section's shb_userappl.
	Application string
	// Log receives diagnostics; nil discards them.
	Log *slog.Logger
	// Progress, if set, is called about five times a second and once at
	// the end.
	Progress func(Progress)
	// FlushInterval bounds how long a written packet may wait in the
	// output buffer during an as-fast-as-possible replay; 0 means 200 ms.
	FlushInterval time.Duration

	// Now and Sleep replace the clock in tests.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Progress is a snapshot of a running replay.
type Progress struct {
	Packets uint64 // packets written
	Bytes   uint64 // captured bytes of the packets written
	Offset  int64  // bytes of the input consumed in this loop
	Size    int64  // input size in bytes
	Loop    int    // current loop, 1-based
	Loops   int
	Done    bool
}

// Stats summarises a run.
type Stats struct {
	Packets  uint64 // packets written
	Bytes    uint64 // captured bytes written
	Filtered uint64 // packets the capture filter dropped
	Loops    int    // loops completed
	Dropped  uint64 // live: packets libpcap or the interface dropped
}

// Run replays cfg.ReplayFile (or captures live with cfg.Live) into cfg.Out
// until the input ends, an error occurs or ctx is cancelled. Cancellation is not an error: the output is
// flushed and left valid. A broken output (the reader went away) ends the
// run with an error wrapping the write error.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	r, err := newRun(cfg)
	if err != nil {
		return Stats{}, err
	}
	if cfg.ReplayFile == "" && cfg.Live != nil {
		err = r.capture(ctx)
	} else {
		err = r.replay(ctx)
	}
	if ferr := r.finish(); err == nil {
		err = ferr
	}
	return r.stats, err
}

type run struct {
	cfg   Config
	log   *slog.Logger
	sink  *pcapng.Sink
	stats Stats

	ifaceOut []int // input interface index → sink interface index
	filters  []*bpf.Filter

	// Pacing: packets are due at wallStart + (virt - virtStart)/speed,
	// where virt is the packet's timestamp plus loopShift.
	wallStart, virtStart time.Time
	loopShift            time.Duration
	rebase               time.Duration
	started              bool

	lastFlush    time.Time
	lastProgress time.Time
	progress     Progress
}

func newRun(cfg Config) (*run, error) {
	if cfg.Loops < 1 {
		cfg.Loops = 1
	}
	if cfg.Speed < 0 {
		return nil, fmt.Errorf("replay speed %g: must be 0 (as fast as possible) or positive", cfg.Speed)
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 200 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		return nil, errors.New("pipeline: no output")
	}
	return &run{cfg: cfg, log: log, progress: Progress{Loops: cfg.Loops}}, nil
}

func (r *run) replay(ctx context.Context) error {
	var lastVirt time.Time
	for loop := 1; loop <= r.cfg.Loops; loop++ {
		if ctx.Err() != nil {
			return nil
		}
		src, err := replay.Open(r.cfg.ReplayFile)
		if err != nil {
			return err
		}
		r.progress.Loop, r.progress.Size = loop, src.Size()
		if loop == 1 {
			r.log.Info("replay started", "file", r.cfg.ReplayFile, "format", src.Format(),
				"speed", r.cfg.Speed, "loops", r.cfg.Loops, "rebase", r.cfg.Rebase, "filter", r.cfg.Filter)
		}
		var first, last time.Time
		err = r.replayOne(ctx, src, &first, &last)
		src.Close()
		if err != nil {
			return err
		}
		if !r.started && loop == 1 {
			// No packets at all: still write a valid section.
			if err := r.ensureSink(src, 0); err != nil {
				return err
			}
		}
		r.stats.Loops = loop
		// The next loop follows the last packet of this one, 1 ms later,
		// on the virtual time line used for pacing and re-basing.
		if !first.IsZero() {
			lastVirt = last.Add(r.loopShift)
			r.loopShift = lastVirt.Add(time.Millisecond).Sub(first)
		}
	}
	return nil
}

// replayOne streams one pass over the file. first and last receive the
// timestamps of its first and last packet.
func (r *run) replayOne(ctx context.Context, src *replay.Source, first, last *time.Time) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		p, err := src.Next()
		if err == io.EOF {
			r.progress.Offset = src.Size()
			return nil
		}
		if err != nil {
			return err
		}
		ts := p.CI.Timestamp
		if first.IsZero() {
			*first = ts
		}
		*last = ts
		if err := r.ensureSink(src, p.CI.InterfaceIndex); err != nil {
			return err
		}
		if f := r.filters[p.CI.InterfaceIndex]; f != nil && !f.Matches(p.CI, p.Data) {
			r.stats.Filtered++
			continue
		}
		if err := r.pace(ctx, ts.Add(r.loopShift)); err != nil {
			return nil // cancelled while waiting
		}
		ci := p.CI
		ci.InterfaceIndex = r.ifaceOut[p.CI.InterfaceIndex]
		if r.cfg.Rebase {
			ci.Timestamp = ts.Add(r.loopShift + r.rebase)
		}
		var opts *pcapngOptions
		if hasOptions(&p.Options) {
			opts = &p.Options
		}
		if err := r.sink.WritePacket(ci, p.Data, opts); err != nil {
			return err
		}
		r.stats.Packets++
		r.stats.Bytes += uint64(len(p.Data))
		if r.stats.Packets&255 == 0 {
			r.progress.Offset = src.Offset()
			if err := r.tick(); err != nil {
				return err
			}
		}
	}
}

// ensureSink creates the sink on the first packet and describes every input
// interface up to idx that the sink does not know yet, in input order.
func (r *run) ensureSink(src *replay.Source, idx int) error {
	for len(r.ifaceOut) < src.Interfaces() {
		in := src.Interface(len(r.ifaceOut))
		if in.Description == "" && in.Name == "" {
			in.Description = "replay of " + filepath.Base(r.cfg.ReplayFile)
		}
		var out int
		if r.sink == nil {
			s, err := pcapng.NewSink(r.cfg.Out, pcapng.Options{
				Application: r.cfg.Application,
				Comment:     fmt.Sprintf("%s: replay of %s", r.cfg.Application, filepath.Base(r.cfg.ReplayFile)),
			}, in)
			if err != nil {
				return err
			}
			r.sink = s
		} else {
			var err error
			if out, err = r.sink.AddInterface(in); err != nil {
				return err
			}
		}
		var f *bpf.Filter
		if r.cfg.Filter != "" {
			var err error
			if f, err = bpf.Compile(in.LinkType, int(in.SnapLen), r.cfg.Filter); err != nil {
				return err
			}
		}
		r.ifaceOut = append(r.ifaceOut, out)
		r.filters = append(r.filters, f)
	}
	if r.sink == nil {
		// A pcapng file without interfaces: describe a placeholder so the
		// output is still a readable section.
		s, err := pcapng.NewSink(r.cfg.Out, pcapng.Options{Application: r.cfg.Application},
			source.Interface{LinkType: 1, Description: "empty replay"})
		if err != nil {
			return err
		}
		r.sink = s
	}
	if idx >= len(r.ifaceOut) {
		return fmt.Errorf("%s: packet on undescribed interface %d", r.cfg.ReplayFile, idx)
	}
	return nil
}

// pace waits until the packet with virtual time virt is due, flushing first
// so Wireshark sees everything before the pause.
func (r *run) pace(ctx context.Context, virt time.Time) error {
	if !r.started {
		r.started = true
		r.wallStart, r.virtStart = r.cfg.Now(), virt
		r.lastFlush, r.lastProgress = r.wallStart, r.wallStart
		r.rebase = r.wallStart.Sub(virt)
	}
	if r.cfg.Speed == 0 {
		return nil
	}
	due := r.wallStart.Add(time.Duration(float64(virt.Sub(r.virtStart)) / r.cfg.Speed))
	wait := due.Sub(r.cfg.Now())
	if wait < 500*time.Microsecond {
		return nil
	}
	if err := r.flush(); err != nil {
		return err
	}
	return r.cfg.Sleep(ctx, wait)
}

// tick runs every few hundred packets: it bounds how long output waits in
// the buffer during a fast replay and reports progress.
func (r *run) tick() error {
	now := r.cfg.Now()
	if now.Sub(r.lastFlush) >= r.cfg.FlushInterval {
		if err := r.flush(); err != nil {
			return err
		}
	}
	if r.cfg.Progress != nil && now.Sub(r.lastProgress) >= 200*time.Millisecond {
		r.lastProgress = now
		r.report(false)
	}
	return nil
}

func (r *run) report(done bool) {
	if r.cfg.Progress == nil {
		return
	}
	p := r.progress
	p.Packets, p.Bytes, p.Done = r.stats.Packets, r.stats.Bytes, done
	r.cfg.Progress(p)
}

func (r *run) flush() error {
	r.lastFlush = r.cfg.Now()
	if r.sink == nil {
		return nil
	}
	return r.sink.Flush()
}

// finish flushes what was written and logs the summary.
func (r *run) finish() error {
	err := r.flush()
	r.report(true)
	r.log.Info("finished", "packets", r.stats.Packets, "bytes", r.stats.Bytes,
		"filtered", r.stats.Filtered, "loops", r.stats.Loops, "dropped", r.stats.Dropped)
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
