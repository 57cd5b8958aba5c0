package e2e

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// sipUDP builds an Ethernet/IPv4/UDP frame carrying payload, checksums valid.
func sipUDP(t testing.TB, src, dst string, sport, dport uint16, payload string) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// rawIPv4 strips the Ethernet header: the same packet for LINKTYPE_RAW.
func rawIPv4(frame []byte) []byte { return frame[14:] }

// sipRequest is a minimal valid SIP request with extra header lines.
func sipRequest(method, callID string, cseq int, extra ...string) string {
	s := fmt.Sprintf("%s sip:+15550100@198.51.100.20 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-%s-%d\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:+15550199@203.0.113.10>;tag=a1\r\n"+
		"To: <sip:+15550100@198.51.100.20>\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: %d %s\r\n", method, callID, cseq, callID, cseq, method)
	for _, e := range extra {
		s += e + "\r\n"
	}
	return s + "Content-Length: 0\r\n\r\n"
}

type testPacket struct {
	ts    time.Time
	iface int
	data  []byte
}

// writePcap writes Ethernet packets as classic pcap, with microsecond or
// nanosecond timestamps.
func writePcap(t testing.TB, path string, nanos bool, link layers.LinkType, pkts []testPacket) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w *pcapgo.Writer
	if nanos {
		w = pcapgo.NewWriterNanos(f)
	} else {
		w = pcapgo.NewWriter(f)
	}
	if err := w.WriteFileHeader(65535, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: len(p.data)}, p.data); err != nil {
			t.Fatal(err)
		}
	}
}

// writePcapng writes packets on several interfaces of different link types,
// with a comment on the first packet.
func writePcapng(t testing.TB, path string, links []layers.LinkType, pkts []testPacket) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcapgo.NewNgWriterInterface(f, pcapgo.NgInterface{Name: "if0", LinkType: links[0]}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range links[1:] {
		if _, err := w.AddInterface(pcapgo.NgInterface{Name: fmt.Sprintf("if%d", i+1), LinkType: l}); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: len(p.data), InterfaceIndex: p.iface}
		opts := pcapgo.NgPacketOptions{}
		if i == 0 {
			opts.Comments = []string{"first packet, comment kept"}
		}
		if err := w.WritePacketWithOptions(ci, p.data, opts); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// callPackets returns n SIP packets 10 ms apart starting at start, with
// sub-microsecond timestamp parts so nanosecond precision is exercised.
func callPackets(t testing.TB, start time.Time, n int) []testPacket {
	t.Helper()
	var pkts []testPacket
	for i := 0; i < n; i++ {
		msg := sipRequest("OPTIONS", fmt.Sprintf("call-%d@test", i), i+1, fmt.Sprintf("X-Genesys-Call-ID: gc-%d", i))
		ts := start.Add(time.Duration(i)*10*time.Millisecond + 123*time.Nanosecond)
		pkts = append(pkts, testPacket{ts: ts, data: sipUDP(t, "203.0.113.10", "198.51.100.20", 5060, 5060, msg)})
	}
	return pkts
}
