package scenario

import (
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// mtu is the link MTU of the capture: IPv4 datagrams above it are fragmented.
const mtu = 1500

// Gaps between the frames of one message: TCP segments, IP fragments.
const (
	segmentGap  = 40 * time.Microsecond
	fragmentGap = 15 * time.Microsecond
)

type unitKind uint8

const (
	unitUDP unitKind = iota
	unitFrag
	unitTCP
)

// TCP flags of a unit.
const (
	flagSYN = 1 << iota
	flagACK
	flagPSH
)

// unit is one frame to be written: everything but the state (IP IDs, TCP
// sequence numbers) that depends on what was sent before it.
type unit struct {
	at      time.Time
	seq     int // insertion order, breaks ties of at
	c       *call
	from    party
	kind    unitKind
	payload []byte    // nil for unitUDP: the step is rendered when written
	dg      *datagram // unitFrag
	frag    int       // unitFrag: index of the fragment
	flags   uint8     // unitTCP
	step    int       // first step of c this frame completes
	ndone   int       // number of steps it completes (0, 1, or 2 when coalesced)
}

// datagram is a UDP datagram sent as IPv4 fragments.
type datagram struct {
	sip  []byte
	udp  []byte // UDP header and payload, checksum over all of it
	id   uint16
	made bool
}

// tcpConn is the state of the one TCP connection of a call.
type tcpConn struct {
	isn  [2]uint32
	nxt  [2]uint32
	hist [2][]seqMark
}

// seqMark records that a direction had sent up to end by (capture) time at.
type seqMark struct {
	at  time.Time
	end uint32
}

// packetizer turns units into Ethernet frames with valid lengths and
// checksums. It keeps the per-host IPv4 identification counters.
type packetizer struct {
	buf  gopacket.SerializeBuffer
	opts gopacket.SerializeOptions
	ipid map[netip.Addr]uint16
	g    gen
	macs [2]net.HardwareAddr
	eth  layers.Ethernet
	ip4  layers.IPv4
	ip6  layers.IPv6
	udp  layers.UDP
	tcp  layers.TCP
	msg  sipMsg
	text []byte
	pl   gopacket.Payload // boxed by pointer: no allocation per frame
}

func newPacketizer(seed int64) *packetizer {
	return &packetizer{
		buf:  gopacket.NewSerializeBuffer(),
		opts: gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		ipid: map[netip.Addr]uint16{},
		g:    newGen(seed, 1<<40),
		// RFC 7042 documentation MACs: the SBC's NIC and its gateway.
		macs: [2]net.HardwareAddr{{0x00, 0x00, 0x5e, 0x00, 0x53, 0x10}, {0x00, 0x00, 0x5e, 0x00, 0x53, 0x01}},
	}
}

func (p *packetizer) nextID(a netip.Addr) uint16 {
	id, ok := p.ipid[a]
	if !ok {
		id = uint16(p.g.r.Uint32())
	}
	p.ipid[a] = id + 1
	return id
}

// payload returns b as the application layer of the next frame.
func (p *packetizer) payload(b []byte) *gopacket.Payload {
	p.pl = b
	return &p.pl
}

// network prepares the Ethernet and IP layers for a packet from one party.
func (p *packetizer) network(from party, src, dst endpoint, proto layers.IPProtocol) gopacket.SerializableLayer {
	p.eth = layers.Ethernet{SrcMAC: p.macs[from], DstMAC: p.macs[from.other()], EthernetType: layers.EthernetTypeIPv4}
	ttl := uint8(64)
	if from == genesysSide {
		ttl = 52 // a dozen hops away
	}
	if src.addr.Is6() {
		p.eth.EthernetType = layers.EthernetTypeIPv6
		p.ip6 = layers.IPv6{Version: 6, HopLimit: ttl, NextHeader: proto, SrcIP: src.ip, DstIP: dst.ip}
		return &p.ip6
	}
	p.ip4 = layers.IPv4{Version: 4, TTL: ttl, Protocol: proto, SrcIP: src.ip, DstIP: dst.ip}
	if proto == layers.IPProtocolTCP {
		p.ip4.Flags = layers.IPv4DontFragment
	}
	return &p.ip4
}

// frame serializes one unit. The result is valid until the next call.
func (p *packetizer) frame(u *unit) ([]byte, error) {
	l := u.c.wire
	src, dst := l.ends[u.from], l.ends[u.from.other()]
	switch u.kind {
	case unitUDP:
		payload := u.payload
		if payload == nil {
			u.c.fill(&p.msg, l, u.step)
			p.text = p.msg.render(p.text[:0], l.compact)
			payload = p.text
		}
		ip := p.network(u.from, src, dst, layers.IPProtocolUDP)
		if ip == &p.ip4 {
			p.ip4.Id = p.nextID(src.addr)
		}
		p.udp = layers.UDP{SrcPort: layers.UDPPort(src.port), DstPort: layers.UDPPort(dst.port)}
		if err := p.udp.SetNetworkLayerForChecksum(ip.(gopacket.NetworkLayer)); err != nil {
			return nil, err
		}
		err := gopacket.SerializeLayers(p.buf, p.opts, &p.eth, ip, &p.udp, p.payload(payload))
		return p.buf.Bytes(), err
	case unitFrag:
		return p.fragment(u, src, dst)
	default:
		return p.segment(u, src, dst)
	}
}

// fragment serializes one IPv4 fragment of a UDP datagram (RFC 791): the
// UDP checksum covers the whole datagram, offsets count 8-byte units, all
// but the last fragment set MF.
func (p *packetizer) fragment(u *unit, src, dst endpoint) ([]byte, error) {
	dg := u.dg
	if !dg.made {
		ip := p.network(u.from, src, dst, layers.IPProtocolUDP)
		p.udp = layers.UDP{SrcPort: layers.UDPPort(src.port), DstPort: layers.UDPPort(dst.port)}
		if err := p.udp.SetNetworkLayerForChecksum(ip.(gopacket.NetworkLayer)); err != nil {
			return nil, err
		}
		if err := gopacket.SerializeLayers(p.buf, p.opts, ip, &p.udp, p.payload(dg.sip)); err != nil {
			return nil, err
		}
		dg.udp = append([]byte(nil), p.buf.Bytes()[20:]...)
		dg.id = p.nextID(src.addr)
		dg.made = true
	}
	const chunk = (mtu - 20) &^ 7
	off := u.frag * chunk
	end := min(off+chunk, len(dg.udp))
	ip := p.network(u.from, src, dst, layers.IPProtocolUDP)
	p.ip4.Id = dg.id
	p.ip4.FragOffset = uint16(off / 8)
	if end < len(dg.udp) {
		p.ip4.Flags = layers.IPv4MoreFragments
	}
	err := gopacket.SerializeLayers(p.buf, p.opts, &p.eth, ip, p.payload(dg.udp[off:end]))
	return p.buf.Bytes(), err
}

// segment serializes one TCP segment of the call's connection. A segment
// acknowledges what its sender has received: everything the capture saw
// from the peer for the SBC side, only what had time to reach Genesys for
// the Genesys side.
func (p *packetizer) segment(u *unit, src, dst endpoint) ([]byte, error) {
	c := u.c
	conn := c.tcp
	from, peer := u.from, u.from.other()
	ip := p.network(from, src, dst, layers.IPProtocolTCP)
	if ip == &p.ip4 {
		p.ip4.Id = p.nextID(src.addr)
	}
	ports := [2]uint16{c.tcpPort, dst.port}
	if from == genesysSide {
		ports = [2]uint16{src.port, c.tcpPort}
	}
	p.tcp = layers.TCP{SrcPort: layers.TCPPort(ports[0]), DstPort: layers.TCPPort(ports[1]), Window: 64240}
	if u.flags&flagSYN != 0 {
		p.tcp.SYN = true
		p.tcp.Seq = conn.isn[from]
		conn.nxt[from] = conn.isn[from] + 1
		p.tcp.Options = []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
		}
	} else {
		p.tcp.Seq = conn.nxt[from]
		conn.nxt[from] += uint32(len(u.payload))
	}
	conn.hist[from] = append(conn.hist[from], seqMark{u.at, conn.nxt[from]})
	if u.flags&flagACK != 0 {
		p.tcp.ACK = true
		seen := u.at
		if from == genesysSide {
			seen = seen.Add(-2 * c.transit)
		}
		for _, m := range conn.hist[peer] {
			if !m.at.After(seen) {
				p.tcp.Ack = m.end
			}
		}
		if p.tcp.Ack == 0 {
			p.tcp.Ack = conn.nxt[peer]
		}
	}
	p.tcp.PSH = u.flags&flagPSH != 0
	if err := p.tcp.SetNetworkLayerForChecksum(ip.(gopacket.NetworkLayer)); err != nil {
		return nil, err
	}
	err := gopacket.SerializeLayers(p.buf, p.opts, &p.eth, ip, &p.tcp, p.payload(u.payload))
	return p.buf.Bytes(), err
}

// units appends the frames that carry c's wire steps, in step order:
// one per UDP datagram, one per IPv4 fragment, one per TCP segment (with
// the handshake first); split and coalesced messages as the steps ask.
func (c *call) units(m *sipMsg, add func(unit)) {
	l := c.wire
	if l == nil {
		return
	}
	var buf []byte
	if l.tcp {
		first := -1
		for k := range c.steps {
			if c.steps[k].wire {
				first = k
				break
			}
		}
		if first < 0 {
			return
		}
		// The SBC opens the connection one round trip before its first message.
		t0 := c.wireTime(&c.steps[first]).Add(-300 * time.Microsecond)
		c.tcp = &tcpConn{isn: c.tcpISN}
		add(unit{at: t0.Add(-2 * c.transit), c: c, from: carrierSide, kind: unitTCP, flags: flagSYN})
		add(unit{at: t0, c: c, from: genesysSide, kind: unitTCP, flags: flagSYN | flagACK})
		add(unit{at: t0.Add(50 * time.Microsecond), c: c, from: carrierSide, kind: unitTCP, flags: flagACK})
	}
	for k := 0; k < len(c.steps); k++ {
		st := &c.steps[k]
		if !st.wire {
			continue
		}
		c.fill(m, l, k)
		at := c.wireTime(st)
		if !l.tcp && (l.ends[0].addr.Is6() || m.size(l.compact) <= mtu-28) {
			add(unit{at: at, c: c, from: st.sender, kind: unitUDP, step: k, ndone: 1})
			continue
		}
		buf = m.render(buf[:0], l.compact)
		first, n := k, 1
		if l.tcp && st.coalesce && k+1 < len(c.steps) && c.steps[k+1].wire && c.steps[k+1].sender == st.sender {
			k++
			c.fill(m, l, k)
			buf = m.render(buf, l.compact)
			at = c.wireTime(&c.steps[k])
			n = 2
		}
		text := append([]byte(nil), buf...)
		if l.tcp {
			segs := max(st.split, 1)
			for i := range segs {
				u := unit{at: at.Add(time.Duration(i) * segmentGap), c: c, from: st.sender, kind: unitTCP,
					payload: text[i*len(text)/segs : (i+1)*len(text)/segs], flags: flagACK | flagPSH}
				if i == segs-1 {
					u.step, u.ndone = first, n
				}
				add(u)
			}
			continue
		}
		dg := &datagram{sip: text}
		const chunk = (mtu - 20) &^ 7
		frags := (len(text) + 8 + chunk - 1) / chunk
		for i := range frags {
			u := unit{at: at.Add(time.Duration(i) * fragmentGap), c: c, from: st.sender, kind: unitFrag, dg: dg, frag: i}
			if i == frags-1 {
				u.step, u.ndone = first, n
			}
			add(u)
		}
	}
}
