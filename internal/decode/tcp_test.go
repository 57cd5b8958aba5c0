package decode

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/sip"
	"github.com/gopacket/gopacket/layers"
)

type wantMsg struct {
	frame uint64
	data  string
}

// seqs lays payloads out back to back from isn+1 and returns segments.
func seqs(isn uint32, rev bool, payloads ...string) []tcpSeg {
	var out []tcpSeg
	seq := isn + 1
	for _, p := range payloads {
		out = append(out, tcpSeg{rev: rev, seq: seq, payload: p})
		seq += uint32(len(p))
	}
	return out
}

func syn(isn uint32, rev bool) tcpSeg { return tcpSeg{rev: rev, seq: isn, syn: true, noACK: !rev} }

func TestTCPReassembly(t *testing.T) {
	inv, ok := sipInvite, sip200
	big := strings.Replace(sipInvite, "Content-Length: 4\r\n\r\nv=0\n",
		"Content-Length: 200000\r\n\r\n"+strings.Repeat("a=x\r\n", 40000), 1)
	var bigSegs []string
	for i := 0; i < len(big); i += 1460 {
		bigSegs = append(bigSegs, big[i:min(i+1460, len(big))])
	}
	badCL := "INVITE sip:x@y SIP/2.0\r\nContent-Length: abc\r\n\r\n"
	conflictCL := "INVITE sip:x@y SIP/2.0\r\nContent-Length: 2\r\nl: 3\r\n\r\n"
	compact := "MESSAGE sip:x@y SIP/2.0\r\nl: 5\r\n\r\nhello"
	lowerCL := "MESSAGE sip:x@y SIP/2.0\r\ncontent-length:5\r\n\r\nworld"
	s := seqs(1000, false, inv[:40], inv[40:100], inv[100:])
	wrap := seqs(0xfffffff0, false, inv[:10], inv[10:])

	tests := []struct {
		name      string
		cfg       Config
		segs      []tcpSeg
		want      []wantMsg
		malformed int
		check     func(t *testing.T, st Stats)
	}{
		{name: "one message per segment",
			segs: append([]tcpSeg{syn(1000, false)}, seqs(1000, false, inv, ok)...),
			want: []wantMsg{{2, inv}, {3, ok}}},
		{name: "split over three segments",
			segs: append([]tcpSeg{syn(1000, false)}, s...),
			want: []wantMsg{{4, inv}}},
		{name: "several messages and keep-alives in one segment",
			segs: append([]tcpSeg{syn(1000, false)}, seqs(1000, false, "\r\n\r\n"+inv+"\r\n"+ok+compact+lowerCL)...),
			want: []wantMsg{{2, inv}, {2, ok}, {2, compact}, {2, lowerCL}}},
		{name: "exact retransmission",
			segs: append([]tcpSeg{syn(1000, false)}, seqs(1000, false, inv)[0], seqs(1000, false, inv)[0]),
			want: []wantMsg{{2, inv}},
			check: func(t *testing.T, st Stats) {
				if st.TCPRetransmissions != 1 {
					t.Errorf("retransmissions %d", st.TCPRetransmissions)
				}
			}},
		{name: "partially overlapping retransmission",
			segs: []tcpSeg{syn(1000, false), {seq: 1001, payload: inv[:50]}, {seq: 1031, payload: inv[30:]}},
			want: []wantMsg{{3, inv}}},
		{name: "out of order",
			segs: []tcpSeg{syn(1000, false), s[2], s[1], s[0]},
			want: []wantMsg{{4, inv}},
			check: func(t *testing.T, st Stats) {
				if st.TCPOutOfOrder != 2 {
					t.Errorf("out of order %d", st.TCPOutOfOrder)
				}
			}},
		{name: "out of order duplicate held segment",
			segs: []tcpSeg{syn(1000, false), s[2], s[2], s[1], s[0]},
			want: []wantMsg{{5, inv}}},
		{name: "both directions",
			segs: []tcpSeg{syn(1000, false), syn(5000, true), seqs(1000, false, inv)[0], seqs(5000, true, ok)[0]},
			want: []wantMsg{{3, inv}, {4, ok}}},
		{name: "sequence number wrap",
			segs: append([]tcpSeg{syn(0xfffffff0, false)}, wrap...),
			want: []wantMsg{{3, inv}}},
		{name: "mid-stream start inside a body",
			cfg:  Config{PortHints: []uint16{}},
			segs: seqs(1000, false, "a=rtpmap:0 PCMU/8000\r\n\r\n"+ok, inv),
			want: []wantMsg{{1, ok}, {2, inv}}},
		{name: "mid-stream start at a message",
			cfg:  Config{PortHints: []uint16{}},
			segs: seqs(1000, false, inv[:60], inv[60:]),
			want: []wantMsg{{2, inv}}},
		{name: "mid-stream without SIP gives up after the budget",
			cfg:  Config{PortHints: []uint16{}, ResyncBudget: 100},
			segs: seqs(1000, false, strings.Repeat("x", 200)+"\n", inv),
			want: nil},
		{name: "not SIP from SYN on a port without hint",
			cfg:  Config{PortHints: []uint16{}},
			segs: append([]tcpSeg{syn(1000, false)}, seqs(1000, false, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "\n"+inv)...),
			want: nil},
		{name: "not SIP from SYN on a hinted port keeps looking",
			segs: append([]tcpSeg{syn(1000, false)}, seqs(1000, false, "\x00\x01junk\n", inv)...),
			want: []wantMsg{{3, inv}}},
		// An unusable Content-Length frames as 0, as in tshark: the
		// message is kept (sip.Parse flags it) and what follows is
		// resynchronised on, so nothing after it is lost either.
		{name: "bad Content-Length kept, framed as 0",
			segs: append([]tcpSeg{syn(1000, false)}, seqs(1000, false, badCL+ok)...),
			want: []wantMsg{{2, badCL}, {2, ok}}},
		{name: "bad Content-Length with a body: body skipped, next message found",
			segs: append([]tcpSeg{syn(1000, false)}, seqs(1000, false, badCL+"v=0\r\no=- 1 1 IN IP4 h\r\n"+ok, inv)...),
			want: []wantMsg{{2, badCL}, {2, ok}, {3, inv}}, malformed: 1, // the skipped body
			check: func(t *testing.T, st Stats) {
				if st.TCPResyncs != 1 {
					t.Errorf("resyncs %d, want 1 (over the body)", st.TCPResyncs)
				}
			}},
		{name: "conflicting Content-Length kept, framed as 0",
			segs: append([]tcpSeg{syn(1000, false)}, seqs(1000, false, conflictCL+ok)...),
			want: []wantMsg{{2, conflictCL}, {2, ok}}},
		{name: "FIN inside a message",
			segs:      []tcpSeg{syn(1000, false), {seq: 1001, payload: inv[:40], fin: true}},
			malformed: 1},
		{name: "RST inside a message",
			segs:      []tcpSeg{syn(1000, false), {seq: 1001, payload: inv[:40]}, {seq: 1041, rst: true}},
			malformed: 1},
		{name: "FIN after messages closes cleanly",
			segs: []tcpSeg{syn(1000, false), syn(5000, true), {seq: 1001, payload: inv, fin: true},
				{rev: true, seq: 5001, fin: true}},
			want: []wantMsg{{3, inv}}},
		{name: "new SYN on the same ports",
			segs: []tcpSeg{syn(1000, false), {seq: 1001, payload: inv[:40]}, syn(9000, false), {seq: 9001, payload: inv}},
			want: []wantMsg{{4, inv}}, malformed: 1},
		{name: "hole given up when out-of-order bound is reached",
			cfg: Config{MaxOutOfOrder: 1},
			segs: append([]tcpSeg{syn(1000, false)},
				// lost: the first half of ok
				tcpSeg{seq: 1001 + uint32(len(inv)/2), payload: inv[len(inv)/2:] + ok},
				tcpSeg{seq: 1001 + uint32(len(inv)/2+len(inv)-len(inv)/2+len(ok)), payload: inv}),
			want: []wantMsg{{3, ok}, {3, inv}},
			check: func(t *testing.T, st Stats) {
				if st.TCPGaps != 1 {
					t.Errorf("gaps %d", st.TCPGaps)
				}
			}},
		{name: "large message in many segments",
			segs: append([]tcpSeg{syn(1000, false)}, seqs(1000, false, bigSegs...)...),
			want: []wantMsg{{uint64(1 + len(bigSegs)), big}}},
		{name: "oversized message skipped",
			segs: append([]tcpSeg{syn(1000, false)}, seqs(1000, false,
				"INVITE sip:x@y SIP/2.0\r\nContent-Length: 99999999\r\n\r\n", ok)...),
			want: []wantMsg{{3, ok}}, malformed: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var errs []error
			tc.cfg.OnMalformed = func(_ uint64, err error) { errs = append(errs, err) }
			frames := make([][]byte, len(tc.segs))
			for i, sg := range tc.segs {
				frames[i] = tcpFrame(t, sg)
			}
			msgs, d := run(t, tc.cfg, layers.LinkTypeEthernet, frames...)
			var got []wantMsg
			for _, m := range msgs {
				if m.Transport != TCP {
					t.Errorf("transport %s", m.Transport)
				}
				got = append(got, wantMsg{m.Frame, string(m.Data)})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d messages %v, want %d", len(got), short(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("message %d: got %v, want %v", i, short(got[i:i+1]), short(tc.want[i:i+1]))
				}
			}
			if len(errs) != tc.malformed || int(d.Stats().Malformed) != tc.malformed {
				t.Errorf("malformed: %v (stats %d), want %d", errs, d.Stats().Malformed, tc.malformed)
			}
			if tc.check != nil {
				tc.check(t, d.Stats())
			}
		})
	}
}

func short(ms []wantMsg) []string {
	var out []string
	for _, m := range ms {
		s := m.data
		if len(s) > 20 {
			s = s[:20]
		}
		out = append(out, strings.ReplaceAll(s, "\r\n", "|")+"@"+string(rune('0'+m.frame%10)))
	}
	return out
}

// TestTCPGapTimeout checks that a hole is given up on after GapTimeout of
// capture time, and that what follows is decoded.
func TestTCPGapTimeout(t *testing.T) {
	inv, ok := sipInvite, sip200
	segs := []tcpSeg{
		syn(1000, false),
		{seq: 1001, payload: inv},
		// lost: ok[:10]
		{seq: 1001 + uint32(len(inv)+10), payload: ok[10:] + inv},
		{seq: 1001 + uint32(len(inv)+len(ok)+len(inv)), payload: ok},
	}
	frames := make([]capFrame, len(segs))
	for i, sg := range segs {
		frames[i] = capFrame{link: layers.LinkTypeEthernet, ts: t0.Add(time.Duration(i) * 3 * time.Second), data: tcpFrame(t, sg)}
	}
	var errs []error
	msgs, d := decodeAll(t, Config{OnMalformed: func(_ uint64, err error) { errs = append(errs, err) }}, frames)
	var got []string
	for _, m := range msgs {
		label, _ := sipLabel(m.Data)
		got = append(got, label)
	}
	if strings.Join(got, ",") != "INVITE,INVITE,200" || msgs[1].Frame != 4 {
		t.Errorf("got %v", got)
	}
	if st := d.Stats(); st.TCPGaps != 1 {
		t.Errorf("stats %+v", st)
	}
	if len(errs) != 0 {
		t.Errorf("malformed %v", errs)
	}
}

// TestOldest checks which frames unfinished reassembly holds.
func TestOldest(t *testing.T) {
	inv := sipInvite
	d := NewDecoder(Config{})
	step := func(n uint64, sg tcpSeg, wantOldest uint64, wantMsgs int) {
		t.Helper()
		msgs := d.Decode(n, t0, layers.LinkTypeEthernet, tcpFrame(t, sg), nil)
		if len(msgs) != wantMsgs {
			t.Fatalf("frame %d: %d messages, want %d", n, len(msgs), wantMsgs)
		}
		o, ok := d.Oldest()
		if (wantOldest == 0) == ok || o != wantOldest {
			t.Fatalf("frame %d: Oldest %d %v, want %d", n, o, ok, wantOldest)
		}
	}
	step(1, syn(1000, false), 0, 0)
	step(2, tcpSeg{seq: 1001, payload: inv[:40]}, 2, 0)
	step(3, tcpSeg{seq: 1041, payload: inv[40:80]}, 2, 0)
	step(4, tcpSeg{seq: 1081, payload: inv[80:] + inv[:10]}, 4, 1)
	step(5, tcpSeg{seq: 1011 + uint32(len(inv)+10), payload: "x"}, 4, 0) // out of order
	step(6, tcpSeg{seq: 1011 + uint32(len(inv)), payload: inv[10:20]}, 4, 0)
	d.Reset()
	if _, ok := d.Oldest(); ok {
		t.Fatal("Oldest after Reset")
	}
}

// TestStreamOverflowBounded checks that a stream that never completes a
// message stays within its bounds.
func TestStreamOverflowBounded(t *testing.T) {
	var errs []error
	d := NewDecoder(Config{OnMalformed: func(_ uint64, err error) { errs = append(errs, err) }})
	d.Decode(1, t0, layers.LinkTypeEthernet, tcpFrame(t, syn(1000, false)), nil)
	seq := uint32(1001)
	chunk := "X-Junk: " + strings.Repeat("y", 1400) + "\r\n"
	first := "INVITE sip:x@y SIP/2.0\r\n"
	for i := 0; i < 1000; i++ {
		p := chunk
		if i == 0 {
			p = first + chunk
		}
		d.Decode(uint64(i+2), t0, layers.LinkTypeEthernet, tcpFrame(t, tcpSeg{seq: seq, payload: p}), nil)
		seq += uint32(len(p))
		if d.tcp.buffered > sip.MaxMessage+2*len(chunk) {
			t.Fatalf("buffered %d", d.tcp.buffered)
		}
	}
	if len(errs) == 0 || !errors.Is(errs[0], sip.ErrTooLong) {
		t.Errorf("errors %v", errs)
	}
}

// TestStreamLimits checks MaxStreams eviction and the idle timeout.
func TestStreamLimits(t *testing.T) {
	d := NewDecoder(Config{MaxStreams: 4, StreamIdleTimeout: time.Minute})
	for i := range 10 {
		f := tcpFrame(t, tcpSeg{seq: 1, payload: sipInvite[:30], sport: uint16(30000 + i)})
		d.Decode(uint64(i+1), t0, layers.LinkTypeEthernet, f, nil)
	}
	if len(d.tcp.m) != 4 || d.Stats().StreamsEvicted != 6 {
		t.Errorf("streams %d, stats %+v", len(d.tcp.m), d.Stats())
	}
	checkHolds(t, d)
	d.Decode(11, t0.Add(2*time.Minute), layers.LinkTypeEthernet, tcpFrame(t, tcpSeg{seq: 1, payload: sipInvite}), nil)
	if len(d.tcp.m) != 1 || d.Stats().StreamsExpired != 4 {
		t.Errorf("streams %d, stats %+v", len(d.tcp.m), d.Stats())
	}
	checkHolds(t, d)
}

// TestZeroAlloc checks the hot paths allocate nothing in steady state.
func TestZeroAlloc(t *testing.T) {
	udp := serialize(t, with(udpLayers(5060, 5060, []byte(sipInvite)), ether(layers.EthernetTypeIPv4))...)
	d := NewDecoder(Config{})
	var dst []Message
	n := uint64(0)
	if a := testing.AllocsPerRun(1000, func() {
		n++
		dst = d.Decode(n, t0, layers.LinkTypeEthernet, udp, dst[:0])
	}); a != 0 || len(dst) != 1 {
		t.Errorf("UDP: %v allocs, %d messages", a, len(dst))
	}

	seg := tcpFrame(t, tcpSeg{seq: 1001, payload: sipInvite + sip200})
	d = NewDecoder(Config{})
	d.Decode(1, t0, layers.LinkTypeEthernet, tcpFrame(t, syn(1000, false)), nil)
	seq := uint32(1001)
	if a := testing.AllocsPerRun(1000, func() {
		n++
		setSeq(seg, seq)
		seq += uint32(len(sipInvite) + len(sip200))
		dst = d.Decode(n, t0, layers.LinkTypeEthernet, seg, dst[:0])
	}); a != 0 || len(dst) != 2 {
		t.Errorf("TCP: %v allocs, %d messages", a, len(dst))
	}
}

// setSeq patches the sequence number of an Ethernet/IPv4(20)/TCP frame.
func setSeq(f []byte, seq uint32) {
	f[14+20+4], f[14+20+5], f[14+20+6], f[14+20+7] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
}
