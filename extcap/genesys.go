package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/genesys-sip/genesys-sip/internal/genesys"
	"github.com/genesys-sip/genesys-sip/internal/pipeline"
	"github.com/genesys-sip/genesys-sip/internal/source/replay"
	"github.com/genesys-sip/genesys-sip/internal/trace"
)

// clockMargin widens every API window beyond the capture's time span: the
// Genesys clock may differ from the capture clock (skew), and a record
// stamped a little before the first or after the last packet still belongs
// to the capture. Five minutes covers any clock that is not badly broken;
// records outside the span are written as Genesys-only frames only within
// a minute of it (pipeline), so a wider fetch costs nothing in the output.
const clockMargin = 5 * time.Minute

// recordBatches is how many poller batches may wait for a live capture to
// take them before further batches are dropped (and counted).
const recordBatches = 64

// genesysCredentials finds the OAuth client credentials: a credentials file
// (refused if group/world readable), else GENESYS_CLIENT_ID and
// GENESYS_CLIENT_SECRET, and the --genesys-client-id/-secret arguments as
// the last resort.
func genesysCredentials(o *captureOptions) (genesys.Credentials, error) {
	c, err := genesys.LoadCredentials(os.Getenv, o.CredentialsFile)
	if err != nil {
		return c, err
	}
	c = c.Fill(o.ClientID, o.ClientSecret)
	return c, c.Validate()
}

// newGenesysClient builds the run's one API client (its rate limiter is per
// client).
func newGenesysClient(o *captureOptions, creds genesys.Credentials, log *slog.Logger) (*genesys.Client, error) {
	return genesys.New(genesys.Config{
		Region: o.Region, APIURL: o.APIURL, LoginURL: o.LoginURL,
		Credentials: creds, Logger: log,
	})
}

// setupGenesys configures trace records fetched from the Genesys Cloud API
// (issue 5): for a replay, once for the capture's time window (±
// clockMargin), and with --genesys-pcap the Genesys-side PCAP of that window
// merged as an interface of its own; for a live capture, a poller feeding
// s.cfg.Records and the toolbar's Refresh traces button. Records are not
// fetched when a --trace-file is given, and nothing happens when no
// credentials are configured at all (unless --genesys-pcap asks for the API).
func setupGenesys(ctx context.Context, o *captureOptions, log *slog.Logger, cliMode bool, s *setup) error {
	fetch := o.TraceFile == ""
	if !fetch && !o.GenesysPCAP {
		return nil
	}
	creds, err := genesysCredentials(o)
	if err != nil {
		if errors.Is(err, genesys.ErrNoCredentials) && creds.Source == "" && !o.GenesysPCAP {
			log.Debug("no Genesys Cloud credentials: trace records are not fetched")
			return nil
		}
		return err
	}
	client, err := newGenesysClient(o, creds, log)
	if err != nil {
		return err
	}
	log.Info("Genesys Cloud API", "credentials", creds.Source, "api", client.APIURL(), "login", client.LoginURL())
	if s.cfg.Status == nil {
		s.cfg.Status = &pipeline.Status{}
	}
	if o.ReplayFile == "" {
		if o.GenesysPCAP {
			s.warn("--genesys-pcap applies to replays only: download the Genesys-side PCAP of a live capture afterwards with genesys-sip traces pcap")
		}
		if !fetch {
			return nil
		}
		return startPoller(ctx, o, log, client, s)
	}

	first, last, err := captureSpan(ctx, o.ReplayFile)
	if err != nil || first.IsZero() {
		// The replay itself reports a bad file; an empty one has no window.
		log.Debug("no capture time span: nothing fetched from Genesys Cloud", "err", err)
		return nil
	}
	q := genesys.Query{Start: first.Add(-clockMargin), End: last.Add(clockMargin)}
	var errs []error
	if fetch {
		q.Destination = o.TraceFilter
		if err := fetchReplayRecords(ctx, o, log, client, q, s); err != nil {
			errs = append(errs, err)
		}
		q.Destination = ""
	}
	if o.GenesysPCAP {
		if err := downloadForMerge(ctx, o, log, client, q, s); err != nil {
			errs = append(errs, err)
		}
	}
	s.cfg.Status.SetAPI(client.State().String())
	return errors.Join(errs...)
}

// fetchReplayRecords fetches the records of a replay's window once and sets
// them as the run's trace index.
func fetchReplayRecords(ctx context.Context, o *captureOptions, log *slog.Logger, client *genesys.Client, q genesys.Query, s *setup) error {
	start := time.Now()
	recs, err := client.Search(ctx, q)
	if err != nil {
		return fmt.Errorf("trace records from Genesys Cloud for %s: %w; packets are not annotated", filepath.Base(o.ReplayFile), err)
	}
	log.Info("Genesys Cloud trace records fetched", "count", len(recs),
		"from", q.Start.UTC().Format(time.RFC3339), "to", q.End.UTC().Format(time.RFC3339),
		"took", time.Since(start).Round(time.Millisecond))
	if len(recs) == 0 {
		return nil
	}
	ix, rep, err := indexRecords(ctx, recs, o.CorrelationHeaders)
	if err != nil {
		return fmt.Errorf("trace records from Genesys Cloud: %w; packets are not annotated", err)
	}
	s.cfg.Trace = ix
	s.closers = append(s.closers, func() { ix.Close() })
	if n := rep.SkippedTotal(); n > 0 {
		s.warn("Genesys Cloud trace records: %s", rep.String())
	}
	return nil
}

// indexRecords turns API records into a trace index: the loaders read them
// exactly as they read a saved siptraces response.
func indexRecords(ctx context.Context, recs []genesys.Record, headers []string) (*trace.Index, trace.Report, error) {
	var buf bytes.Buffer
	if err := genesys.WriteResponse(&buf, recs); err != nil {
		return nil, trace.Report{}, err
	}
	return trace.Load(ctx, &buf, "Genesys Cloud API", trace.Options{CorrelationHeaders: headers})
}

// downloadForMerge downloads the Genesys-side PCAP of the window to a
// temporary file the pipeline merges. A destination pattern without * is
// passed on as the exact toUser filter; a prefix pattern cannot filter a
// download, so the whole window is fetched.
func downloadForMerge(ctx context.Context, o *captureOptions, log *slog.Logger, client *genesys.Client, q genesys.Query, s *setup) error {
	if p := o.TraceFilter; p != "" && p != "*" && !strings.HasSuffix(p, "*") {
		q.ToUser = p
	}
	f, err := os.CreateTemp("", "genesys-sip-genesys-*.pcap")
	if err != nil {
		return fmt.Errorf("the Genesys-side PCAP: %w", err)
	}
	name := f.Name()
	n, err := client.DownloadPCAP(ctx, q, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		var src *replay.Source
		if src, err = replay.Open(name); err == nil {
			src.Close()
		}
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("the Genesys-side PCAP for %s: %w; not merged", filepath.Base(o.ReplayFile), err)
	}
	log.Info("Genesys-side PCAP downloaded", "bytes", n)
	s.cfg.MergePCAP = name
	s.closers = append(s.closers, func() { os.Remove(name) })
	return nil
}

// captureSpan reads the replay file's packet timestamps (no decoding) and
// returns the earliest and latest; zero times for a file without packets.
func captureSpan(ctx context.Context, path string) (first, last time.Time, err error) {
	src, err := replay.Open(path)
	if err != nil {
		return first, last, err
	}
	defer src.Close()
	for n := 0; ; n++ {
		if n&4095 == 0 && ctx.Err() != nil {
			return first, last, ctx.Err()
		}
		p, err := src.Next()
		if err == io.EOF {
			return first, last, nil
		}
		if err != nil {
			return first, last, err
		}
		ts := p.CI.Timestamp
		if first.IsZero() || ts.Before(first) {
			first = ts
		}
		if ts.After(last) {
			last = ts
		}
	}
}

// livePoll delivers the records of a live capture's poller, and of the
// toolbar's refresh, to the pipeline without ever blocking.
type livePoll struct {
	log     *slog.Logger
	headers []string
	ch      chan []trace.Record

	mu      sync.Mutex
	seen    map[string]time.Time // records delivered (poller and refresh overlap)
	dropped int                  // records dropped because the pipeline lagged
}

func (lp *livePoll) deliver(ctx context.Context, recs []genesys.Record) {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	now := time.Now()
	var fresh []genesys.Record
	var keys []string
	for _, r := range recs {
		k := r.Key()
		if _, ok := lp.seen[k]; ok {
			continue
		}
		t := r.Time
		if t.IsZero() {
			t = now
		}
		lp.seen[k] = t
		fresh = append(fresh, r)
		keys = append(keys, k)
	}
	cutoff := now.Add(-2 * (genesys.DefaultPollLookback + clockMargin))
	for k, t := range lp.seen {
		if t.Before(cutoff) {
			delete(lp.seen, k)
		}
	}
	if len(fresh) == 0 {
		return
	}
	ix, _, err := indexRecords(ctx, fresh, lp.headers)
	if err != nil {
		lp.log.Warn("Genesys Cloud trace records not usable", "count", len(fresh), "err", err)
		return
	}
	batch := make([]trace.Record, 0, ix.Len())
	for r := range ix.All() {
		batch = append(batch, r)
	}
	select {
	case lp.ch <- batch:
		lp.log.Info("Genesys Cloud trace records fetched", "count", len(batch))
	default:
		// The capture is not taking records: drop them, and let a refresh
		// fetch them again.
		lp.dropped += len(batch)
		for _, k := range keys {
			delete(lp.seen, k)
		}
		lp.log.Warn("Genesys Cloud trace records dropped: the capture is not keeping up", "count", len(batch), "dropped_total", lp.dropped)
	}
}

// startPoller starts the live capture's poller and the refresh function.
func startPoller(ctx context.Context, o *captureOptions, log *slog.Logger, client *genesys.Client, s *setup) error {
	interval := o.PollInterval
	if interval <= 0 {
		interval = 300 * time.Second
	}
	lp := &livePoll{log: log, headers: o.CorrelationHeaders, ch: make(chan []trace.Record, recordBatches), seen: map[string]time.Time{}}
	status := s.cfg.Status
	since := time.Now().Add(-clockMargin)
	ctx, cancel := context.WithCancel(ctx)
	p, err := client.Poll(ctx, genesys.PollConfig{
		Query:     genesys.Query{Destination: o.TraceFilter},
		Interval:  interval,
		Since:     since,
		OnRecords: func(recs []genesys.Record) { lp.deliver(ctx, recs) },
		OnError:   func(err error) { log.Warn("Genesys Cloud poll failed", "err", err) },
		OnState: func(st genesys.State) {
			log.Info("Genesys Cloud API", "state", st.String())
			status.SetAPI(st.String())
		},
	})
	if err != nil {
		cancel()
		return err
	}
	s.cfg.Records = lp.ch
	var wg sync.WaitGroup
	var busy atomic.Bool
	s.refresh = func() {
		if !busy.CompareAndSwap(false, true) {
			return // a refresh is running
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer busy.Store(false)
			now := time.Now()
			start := now.Add(-genesys.DefaultPollLookback)
			if since.After(start) {
				start = since
			}
			recs, err := client.Search(ctx, genesys.Query{Start: start, End: now, Destination: o.TraceFilter})
			status.SetAPI(client.State().String())
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("Genesys Cloud refresh failed", "err", err)
				}
				return
			}
			lp.deliver(ctx, recs)
		}()
	}
	s.closers = append(s.closers, func() {
		cancel()
		p.Stop()
		wg.Wait()
	})
	log.Info("Genesys Cloud poller started", "interval", interval, "filter", o.TraceFilter != "")
	return nil
}

// genesysArgs returns the Genesys group's arguments the API commands take
// (region, credentials, URL overrides), the extra calls named, and the
// Debug group (--log-level, --log-file).
func genesysArgs(extra ...string) []arg {
	skip := map[string]bool{"--trace-file": true, "--trace-filter": true, "--poll-interval": true, "--genesys-pcap": true}
	for _, c := range extra {
		skip[c] = false
	}
	return selectArgs(argTable(), func(a *arg) bool {
		return (a.Group == "Genesys" && !skip[a.Call]) || a.Group == "Debug"
	})
}

// parseWhen reads a --from/--to value: "now"; a signed offset from now
// ("-1h", "-90m", "-2d", "+5m", also written "now-1h"); or an RFC 3339 time
// with zone ("2026-11-25T10:00:00Z", "2026-11-25T11:00:00.5+01:00").
func parseWhen(s string, now time.Time) (time.Time, error) {
	v := strings.TrimSpace(s)
	rel := strings.TrimPrefix(strings.ToLower(v), "now")
	if rel == "" {
		return now, nil
	}
	if rel[0] == '-' || rel[0] == '+' {
		var d time.Duration
		var err error
		if num, ok := strings.CutSuffix(rel, "d"); ok {
			var days float64
			if days, err = strconv.ParseFloat(num, 64); err == nil && days > -36500 && days < 36500 {
				d = time.Duration(days * float64(24*time.Hour))
			} else if err == nil {
				err = errors.New("out of range")
			}
		} else {
			d, err = time.ParseDuration(rel)
		}
		if err == nil {
			return now.Add(d), nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a time: want now, an offset such as -1h, -30m or -2d, or RFC 3339 such as 2026-11-25T10:00:00Z", s)
	}
	return t, nil
}

// apiRun is what the API commands share: options, logger, client, context.
type apiRun struct {
	opts   captureOptions
	log    *slog.Logger
	client *genesys.Client
	ctx    context.Context
	close  func()
}

func newAPIRun(c *cli.Context, e *env, sub []arg) (*apiRun, error) {
	opts, err := optionsFrom(c, sub)
	if err != nil {
		return nil, err
	}
	log, _, closeLog, err := newLogger(opts.LogLevel, opts.LogFile, true, e.stderr)
	if err != nil {
		return nil, err
	}
	creds, err := genesysCredentials(&opts)
	if err != nil {
		closeLog()
		return nil, err
	}
	client, err := newGenesysClient(&opts, creds, log)
	if err != nil {
		closeLog()
		return nil, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	return &apiRun{opts: opts, log: log, client: client, ctx: ctx, close: func() { stop(); closeLog() }}, nil
}

// tracesCommand is `genesys-sip traces fetch|pcap`.
func tracesCommand(e *env) *cli.Command {
	sub := genesysArgs()
	return &cli.Command{
		Name:      "traces",
		Usage:     "fetch Genesys Cloud SIP trace records or the Genesys-side PCAP",
		ArgsUsage: "fetch|pcap --from T [--to T] [filters] -o FILE",
		Description: "fetch writes the siptraces records of the window as {\"data\":[…],\"count\":N}, the JSON\n" +
			"--trace-file reads; pcap writes the Genesys-side capture of the window.\n" +
			"Times (--from, --to): now, an offset from now such as -1h, -30m, -2d (or now-1h), or RFC 3339\n" +
			"with zone such as 2026-11-25T10:00:00Z. Credentials: GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET,\n" +
			"or --genesys-credentials-file (chmod 600). The output holds phone numbers: it is created mode 0600.\n" +
			"Example: genesys-sip traces fetch --from -1h --destination '+1555*' -o trace.json",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "window start (now, -1h, RFC 3339)", Required: true},
			&cli.StringFlag{Name: "to", Usage: "window end (now, -5m, RFC 3339)", Value: "now"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output file, or - for stdout", Required: true},
			&cli.StringFlag{Name: "call-id", Usage: "SIP Call-ID as Genesys saw it (exact)"},
			&cli.StringFlag{Name: "to-user", Usage: "SIP To user (exact)"},
			&cli.StringFlag{Name: "from-user", Usage: "SIP From user (exact)"},
			&cli.StringFlag{Name: "conversation-id", Usage: "Genesys conversation id"},
			&cli.StringFlag{Name: "destination", Usage: "fetch only: To or Request-URI user pattern, e.g. +1555* (trailing * = prefix)"},
		}, tableFlags(sub, false)...),
		Action: func(c *cli.Context) error {
			what := c.Args().First()
			if c.NArg() != 1 || (what != "fetch" && what != "pcap") {
				return errors.New("traces: say what to fetch: genesys-sip traces fetch|pcap --from T -o FILE")
			}
			now := time.Now()
			from, err := parseWhen(c.String("from"), now)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			to, err := parseWhen(c.String("to"), now)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			if !to.After(from) {
				return fmt.Errorf("--to %s is not after --from %s", to.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
			}
			q := genesys.Query{Start: from, End: to, CallID: c.String("call-id"), ToUser: c.String("to-user"),
				FromUser: c.String("from-user"), ConversationID: c.String("conversation-id"), Destination: c.String("destination")}
			if _, err := genesys.ParsePattern(q.Destination); err != nil {
				return fmt.Errorf("--destination: %w", err)
			}
			if what == "pcap" && q.Destination != "" {
				return errors.New("traces pcap: --destination cannot filter a PCAP download; use --to-user (exact)")
			}
			r, err := newAPIRun(c, e, sub)
			if err != nil {
				return err
			}
			defer r.close()
			return writeOutput(e, c.String("output"), func(w io.Writer) (string, error) {
				if what == "pcap" {
					n, err := r.client.DownloadPCAP(r.ctx, q, w)
					return fmt.Sprintf("Genesys-side PCAP, %d bytes", n), err
				}
				recs, err := r.client.Search(r.ctx, q)
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("%d trace records", len(recs)), genesys.WriteResponse(w, recs)
			})
		},
	}
}

// writeOutput runs write into target ("-": stdout). A file is written
// beside the target and renamed on success, so a failed fetch leaves no
// partial output; it is created mode 0600 (trace data holds phone numbers).
func writeOutput(e *env, target string, write func(io.Writer) (string, error)) error {
	if target == "-" {
		_, err := write(e.stdout)
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*.part")
	if err != nil {
		return fmt.Errorf("-o %s: %w", target, unwrapPath(err))
	}
	what, err := write(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("-o %s: %w", target, cerr)
	}
	if err == nil {
		if rerr := os.Rename(f.Name(), target); rerr != nil {
			err = fmt.Errorf("-o %s: %w", target, unwrapPath(rerr))
		}
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	fmt.Fprintf(e.stderr, "genesys-sip: %s written to %s\n", what, target)
	return nil
}

// checkCommand is `genesys-sip check`.
func checkCommand(e *env) *cli.Command {
	sub := genesysArgs("--trace-filter")
	return &cli.Command{
		Name:      "check",
		Usage:     "check Genesys Cloud credentials, permission and region",
		ArgsUsage: " ",
		Description: "Tests, in order: the login host and the client credentials, the API host, the permission\n" +
			"telephony:pcap:view, and whether trace records (matching --trace-filter) exist for the last hour;\n" +
			"then prints advice on tracing. Exits non-zero when a step fails.",
		Flags: tableFlags(sub, false),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("check: unexpected argument %q", c.Args().First())
			}
			r, err := newAPIRun(c, e, sub)
			if err != nil {
				return err
			}
			defer r.close()
			res, err := r.client.Check(r.ctx, r.opts.TraceFilter)
			if err != nil {
				return err
			}
			if _, err := res.WriteTo(e.stdout); err != nil {
				return err
			}
			for _, st := range res.Steps {
				if !st.OK && !st.Skipped {
					return fmt.Errorf("check failed: %s", st.Name)
				}
			}
			if !res.OK() {
				return errors.New("check failed")
			}
			return nil
		},
	}
}
