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

// openControlIn opens the pipe Wireshark writes toolbar commands into.
// O_RDWR never blocks on a FIFO (Linux fifo(7); macOS likewise), so the
// reader is there before Wireshark's blocking open arrives, and reads wait
// for data instead of reporting an end when Wireshark closes its side.
func openControlIn(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR, 0)
}

// abandonControlIn removes Wireshark's control FIFO so that an open of it
// after we exit fails at once instead of waiting for a reader forever.
// Only a FIFO is removed: the path comes from the command line.
func abandonControlIn(path string) error {
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if st.Mode()&os.ModeNamedPipe == 0 {
		return errors.New(path + ": not a FIFO")
	}
	return os.Remove(path)
}
