package trace

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func mkRecord(i int, t time.Time) Record {
	return Record{
		Time: t, Key: fmt.Sprintf("key-%d", i%5), ConversationID: fmt.Sprintf("conv-%d", i%5),
		CallID: fmt.Sprintf("call-%d", i%5), Method: "INVITE", CSeqNum: uint32(i), CSeqMethod: "INVITE",
		ViaBranch: fmt.Sprintf("z9hG4bK%d", i), SrcIP: netip.MustParseAddr("192.0.2.1"),
		DstIP: netip.MustParseAddr("2001:db8::2"), SrcPort: 5060, DstPort: 5061, Proto: "udp", Node: "n1",
		Msg: fmt.Sprintf("INVITE sip:a@b SIP/2.0\r\nX-Trace: t%d\r\n\r\n", i%3),
	}
}

func TestIndexAddDedup(t *testing.T) {
	t0 := time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		times func(i int) time.Time
		n     int
	}{
		{"distinct times", func(i int) time.Time { return t0.Add(time.Duration(i) * time.Millisecond) }, 50},
		{"all one time", func(int) time.Time { return t0 }, 200}, // one run, hashed
		{"reverse order", func(i int) time.Time { return t0.Add(-time.Duration(i) * time.Second) }, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix := NewIndex(Options{CorrelationHeaders: []string{"X-Genesys-Call-ID", "X-Trace"}})
			var recs []Record
			for i := range tc.n {
				recs = append(recs, mkRecord(i, tc.times(i)))
			}
			if got := ix.Add(recs...); got != tc.n {
				t.Fatalf("first Add: %d added", got)
			}
			// The same records again, and again within one call: all duplicates.
			if got := ix.Add(recs...); got != 0 {
				t.Errorf("second Add: %d added", got)
			}
			half := append(slices.Clone(recs[:tc.n/2]), recs[:tc.n/2]...)
			if got := ix.Add(half...); got != 0 {
				t.Errorf("third Add: %d added", got)
			}
			// A retransmission (later time) is not a duplicate.
			re := recs[0]
			re.Time = re.Time.Add(500 * time.Millisecond)
			if got := ix.Add(re, Record{}); got != 1 {
				t.Errorf("retransmission: %d added", got)
			}
			if ix.Len() != tc.n+1 {
				t.Errorf("Len = %d", ix.Len())
			}
			var all []Record
			for r := range ix.All() {
				all = append(all, r)
			}
			if len(all) != tc.n+1 || !slices.IsSortedFunc(all, func(a, b Record) int { return a.Time.Compare(b.Time) }) {
				t.Errorf("All: %d records, sorted %v", len(all), slices.IsSortedFunc(all, func(a, b Record) int { return a.Time.Compare(b.Time) }))
			}
			wantKey := (tc.n+4)/5 + 1
			if got := ix.ByKey("key-0"); len(got) != wantKey {
				t.Errorf("ByKey: %d, want %d", len(got), wantKey)
			}
			if got := ix.ByHeader("x-trace", "t1"); len(got) != (tc.n+1)/3 {
				t.Errorf("ByHeader(x-trace): %d, want %d", len(got), (tc.n+1)/3)
			}
			if got := ix.ByHeader("X-Genesys-Call-ID", "key-1"); len(got) != len(ix.ByKey("key-1")) {
				t.Errorf("ByHeader(X-Genesys-Call-ID) differs from ByKey")
			}
			r := ix.ByCallID("call-3")[0]
			if r.SrcIP != recs[3].SrcIP || r.DstIP != recs[3].DstIP || r.Msg != recs[3].Msg || r.Node != "n1" {
				t.Errorf("record not preserved: %+v", r)
			}
		})
	}
}

func TestIndexQueries(t *testing.T) {
	ix, _, err := LoadFile(context.Background(), "testdata/siptraces_response.json", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	first, last, ok := ix.Span()
	if !ok || !first.Equal(fxInvite) || !last.Equal(fxInvite.Add(65104*time.Millisecond)) {
		t.Errorf("Span = %v %v %v", first, last, ok)
	}
	tests := []struct {
		from, to time.Duration
		events   []string
	}{
		{0, 0, []string{"INVITE"}},
		{time.Millisecond, 3250 * time.Millisecond, []string{"100 Trying", "180 Ringing", "200 OK"}},
		{time.Hour, 2 * time.Hour, nil},
		{-time.Hour, 3208 * time.Millisecond, []string{"INVITE", "100 Trying", "180 Ringing", "200 OK"}},
	}
	for _, tc := range tests {
		var got []string
		for r := range ix.Between(fxInvite.Add(tc.from), fxInvite.Add(tc.to)) {
			got = append(got, r.Event())
		}
		if !slices.Equal(got, tc.events) {
			t.Errorf("Between(%v, %v) = %q, want %q", tc.from, tc.to, got, tc.events)
		}
	}
	for _, q := range []struct {
		got  []Record
		want int
	}{
		{ix.ByConversation(fxConv), 7},
		{ix.ByHeader("X-ININ-CNV", fxConv), 7},
		{ix.ByCallID(fxCallID), 7},
		{ix.ByHeader("i", fxCallID), 7},
		{ix.ByKey("nope"), 0},
		{ix.ByKey(""), 0},
		{ix.ByHeader("X-Unindexed", "x"), 0},
	} {
		if len(q.got) != q.want {
			t.Errorf("lookup: %d records, want %d", len(q.got), q.want)
		}
	}
	if !ix.Indexed("x-genesys-call-id") || !ix.Indexed("I") || ix.Indexed("X-Unindexed") {
		t.Error("Indexed")
	}
	// Stopping an iteration early.
	n := 0
	for range ix.All() {
		n++
		break
	}
	if n != 1 {
		t.Error("break")
	}
}

// TestIndexLoadTwice loads the same response twice, as a poller would.
func TestIndexLoadTwice(t *testing.T) {
	ix := NewIndex(Options{})
	defer ix.Close()
	for i, want := range []int{7, 0} {
		rep, err := ix.LoadFile(context.Background(), "testdata/siptraces_response.json")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Added != want || rep.Duplicates != 7-want {
			t.Errorf("load %d: %s", i, rep.String())
		}
	}
	// A failed load leaves the index as it was.
	if _, err := ix.Load(context.Background(), strings.NewReader(`[{"callId":"z","microTs":"5"}, x]`), "bad"); err == nil {
		t.Error("no error")
	}
	if ix.Len() != 7 || len(ix.ByKey("z")) != 0 {
		t.Errorf("index changed by a failed load: %d", ix.Len())
	}
}

// TestIndexConcurrent reads while records arrive; run with -race.
func TestIndexConcurrent(t *testing.T) {
	ix := NewIndex(Options{})
	t0 := time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var prev time.Time
				for r := range ix.Between(t0, t0.Add(time.Hour)) {
					if r.Time.Before(prev) {
						t.Error("out of order")
						return
					}
					prev = r.Time
				}
				_ = ix.ByKey("key-1")
				_ = ix.Len()
			}
		}()
	}
	for b := range 40 {
		var recs []Record
		for i := range 50 {
			// Batches overlap in time so that merges happen.
			recs = append(recs, mkRecord(b*50+i, t0.Add(time.Duration((b*50+i)%700)*time.Second)))
		}
		ix.Add(recs...)
	}
	close(stop)
	wg.Wait()
	if ix.Len() != 2000 {
		t.Errorf("Len = %d", ix.Len())
	}
}

// A batch large enough to fill the key maps on several goroutines finds
// every record by each key, in id order, as a small batch does.
func TestIndexLargeBatchPostings(t *testing.T) {
	t0 := time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)
	ix := NewIndex(Options{CorrelationHeaders: []string{"X-Genesys-Call-ID", "x-inin-cnv", "X-Trace"}})
	var recs []Record
	for i := range 5000 {
		recs = append(recs, mkRecord(i, t0.Add(time.Duration(i)*time.Millisecond)))
	}
	if n := ix.Add(recs...); n != 5000 {
		t.Fatalf("added %d", n)
	}
	check := func(what string, got []Record, want int) {
		t.Helper()
		if len(got) != want {
			t.Fatalf("%s: %d records, want %d", what, len(got), want)
		}
		for i := 1; i < len(got); i++ {
			if got[i].CSeqNum <= got[i-1].CSeqNum {
				t.Fatalf("%s: not in id order", what)
			}
		}
	}
	for k := range 5 {
		check("key", ix.ByKey(fmt.Sprintf("key-%d", k)), 1000)
		check("conv", ix.ByConversation(fmt.Sprintf("conv-%d", k)), 1000)
		check("call-id", ix.ByCallID(fmt.Sprintf("call-%d", k)), 1000)
	}
	for k := range 3 {
		want := 1666 // 5000 = 3*1666 + 2: t0 and t1 get one more
		if k < 2 {
			want++
		}
		check("header", ix.ByHeader("X-Trace", fmt.Sprintf("t%d", k)), want)
	}
}
