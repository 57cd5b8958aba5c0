package scenario

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// writers are the outputs of a scenario, by name.
var writers = map[string]func(*Scenario, *bytes.Buffer) error{
	"pcap":    func(s *Scenario, b *bytes.Buffer) error { return s.WritePcap(b) },
	"pcap-ns": func(s *Scenario, b *bytes.Buffer) error { return s.WritePcapNanos(b) },
	"pcapng":  func(s *Scenario, b *bytes.Buffer) error { return s.WritePcapng(b) },
	"trace":   func(s *Scenario, b *bytes.Buffer) error { return s.WriteTrace(b) },
	"expect":  func(s *Scenario, b *bytes.Buffer) error { return s.WriteExpect(b) },
}

func output(t *testing.T, s *Scenario, name string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := writers[name](s, &b); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b.Bytes()
}

func TestDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(Options) *Scenario
	}{{"demo", Demo}, {"correlation", Correlation}} {
		a, b := tc.make(DefaultOptions()), tc.make(DefaultOptions())
		other := DefaultOptions()
		other.Seed = 2
		c := tc.make(other)
		for name := range writers {
			if !bytes.Equal(output(t, a, name), output(t, b, name)) {
				t.Errorf("%s %s: same seed, different bytes", tc.name, name)
			}
			if name != "expect" && bytes.Equal(output(t, a, name), output(t, c, name)) {
				t.Errorf("%s %s: seeds 1 and 2 give the same bytes", tc.name, name)
			}
		}
	}
}

// payloads returns the SIP payload of every frame that carries a whole
// UDP datagram, by frame number.
func payloads(s *Scenario) map[int][]byte {
	out := map[int][]byte{}
	for i, f := range s.Frames {
		p := gopacket.NewPacket(f.Data, f.LinkType, gopacket.NoCopy)
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok && (ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0) {
			continue
		}
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			out[i+1] = u.Payload
		}
	}
	return out
}

func records(t *testing.T, s *Scenario) []map[string]string {
	t.Helper()
	var out []map[string]string
	for i, raw := range s.Records {
		var r map[string]string
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("record %d: not a JSON object of strings: %v", i, err)
		}
		out = append(out, r)
	}
	return out
}

func callByLabel(t *testing.T, s *Scenario, label string) Call {
	t.Helper()
	for _, c := range s.Calls {
		if c.Label == label {
			return c
		}
	}
	t.Fatalf("no call %q", label)
	return Call{}
}

func TestFrames(t *testing.T) {
	for _, s := range []*Scenario{Demo(DefaultOptions()), Correlation(DefaultOptions())} {
		for i, f := range s.Frames {
			if len(f.Data) > mtu+14 || f.CI.CaptureLength != len(f.Data) || f.CI.Length != len(f.Data) {
				t.Errorf("frame %d: %d bytes, capture info %+v", i+1, len(f.Data), f.CI)
			}
			if f.CI.Timestamp.Nanosecond()%1000 != 0 {
				t.Errorf("frame %d: timestamp %v not whole µs", i+1, f.CI.Timestamp)
			}
			if i > 0 && f.CI.Timestamp.Before(s.Frames[i-1].CI.Timestamp) {
				t.Errorf("frame %d: before frame %d", i+1, i)
			}
		}
		for i, m := range s.Messages {
			if i > 0 && m.Frame < s.Messages[i-1].Frame {
				t.Errorf("message %d: frame %d out of order", i, m.Frame)
			}
		}
	}
}

func TestRenderSize(t *testing.T) {
	// Every message of a mix of calls: size agrees with render.
	bl := newBuilder(DefaultOptions())
	for i := range 8 {
		label, story, flow := ordinary(i)
		bl.add(spec{label: label, story: story, carrier: sbc6(), edge: edge6(), compact: i%2 == 0, xgcid: true, cnv: true}, flow)
		bl.add(spec{label: label, story: story, uac: genesysSide, carrier: sbc(), edge: edge(i), big: true, tcp: i%2 == 1}, flow)
	}
	for _, c := range bl.calls {
		for k := range c.steps {
			for _, compact := range []bool{false, true} {
				m := c.msg(c.wire, k)
				if got, want := m.size(compact), len(m.render(nil, compact)); got != want {
					t.Fatalf("%s step %d compact=%v: size %d, render %d", c.label, k, compact, got, want)
				}
			}
		}
	}
}

func TestCorrelationGroundTruth(t *testing.T) {
	opt := DefaultOptions()
	t.Run("default", func(t *testing.T) { checkGroundTruth(t, opt) })
	opt = Options{Seed: 5, Calls: 4, ClockOffset: -850 * time.Millisecond, Transit: 30 * time.Millisecond, SparseHeaders: true}
	t.Run("sparse", func(t *testing.T) { checkGroundTruth(t, opt) })
}

func checkGroundTruth(t *testing.T, opt Options) {
	s := Correlation(opt)
	recs := records(t, s)
	pl := payloads(s)
	if len(s.Expect) != len(s.Records) {
		t.Fatalf("%d expectations for %d records", len(s.Expect), len(s.Records))
	}
	msgAt := map[int][]Message{}
	for _, m := range s.Messages {
		msgAt[m.Frame] = append(msgAt[m.Frame], m)
	}
	byCall := map[string][]int{}
	var in, out []time.Duration
	for i, e := range s.Expect {
		r := recs[i]
		byCall[e.Call] = append(byCall[e.Call], i)
		if e.Record != i {
			t.Errorf("expectation %d names record %d", i, e.Record)
		}
		if i > 0 && e.RecordTime.Before(s.Expect[i-1].RecordTime) {
			t.Errorf("record %d out of time order", i)
		}
		if mt, _ := strconv.ParseInt(r["microTs"], 10, 64); mt != e.RecordTime.UnixMicro() {
			t.Errorf("record %d: microTs %s, want %d", i, r["microTs"], e.RecordTime.UnixMicro())
		}
		if e.Frame == 0 {
			if e.Match != "" || e.WireTime != nil {
				t.Errorf("record %d: Genesys-only but match %q", i, e.Match)
			}
			continue
		}
		// The frame carries a message of the same call, CSeq and event.
		found := false
		for _, m := range msgAt[e.Frame] {
			found = found || (m.Call == e.Call && m.CSeq == e.WireCSeq && m.Event == e.Event)
		}
		if !found {
			t.Errorf("record %d (%s %s %s): frame %d carries %v", i, e.Call, e.CSeq, e.Event, e.Frame, msgAt[e.Frame])
		}
		if e.Match == MatchExact {
			if p, ok := pl[e.Frame]; ok && string(p) != r["msg"] {
				t.Errorf("record %d: msg differs from frame %d payload", i, e.Frame)
			}
			d := e.RecordTime.Sub(*e.WireTime)
			if e.Dir == "in" {
				if d != opt.ClockOffset+opt.Transit {
					t.Errorf("record %d in: record-wire %v, want %v", i, d, opt.ClockOffset+opt.Transit)
				}
				in = append(in, d)
			} else {
				// Later segments or fragments, or a coalescing delay,
				// put the completing frame a little later.
				if hi := opt.ClockOffset - opt.Transit; d > hi || d < hi-time.Millisecond {
					t.Errorf("record %d out: record-wire %v, want %v (-<1ms)", i, d, hi)
				}
				out = append(out, d)
			}
		}
	}
	// An estimator that averages both directions finds the offset.
	slices.Sort(in)
	slices.Sort(out)
	est := (in[len(in)/2] + out[len(out)/2]) / 2
	if d := est - s.ClockOffset; d < -5*time.Millisecond || d > 5*time.Millisecond {
		t.Errorf("offset estimate %v, true %v", est, s.ClockOffset)
	}

	for _, c := range s.Calls {
		idx := byCall[c.Label]
		switch {
		case c.WireOnly:
			if len(idx) != 0 {
				t.Errorf("%s: wire-only call has %d records", c.Label, len(idx))
			}
		case c.GenesysOnly:
			for _, i := range idx {
				if s.Expect[i].Frame != 0 {
					t.Errorf("%s: Genesys-only record %d has frame %d", c.Label, i, s.Expect[i].Frame)
				}
			}
		}
		for _, m := range s.Messages {
			if m.Call == c.Label && c.GenesysOnly {
				t.Errorf("%s: Genesys-only call on the wire (frame %d)", c.Label, m.Frame)
			}
		}
		for _, i := range idx {
			e, r := s.Expect[i], recs[i]
			if e.Key != c.Key || e.KeyValue != c.KeyValue {
				t.Errorf("%s record %d: key %s=%s, call says %s=%s", c.Label, i, e.Key, e.KeyValue, c.Key, c.KeyValue)
			}
			switch c.Key {
			case KeyXGenesysCallID:
				if (!opt.SparseHeaders || e.Dir == "out") && !strings.Contains(r["msg"], "\r\nX-Genesys-Call-ID: "+c.KeyValue+"\r\n") {
					t.Errorf("%s record %d: msg lacks X-Genesys-Call-ID", c.Label, i)
				}
			case KeyININConv:
				if r["conversationId"] != c.KeyValue || strings.Contains(r["msg"], "X-Genesys-Call-ID") ||
					(!opt.SparseHeaders || e.Dir == "out") && !strings.Contains(r["msg"], "\r\nx-inin-cnv: "+c.KeyValue+"\r\n") {
					t.Errorf("%s record %d: conversationId %s, want %s and no X-Genesys-Call-ID", c.Label, i, r["conversationId"], c.KeyValue)
				}
			case KeyCallID:
				if r["callid"] != c.KeyValue || strings.Contains(r["msg"], "X-Genesys-Call-ID") || strings.Contains(r["msg"], "x-inin-cnv") {
					t.Errorf("%s record %d: callid %s, want %s and no correlation header", c.Label, i, r["callid"], c.KeyValue)
				}
			}
			if e.Frame > 0 && e.KeyOnWire == (opt.SparseHeaders && e.Dir == "in" && c.Key != KeyCallID) {
				t.Errorf("%s record %d: key not on the wire message", c.Label, i)
			}
			if e.Frame > 0 && (e.Match == MatchOrder) != c.Order {
				t.Errorf("%s record %d: match %q, call order %v", c.Label, i, e.Match, c.Order)
			}
		}
	}

	// The cases the scenario promises.
	if c := callByLabel(t, s, "b2bua"); c.WireCallID == c.TraceCallID || !c.Order {
		t.Errorf("b2bua: Call-ID not rewritten: %+v", c)
	}
	renumbered, frameless := false, false
	for _, i := range byCall["b2bua"] {
		e := s.Expect[i]
		renumbered = renumbered || (e.Frame > 0 && e.CSeq != e.WireCSeq)
		frameless = frameless || e.Frame == 0
		if recs[i]["callid"] != callByLabel(t, s, "b2bua").TraceCallID {
			t.Errorf("b2bua record %d: callid %s", i, recs[i]["callid"])
		}
		if e.Frame > 0 {
			if p := pl[e.Frame]; p != nil && bytes.Contains(p, []byte(recs[i]["via1Branch"])) {
				t.Errorf("b2bua record %d: wire shares Via branch %s", i, recs[i]["via1Branch"])
			}
		}
	}
	if !renumbered || !frameless {
		t.Errorf("b2bua: renumbered %v, Genesys-only 100 Trying %v", renumbered, frameless)
	}
	for label, want := range map[string]string{"udp6-compact": "\r\ni: ", "udp4": "\r\nCall-ID: ", "callid-only": "\r\nCall-ID: "} {
		for _, m := range s.Messages {
			if p, ok := pl[m.Frame]; ok && m.Call == label && !bytes.Contains(p, []byte(want)) {
				t.Errorf("%s frame %d: no %q", label, m.Frame, want)
			}
		}
	}
	if c := callByLabel(t, s, "udp6-compact"); c.Network != "ipv6" || c.Key != KeyININConv {
		t.Errorf("udp6-compact: %+v", c)
	}
	if c := callByLabel(t, s, "tcp"); c.Transport != "tcp" {
		t.Errorf("tcp: %+v", c)
	}
	// TCP: one frame with two messages; the INVITE completes after two segments.
	coalesced := false
	for _, ms := range msgAt {
		coalesced = coalesced || (len(ms) == 2 && ms[0].Call == "tcp")
	}
	if !coalesced {
		t.Error("tcp: no segment carries two messages")
	}
	// Fragmented: the INVITE's frame is the last of at least two fragments.
	for _, m := range s.Messages {
		if m.Call != "fragmented" || m.Event != "INVITE" {
			continue
		}
		p := gopacket.NewPacket(s.Frames[m.Frame-2].Data, layers.LinkTypeEthernet, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ip == nil || ip.Flags&layers.IPv4MoreFragments == 0 || ip.FragOffset != 0 {
			t.Errorf("fragmented: frame %d is not a first fragment", m.Frame-1)
		}
	}
}

func TestTraceShape(t *testing.T) {
	s := Correlation(DefaultOptions())
	var doc struct {
		Data  []map[string]string `json:"data"`
		Count int                 `json:"count"`
	}
	if err := json.Unmarshal(output(t, s, "trace"), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Count != len(doc.Data) || doc.Count != len(s.Records) {
		t.Fatalf("count %d, data %d, records %d", doc.Count, len(doc.Data), len(s.Records))
	}
	fields := []string{"date", "microTs", "method", "replyReason", "callid", "cseq", "via1Branch", "fromUser", "toUser",
		"ruriUser", "pidUser", "sourceIp", "sourcePort", "destinationIp", "destinationPort", "proto", "conversationId",
		"participantId", "node", "msg"}
	for i, r := range doc.Data {
		for _, f := range fields {
			if _, ok := r[f]; !ok {
				t.Fatalf("record %d: no %s", i, f)
			}
		}
		if _, err := time.Parse(time.RFC3339, r["date"]); err != nil {
			t.Errorf("record %d: date %q: %v", i, r["date"], err)
		}
		start := r["method"] + " "
		if r["replyReason"] != "" {
			start = "SIP/2.0 " + r["method"] + " " + r["replyReason"] + "\r\n"
		}
		if !strings.HasPrefix(r["msg"], start) || !strings.Contains(r["msg"], "\r\n\r\n") {
			t.Errorf("record %d: msg does not start with %q", i, start)
		}
		if !strings.Contains(r["msg"], r["callid"]) || !strings.Contains(r["msg"], r["via1Branch"]) {
			t.Errorf("record %d: callid/branch not in msg", i)
		}
	}
	var g groundTruth
	if err := json.Unmarshal(output(t, s, "expect"), &g); err != nil {
		t.Fatal(err)
	}
	if g.ClockOffsetNs != s.ClockOffset.Nanoseconds() || len(g.Records) != len(s.Records) || g.SIPMessages != len(s.Messages) {
		t.Errorf("expect document: %+v", g)
	}
}

func TestNumbers(t *testing.T) {
	s := Correlation(DefaultOptions())
	e164 := regexp.MustCompile(`\+1555\d{7}`)
	var all bytes.Buffer
	for _, f := range s.Frames {
		all.Write(f.Data)
	}
	all.Write(output(t, s, "trace"))
	used := map[string]bool{}
	for _, n := range e164.FindAll(all.Bytes(), -1) {
		used[string(n)] = true
	}
	for _, n := range s.Numbers {
		if !e164.MatchString(n) || len(n) != 12 {
			t.Errorf("number %q is not +1555 and 7 digits", n)
		}
		if !used[n] {
			t.Errorf("number %s listed but not used", n)
		}
		delete(used, n)
	}
	for n := range used {
		t.Errorf("number %s used but not listed", n)
	}
}

func TestDemo(t *testing.T) {
	s := Demo(DefaultOptions())
	events := map[string]bool{}
	for _, m := range s.Messages {
		events[m.Event] = true
	}
	for _, want := range []string{"408 Request Timeout", "503 Service Unavailable", "INVITE", "BYE", "ACK"} {
		if !events[want] {
			t.Errorf("demo lacks %s", want)
		}
	}
	if len(s.Calls) != 6 {
		t.Errorf("demo: %d calls", len(s.Calls))
	}
	var genesysOnly, callIDOnly int
	for _, c := range s.Calls {
		if c.GenesysOnly {
			genesysOnly++
		}
		if c.Key == KeyCallID {
			callIDOnly++
		}
	}
	if genesysOnly != 1 || callIDOnly != 1 {
		t.Errorf("demo: %d Genesys-only and %d Call-ID-only calls, want 1 each", genesysOnly, callIDOnly)
	}
	without := 0
	for _, p := range payloads(s) {
		if !bytes.Contains(p, []byte("\r\nX-Genesys-Call-ID: ")) || !bytes.Contains(p, []byte("\r\nx-inin-cnv: ")) {
			without++
		}
	}
	if without == 0 {
		t.Errorf("demo: every frame has both correlation headers; the Call-ID-only call's must not")
	}
	opt := DefaultOptions()
	opt.Calls = 9
	if n := len(Demo(opt).Calls); n != 9 {
		t.Errorf("Calls=9: %d calls", n)
	}
}

func TestSparseHeaders(t *testing.T) {
	opt := DefaultOptions()
	opt.SparseHeaders = true
	s := Demo(opt)
	for i, e := range s.Expect {
		// Sparse headers concern the correlation headers; a Call-ID is
		// on every message.
		if e.Frame > 0 && e.Key != KeyCallID && e.KeyOnWire != (e.Dir == "out") {
			t.Errorf("record %d (%s, dir %s): key on wire %v", i, e.Event, e.Dir, e.KeyOnWire)
		}
	}
}
