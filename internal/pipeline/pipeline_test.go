package pipeline

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// capture writes a pcap whose packets sit at the given offsets from t0.
func capture(t *testing.T, offsets ...time.Duration) string {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for i, off := range offsets {
		data := make([]byte, 60)
		data[12], data[13] = 0x08, 0x00 // IPv4 ethertype, for the BPF test
		data[59] = byte(i)
		w.WritePacket(gopacket.CaptureInfo{Timestamp: t0.Add(off), CaptureLength: 60, Length: 60}, data)
	}
	p := filepath.Join(t.TempDir(), "in.pcap")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeClock advances only when the pipeline sleeps.
type fakeClock struct {
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func readOut(t *testing.T, b []byte) []gopacket.CaptureInfo {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	var cis []gopacket.CaptureInfo
	for {
		_, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return cis
		}
		if err != nil {
			t.Fatal(err)
		}
		cis = append(cis, ci)
	}
}

func TestPacing(t *testing.T) {
	in := capture(t, 0, 100*time.Millisecond, 100*time.Millisecond, 1100*time.Millisecond)
	for _, tc := range []struct {
		speed float64
		want  []time.Duration
	}{
		{1, []time.Duration{100 * time.Millisecond, time.Second}},
		{4, []time.Duration{25 * time.Millisecond, 250 * time.Millisecond}},
		{0, nil},
	} {
		clk := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
		var out bytes.Buffer
		st, err := Run(context.Background(), Config{ReplayFile: in, Speed: tc.speed, Loops: 1, Out: &out, Application: "t", Now: clk.Now, Sleep: clk.Sleep})
		if err != nil || st.Packets != 4 {
			t.Fatalf("speed %g: %+v %v", tc.speed, st, err)
		}
		if len(clk.sleeps) != len(tc.want) {
			t.Fatalf("speed %g: sleeps %v, want %v", tc.speed, clk.sleeps, tc.want)
		}
		for i := range tc.want {
			if clk.sleeps[i] != tc.want[i] {
				t.Fatalf("speed %g: sleeps %v, want %v", tc.speed, clk.sleeps, tc.want)
			}
		}
		cis := readOut(t, out.Bytes())
		if len(cis) != 4 || !cis[3].Timestamp.Equal(t0.Add(1100*time.Millisecond)) {
			t.Fatalf("speed %g: output timestamps changed: %+v", tc.speed, cis)
		}
	}
}

func TestLoopsRebase(t *testing.T) {
	in := capture(t, 0, 10*time.Millisecond, 20*time.Millisecond)
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := &fakeClock{now: start}
	var out bytes.Buffer
	st, err := Run(context.Background(), Config{ReplayFile: in, Speed: 0, Loops: 3, Rebase: true, Out: &out, Application: "t", Now: clk.Now, Sleep: clk.Sleep})
	if err != nil || st.Packets != 9 || st.Loops != 3 {
		t.Fatalf("%+v %v", st, err)
	}
	cis := readOut(t, out.Bytes())
	// Loop k starts 1 ms after loop k-1 ended: 0,10,20, 21,31,41, 42,52,62 ms.
	want := []time.Duration{0, 10, 20, 21, 31, 41, 42, 52, 62}
	for i, ci := range cis {
		if got := ci.Timestamp.Sub(start); got != want[i]*time.Millisecond {
			t.Fatalf("packet %d at +%s, want +%dms", i+1, got, want[i])
		}
	}
}

func TestLoopsKeepOriginalTimestamps(t *testing.T) {
	in := capture(t, 0, 10*time.Millisecond)
	var out bytes.Buffer
	if _, err := Run(context.Background(), Config{ReplayFile: in, Loops: 2, Out: &out, Application: "t"}); err != nil {
		t.Fatal(err)
	}
	cis := readOut(t, out.Bytes())
	if len(cis) != 4 || !cis[2].Timestamp.Equal(t0) {
		t.Fatalf("%+v", cis)
	}
}

func TestCaptureFilter(t *testing.T) {
	in := capture(t, 0, time.Millisecond)
	var out bytes.Buffer
	st, err := Run(context.Background(), Config{ReplayFile: in, Out: &out, Filter: "ip6", Application: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Packets != 0 || st.Filtered != 2 {
		t.Fatalf("%+v", st)
	}
	if _, err := Run(context.Background(), Config{ReplayFile: in, Out: &out, Filter: "udp prt 1", Application: "t"}); err == nil {
		t.Fatal("bad filter accepted")
	}
}

func TestCancelLeavesValidOutput(t *testing.T) {
	in := capture(t, 0, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	sleep := func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	st, err := Run(ctx, Config{ReplayFile: in, Speed: 1, Out: &out, Application: "t", Sleep: sleep})
	if err != nil || st.Packets != 1 {
		t.Fatalf("%+v %v", st, err)
	}
	if n := len(readOut(t, out.Bytes())); n != 1 {
		t.Fatalf("%d packets in output", n)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, os.ErrClosed
	}
	w.n--
	return len(p), nil
}

func TestWriteErrorStops(t *testing.T) {
	in := capture(t, 0, time.Millisecond, 2*time.Millisecond)
	_, err := Run(context.Background(), Config{ReplayFile: in, Out: &failWriter{}, Application: "t"})
	if err == nil {
		t.Fatal("write error not reported")
	}
}
