package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestScreenshots takes the README's pictures from the real Wireshark Qt
// under Xvfb: `make screenshots` runs it with GENESYS_SIP_SCREENSHOTS set
// to the folder to write (docs/images). It clicks where a person would, so
// it is a script more than a check; the GUI checks are TestWiresharkGUI.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("GENESYS_SIP_SCREENSHOTS")
	if dir == "" {
		t.Skip("set GENESYS_SIP_SCREENSHOTS=DIR to write the README's screenshots (make screenshots)")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := installHome(t)
	x := startXvfb(t)
	data := t.TempDir()
	if out, err := exec.Command(binPath, "sample", "--kind", "demo", "-o", data).CombinedOutput(); err != nil {
		t.Fatalf("sample: %v\n%s", err, out)
	}
	// The profile's "recent" file: no bytes pane (the comment and the
	// Genesys tree need the width).
	prof := filepath.Join(h.dir, ".config", "wireshark")
	if err := os.MkdirAll(prof, 0o755); err != nil {
		t.Fatal(err)
	}
	recent := "gui.byte_view_show: FALSE\ngui.geometry_main_upper_pane: 330\n"
	if err := os.WriteFile(filepath.Join(prof, "recent"), []byte(recent), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := func(g *gui, window, name string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := g.screenshot(window, path); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
	click := func(g *gui, px, py int) {
		g.xdotool("mousemove", fmt.Sprint(px), fmt.Sprint(py), "click", "1")
		time.Sleep(700 * time.Millisecond)
	}

	// 1. The interface list, with only Genesys SIP among the extcaps: hide
	// the other interface types and Wireshark's own extcaps.
	g := startWireshark(t, x, h, "-o", "gui.interfaces_hidden_types:0,1,2,3,4,5,6,7,9",
		"-o", "capture.devices_hide:ciscodump,dpauxmon,randpkt,sdjournal,sshdump,udpdump,wifidump,androiddump,etwdump")
	main := g.mainWindow(60 * time.Second)
	time.Sleep(3 * time.Second)
	shot(g, "root", "01-interface-list.png")

	// 2. Its options: the gear in front of the one row.
	click(g, 181, 238)
	time.Sleep(2 * time.Second)
	ds := g.dialogs(main)
	if len(ds) != 1 {
		g.fail("the gear of Genesys SIP opened %d dialogs", len(ds))
	}
	shot(g, ds[0], "02-options-source.png")
	ox, oy := g.origin(ds[0])
	click(g, ox+296, oy+26) // the Privacy tab
	shot(g, ds[0], "03-options-privacy.png")
	g.key(ds[0], "Escape")
	g.quit(main, 20*time.Second)

	// 3. A replay with the trace file at the original pace, the comment
	// as a column, then the calls that failed.
	g = startWireshark(t, x, h, "-i", "genesys-sip", "-k", "-w", filepath.Join(t.TempDir(), "shot.pcapng"),
		"-o", "extcap.genesys_sip.replayfile:"+filepath.Join(data, "sample.pcap"),
		"-o", "extcap.genesys_sip.tracefile:"+filepath.Join(data, "sample-trace.json"),
		"-o", "extcap.genesys_sip.replayspeed:2",
		"-o", `gui.column.format:"No.","%m","Time","%t","Source","%s","Destination","%d","Info","%i","Genesys trace (packet comment)","%Cus:frame.comment:0:R"`)
	main = g.mainWindow(60 * time.Second)
	g.waitCaptureEnd(60 * time.Second)
	time.Sleep(2 * time.Second)
	click(g, 600, 75) // the display filter
	g.xdotool("type", "--delay", "20", `genesys.trace.status >= 400 || genesys.alert`)
	g.xdotool("key", "Return")
	time.Sleep(1500 * time.Millisecond)
	// The interface toolbar, as a person turns it on: View ▸ Interface
	// Toolbars ▸ SIP with Genesys Cloud trace annotations.
	click(g, 100, 10)
	g.xdotool("mousemove", "172", "109")
	time.Sleep(500 * time.Millisecond)
	g.xdotool("mousemove", "332", "109")
	time.Sleep(time.Second)
	click(g, 593, 109)
	time.Sleep(time.Second)
	click(g, 400, 185) // the 408 (third row under the toolbar)
	// Expand the Genesys tree (the last of seven), then the comments.
	click(g, 150, 556)
	g.xdotool("key", "shift+Right")
	click(g, 150, 452)
	g.xdotool("key", "shift+Right")
	time.Sleep(time.Second)
	shot(g, "root", "04-annotated-capture.png")
	g.quit(main, 20*time.Second)
}

// origin returns a window's position on the screen.
func (g *gui) origin(id string) (int, int) {
	out, _ := g.xdotool("getwindowgeometry", id)
	var x, y int
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "Position: "); ok {
			fmt.Sscanf(s, "%d,%d", &x, &y)
		}
	}
	return x, y
}
