package tlsgen_test

import (
	"bytes"
	"crypto/tls"
	"net/netip"
	"testing"

	"github.com/genesys-sip/genesys-sip/internal/tlsdec/tlsgen"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestFrames checks the synthetic TCP conversation: handshake, contiguous
// sequence numbers, acknowledgements, MSS, FIN, checksums, timestamps, for
// IPv4 and IPv6, and that both file writers produce readable files.
func TestFrames(t *testing.T) {
	msgs := []tlsgen.Message{
		{Data: bytes.Repeat([]byte("I"), 3000)},
		{FromServer: true, Data: []byte("SIP/2.0 100 Trying\r\n\r\n")},
		{FromServer: true, Data: []byte("SIP/2.0 200 OK\r\n\r\n")},
	}
	for _, tc := range []struct {
		name           string
		client, server string
	}{
		{"ipv4", "", ""},
		{"ipv6", "[2001:db8::1]:50000", "[2001:db8::2]:5061"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tlsgen.Config{Version: tls.VersionTLS13, Messages: msgs, MSS: 200}
			if tc.client != "" {
				cfg.Client, cfg.Server = netip.MustParseAddrPort(tc.client), netip.MustParseAddrPort(tc.server)
			}
			c, err := tlsgen.Generate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.KeyLog) == 0 || c.Version != tls.VersionTLS13 {
				t.Fatalf("key log %d bytes, version %x", len(c.KeyLog), c.Version)
			}
			var next [2]uint32
			var payload [2]int
			for i, p := range c.Packets {
				if i > 0 && !p.Time.After(c.Packets[i-1].Time) {
					t.Fatalf("frame %d: time not increasing", i+1)
				}
				pkt := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
				if el := pkt.ErrorLayer(); el != nil {
					t.Fatalf("frame %d: %v", i+1, el.Error())
				}
				tcp := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
				checkChecksum(t, i+1, pkt, tcp)
				s := 0
				if tcp.SrcPort == layers.TCPPort(c.Server.Port()) {
					s = 1
				}
				switch {
				case i == 0 && !(tcp.SYN && !tcp.ACK), i == 1 && !(tcp.SYN && tcp.ACK):
					t.Fatalf("frame %d: not the TCP handshake", i+1)
				case tcp.SYN:
					next[s] = tcp.Seq + 1
					continue
				}
				if tcp.Seq != next[s] {
					t.Fatalf("frame %d: seq %d, want %d", i+1, tcp.Seq, next[s])
				}
				if tcp.Ack != next[1-s] && !tcp.FIN {
					t.Fatalf("frame %d: ack %d, want %d", i+1, tcp.Ack, next[1-s])
				}
				if len(tcp.Payload) > 200 {
					t.Fatalf("frame %d: %d bytes > MSS", i+1, len(tcp.Payload))
				}
				next[s] += uint32(len(tcp.Payload))
				payload[s] += len(tcp.Payload)
				if tcp.FIN {
					next[s]++
				}
			}
			if last := c.Packets[len(c.Packets)-1]; payload[0] < 3000 || payload[1] < 40 || len(last.Data) == 0 {
				t.Errorf("payload %v", payload)
			}
			var pc, ng bytes.Buffer
			if err := c.WritePcap(&pc); err != nil {
				t.Fatal(err)
			}
			if err := c.WritePcapng(&ng); err != nil {
				t.Fatal(err)
			}
			r, err := pcapgo.NewReader(&pc)
			if err != nil {
				t.Fatal(err)
			}
			nr, err := pcapgo.NewNgReader(&ng, pcapgo.DefaultNgReaderOptions)
			if err != nil {
				t.Fatal(err)
			}
			for i := range c.Packets {
				d1, _, err1 := r.ReadPacketData()
				d2, _, err2 := nr.ReadPacketData()
				if err1 != nil || err2 != nil || !bytes.Equal(d1, c.Packets[i].Data) || !bytes.Equal(d2, d1) {
					t.Fatalf("frame %d read back differs: %v %v", i+1, err1, err2)
				}
			}
		})
	}
}

// checkChecksum re-serializes the frame's TCP segment with computed
// checksums and compares.
func checkChecksum(t *testing.T, frame int, pkt gopacket.Packet, tcp *layers.TCP) {
	t.Helper()
	var nl gopacket.NetworkLayer
	switch ip := pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		nl = ip
		_ = tcp.SetNetworkLayerForChecksum(ip)
	case *layers.IPv6:
		nl = ip
		_ = tcp.SetNetworkLayerForChecksum(ip)
	}
	if nl == nil {
		t.Fatalf("frame %d: no IP layer", frame)
	}
	want := tcp.Checksum
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, tcp, gopacket.Payload(tcp.Payload)); err != nil {
		t.Fatal(err)
	}
	if tcp.Checksum != want {
		t.Fatalf("frame %d: TCP checksum %#04x, want %#04x", frame, want, tcp.Checksum)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []tlsgen.Config{
		{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_256_GCM_SHA384},
		{Version: tls.VersionTLS13, CipherSuite: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
		{Version: 0x0300},
		{Client: netip.MustParseAddrPort("[::1]:1"), Server: netip.MustParseAddrPort("127.0.0.1:2")},
	} {
		if _, err := tlsgen.Generate(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}
