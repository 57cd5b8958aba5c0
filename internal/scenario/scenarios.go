package scenario

import (
	"strconv"
	"time"
)

// The trunk: the carrier SBC where the capture runs, a second SBC the
// capture does not see, Genesys Cloud edges, an enterprise B2BUA between the
// SBC and Genesys, and a Genesys-internal endpoint.
func sbc() endpoint  { return ep("203.0.113.10", 5060) }
func sbcB() endpoint { return ep("203.0.113.11", 5060) }
func sbc6() endpoint { return ep("2001:db8::10", 5060) }
func edge(i int) endpoint {
	return ep([]string{"198.51.100.20", "198.51.100.21", "198.51.100.22"}[i%3], 5060)
}
func edge6() endpoint { return ep("2001:db8:100::20", 5060) }
func edgeNode(i int) string {
	return []string{"use1-edge-a1", "use1-edge-b2", "use1-edge-c3"}[i%3]
}

// Demo returns a small readable scenario for `make demo`: UDP over IPv4,
// every message with both correlation headers, Options.Calls calls: an
// answered inbound call, a 408 Request Timeout, a 503 Service Unavailable
// from the carrier, an answered outbound call with early media, then busy,
// cancelled and answered calls in turn. By default (Calls 0) it is those
// first four, plus a call only Genesys traced and a call without
// correlation headers, matched by its Call-ID, so that every filter the
// README shows finds something in the one demo capture.
func Demo(opt Options) *Scenario {
	b := newBuilder(opt)
	n := opt.Calls
	if n <= 0 {
		n = 4
	}
	for i := range n {
		sp := spec{carrier: sbc(), edge: edge(i), node: edgeNode(i), xgcid: true, cnv: true}
		var flow func(c *call, g gen)
		switch i {
		case 0:
			sp.label, sp.story = "inbound-answered", "inbound call answered by an agent, the caller hangs up"
			flow = func(c *call, g gen) { c.answered(g, carrierSide, false) }
		case 1:
			sp.label, sp.story = "inbound-408", "inbound call rings out: Genesys answers 408 Request Timeout"
			flow = func(c *call, g gen) { c.failed(g, 408, true) }
		case 2:
			sp.label, sp.story, sp.uac = "outbound-503", "outbound call refused by the carrier: 503 Service Unavailable", genesysSide
			flow = func(c *call, g gen) { c.failed(g, 503, false) }
		case 3:
			sp.label, sp.story, sp.uac = "outbound-answered", "outbound call with early media (183), the agent hangs up", genesysSide
			flow = func(c *call, g gen) { c.answered(g, genesysSide, true) }
		default:
			sp.label, sp.story, flow = ordinary(i)
		}
		b.add(sp, flow)
	}
	if opt.Calls <= 0 {
		// The default demo also shows the README's last two filters on
		// the one capture: what only Genesys saw, and the flagged
		// Call-ID fallback.
		b.add(spec{label: "genesys-only", story: "a call through another SBC the capture does not see: only Genesys traced it",
			carrier: sbcB(), edge: edge(1), node: edgeNode(1), xgcid: true, cnv: true, noWire: true},
			func(c *call, g gen) { c.answered(g, carrierSide, false) })
		b.add(spec{label: "callid-only", story: "a trunk without conversation headers: matched by Call-ID only, and flagged (486 Busy Here)",
			carrier: sbc(), edge: edge(2), node: edgeNode(2)},
			func(c *call, g gen) { c.failed(g, 486, true) })
	}
	return mustBuild(b)
}

// ordinary returns the i-th call of the rotation of everyday calls.
func ordinary(i int) (label, story string, flow func(c *call, g gen)) {
	n := "-" + strconv.Itoa(i)
	switch i % 4 {
	case 0:
		return "busy" + n, "inbound call to a busy queue: 486 Busy Here", func(c *call, g gen) { c.failed(g, 486, true) }
	case 1:
		return "cancelled" + n, "inbound call abandoned while ringing: CANCEL, 487", func(c *call, g gen) { c.cancelled(g) }
	case 2:
		return "answered" + n, "inbound call answered, the agent hangs up", func(c *call, g gen) { c.answered(g, genesysSide, false) }
	default:
		return "early" + n, "inbound call with early media, the caller hangs up", func(c *call, g gen) { c.answered(g, carrierSide, true) }
	}
}

// Correlation returns the acceptance scenario of the correlation feature.
// Each call exercises one case; Scenario.Calls says which, and
// Scenario.Expect gives, for every record, the frame carrying the same
// message (0 when only Genesys saw it), the key through which they meet and
// whether pairing is by order. With DefaultOptions the Genesys clock is
// 2.333 s ahead and the one-way transit is 12 ms.
func Correlation(opt Options) *Scenario {
	b := newBuilder(opt)
	answeredByCarrier := func(c *call, g gen) { c.answered(g, carrierSide, false) }

	b.add(spec{label: "udp4", story: "UDP/IPv4 call matched by X-Genesys-Call-ID",
		carrier: sbc(), edge: edge(0), node: edgeNode(0), xgcid: true}, answeredByCarrier)

	b.add(spec{label: "tcp", story: "TCP call: the INVITE split over 3 segments, 100 and 180 coalesced in one segment",
		carrier: sbc(), edge: edge(1), node: edgeNode(1), tcp: true, xgcid: true},
		func(c *call, g gen) {
			c.answered(g, carrierSide, false)
			c.steps[0].split = 3
			c.steps[1].coalesce = true
			c.steps[2].delay = 300 * time.Microsecond // 180 right behind the 100: one segment
		})

	b.add(spec{label: "udp6-compact", story: "IPv6 call in compact header form, matched by x-inin-cnv only",
		carrier: sbc6(), edge: edge6(), node: edgeNode(2), compact: true, cnv: true},
		func(c *call, g gen) { c.answered(g, genesysSide, true) })

	b.add(spec{label: "fragmented", story: "outbound INVITE larger than the MTU: IPv4 fragments",
		uac: genesysSide, carrier: sbc(), edge: edge(2), node: edgeNode(2), big: true, xgcid: true, cnv: true},
		answeredByCarrier)

	b2b := b.add(spec{label: "b2bua", story: "a B2BUA between capture and Genesys rewrites Call-ID, branches and CSeq: pair by order",
		carrier: sbc(), edge: edge(0), node: edgeNode(0), xgcid: true,
		b2bua: []endpoint{ep("192.0.2.50", 5060), ep("192.0.2.51", 5060)}},
		answeredByCarrier)
	// The B2BUA does not relay Genesys's 100 Trying: only Genesys logged it.
	b2b.steps[1].wire = false

	b.add(spec{label: "callid-only", story: "no correlation header: matched by Call-ID, the flagged fallback (486 Busy Here)",
		carrier: sbc(), edge: edge(1), node: edgeNode(1)},
		func(c *call, g gen) { c.failed(g, 486, true) })

	b.add(spec{label: "outbound-503", story: "outbound call refused by the carrier (503), matched by x-inin-cnv only",
		uac: genesysSide, carrier: sbc(), edge: edge(2), node: edgeNode(2), cnv: true},
		func(c *call, g gen) { c.failed(g, 503, false) })

	b.add(spec{label: "cancel", story: "inbound call cancelled while ringing: CANCEL, 200, 487, ACK",
		carrier: sbc(), edge: edge(0), node: edgeNode(0), xgcid: true},
		func(c *call, g gen) { c.cancelled(g) })

	b.add(spec{label: "inbound-408", story: "inbound call rings out: 408 Request Timeout from Genesys",
		carrier: sbc(), edge: edge(1), node: edgeNode(1), xgcid: true, cnv: true},
		func(c *call, g gen) { c.failed(g, 408, true) })

	b.add(spec{label: "genesys-missed", story: "a call through another SBC the capture does not see: records only",
		carrier: sbcB(), edge: edge(2), node: edgeNode(2), xgcid: true, noWire: true}, answeredByCarrier)

	trunk := b.add(spec{label: "genesys-retrans", story: "an outbound INVITE lost before the capture point: retransmitted until Timer B, then 408 to the internal leg; records only",
		uac: genesysSide, carrier: sbc(), edge: edge(0), node: edgeNode(0), xgcid: true, noWire: true},
		func(c *call, g gen) { c.timedOut() })
	// The internal leg that asked for the call gets the 408 after Timer B.
	internal := b.add(spec{label: "genesys-retrans", carrier: ep("10.27.4.15", 5060), edge: edge(0), node: edgeNode(0), xgcid: true, noWire: true},
		func(c *call, g gen) {
			inv := c.request(carrierSide, "INVITE", 0, true)
			c.respond(inv, 100, time.Millisecond, false)
			c.respond(inv, 408, 32002*time.Millisecond, false)
			c.cancelOrAck("ACK", inv, time.Millisecond)
			for _, k := range []int{0, 1, 3} {
				c.steps[k].trace = false
			}
		})
	internal.start = trunk.start.Add(-3 * time.Millisecond)
	internal.transit = time.Millisecond
	internal.xgcid, internal.keyValue, internal.trace.xgcid = trunk.xgcid, trunk.xgcid, trunk.xgcid
	internal.conv = trunk.conv
	internal.nums = [2]string{trunk.nums[genesysSide], trunk.nums[carrierSide]}
	internal.trace.agents[carrierSide] = mediaAgent

	b.add(spec{label: "wire-only", story: "a call Genesys has no records of",
		carrier: sbc(), edge: edge(1), node: edgeNode(1), xgcid: true, noTrace: true}, answeredByCarrier)

	b.add(spec{label: "keepalive", story: "OPTIONS keepalive from the edge: not a call, no records",
		uac: genesysSide, carrier: sbc(), edge: edge(2), node: edgeNode(2), noNumbers: true, noTrace: true},
		func(c *call, g gen) { c.keepalive(g) })

	for i := range opt.Calls {
		label, story, flow := ordinary(i)
		b.add(spec{label: label, story: story, carrier: sbc(), edge: edge(i), node: edgeNode(i), xgcid: true, cnv: i%2 == 0}, flow)
	}
	return mustBuild(b)
}
