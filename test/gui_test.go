package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// The real Wireshark Qt GUI under Xvfb, driven as an analyst would: start a
// capture on "Genesys SIP" from the command line, wait for it, then ask
// Wireshark to quit (Ctrl+Q). A GUI whose main thread is stuck (as it was
// when a speed-0 replay ended before Wireshark opened the toolbar's control
// pipe) paints nothing and never quits: the test fails and keeps a
// screenshot under out/gui/.

// xserver is a private Xvfb display.
type xserver struct {
	display string
	cmd     *exec.Cmd
}

// startXvfb starts Xvfb on a free display; it stops with the test.
func startXvfb(t *testing.T) *xserver {
	t.Helper()
	xvfb := testenv.Tool(t, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// -displayfd picks a free display and writes its number to fd 3.
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", "1400x900x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
		r.Close()
	}()
	select {
	case n := <-line:
		if n == "" {
			t.Fatalf("Xvfb did not start: %s", stderr.String())
		}
		return &xserver{display: ":" + n, cmd: cmd}
	case <-time.After(20 * time.Second):
		t.Fatalf("Xvfb gave no display within 20 s: %s", stderr.String())
	}
	return nil
}

// gui is one running Wireshark.
type gui struct {
	t    *testing.T
	x    *xserver
	h    *home
	cmd  *exec.Cmd
	done chan error // receives Wireshark's exit
	log  syncBuffer
}

// syncBuffer is a bytes.Buffer that Wireshark's output goroutine and the
// test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// guiSetup writes Wireshark's "recent" file into the test home so the main
// window fills the screen (there is no window manager to maximise it).
func guiSetup(t *testing.T, h *home) {
	t.Helper()
	dir := filepath.Join(h.dir, ".config", "wireshark")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	recent := "gui.geometry_main_x: 0\ngui.geometry_main_y: 0\ngui.geometry_main_width: 1400\ngui.geometry_main_height: 900\n" +
		"privs.warn_if_elevated: FALSE\ngui.update.enabled: FALSE\n"
	if err := os.WriteFile(filepath.Join(dir, "recent_common"), []byte(recent), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startWireshark runs `wireshark args…` on the display, as the test home.
func startWireshark(t *testing.T, x *xserver, h *home, args ...string) *gui {
	t.Helper()
	ws := testenv.Tool(t, "wireshark")
	testenv.Tool(t, "xdotool")
	guiSetup(t, h)
	g := &gui{t: t, x: x, h: h, done: make(chan error, 1)}
	g.cmd = h.command(context.Background(), ws, args...)
	g.cmd.Env = append(g.cmd.Env, "DISPLAY="+x.display, "XDG_RUNTIME_DIR="+t.TempDir(), "QT_ACCESSIBILITY=0")
	g.cmd.Stdout, g.cmd.Stderr = &g.log, &g.log
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("wireshark: %v", err)
	}
	go func() { g.done <- g.cmd.Wait() }()
	t.Cleanup(func() {
		// Whatever happened, leave no Wireshark, dumpcap or extcap behind.
		syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-g.done:
		case <-time.After(10 * time.Second):
		}
	})
	return g
}

// xdotool runs xdotool on the display and returns its output.
func (g *gui) xdotool(args ...string) (string, error) {
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+g.x.display)
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// windows lists Wireshark's visible top-level windows: id → title.
func (g *gui) windows() map[string]string {
	out, _ := g.xdotool("search", "--onlyvisible", "--pid", strconv.Itoa(g.cmd.Process.Pid), "--name", ".")
	m := map[string]string{}
	for _, id := range strings.Fields(out) {
		name, _ := g.xdotool("getwindowname", id)
		m[id] = name
	}
	return m
}

// mainWindow waits until Wireshark's main window is visible.
func (g *gui) mainWindow(timeout time.Duration) string {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for id, name := range g.windows() {
			if strings.Contains(name, "Wireshark") || strings.HasSuffix(name, ".pcapng") {
				if !g.isDialog(id) {
					return id
				}
			}
		}
		select {
		case err := <-g.done:
			g.t.Fatalf("wireshark exited before showing its window: %v\n%s", err, g.log.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	g.fail("no Wireshark main window within %s", timeout)
	return ""
}

// isDialog tells a dialog from the main window by its size.
func (g *gui) isDialog(id string) bool {
	out, _ := g.xdotool("getwindowgeometry", id)
	var w, h int
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "Geometry: "); ok {
			fmt.Sscanf(s, "%dx%d", &w, &h)
		}
	}
	return w < 700 || h < 400
}

// dialogs returns the visible windows other than the main one.
func (g *gui) dialogs(main string) []string {
	var ids []string
	for id := range g.windows() {
		if id != main && g.isDialog(id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// screenshot saves a window (or the whole screen for "root") as a PNG.
// Xvfb keeps no backing store, so dialogs are taken window by window.
func (g *gui) screenshot(window, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	imp, err := exec.LookPath("import")
	if err != nil {
		return fmt.Errorf("no screenshot: ImageMagick's import is missing (apt-get install -y imagemagick)")
	}
	cmd := exec.Command(imp, "-window", window, path)
	cmd.Env = append(os.Environ(), "DISPLAY="+g.x.display)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("import: %v: %s", err, out)
	}
	return nil
}

// fail saves a screenshot of the screen and Wireshark's log, then fails.
func (g *gui) fail(format string, args ...any) {
	g.t.Helper()
	path := filepath.Join(repoRoot(), "out", "gui", strings.ReplaceAll(g.t.Name(), "/", "_")+".png")
	shot := "screenshot: " + path
	if err := g.screenshot("root", path); err != nil {
		shot = err.Error()
	}
	g.t.Fatalf("%s\n%s\nwireshark log:\n%s", fmt.Sprintf(format, args...), shot, g.log.String())
}

// key sends keys to a window after giving it the input focus.
func (g *gui) key(window string, keys ...string) {
	g.xdotool("windowfocus", "--sync", window)
	g.xdotool(append([]string{"key", "--clearmodifiers"}, keys...)...)
}

// quit asks Wireshark to quit as a user would (Ctrl+Q) and waits for it: a
// GUI whose main thread is blocked does not quit.
func (g *gui) quit(main string, timeout time.Duration) {
	g.t.Helper()
	g.key(main, "ctrl+q")
	select {
	case err := <-g.done:
		if err != nil {
			g.t.Errorf("wireshark exited with %v\n%s", err, g.log.String())
		}
	case <-time.After(timeout):
		g.fail("Wireshark did not quit within %s of Ctrl+Q: its GUI is not responding", timeout)
	}
}

// extcapRunning reports whether the genesys-sip extcap of this home runs.
func (g *gui) extcapRunning() bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, g.h.dir) && filepath.Base(exe) == "genesys-sip" {
			return true
		}
	}
	return false
}

// waitCaptureEnd waits until Wireshark logs the end of the capture and the
// extcap is gone. (Wireshark logs "Capture stopped." on its console.)
func (g *gui) waitCaptureEnd(timeout time.Duration) {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(g.log.String(), "Capture stopped") && !g.extcapRunning() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	if g.extcapRunning() {
		g.fail("the genesys-sip extcap still runs after %s", timeout)
	}
	g.fail("the extcap has exited but Wireshark has not taken in the end of the capture within %s: its GUI is blocked", timeout)
}

// countComments counts frames with an annotation comment in file.
func countComments(t *testing.T, tshark, file string) int {
	t.Helper()
	return len(frames(t, tshark, file, "-Y", `frame.comment contains "genesys:"`))
}

func TestWiresharkGUI(t *testing.T) {
	h := installHome(t)
	testenv.Tool(t, "wireshark")
	x := startXvfb(t)
	dir := t.TempDir()
	if out, err := exec.Command(binPath, "sample", "--kind", "demo", "-o", dir).CombinedOutput(); err != nil {
		t.Fatalf("sample: %v\n%s", err, out)
	}
	sample, trace := filepath.Join(dir, "sample.pcap"), filepath.Join(dir, "sample-trace.json")
	bad := filepath.Join(dir, "not-a-capture.pcap")
	if err := os.WriteFile(bad, []byte("this is not a capture file\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// The oracle: the same replay through tshark.
	oracle := filepath.Join(dir, "oracle.pcapng")
	if r := h.tsharkCapture(t, oracle, map[string]string{"replayfile": sample, "replayspeed": "0", "tracefile": trace}); r.err != nil {
		t.Fatalf("tshark oracle: %v\n%s", r.err, r.stderr)
	}
	wantFrames, wantComments := len(frames(t, h.tshark, oracle)), countComments(t, h.tshark, oracle)
	// Without a trace there are no Genesys-only frames: the input's own.
	inputFrames := len(frames(t, h.tshark, sample))
	if wantFrames == 0 || wantComments == 0 {
		t.Fatalf("oracle has %d frames, %d annotated", wantFrames, wantComments)
	}

	prefs := func(p ...string) []string {
		var args []string
		for i := 0; i < len(p); i += 2 {
			args = append(args, "-o", "extcap.genesys_sip."+p[i]+":"+p[i+1])
		}
		return args
	}
	cases := []struct {
		name     string
		args     []string
		frames   int  // exact count; -1: some, at most the oracle's
		comments bool // annotation comments expected
		errorBox bool // Wireshark shows the extcap's error
	}{
		{"speed0-trace", prefs("replayfile", sample, "replayspeed", "0", "tracefile", trace), wantFrames, true, false},
		{"speed0-notrace", prefs("replayfile", sample, "replayspeed", "0"), inputFrames, false, false},
		// At speed 1 the sample lasts 13 s; Wireshark stops it after 4
		// (SIGTERM to the extcap, as the Stop button does).
		{"speed1-trace-stopped", append(prefs("replayfile", sample, "replayspeed", "1", "tracefile", trace), "-a", "duration:4"), -1, true, false},
		{"bad-replay-file", prefs("replayfile", bad, "replayspeed", "0"), 0, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "gui.pcapng")
			args := append([]string{"-i", "genesys-sip", "-k", "-w", out}, c.args...)
			g := startWireshark(t, x, h, args...)
			main := g.mainWindow(60 * time.Second)
			g.waitCaptureEnd(45 * time.Second)
			// Give the GUI time to take in the end of the capture.
			time.Sleep(2 * time.Second)
			if c.errorBox {
				ds := g.dialogs(main)
				if len(ds) == 0 {
					g.fail("no error dialog for a replay file that is not a capture")
				}
				for _, d := range ds {
					g.key(d, "Return")
				}
			} else if ds := g.dialogs(main); len(ds) > 0 {
				g.screenshot(ds[0], filepath.Join(repoRoot(), "out", "gui", strings.ReplaceAll(t.Name(), "/", "_")+"-dialog.png"))
				g.fail("unexpected dialog %v", ds)
			}
			g.quit(main, 20*time.Second)

			if c.frames == 0 {
				if st, err := os.Stat(out); err == nil && st.Size() > 0 {
					if n := len(frames(t, h.tshark, out)); n > 0 {
						t.Errorf("%d frames written from a bad replay file", n)
					}
				}
				return
			}
			got := len(frames(t, h.tshark, out))
			switch {
			case c.frames > 0 && got != c.frames:
				t.Errorf("Wireshark wrote %d frames, tshark %d", got, c.frames)
			case c.frames < 0 && (got == 0 || got > wantFrames):
				t.Errorf("Wireshark wrote %d frames of a stopped replay (want 1…%d)", got, wantFrames)
			}
			n := countComments(t, h.tshark, out)
			switch {
			case c.comments && c.frames > 0 && n != wantComments:
				t.Errorf("%d annotated frames, tshark's replay has %d", n, wantComments)
			case c.comments && n == 0:
				t.Errorf("no annotation comments in what Wireshark wrote")
			case !c.comments && n != 0:
				t.Errorf("%d annotation comments without a trace file", n)
			}
		})
	}
}
