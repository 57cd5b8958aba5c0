//go:build !windows

package main

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// isBrokenPipe reports whether err means the reader of our output is gone.
func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)
}

// watchReader returns a context that is cancelled when the read end of the
// pipe f closes, so a paced replay waiting for its next packet notices that
// Wireshark stopped reading. Regular files and terminals never report it.
func watchReader(ctx context.Context, f *os.File) context.Context {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return ctx
	}
	ctx, cancel := context.WithCancel(ctx)
	fd := int(f.Fd())
	go func() {
		defer cancel()
		fds := []unix.PollFd{{Fd: int32(fd), Events: 0}}
		for ctx.Err() == nil {
			fds[0].Revents = 0
			n, err := unix.Poll(fds, 200)
			if err != nil && err != unix.EINTR {
				return
			}
			if n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return ctx
}
