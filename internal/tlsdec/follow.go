package tlsdec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// DefaultPoll is the interval at which Follow checks the key log when given
// a non-positive poll interval.
const DefaultPoll = 200 * time.Millisecond

// Follow reads the key log at path into kl, then keeps adding the lines
// appended to it until ctx is done, checking every poll. It is meant for live
// capture, where the TLS endpoint writes secrets while packets arrive; run
// it in its own goroutine. A file that does not exist yet is waited for; a
// truncated file is re-read from its start; a replaced (rotated) file is
// finished and then the new file is read from its start. Problems (read
// errors, *BadLinesError for skipped lines) go to onErr, which may be nil;
// the same error is not reported twice in a row.
func (kl *KeyLog) Follow(ctx context.Context, path string, poll time.Duration, onErr func(error)) {
	if poll <= 0 {
		poll = DefaultPoll
	}
	kl.live.Add(1)
	defer kl.live.Add(-1)
	fw := follower{kl: kl, path: path, buf: make([]byte, 32<<10), onErr: onErr}
	defer fw.close()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		fw.step()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type follower struct {
	kl      *KeyLog
	path    string
	f       *os.File
	st      os.FileInfo
	off     int64
	lp      lineParser
	buf     []byte
	onErr   func(error)
	lastErr string
}

func (fw *follower) report(err error) {
	if err == nil || fw.onErr == nil {
		return
	}
	if msg := err.Error(); msg != fw.lastErr {
		fw.lastErr = msg
		fw.onErr(err)
	}
}

func (fw *follower) close() {
	if fw.f != nil {
		fw.f.Close()
		fw.f = nil
	}
}

// step reads whatever is new, handling truncation and rotation.
func (fw *follower) step() {
	if fw.f == nil {
		f, err := os.Open(fw.path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				err = fmt.Errorf("key log %s: waiting for the file to appear", fw.path)
			} else {
				err = fmt.Errorf("key log: %w", err)
			}
			fw.report(err)
			return
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			fw.report(fmt.Errorf("key log: %w", err))
			return
		}
		fw.f, fw.st, fw.off, fw.lp = f, st, 0, lineParser{}
		fw.lastErr = ""
	}
	if st, err := fw.f.Stat(); err == nil && st.Size() < fw.off {
		// Truncated in place: start over.
		fw.off = 0
		fw.lp = lineParser{}
	}
	fw.readNew()
	// Rotated or removed: finish the old file and switch to the new one.
	if st, err := os.Stat(fw.path); err != nil || !os.SameFile(st, fw.st) {
		fw.readNew()
		fw.lp.finish(fw.kl)
		fw.flushBad()
		fw.close()
		if err == nil {
			fw.step()
		}
	}
}

func (fw *follower) readNew() {
	for {
		n, err := fw.f.ReadAt(fw.buf, fw.off)
		if n > 0 {
			fw.lp.feed(fw.kl, fw.buf[:n])
			fw.off += int64(n)
		}
		if err != nil && err != io.EOF {
			fw.report(fmt.Errorf("key log: %w", err))
			break
		}
		if err == io.EOF || n == 0 {
			break
		}
	}
	fw.flushBad()
}

func (fw *follower) flushBad() {
	if fw.lp.bad != nil {
		fw.report(fw.lp.bad)
		fw.lp.bad = nil
	}
}
