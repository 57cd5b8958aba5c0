package correlate

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/trace"
)

var (
	t0      = time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC)
	carrier = netip.MustParseAddr("203.0.113.10")
	edge    = netip.MustParseAddr("198.51.100.20")
)

const (
	offset  = 2333 * time.Millisecond
	transit = 12 * time.Millisecond
)

// msg is one SIP message of a test call: who sent it and when (true time).
type msg struct {
	at           time.Duration
	fromGenesys  bool
	method       string
	status       int
	cseq         uint32
	cseqMethod   string
	branch       string
	header       bool // carries X-Genesys-Call-ID on the wire
	recordBranch string
}

// build returns the wire messages and the trace records of a call, with the
// capture point next to the carrier: a carrier message is on the wire at t
// and at Genesys at t+transit; a Genesys message is on the wire at
// t+transit. Records are stamped on Genesys' clock (+offset).
func build(key, wireCallID, recCallID string, frame0 uint64, msgs []msg) ([]WireMsg, []trace.Record) {
	var wire []WireMsg
	var recs []trace.Record
	for i, m := range msgs {
		t := t0.Add(m.at)
		wireT, genesysT := t, t.Add(transit)
		src, dst := carrier, edge
		if m.fromGenesys {
			wireT, genesysT = t.Add(transit), t
			src, dst = edge, carrier
		}
		w := WireMsg{
			Frame: frame0 + uint64(i), Time: wireT,
			Src: netip.AddrPortFrom(src, 5060), Dst: netip.AddrPortFrom(dst, 5060),
			CallID: []byte(wireCallID), CSeqNum: m.cseq, CSeqMethod: []byte(m.cseqMethod),
			Method: []byte(m.method), Status: m.status, Branch: []byte(m.branch),
			Headers: [][]byte{nil, nil},
		}
		if m.header {
			w.Headers[0] = []byte(key)
		}
		wire = append(wire, w)
		rb := m.branch
		if m.recordBranch != "" {
			rb = m.recordBranch
		}
		r := trace.Record{
			Time: genesysT.Add(offset), CallID: recCallID, Method: m.method, Status: m.status,
			CSeqNum: m.cseq, CSeqMethod: m.cseqMethod, ViaBranch: rb, SrcIP: src, DstIP: dst, Node: "edge-1",
		}
		if m.header {
			r.Key = key
		}
		if m.status != 0 {
			r.Reason = map[int]string{100: "Trying", 180: "Ringing", 200: "OK", 408: "Request Timeout"}[m.status]
		}
		recs = append(recs, r)
	}
	return wire, recs
}

func answeredCall() []msg {
	return []msg{
		{at: 0, method: "INVITE", cseq: 1, cseqMethod: "INVITE", branch: "z9hG4bK-1", header: true},
		{at: 20 * time.Millisecond, fromGenesys: true, status: 100, cseq: 1, cseqMethod: "INVITE", branch: "z9hG4bK-1", header: true},
		{at: 200 * time.Millisecond, fromGenesys: true, status: 180, cseq: 1, cseqMethod: "INVITE", branch: "z9hG4bK-1"},
		{at: 2 * time.Second, fromGenesys: true, status: 200, cseq: 1, cseqMethod: "INVITE", branch: "z9hG4bK-1"},
		{at: 2050 * time.Millisecond, method: "ACK", cseq: 1, cseqMethod: "ACK", branch: "z9hG4bK-2"},
		{at: 9 * time.Second, method: "BYE", cseq: 2, cseqMethod: "BYE", branch: "z9hG4bK-3"},
		{at: 9020 * time.Millisecond, fromGenesys: true, status: 200, cseq: 2, cseqMethod: "BYE", branch: "z9hG4bK-3"},
	}
}

func TestExactMatchesLearnDialogAndSkew(t *testing.T) {
	wire, recs := build("gc-1", "wire-1", "wire-1", 1, answeredCall())
	e := New(recs, Options{})
	for i := range wire {
		if _, ok := e.Observe(&wire[i]); !ok {
			t.Fatalf("message %d (frame %d) not matched exactly", i, wire[i].Frame)
		}
	}
	res := e.Finish()
	if len(res.Matches) != 7 || len(res.GenesysOnly) != 0 {
		t.Fatalf("%d matches, %d Genesys-only", len(res.Matches), len(res.GenesysOnly))
	}
	for _, m := range res.Matches {
		if m.Key != KeyGenesysCallID {
			t.Errorf("frame %d joined by %v, want x-genesys-call-id (learned from the dialog)", m.Frame, m.Key)
		}
	}
	if d := res.Skew.Offset - offset; d > time.Millisecond || d < -time.Millisecond {
		t.Fatalf("offset %s, want %s", res.Skew.Offset, offset)
	}
	if d := res.Skew.Transit - transit; d > time.Millisecond || d < -time.Millisecond {
		t.Fatalf("transit %s, want %s", res.Skew.Transit, transit)
	}
	if got := res.Skew.Direction(edge, carrier); got != "out" {
		t.Fatalf("direction of an edge-sent message: %q", got)
	}
}

func TestB2BUAPairsByOrder(t *testing.T) {
	msgs := answeredCall()
	wire, recs := build("gc-2", "wire-2", "genesys-side-2", 1, msgs)
	// The B2BUA renumbers CSeq and changes branches on the Genesys side;
	// the INVITE still carries the key, so the call is found.
	for i := range recs {
		recs[i].CSeqNum += 3000
		recs[i].ViaBranch = "z9hG4bK-b2bua-" + recs[i].ViaBranch
	}
	// A second, ordinary call provides exact pairs for the skew.
	w2, r2 := build("gc-3", "wire-3", "wire-3", 100, answeredCall())
	e := New(append(recs, r2...), Options{})
	for _, w := range append(wire, w2...) {
		e.Observe(&w)
	}
	res := e.Finish()
	order := 0
	for _, m := range res.Matches {
		if m.Order {
			order++
			if m.Frame >= 100 {
				t.Errorf("frame %d of the plain call paired by order", m.Frame)
			}
		}
	}
	if order != len(wire) || len(res.GenesysOnly) != 0 {
		t.Fatalf("%d pairs by order (want %d), %d Genesys-only", order, len(wire), len(res.GenesysOnly))
	}
}

func TestCallIDFallbackIsFlagged(t *testing.T) {
	msgs := answeredCall()
	for i := range msgs {
		msgs[i].header = false
	}
	wire, recs := build("", "wire-4", "wire-4", 1, msgs)
	e := New(recs, Options{})
	for _, w := range wire {
		e.Observe(&w)
	}
	res := e.Finish()
	f := Formatter{Skew: res.Skew}
	c := string(f.Append(nil, &res.Matches[0]))
	if !strings.Contains(c, "key=call-id") || !strings.Contains(c, `warn="`+CallIDWarning+`"`) {
		t.Fatalf("comment %q lacks the Call-ID flag", c)
	}
}

func TestGenesysOnlyAndWireOnly(t *testing.T) {
	wire, recs := build("gc-5", "wire-5", "wire-5", 1, answeredCall())
	// Genesys saw a retransmitted 200 OK the capture missed.
	extra := recs[3]
	extra.Time = extra.Time.Add(500 * time.Millisecond)
	recs = append(recs, extra)
	// A wire-only call: no records.
	w2, _ := build("gc-6", "wire-6", "wire-6", 100, answeredCall())
	e := New(recs, Options{})
	for _, w := range append(wire, w2...) {
		e.Observe(&w)
	}
	res := e.Finish()
	if len(res.GenesysOnly) != 1 || res.GenesysOnly[0].Status != 200 {
		t.Fatalf("Genesys-only: %+v", res.GenesysOnly)
	}
	for _, m := range res.Matches {
		if m.Frame >= 100 {
			t.Fatalf("wire-only call annotated at frame %d", m.Frame)
		}
	}
	if res.Stats.NoRecords != len(w2) {
		t.Fatalf("NoRecords %d", res.Stats.NoRecords)
	}
}

func TestFixedOffset(t *testing.T) {
	wire, recs := build("gc-7", "wire-7", "wire-7", 1, answeredCall())
	fixed := -850 * time.Millisecond
	e := New(recs, Options{Offset: &fixed})
	for _, w := range wire {
		e.Observe(&w)
	}
	res := e.Finish()
	if !res.Skew.Fixed || res.Skew.Offset != fixed {
		t.Fatalf("%+v", res.Skew)
	}
	c := string((&Formatter{Skew: res.Skew}).Append(nil, &res.Matches[0]))
	if !strings.Contains(c, " skew=-850ms") {
		t.Fatalf("comment %q", c)
	}
}

func TestCommentFormat(t *testing.T) {
	r := &Record{Record: trace.Record{
		Time: t0.Add(offset), Key: "8d2f4c1e-1", ConversationID: "conv-1", Status: 408, Reason: "Request Timeout",
		CSeqNum: 1, CSeqMethod: "INVITE", SrcIP: edge, DstIP: carrier, Node: "edge-1",
	}}
	sk := Skew{Offset: offset, Pairs: 10, genesys: map[netip.Addr]bool{edge: true}}
	got := string((&Formatter{Skew: sk}).Append(nil, &Match{Record: r, Key: KeyGenesysCallID}))
	want := `genesys: call=8d2f4c1e-1 conv=conv-1 event="408 Request Timeout" method=INVITE cseq="1 INVITE" dir=out node=edge-1 t=2026-11-25T10:05:00.000000Z skew=+2.333s key=x-genesys-call-id`
	if got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	if q := string(appendPair(nil, "event", "400 Bad \"x\"\r\n")); q != ` event="400 Bad \"x\"  "` {
		t.Fatalf("quoting: %s", q)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		2333 * time.Millisecond: "+2.333s", -850 * time.Millisecond: "-850ms", 400 * time.Microsecond: "+400µs",
		1500 * time.Microsecond: "+1.5ms", 0: "+0s", -61 * time.Second: "-61s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("%s: %s, want %s", d, got, want)
		}
	}
}
