//go:build windows

package main

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
)

// isBrokenPipe reports whether err means the reader of our output is gone:
// on Windows, Wireshark closing its end of the named pipe.
func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.ERROR_BROKEN_PIPE) || errors.Is(err, windows.ERROR_NO_DATA) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)
}

// procPeekNamedPipe is kernel32's PeekNamedPipe, which x/sys/windows does
// not wrap; with no buffer it only reports whether the pipe is still open.
var procPeekNamedPipe = windows.NewLazySystemDLL("kernel32.dll").NewProc("PeekNamedPipe")

// watchReader returns a context cancelled when Wireshark closes the named
// pipe. Windows sends no signal to an extcap when the capture stops, so a
// paced replay would otherwise only notice at its next write.
func watchReader(ctx context.Context, f *os.File) context.Context {
	h := windows.Handle(f.Fd())
	if t, err := windows.GetFileType(h); err != nil || t != windows.FILE_TYPE_PIPE {
		return ctx
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		for ctx.Err() == nil {
			if r, _, _ := procPeekNamedPipe.Call(uintptr(h), 0, 0, 0, 0, 0); r == 0 {
				return // the pipe is broken: Wireshark closed its end
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	return ctx
}

// openControlIn opens the named pipe Wireshark writes toolbar commands
// into. A client open of a named pipe does not wait for the server.
func openControlIn(path string) (*os.File, error) {
	return os.Open(path)
}

// abandonControlIn does nothing on Windows: Wireshark's named pipes do not
// block its GUI when the extcap has gone.
func abandonControlIn(string) error { return nil }
