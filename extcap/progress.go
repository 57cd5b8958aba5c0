package main

import (
	"fmt"
	"io"
	"os"

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
