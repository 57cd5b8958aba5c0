package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/pipeline"
)

// The extcap control toolbar (Wireshark GUI only; tshark passes no control
// pipes). Messages in both directions are framed as
//
//	'T' | length (3 bytes, big-endian, = 2 + len(payload)) | control | command | payload
//
// as described in the Wireshark Developer's Guide, "Extcap control protocol".

// Controls this extcap declares in --extcap-interfaces.
const (
	ctrlStatus  = 0 // string: the status line
	ctrlRefresh = 1 // button: fetch Genesys traces now
	ctrlLog     = 2 // button with role=logger: the log window
)

// Control commands.
const (
	cmdInitialized = 0
	cmdSet         = 1
	cmdAdd         = 2
	cmdEnable      = 4
	cmdDisable     = 5
	cmdStatusbar   = 6
	cmdWarning     = 8
)

// maxQueued bounds the messages kept until the output pipe opens.
const maxQueued = 256

// maxControlPayload bounds one message (the length field has 24 bits).
const maxControlPayload = 1<<24 - 1 - 2

// writeControls adds the toolbar to the --extcap-interfaces answer.
func writeControls(w io.Writer) {
	fmt.Fprintf(w, "control {number=%d}{type=string}{display=Status}{tooltip=Packets, SIP messages, annotations, redactions, drops, clock skew and Genesys API state}\n", ctrlStatus)
	fmt.Fprintf(w, "control {number=%d}{type=button}{display=Refresh traces}{tooltip=Fetch Genesys Cloud trace records now instead of waiting for the next poll}\n", ctrlRefresh)
	fmt.Fprintf(w, "control {number=%d}{type=button}{role=logger}{display=Log}{tooltip=Show the genesys-sip log}\n", ctrlLog)
}

// toolbar talks to Wireshark's control pipes. Its methods are safe for
// concurrent use; without pipes (tshark, the CLI) they do nothing.
type toolbar struct {
	mu  sync.Mutex
	out io.WriteCloser
	in  io.ReadCloser
	err error // first write error: the toolbar went away, stop writing
	// queued holds what was sent before the output pipe finished opening
	// (opening a FIFO waits for Wireshark's side); it is written then.
	queued [][]byte

	onRefresh func() // set by the API poller; guarded by mu

	inPath      string        // the pipe Wireshark writes into (ws_to_ext)
	initialized chan struct{} // closed when Wireshark has opened inPath and said so
	initOnce    sync.Once
	outOpened   chan struct{} // closed when the open of the output pipe has returned
}

// toolbarWait bounds how long a finished capture waits for Wireshark to
// open the control pipe it writes into (see Close).
const toolbarWait = 5 * time.Second

// openToolbar opens the control pipes Wireshark passed.
//
// The pipe Wireshark writes into (--extcap-control-in) is opened at once,
// before the capture starts: Wireshark opens its end with a blocking
// open(O_WRONLY) on its GUI thread when it sees the capture start, and for
// a replay at speed 0 that can be after the extcap is done. With no reader
// that open never returns and the whole GUI freezes, so a reader must be
// there from the start until Wireshark has arrived (see Close).
//
// The pipe we write into (--extcap-control-out) is opened on its own
// goroutine: Wireshark's reader thread opens its end without blocking, but
// our open waits for it, and the capture must not wait for the toolbar.
func openToolbar(inPath, outPath string) *toolbar {
	t := &toolbar{inPath: inPath, initialized: make(chan struct{}), outOpened: make(chan struct{})}
	if outPath != "" {
		go func() {
			defer close(t.outOpened)
			f, err := os.OpenFile(outPath, os.O_WRONLY, 0)
			t.mu.Lock()
			defer t.mu.Unlock()
			if err != nil {
				t.err = err
				return
			}
			t.out = f
			for _, m := range t.queued {
				if _, err := f.Write(m); err != nil {
					t.err = err
					break
				}
			}
			t.queued = nil
		}()
	} else {
		close(t.outOpened)
	}
	if inPath != "" {
		f, err := openControlIn(inPath)
		if err == nil {
			t.in = f
			go t.readLoop(f)
		}
	}
	return t
}

// readLoop handles what Wireshark sends: initial values, then button
// presses (a set command on the button's control number).
func (t *toolbar) readLoop(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		ctrl, cmd, _, err := readControl(br)
		if err != nil {
			return
		}
		switch {
		case cmd == cmdInitialized:
			// Wireshark opened its end and sent the controls' initial
			// values: the toolbar is up; show the state at once.
			t.initOnce.Do(func() { close(t.initialized) })
			t.EnableRefresh(t.refresher() != nil)
		case ctrl == ctrlRefresh && cmd == cmdSet:
			if f := t.refresher(); f != nil {
				t.Log("refreshing Genesys trace records")
				f()
			}
		}
	}
}

func (t *toolbar) refresher() func() {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.onRefresh
}

// SetRefresh installs what the Refresh traces button does.
func (t *toolbar) SetRefresh(f func()) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.onRefresh = f
	t.mu.Unlock()
	t.EnableRefresh(f != nil)
}

// run updates the status line every second and logs alerts as they come,
// until ctx ends or the returned stop is called.
func (t *toolbar) run(ctx context.Context, st *pipeline.Status) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		last := ""
		for {
			for _, a := range st.TakeAlerts() {
				msg := fmt.Sprintf("alert: frame %d: %s (%s → %s)", a.Frame, a.Event, a.Src, a.Dst)
				t.Log(msg)
				t.Statusbar(msg)
			}
			if s := st.String(); s != last {
				t.Status(s)
				last = s
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
		t.Status(st.String()) // the final counters
	}
}

// readControl reads one control message.
func readControl(r io.Reader) (ctrl, cmd byte, payload []byte, err error) {
	var hdr [6]byte
	if _, err = io.ReadFull(r, hdr[:]); err != nil {
		return 0, 0, nil, err
	}
	if hdr[0] != 'T' {
		return 0, 0, nil, fmt.Errorf("control pipe: bad sync byte 0x%02x", hdr[0])
	}
	n := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
	if n < 2 {
		return 0, 0, nil, errors.New("control pipe: message shorter than its header")
	}
	payload = make([]byte, n-2)
	if _, err = io.ReadFull(r, payload); err != nil {
		return 0, 0, nil, err
	}
	return hdr[4], hdr[5], payload, nil
}

// appendControl frames one control message.
func appendControl(dst []byte, ctrl, cmd byte, payload string) []byte {
	if len(payload) > maxControlPayload {
		payload = payload[:maxControlPayload]
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(payload)+2))
	dst = append(dst, 'T', n[1], n[2], n[3], ctrl, cmd)
	return append(dst, payload...)
}

func (t *toolbar) send(ctrl, cmd byte, payload string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return
	}
	msg := appendControl(nil, ctrl, cmd, payload)
	if t.out == nil {
		if len(t.queued) < maxQueued {
			t.queued = append(t.queued, msg)
		}
		return
	}
	if _, err := t.out.Write(msg); err != nil {
		t.err = err
	}
}

// Status replaces the status line.
func (t *toolbar) Status(s string) { t.send(ctrlStatus, cmdSet, s) }

// Log appends a line to the log window.
func (t *toolbar) Log(s string) { t.send(ctrlLog, cmdAdd, s+"\n") }

// Statusbar shows a message in Wireshark's status bar.
func (t *toolbar) Statusbar(s string) { t.send(ctrlStatus, cmdStatusbar, s) }

// Warn pops up a warning (used sparingly: it interrupts the analyst).
func (t *toolbar) Warn(s string) { t.send(ctrlStatus, cmdWarning, s) }

// EnableRefresh enables or greys out the Refresh traces button.
func (t *toolbar) EnableRefresh(on bool) {
	cmd := byte(cmdDisable)
	if on {
		cmd = cmdEnable
	}
	t.send(ctrlRefresh, cmd, "")
}

// Close ends the toolbar before the extcap exits. When Wireshark has not
// opened the pipe it writes into yet, its open would block its GUI for good
// once we are gone: Close gives it up to wait to arrive (a finished capture
// waits; a failed or stopped one passes 0), and otherwise removes that pipe
// so that a later open fails at once instead (Wireshark then runs without
// the toolbar for this capture). A signal ends the wait early.
func (t *toolbar) Close(wait time.Duration) {
	if t == nil {
		return
	}
	if t.in != nil {
		if !t.waitInitialized(wait) {
			if err := abandonControlIn(t.inPath); err == nil {
				// An open that found the path just before it went still
				// needs a reader: keep ours a moment longer.
				time.Sleep(50 * time.Millisecond)
			}
		} else {
			// Wireshark is there: let the final status reach it.
			select {
			case <-t.outOpened:
			case <-time.After(time.Second):
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.out != nil {
		t.out.Close()
	}
	if t.in != nil {
		t.in.Close()
	}
}

// waitInitialized waits up to d for Wireshark's initialized message.
func (t *toolbar) waitInitialized(d time.Duration) bool {
	select {
	case <-t.initialized:
		return true
	default:
	}
	if d <= 0 {
		return false
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-t.initialized:
		return true
	case <-timer.C:
	case <-sig:
	}
	return false
}
