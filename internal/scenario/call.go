package scenario

import (
	"encoding/hex"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// party is one end of a leg: the carrier/SBC side (the capture point's side)
// or the Genesys side (a Genesys Cloud edge, or a B2BUA in front of it).
type party uint8

const (
	carrierSide party = 0
	genesysSide party = 1
)

func (p party) other() party { return 1 - p }

// endpoint is a SIP signalling address, with the forms messages and
// packets need made once.
type endpoint struct {
	addr     netip.Addr
	port     uint16
	ip       net.IP // addr for gopacket
	host     string // "203.0.113.10", "[2001:db8::10]"
	hostPort string // "203.0.113.10:5060"
}

func ep(s string, port uint16) endpoint {
	a := netip.MustParseAddr(s)
	e := endpoint{addr: a, port: port, ip: a.AsSlice(), host: a.String()}
	if a.Is6() {
		e.host = "[" + e.host + "]"
	}
	e.hostPort = e.host + ":" + strconv.Itoa(int(port))
	return e
}

// leg is one SIP dialog between two parties as one hop carries it. A call
// that crosses a B2BUA has two legs (the wire leg and the trace leg); any
// other call uses the same leg for both.
type leg struct {
	ends    [2]endpoint
	agents  [2]string // User-Agent/Server of each party
	sdpUser [2]string
	tcp     bool
	compact bool
	callID  string
	tags    [2]string // each party's dialog tag
	sess    [2]uint64 // SDP session ids
	media   [2]uint16 // RTP ports
	cseq    []int     // per transaction
	branch  []string  // per transaction
	xgcid   string    // X-Genesys-Call-ID value; "" = not sent on this leg
	cnv     string    // x-inin-cnv value; "" = not sent on this leg
	ids     *legIDs   // made on first use by call.ids
}

// txn is one SIP transaction of a call.
type txn struct {
	method string
	sender party
	reuse  int // CANCEL or ACK of a non-2xx: the INVITE whose branch and CSeq number it reuses; -1 otherwise
	ackOf  int // ACK of a 2xx: the INVITE whose CSeq number it takes (new branch); -1 otherwise
}

// step is one message of a call's flow.
type step struct {
	sender   party
	txn      int
	status   int // 0: the transaction's request; else a response to it
	delay    time.Duration
	sdp      bool
	wire     bool // the capture point sees it
	trace    bool // Genesys logs it
	split    int  // TCP: number of segments carrying it (0 or 1: one)
	coalesce bool // TCP: shares a segment with the next step

	sent time.Time // true time the sender sent it
	// Filled by the packetizer.
	frame    int       // 1-based number of the frame that completes it on the wire
	wireDone time.Time // capture time of that frame
}

// call is one call (or one OPTIONS exchange) of a scenario.
type call struct {
	label, story string
	uac          party
	nums         [2]string // each party's phone number ("" = none)
	big          bool      // the INVITE carries many headers and a rich SDP offer
	sparse       bool      // correlation headers only on messages Genesys sends
	codec        int
	wire, trace  *leg // nil: not on the wire / not in the trace
	txns         []txn
	steps        []step
	start        time.Time
	transit      time.Duration
	conv, part   string // conversationId, participantId
	node         string // Genesys edge name
	order        bool   // wire and trace legs differ: records pair by order
	xgcid, cnv   string // the call's correlation values (whatever legs send)
	key          string // how its keys meet, as Expectation.Key
	keyValue     string
	tcpISN       [2]uint32
	tcpPort      uint16
	tcp          *tcpConn
}

// Values for Expectation.Key.
const (
	KeyXGenesysCallID = "x-genesys-call-id"
	KeyININConv       = "x-inin-cnv"
	KeyCallID         = "call-id"
)

// Values for Expectation.Match.
const (
	MatchExact = "exact" // the record's msg is byte-for-byte the wire message
	MatchOrder = "order" // a B2BUA rewrote the message: pair by method/status order within the call
)

// gen is a seeded source of the random parts of a call.
type gen struct{ r *rand.Rand }

func newGen(seed int64, stream uint64) gen {
	return gen{rand.New(rand.NewPCG(uint64(seed), stream^0x9e3779b97f4a7c15))}
}

func (g gen) hex(n int) string {
	b := make([]byte, (n+1)/2)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return hex.EncodeToString(b)[:n]
}

// uuid returns a random (version 4) UUID, the shape of Genesys conversation ids.
func (g gen) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// phone returns an E.164 number in the fictional +1 555 range.
func (g gen) phone() string {
	return "+1555" + strconv.Itoa(1000000+g.r.IntN(9000000))
}

// between returns a duration in [lo, hi] milliseconds with µs granularity.
func (g gen) between(lo, hi float64) time.Duration {
	us := int64(lo*1000) + g.r.Int64N(int64((hi-lo)*1000)+1)
	return time.Duration(us) * time.Microsecond
}

func (g gen) branch() string { return "z9hG4bK" + g.hex(16) }

// newLeg returns a leg between the given ends with fresh identities.
func newLeg(g gen, uac party, carrier, genesys endpoint, agents [2]string) *leg {
	l := &leg{
		ends:    [2]endpoint{carrier, genesys},
		agents:  agents,
		sdpUser: [2]string{"SBC", "-"},
		tags:    [2]string{g.hex(10), g.hex(12)},
		sess:    [2]uint64{uint64(100000000 + g.r.IntN(800000000)), uint64(100000000 + g.r.IntN(800000000))},
		media:   [2]uint16{uint16(16384 + 2*g.r.IntN(8000)), uint16(16384 + 2*g.r.IntN(8000))},
	}
	// The UAC makes the Call-ID: the SBC as hex@its-address, Genesys as
	// bare hex.
	l.callID = g.hex(32)
	if uac == carrierSide && carrier.addr.Is4() {
		l.callID += "@" + carrier.host
	}
	return l
}

// number the transactions of c on leg l: CSeq numbers from each party's
// starting value, fresh branches except where a transaction reuses one.
func (l *leg) number(g gen, c *call, start [2]int) {
	next := start
	l.cseq = make([]int, len(c.txns))
	l.branch = make([]string, len(c.txns))
	for i, t := range c.txns {
		switch {
		case t.reuse >= 0:
			l.cseq[i], l.branch[i] = l.cseq[t.reuse], l.branch[t.reuse]
		case t.ackOf >= 0:
			l.cseq[i], l.branch[i] = l.cseq[t.ackOf], g.branch()
		default:
			l.cseq[i], l.branch[i] = next[t.sender], g.branch()
			next[t.sender]++
		}
	}
}

// request appends a new transaction and its request; it returns the transaction.
func (c *call) request(sender party, method string, delay time.Duration, sdp bool) int {
	c.txns = append(c.txns, txn{method: method, sender: sender, reuse: -1, ackOf: -1})
	c.steps = append(c.steps, step{sender: sender, txn: len(c.txns) - 1, delay: delay, sdp: sdp, wire: true, trace: true})
	return len(c.txns) - 1
}

// cancelOrAck appends a CANCEL, or the ACK of a non-2xx final response, to
// INVITE transaction inv: same branch and CSeq number (RFC 3261 9.1, 17.1.1.3).
func (c *call) cancelOrAck(method string, inv int, delay time.Duration) int {
	t := c.request(c.txns[inv].sender, method, delay, false)
	c.txns[t].reuse = inv
	return t
}

// ack2xx appends the ACK of a 2xx response to inv: a new transaction with
// the INVITE's CSeq number (RFC 3261 13.2.2.4).
func (c *call) ack2xx(inv int, delay time.Duration) {
	t := c.request(c.txns[inv].sender, "ACK", delay, false)
	c.txns[t].ackOf = inv
}

// respond appends a response to transaction t.
func (c *call) respond(t, status int, delay time.Duration, sdp bool) {
	c.steps = append(c.steps, step{sender: c.txns[t].sender.other(), txn: t, status: status, delay: delay, sdp: sdp, wire: true, trace: true})
}

// Call flows. Delays follow what trunks show: 100 Trying within a few ms,
// ringing within a few hundred, an answer after seconds.

func (c *call) answered(g gen, byeBy party, early bool) {
	inv := c.request(c.uac, "INVITE", 0, true)
	c.respond(inv, 100, g.between(1, 4), false)
	if early {
		c.respond(inv, 183, g.between(30, 400), true)
	} else {
		c.respond(inv, 180, g.between(30, 400), false)
	}
	c.respond(inv, 200, g.between(1500, 5000), true)
	c.ack2xx(inv, g.between(1, 3))
	bye := c.request(byeBy, "BYE", g.between(4000, 12000), false)
	c.respond(bye, 200, g.between(1, 4), false)
}

func (c *call) failed(g gen, status int, ring bool) {
	inv := c.request(c.uac, "INVITE", 0, true)
	c.respond(inv, 100, g.between(1, 4), false)
	d := g.between(20, 80)
	if ring {
		c.respond(inv, 180, g.between(30, 400), false)
		d = g.between(1000, 3000)
		if status == 408 {
			d = g.between(6000, 9000)
		}
	}
	c.respond(inv, status, d, false)
	c.cancelOrAck("ACK", inv, g.between(1, 3))
}

func (c *call) cancelled(g gen) {
	inv := c.request(c.uac, "INVITE", 0, true)
	c.respond(inv, 100, g.between(1, 4), false)
	c.respond(inv, 180, g.between(30, 400), false)
	cn := c.cancelOrAck("CANCEL", inv, g.between(2000, 5000))
	c.respond(cn, 200, g.between(1, 3), false)
	c.respond(inv, 487, g.between(0.2, 2), false)
	c.cancelOrAck("ACK", inv, g.between(1, 3))
}

func (c *call) keepalive(g gen) {
	t := c.request(c.uac, "OPTIONS", 0, false)
	c.respond(t, 200, g.between(1, 3), false)
}

// timedOut is an INVITE that never gets an answer: the original and six
// retransmissions (T1 = 500 ms doubling, RFC 3261 17.1.1.2) until Timer B.
func (c *call) timedOut() {
	c.request(c.uac, "INVITE", 0, true)
	for d := 500 * time.Millisecond; d <= 16*time.Second; d *= 2 {
		c.steps = append(c.steps, c.steps[0])
		c.steps[len(c.steps)-1].delay = d
	}
}

// schedule sets each step's true send time: a party acts a delay after it
// sent or received (Transit after it was sent) the previous message.
func (c *call) schedule() {
	for i := range c.steps {
		st := &c.steps[i]
		at := c.start
		if i > 0 {
			prev := &c.steps[i-1]
			at = prev.sent
			if prev.sender != st.sender {
				at = at.Add(c.transit)
			}
		}
		st.sent = at.Add(st.delay)
	}
}

// wireTime is when the capture point sees the step start.
func (c *call) wireTime(st *step) time.Time {
	if st.sender == carrierSide {
		return st.sent
	}
	return st.sent.Add(c.transit)
}

// genesysTime is the true time Genesys sent or received the step.
func (c *call) genesysTime(st *step) time.Time {
	if st.sender == genesysSide {
		return st.sent
	}
	if st.frame > 0 {
		return st.wireDone.Add(c.transit)
	}
	return st.sent.Add(c.transit)
}

// legIDs are the strings of a leg that every message repeats, made once.
type legIDs struct {
	uri     [2]string // address-of-record
	plain   [2]string // From/To value without tag
	tagged  [2]string // From/To value with the party's tag
	ruri    [2]string // Request-URI of an out-of-dialog request to the party
	target  [2]string // Contact URI: Request-URI of in-dialog requests
	contact [2]string // Contact header value
	via     []string  // top Via of each transaction
}

// ids returns l's identity strings for call c, making them on first use
// (after a scenario has finished adjusting the call, e.g. its numbers).
func (c *call) ids(l *leg) *legIDs {
	if l.ids != nil {
		return l.ids
	}
	// Build every string into one buffer and slice them out of it: one
	// allocation per leg rather than one per string.
	var b strings.Builder
	b.Grow(1024)
	const (
		idURI = iota
		idRURI
		idTarget
		idPlain
		idTagged
		idContact
		nIDs
	)
	var spans [2][nIDs][2]int
	via := make([][2]int, len(c.txns))
	mark := func(f func()) [2]int {
		start := b.Len()
		f()
		return [2]int{start, b.Len()}
	}
	tr, trUp := "udp", "UDP"
	if l.tcp {
		tr, trUp = "tcp", "TCP"
	}
	for _, p := range []party{carrierSide, genesysSide} {
		e, num := l.ends[p], c.nums[p]
		user := func() {
			b.WriteString("sip:")
			if num != "" {
				b.WriteString(num)
				b.WriteByte('@')
			}
		}
		phone := func() {
			if num != "" {
				b.WriteString(";user=phone")
			}
		}
		sp := &spans[p]
		sp[idURI] = mark(func() { user(); b.WriteString(e.host); phone() })
		sp[idRURI] = mark(func() { user(); b.WriteString(e.hostPort); phone() })
		sp[idTarget] = mark(func() { user(); b.WriteString(e.hostPort + ";transport=" + tr) })
		sp[idPlain] = mark(func() {
			if p == c.uac && num != "" {
				b.WriteString(`"` + num + `" `)
			}
			b.WriteByte('<')
			user()
			b.WriteString(e.host)
			phone()
			b.WriteByte('>')
		})
		// The tag follows the plain value in the buffer: tagged extends it.
		sp[idTagged] = [2]int{sp[idPlain][0], mark(func() { b.WriteString(";tag=" + l.tags[p]) })[1]}
		sp[idContact] = mark(func() { b.WriteByte('<'); user(); b.WriteString(e.hostPort + ";transport=" + tr + ">") })
	}
	for i, t := range c.txns {
		via[i] = mark(func() {
			b.WriteString("SIP/2.0/" + trUp + " ")
			b.WriteString(l.ends[t.sender].hostPort)
			b.WriteString(";branch=")
			b.WriteString(l.branch[i])
			if t.sender == carrierSide {
				b.WriteString(";rport")
			}
		})
	}
	all := b.String()
	str := func(span [2]int) string { return all[span[0]:span[1]] }
	d := &legIDs{via: make([]string, len(c.txns))}
	for p := range spans {
		sp := &spans[p]
		d.uri[p], d.ruri[p], d.target[p] = str(sp[idURI]), str(sp[idRURI]), str(sp[idTarget])
		d.plain[p], d.tagged[p], d.contact[p] = str(sp[idPlain]), str(sp[idTagged]), str(sp[idContact])
	}
	for i, v := range via {
		d.via[i] = str(v)
	}
	l.ids = d
	return d
}

// msg builds step k of c as leg l carries it.
func (c *call) msg(l *leg, k int) *sipMsg {
	m := new(sipMsg)
	c.fill(m, l, k)
	return m
}

// fill sets m to step k of c as leg l carries it.
func (c *call) fill(m *sipMsg, l *leg, k int) {
	st := &c.steps[k]
	t := &c.txns[st.txn]
	d := c.ids(l)
	req, resp := t.sender, t.sender.other()
	body := m.body[:0] // reuse the previous body's storage
	*m = sipMsg{callID: l.callID, cseq: l.cseq[st.txn], cseqMethod: t.method, branch: l.branch[st.txn], via: d.via[st.txn]}
	m.hdrs, m.body = m.hdrBuf[:0], body
	// In-dialog requests (and the ACK of a final response) carry the
	// remote tag; the initial INVITE, its CANCEL and OPTIONS do not.
	inDialog := t.method == "ACK" || t.method == "BYE"
	m.from, m.fromUser, m.fromTag = d.tagged[req], c.nums[req], l.tags[req]
	m.to, m.toUser = d.plain[resp], c.nums[resp]
	if inDialog || st.status > 100 {
		m.to, m.toTag = d.tagged[resp], l.tags[resp]
	}
	if st.status == 0 {
		m.method = t.method
		m.maxForwards = true
		m.agent = l.agents[req]
		m.ruri = d.ruri[resp]
		if inDialog && t.reuse < 0 {
			m.ruri = d.target[resp]
		}
		m.ruriUser = c.nums[resp]
	} else {
		m.isResponse = true
		m.status, m.reason = st.status, reasonPhrase(st.status)
		m.agent = l.agents[resp]
	}

	isInvite := t.method == "INVITE"
	sender := st.sender
	switch {
	case isInvite && st.status == 0:
		m.contact = d.contact[sender]
		m.contactUser = c.nums[sender]
		if c.nums[sender] != "" {
			m.pai = "<" + d.uri[sender] + ">"
			m.paiUser = c.nums[sender]
		}
		m.hdrs = append(m.hdrs,
			header{"Allow", "", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, UPDATE"},
			header{"Supported", "k", "timer, replaces"},
			header{"Session-Expires", "x", "1800;refresher=uac"},
			header{"Min-SE", "", "90"})
		if c.big {
			m.hdrs = append(m.hdrs,
				header{"Accept", "", "application/sdp, application/dtmf-relay"},
				header{"Privacy", "", "none"},
				header{"P-Charging-Vector", "", "icid-value=" + l.callID[:16] + ";icid-generated-at=" + l.ends[sender].host + ";orig-ioi=byoc.genesys.invalid"},
				header{"User-to-User", "", c.uui() + ";encoding=hex;purpose=isdn-uui"})
		}
	case isInvite && st.status > 100 && st.status < 300:
		m.contact = d.contact[sender]
		m.contactUser = c.nums[sender]
		m.hdrs = append(m.hdrs, header{"Allow", "", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, UPDATE"})
		if st.status == 200 {
			m.hdrs = append(m.hdrs,
				header{"Supported", "k", "timer, replaces"},
				header{"Session-Expires", "x", "1800;refresher=uac"},
				header{"Require", "", "timer"})
		}
	case st.status == 503:
		m.hdrs = append(m.hdrs, header{"Retry-After", "", "60"})
	case t.method == "BYE" && st.status == 0:
		m.hdrs = append(m.hdrs, header{"Reason", "", `Q.850;cause=16;text="Normal call clearing"`})
	case t.method == "OPTIONS" && st.status == 0:
		m.hdrs = append(m.hdrs, header{"Accept", "", "application/sdp"})
	}
	if !c.sparse || sender == genesysSide {
		m.xgcid, m.cnv = l.xgcid, l.cnv
	}
	if st.sdp {
		m.body = appendSDP(body, sdpParams{
			user: l.sdpUser[sender], sess: l.sess[sender], addr: l.ends[sender].addr, port: l.media[sender],
			offer: st.status == 0, codec: c.codec, rich: c.big && st.status == 0,
		})
	}
}

// uui is a User-to-User payload derived from the call's conversation, so
// the large INVITE's size does not depend on anything else.
func (c *call) uui() string {
	s := strings.ReplaceAll(c.conv+c.part+c.conv+c.part, "-", "")
	return hex.EncodeToString([]byte(s))[:200]
}
