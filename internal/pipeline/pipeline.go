// Package pipeline wires a packet source to the pcapng sink through the
// stages of DESIGN.md:
//
//	source ─▶ decode ─▶ correlate / alerts ─▶ redact ─▶ pcapng sink
//
// It replays a file at the requested pace (or captures live), holds frames
// while a SIP message they carry is still incomplete (so redaction can
// rewrite every byte of it), attaches the annotation and alert comments to
// the frame that completes each message, writes what only Genesys saw on an
// interface of its own, and owns the flush policy, progress reporting and
// cancellation.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/alert"
	"github.com/genesys-sip/genesys-sip/internal/decode"
	"github.com/genesys-sip/genesys-sip/internal/hostclock"
	"github.com/genesys-sip/genesys-sip/internal/pcapng"
	"github.com/genesys-sip/genesys-sip/internal/redact"
	"github.com/genesys-sip/genesys-sip/internal/source/live"
	"github.com/genesys-sip/genesys-sip/internal/tlsdec"
	"github.com/genesys-sip/genesys-sip/internal/trace"
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

	// CorrelationHeaders name the headers that join wire messages to
	// trace records; empty means X-Genesys-Call-ID, x-inin-cnv.
	CorrelationHeaders []string
	// Trace holds the Genesys Cloud trace records to annotate with; nil
	// means no annotation (unless Records delivers some, live).
	Trace *trace.Index
	// Records delivers trace records fetched while a live capture runs
	// (the API poller); the pipeline never waits on it.
	Records <-chan []trace.Record
	// MergePCAP, when set, is a capture (the Genesys-side PCAP) whose
	// frames are interleaved into the output of a replay on an interface of
	// their own, "Genesys Cloud PCAP", moved onto the capture clock.
	MergePCAP string
	// ClockOffset, when set, is the Genesys-minus-capture clock offset to
	// apply instead of estimating it.
	ClockOffset *time.Duration
	// Redactor, when set, redacts phone numbers in every SIP message,
	// comment and Genesys-side frame (redaction is on by default in the
	// CLI and extcap; nil here means off).
	Redactor *redact.Redactor
	// Alerts are the response codes that get an alert comment; nil: none.
	Alerts *alert.Codes
	// Webhook, when set, receives each alert.
	Webhook *alert.Webhook
	// TLSKeys, when set, decrypts SIP over TLS with these secrets.
	TLSKeys *tlsdec.KeyLog
	// InjectSecrets writes the key-log lines each decrypted connection
	// used as a Decryption Secrets Block before its first packet, so
	// Wireshark decrypts the original packets (refused with redaction).
	InjectSecrets bool
	// Decode tunes the decoder (port hints, limits); zero is the default.
	Decode decode.Config
	// Status, when set, receives live counters (the extcap toolbar).
	Status *Status
	// Notes are warnings written into the section comment, where an
	// analyst opening the capture sees them (a trace file that could not
	// be read, for instance).
	Notes []string
	// HostClock is the capture host's clock synchronisation state, for
	// the section comment and the toolbar; nil: the run reads it
	// (hostclock.Read) when it starts.
	HostClock *hostclock.State

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
	Packets     uint64 // wire packets written
	Bytes       uint64 // captured bytes written
	Filtered    uint64 // packets the capture filter dropped
	Loops       int    // loops completed
	Dropped     uint64 // live: packets libpcap or the interface dropped
	SIP         uint64 // SIP messages decoded
	Malformed   uint64 // SIP messages that did not parse
	Annotated   uint64 // annotation comments written on wire frames
	GenesysOnly uint64 // frames written for records no packet matched
	Redacted    uint64 // SIP messages in which something was redacted
	Alerts      uint64 // alert comments written
	Decrypted   uint64 // SIP messages decrypted from TLS

	TLSConnections   int    // TLS connections seen
	TLSUndecryptable int    // TLS records that could not be decrypted
	TLSProblem       string // why, for the first connection that had one
}

// decoding reports whether the output pass needs the decoder: alerts,
// redaction and TLS start from SIP messages, and so does annotation in a
// live capture (online matching). A replay's annotations come from its
// matching pass, which has a decoder of its own.
func (c *Config) decoding() bool {
	live := c.ReplayFile == "" && c.Live != nil
	return c.Redactor != nil || c.Alerts != nil || c.TLSKeys != nil || c.Records != nil || (live && c.Trace != nil)
}

// Run replays cfg.ReplayFile (or captures live with cfg.Live) into cfg.Out
// until the input ends, an error occurs or ctx is cancelled. Cancellation
// is not an error: the output is flushed and left valid. A broken output
// (the reader went away) ends the run with an error wrapping the write
// error.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	r, err := newRun(cfg)
	if err != nil {
		return Stats{}, err
	}
	r.readHostClock(ctx)
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
	proc  *processor

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
	if cfg.InjectSecrets && cfg.Redactor != nil {
		return nil, errors.New("injecting TLS secrets is refused while redaction is on: the keys would let anyone decrypt the unredacted SIP; turn redaction off explicitly (--redact false) to inject them")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		return nil, errors.New("pipeline: no output")
	}
	r := &run{cfg: cfg, log: log, progress: Progress{Loops: cfg.Loops}}
	r.proc = newProcessor(r)
	return r, nil
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
	r.proc.publish()
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

// finish writes what is still held, flushes and logs the summary.
func (r *run) finish() error {
	var err error
	if r.sink != nil && r.sink.Err() == nil {
		err = r.proc.drain()
	}
	if ferr := r.flush(); err == nil {
		err = ferr
	}
	r.proc.close()
	if conns, dec, bad, problem := r.proc.tls.summary(); conns > 0 {
		r.stats.TLSConnections, r.stats.TLSUndecryptable, r.stats.TLSProblem = conns, bad, problem
		level := r.log.Info
		if bad > 0 {
			level = r.log.Warn
		}
		level("TLS decryption", "connections", conns, "records_decrypted", dec, "records_undecryptable", bad, "first_problem", problem)
	}
	r.proc.lastPub = time.Time{}
	r.proc.publish()
	r.report(true)
	s := r.stats
	r.log.Info("finished", "packets", s.Packets, "bytes", s.Bytes, "filtered", s.Filtered, "loops", s.Loops,
		"dropped", s.Dropped, "sip", s.SIP, "malformed", s.Malformed, "annotated", s.Annotated,
		"genesys_only", s.GenesysOnly, "redacted", s.Redacted, "alerts", s.Alerts, "decrypted", s.Decrypted)
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
