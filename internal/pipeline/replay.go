package pipeline

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/pcapng"
	"github.com/genesys-sip/genesys-sip/internal/source"
	"github.com/genesys-sip/genesys-sip/internal/source/bpf"
	"github.com/genesys-sip/genesys-sip/internal/source/replay"
)

// replay streams the file cfg.Loops times. With trace records it first
// makes a matching pass over the file (decode and correlate, no output), so
// every comment carries the clock offset estimated from all same-message
// pairs, the section comment reports it, and the records no packet matched
// can be written at their place in time.
func (r *run) replay(ctx context.Context) error {
	if r.proc.correlating() {
		if err := r.matchingPass(ctx); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	var filters []*bpf.Filter
	for loop := 1; loop <= r.cfg.Loops; loop++ {
		if ctx.Err() != nil {
			return nil
		}
		r.progress.Loop = loop
		if loop == 1 {
			r.log.Info("replay started", "file", r.cfg.ReplayFile, "speed", r.cfg.Speed,
				"loops", r.cfg.Loops, "rebase", r.cfg.Rebase, "filter", r.cfg.Filter)
		}
		r.proc.startLoop()
		var first, last time.Time
		err := r.readFile(ctx, &filters, func(src *replay.Source, p *source.Packet) error {
			ts := p.CI.Timestamp
			if first.IsZero() {
				first = ts
			}
			last = ts
			if err := r.ensureSink(src); err != nil {
				return err
			}
			if err := r.pace(ctx, ts.Add(r.loopShift)); err != nil {
				return errCancelled
			}
			link := src.Interface(p.CI.InterfaceIndex).LinkType
			out := ts
			if r.cfg.Rebase {
				out = ts.Add(r.loopShift + r.rebase)
			}
			if err := r.proc.frame(p, r.proc.ifaceOut[p.CI.InterfaceIndex], link, out); err != nil {
				return err
			}
			if r.proc.seq&255 == 0 {
				r.progress.Offset = src.Offset()
				return r.tick()
			}
			return nil
		})
		if err == errCancelled {
			return nil
		}
		if err != nil {
			return err
		}
		if r.sink == nil && loop == 1 {
			// No packets at all: still write a valid section.
			if err := r.emptySink(); err != nil {
				return err
			}
		}
		if err := r.proc.endLoop(); err != nil {
			return err
		}
		r.stats.Loops = loop
		// The next loop follows the last packet of this one, 1 ms later,
		// on the virtual time line used for pacing and re-basing.
		if !first.IsZero() {
			r.loopShift = last.Add(r.loopShift).Add(time.Millisecond).Sub(first)
		}
	}
	return nil
}

// errCancelled ends a read loop when ctx is cancelled while pacing.
var errCancelled = fmt.Errorf("cancelled")

// readFile reads the replay file once, applying the capture filter, and
// calls visit for each packet that passes. Filters are compiled per input
// interface on first use and kept in *filters across passes and loops.
func (r *run) readFile(ctx context.Context, filters *[]*bpf.Filter, visit func(*replay.Source, *source.Packet) error) error {
	src, err := replay.Open(r.cfg.ReplayFile)
	if err != nil {
		return fmt.Errorf("replay file %w", err) // the error starts with the path
	}
	defer src.Close()
	src.OnDamage = r.proc.damaged
	r.progress.Size = src.Size()
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
			return fmt.Errorf("replay file %w", err)
		}
		for len(*filters) < src.Interfaces() {
			var f *bpf.Filter
			if r.cfg.Filter != "" {
				in := src.Interface(len(*filters))
				if f, err = bpf.Compile(in.LinkType, int(in.SnapLen), r.cfg.Filter); err != nil {
					return err
				}
			}
			*filters = append(*filters, f)
		}
		if f := (*filters)[p.CI.InterfaceIndex]; f != nil && !f.Matches(p.CI, p.Data) {
			r.stats.Filtered++
			continue
		}
		if err := visit(src, p); err != nil {
			return err
		}
	}
}

// ensureSink creates the sink on the first packet and describes every input
// interface the sink does not know yet, in input order.
func (r *run) ensureSink(src *replay.Source) error {
	for len(r.proc.ifaceOut) < src.Interfaces() {
		in := src.Interface(len(r.proc.ifaceOut))
		if in.Description == "" && in.Name == "" {
			in.Description = "replay of " + filepath.Base(r.cfg.ReplayFile)
		}
		var out int
		if r.sink == nil {
			s, err := pcapng.NewSink(r.cfg.Out, pcapng.Options{
				Application: r.cfg.Application,
				Comment:     r.sectionComment("replay of " + filepath.Base(r.cfg.ReplayFile)),
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
		r.proc.ifaceOut = append(r.proc.ifaceOut, out)
	}
	return nil
}

// emptySink writes a section for an input without packets.
func (r *run) emptySink() error {
	s, err := pcapng.NewSink(r.cfg.Out, pcapng.Options{Application: r.cfg.Application, Comment: r.sectionComment("replay of an empty file")},
		source.Interface{LinkType: 1, Description: "empty replay"})
	r.sink = s
	return err
}

// sectionComment is the SHB comment: what this is, the clock-offset
// report when trace records were correlated, and the capture host's clock
// state beside it (the offset means something only if that clock is
// right).
func (r *run) sectionComment(what string) string {
	c := r.cfg.Application + ": " + what
	if s := r.proc.skewReport(); s != "" {
		c += "; " + s
	}
	line, warn := r.hostClockComment()
	if line != "" {
		c += "; " + line
	}
	for _, n := range r.cfg.Notes {
		c += "; WARNING: " + n
	}
	if warn != "" {
		c += "; WARNING: " + warn
	}
	return c
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
