package tlsdec_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
	"github.com/genesys-sip/genesys-sip/internal/tlsdec"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestVoipsharkRSA decrypts a third-party SIP-over-TLS capture (TLS 1.0,
// TLS_RSA_WITH_AES_256_CBC_SHA, Ethernet, retransmissions) with the server's
// RSA private key. tshark with the same key shows 40 SIP messages, we get
// 48, all authenticated (MAC verified): in the second connection the
// client's ACK (frame 36) was captured before the server data it acks, so
// tshark takes frame 37 for a spurious retransmission, drops it, and loses
// the server→client direction from frame 38 on ("Ignored Unknown Record").
func TestVoipsharkRSA(t *testing.T) {
	dir := testenv.Captures(t)
	key, err := os.ReadFile(filepath.Join(dir, "voipshark__sip-over-tls-rsa_rtp_full-call.default.key"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "voipshark__sip-over-tls-rsa_rtp_full-call.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kl := tlsdec.NewKeyLog(0)
	if err := kl.AddRSAKey(key); err != nil {
		t.Fatal(err)
	}
	conns := reassemble(t, f, 5061, kl)
	if len(conns) != 2 {
		t.Fatalf("%d TLS connections on port 5061, want 2", len(conns))
	}
	var lines []string
	for _, c := range conns {
		st := c.conn.Stats()
		t.Logf("%s: %+v", c.conn, st)
		if st.Version != 0x0301 || st.CipherSuite != 0x0035 || st.Undecryptable() != 0 || st.Decrypted == 0 {
			t.Errorf("stats %+v", st)
		}
		lines = append(lines, startLines(c.plain[0].Bytes())...)
		lines = append(lines, startLines(c.plain[1].Bytes())...)
		// The derived master secrets make a key log that works alone.
		kl2 := parseKeyLog(t, c.conn.KeyLogLines())
		if !bytes.HasPrefix(c.conn.KeyLogLines(), []byte("CLIENT_RANDOM ")) || kl2.Stats().Sessions != 1 {
			t.Errorf("KeyLogLines: %d sessions", kl2.Stats().Sessions)
		}
	}
	if len(lines) != 48 {
		t.Errorf("%d SIP start lines, want 48: %q", len(lines), lines)
	}
}

// tcpConn is one reassembled connection in the test.
type tcpConn struct {
	conn  *tlsdec.Conn
	next  [2]uint32 // next expected sequence number per direction
	init  [2]bool
	ooo   [2]map[uint32][]byte // out-of-order segments
	plain [2]bytes.Buffer
}

// reassemble is a minimal in-order TCP reassembler for tests: it follows
// SYNs, drops retransmitted bytes, holds out-of-order segments, and feeds
// each connection to the given port to a tlsdec.Conn.
func reassemble(t *testing.T, r io.Reader, port uint16, kl *tlsdec.KeyLog) []*tcpConn {
	t.Helper()
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		cli, srv string
		cp       uint16
	}
	conns := map[key]*tcpConn{}
	var order []*tcpConn
	for frame := uint64(1); ; frame++ {
		data, _, err := pr.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pkt := gopacket.NewPacket(data, pr.LinkType(), gopacket.NoCopy)
		ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, ok2 := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok || !ok2 || (uint16(tcp.SrcPort) != port && uint16(tcp.DstPort) != port) {
			continue
		}
		dir := tlsdec.ClientToServer
		k := key{ip.SrcIP.String(), ip.DstIP.String(), uint16(tcp.SrcPort)}
		if uint16(tcp.SrcPort) == port {
			dir = tlsdec.ServerToClient
			k = key{ip.DstIP.String(), ip.SrcIP.String(), uint16(tcp.DstPort)}
		}
		c := conns[k]
		if c == nil {
			if !tcp.SYN || tcp.ACK {
				continue // only connections seen from their start
			}
			c = &tcpConn{conn: tlsdec.NewConn(kl), ooo: [2]map[uint32][]byte{{}, {}}}
			conns[k] = c
			order = append(order, c)
		}
		if tcp.SYN {
			c.next[dir], c.init[dir] = tcp.Seq+1, true
			continue
		}
		if !c.init[dir] || len(tcp.Payload) == 0 {
			continue
		}
		c.ooo[dir][tcp.Seq] = bytes.Clone(tcp.Payload)
		for progress := true; progress; {
			progress = false
			for seq, p := range c.ooo[dir] {
				d := int32(c.next[dir] - seq)
				if d < 0 {
					continue // still a hole before it
				}
				delete(c.ooo[dir], seq)
				if int(d) >= len(p) {
					continue // retransmission of bytes already fed
				}
				p = p[d:]
				c.next[dir] += uint32(len(p))
				progress = true
				emit := func(d tlsdec.Direction, _ uint64, b []byte) { c.plain[d].Write(b) }
				if err := c.conn.Feed(dir, frame, p, emit); err != nil {
					t.Fatalf("frame %d: %v", frame, err)
				}
			}
		}
	}
	return order
}
