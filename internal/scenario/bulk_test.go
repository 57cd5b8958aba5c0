package scenario

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

func TestBulk(t *testing.T) {
	const n = 5000
	var a, b bytes.Buffer
	if err := Bulk(&a, "pcap", n, 3); err != nil {
		t.Fatal(err)
	}
	if err := Bulk(&b, "pcap", n, 3); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same seed, different bytes")
	}
	r, err := pcapgo.NewReader(&a)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	var last int64
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ts := ci.Timestamp.UnixNano(); ts < last {
			t.Fatalf("packet %d goes back in time", count+1)
		} else {
			last = ts
		}
		if len(data) > mtu+14 {
			t.Fatalf("packet %d: %d bytes", count+1, len(data))
		}
		count++
	}
	if count != n {
		t.Errorf("%d packets, want %d", count, n)
	}
	var ng bytes.Buffer
	if err := Bulk(&ng, "pcapng", 100, 3); err != nil {
		t.Fatal(err)
	}
	nr, err := pcapgo.NewNgReader(&ng, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, _, err := nr.ReadPacketData(); err != nil {
			t.Fatalf("pcapng packet %d: %v", i+1, err)
		}
	}
	if err := Bulk(io.Discard, "erf", 1, 1); err == nil {
		t.Error("unknown format accepted")
	}
}

// heapWatcher discards what is written and samples the live heap.
type heapWatcher struct {
	n, peak uint64
}

func (h *heapWatcher) Write(p []byte) (int, error) {
	h.n += uint64(len(p))
	if h.n >= 8<<20 {
		h.n = 0
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.peak = max(h.peak, ms.HeapInuse)
	}
	return len(p), nil
}

func TestBulkConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 330,000 packets")
	}
	peak := func(n int) uint64 {
		runtime.GC()
		var h heapWatcher
		if err := Bulk(&h, "pcap", n, 1); err != nil {
			t.Fatal(err)
		}
		return h.peak
	}
	small, large := peak(30000), peak(300000)
	t.Logf("peak heap: %d MB at 30k packets, %d MB at 300k", small>>20, large>>20)
	if large > 2*small || large > 64<<20 {
		t.Errorf("heap grows with packets: %d bytes at 30k, %d at 300k", small, large)
	}
}

// BenchmarkBulk500k measures what the throughput benchmark needs: 500,000
// SIP packets as pcap.
func BenchmarkBulk500k(b *testing.B) {
	const n = 500000
	for b.Loop() {
		if err := Bulk(io.Discard, "pcap", n, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "packets/s")
}
