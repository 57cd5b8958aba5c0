package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/genesys-sip/genesys-sip/internal/hostclock"
	"github.com/genesys-sip/genesys-sip/internal/pcapng"
	"github.com/genesys-sip/genesys-sip/internal/pipeline"
)

// captureCommand is `genesys-sip capture`: the extcap capture outside
// Wireshark, with the same arguments.
func captureCommand(e *env, table []arg) *cli.Command {
	return &cli.Command{
		Name:      "capture",
		Usage:     "replay or capture SIP into a pcapng file, as the Wireshark interface does",
		ArgsUsage: " ",
		Description: "Writes the same pcapng stream Wireshark receives from the \"Genesys SIP\" interface.\n" +
			"Example: genesys-sip capture --replay-file call.pcap --replay-speed 0 -w out.pcapng",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "write", Aliases: []string{"w"}, Usage: "the output pcapng file, or - for stdout", Required: true},
			&cli.StringFlag{Name: "capture-filter", Aliases: []string{"f"}, Usage: "capture filter (BPF, tcpdump syntax)", Category: "Source"},
		}, tableFlags(table, false)...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("capture", "unexpected argument %q (the input is --replay-file FILE)", c.Args().First())
			}
			opts, err := optionsFrom(c, table)
			if err != nil {
				return err
			}
			opts.CaptureFilter = c.String("capture-filter")
			var out io.WriteCloser
			target := c.String("write")
			if target == "-" {
				out = nopCloser{e.stdout}
			} else {
				f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
				if err != nil {
					return fmt.Errorf("-w %s: %w", target, unwrapPath(err))
				}
				out = f
			}
			var prog *progressMeter
			if target != "-" && isTerminal(e.stderr) {
				prog = newProgressMeter(e.stderr)
			}
			err = e.capture(opts, out, true, prog, nil)
			var oe *pcapng.OutputError
			if errors.As(err, &oe) && target != "-" {
				err = fmt.Errorf("-w %s: %w", target, oe.Err)
			}
			if cerr := out.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("-w %s: %w", target, cerr)
			}
			return err
		},
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// capture runs the pipeline for the extcap (cliMode false) and the CLI. It
// stops cleanly on SIGTERM and SIGINT — flush, close, exit 0 — and treats a
// reader that went away (EPIPE) as the end of the capture, not an error.
func (e *env) capture(opts captureOptions, out io.Writer, cliMode bool, prog *progressMeter, tb *toolbar) error {
	log, toStderr, closeLog, err := newLogger(opts.LogLevel, opts.LogFile, cliMode, e.stderr)
	if err != nil {
		return err
	}
	defer closeLog()

	ctx, stop := signalContext()
	defer stop()

	s, err := buildSetup(ctx, &opts, log, cliMode)
	defer s.close()
	if err != nil {
		return err
	}
	for _, w := range s.warnings {
		log.Warn(w)
		if cliMode && !toStderr {
			fmt.Fprintf(e.stderr, "genesys-sip: warning: %s\n", w)
		}
	}
	cfg := s.cfg
	cfg.Out = out
	cfg.Notes = s.warnings
	// The capture host's clock, read once before the first packet (at
	// most hostclock.Budget): the pipeline writes it into the section
	// comment and the toolbar. A bad one is said here too when the
	// output's times are this host's (live, or a re-based replay); not in
	// Wireshark's error box, which would pop up at every capture.
	hc := hostclock.Read(ctx)
	cfg.HostClock = &hc
	if w := hc.Warn(); w != "" && (cfg.ReplayFile == "" || cfg.Rebase) {
		log.Warn(w)
		if cliMode && !toStderr {
			fmt.Fprintf(e.stderr, "genesys-sip: warning: %s\n", w)
		}
		tb.Log(w)
		tb.Statusbar(w)
	}
	if tb != nil {
		if cfg.Status == nil { // setupGenesys may have made it for the API state
			cfg.Status = &pipeline.Status{}
		}
		tb.SetRefresh(s.refresh)
		stopTB := tb.run(ctx, cfg.Status)
		defer stopTB()
	}
	if f, ok := out.(*os.File); ok {
		ctx = watchReader(ctx, f)
	}
	if prog != nil {
		cfg.Progress = prog.update
	}
	st, err := pipeline.Run(ctx, cfg)
	if prog != nil {
		prog.done()
	}
	if st.TLSUndecryptable > 0 {
		s.warnings = append(s.warnings, fmt.Sprintf("TLS: %d records of %d connections could not be decrypted (%s)",
			st.TLSUndecryptable, st.TLSConnections, st.TLSProblem))
		if cliMode {
			fmt.Fprintf(e.stderr, "genesys-sip: warning: %s\n", s.warnings[len(s.warnings)-1])
		}
	}
	if !cliMode && err == nil && len(s.warnings) > 0 {
		// Wireshark shows an extcap's stderr to the user: the capture
		// worked, but not everything asked for did.
		for _, w := range s.warnings {
			fmt.Fprintf(e.stderr, "genesys-sip: warning: %s\n", w)
		}
	}
	if err != nil && isBrokenPipe(err) {
		log.Info("the reader closed the output; stopping", "packets", st.Packets)
		return nil
	}
	if err != nil {
		// For the log file: the caller prints the error on stderr.
		log.Error("capture failed", "err", err, "packets_written", st.Packets)
		return err
	}
	if ctx.Err() != nil {
		log.Info("stopped by signal", "packets", st.Packets)
	}
	return nil
}

// signalContext is cancelled by SIGINT or SIGTERM, so a run stops cleanly
// (flush, close, exit 0); SIGPIPE is ignored so a closed stdout gives EPIPE
// instead of killing the process.
func signalContext() (context.Context, context.CancelFunc) {
	signal.Ignore(syscall.SIGPIPE)
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// newLogger builds the diagnostics logger. Wireshark shows anything on an
// extcap's stderr as an error, so in extcap mode the log goes only to
// --log-file. On the command line the structured log goes to --log-file
// too, and to stderr only at --log-level debug or noisy without a log
// file; otherwise stderr gets each warning as one line in plain words
// (toStderr then reports true: warnings logged reach the user).
func newLogger(level, file string, cliMode bool, stderr io.Writer) (log *slog.Logger, toStderr bool, closer func(), err error) {
	lv, err := parseLogLevel(level)
	if err != nil {
		return nil, false, nil, fmt.Errorf("--log-level: %w", err)
	}
	var handlers teeHandler
	closer = func() {}
	if file != "" {
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, false, nil, fmt.Errorf("--log-file %s: %w", file, unwrapPath(err))
		}
		handlers = append(handlers, slog.NewTextHandler(f, &slog.HandlerOptions{Level: lv}))
		closer = func() { f.Close() }
	}
	switch {
	case !cliMode:
	case file == "" && lv < slog.LevelInfo:
		handlers = append(handlers, slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))
		toStderr = true
	default:
		handlers = append(handlers, newWarningHandler(stderr))
		toStderr = true
	}
	switch len(handlers) {
	case 0:
		return slog.New(slog.DiscardHandler), false, closer, nil
	case 1:
		return slog.New(handlers[0]), toStderr, closer, nil
	}
	return slog.New(handlers), toStderr, closer, nil
}

// parseLogLevel maps Wireshark's extcap log levels onto slog's.
func parseLogLevel(s string) (slog.Level, error) {
	switch s {
	case "", "message", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "noisy":
		return slog.LevelDebug - 4, nil
	case "warning":
		return slog.LevelWarn, nil
	case "error", "critical":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not a log level (message, info, debug, noisy, warning, error)", s)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
