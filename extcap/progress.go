package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/genesys-sip/genesys-sip/internal/pipeline"
)

// isTerminal reports whether w is a terminal (progress is shown only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressMeter redraws one status line on a terminal.
type progressMeter struct {
	w     io.Writer
	shown bool
}

func newProgressMeter(w io.Writer) *progressMeter { return &progressMeter{w: w} }

func (m *progressMeter) update(p pipeline.Progress) {
	pct := 0.0
	if p.Size > 0 {
		pct = 100 * float64(p.Offset) / float64(p.Size)
		if pct > 100 {
			pct = 100
		}
	}
	loop := ""
	if p.Loops > 1 {
		loop = fmt.Sprintf(" loop %d/%d", p.Loop, p.Loops)
	}
	fmt.Fprintf(m.w, "\r%d packets, %s, %5.1f%% of input%s\x1b[K", p.Packets, humanBytes(p.Bytes), pct, loop)
	m.shown = true
}

func (m *progressMeter) done() {
	if m.shown {
		fmt.Fprintln(m.w)
	}
}

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// maxRepeats is how often one warning is shown on the terminal; the log
// file, when there is one, still receives every occurrence.
const maxRepeats = 3

// warningHandler shows warnings to people on the command line: one line
// each, "genesys-sip: warning: what: err (key=value, …)". Records below
// Warn are for --log-file; Error records are not shown either, since the
// failing command returns the error and run prints it once.
type warningHandler struct {
	w     io.Writer
	attrs []slog.Attr
	state *warningState
}

type warningState struct {
	mu   sync.Mutex
	seen map[string]int
}

// reportedElsewhere lists warnings the commands print in their own words
// from the run's statistics (capture: "TLS: n records … could not be
// decrypted"); the log record would say it a second time.
var reportedElsewhere = map[string]bool{"TLS decryption": true}

func newWarningHandler(w io.Writer) *warningHandler {
	return &warningHandler{w: w, state: &warningState{seen: map[string]int{}}}
}

func (h *warningHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && l < slog.LevelError
}

func (h *warningHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn || r.Level >= slog.LevelError || reportedElsewhere[r.Message] {
		return nil
	}
	h.state.mu.Lock()
	defer h.state.mu.Unlock()
	n := h.state.seen[r.Message] + 1
	h.state.seen[r.Message] = n
	if n > maxRepeats+1 {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Message)
	if n > maxRepeats {
		b.WriteString(": further warnings like this are not shown (--log-file FILE keeps them all)")
	} else {
		var rest []string
		add := func(a slog.Attr) bool {
			v := a.Value.Resolve().String()
			if a.Key == "err" {
				b.WriteString(": " + v)
				return true
			}
			if strings.ContainsAny(v, " \t") {
				v = strconv.Quote(v)
			}
			rest = append(rest, a.Key+"="+v)
			return true
		}
		for _, a := range h.attrs {
			add(a)
		}
		r.Attrs(add)
		if len(rest) > 0 {
			b.WriteString(" (" + strings.Join(rest, ", ") + ")")
		}
	}
	_, err := fmt.Fprintf(h.w, "genesys-sip: warning: %s\n", printable(b.String()))
	return err
}

func (h *warningHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &warningHandler{w: h.w, attrs: append(slices.Clip(h.attrs), as...), state: h.state}
}

// WithGroup keeps the group's attributes unqualified: a warning line is
// for reading, not for parsing.
func (h *warningHandler) WithGroup(string) slog.Handler { return h }

// teeHandler sends each record to every handler that takes its level.
type teeHandler []slog.Handler

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range t {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var first error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithGroup(name)
	}
	return out
}
