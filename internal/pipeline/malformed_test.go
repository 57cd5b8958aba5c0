package pipeline

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/source/replay"
	"github.com/genesys-sip/genesys-sip/internal/testenv"
	"github.com/genesys-sip/genesys-sip/internal/trace"
)

// udpCapture writes a pcap of one UDP datagram per payload, 10.0.0.1:5060
// to 10.0.0.2:5060, a millisecond apart from t0.
func udpCapture(t *testing.T, payloads ...string) string {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, p := range payloads {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(10, 0, 0, 1), DstIP: net.IPv4(10, 0, 0, 2)}
		udp := &layers.UDP{SrcPort: 5060, DstPort: 5060}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, udp, gopacket.Payload(p)); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "malformed.pcap")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// commentsOf replays path with the records of ix and returns the comments
// of each output frame.
func commentsOf(t *testing.T, path string, ix *trace.Index) []string {
	t.Helper()
	zero := time.Duration(0)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Config{ReplayFile: path, Loops: 1, Out: f, Application: "t", Trace: ix, ClockOffset: &zero})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	src, err := replay.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var comments []string
	for {
		p, err := src.Next()
		if err == io.EOF {
			return comments
		}
		if err != nil {
			t.Fatal(err)
		}
		comments = append(comments, strings.Join(p.Options.Comments, "|"))
	}
}

// TestMalformedMessagesAreAnnotated: a message sip.Parse keeps as malformed
// (a bad Content-Length, a header line without colon) is matched like any
// other, and its comment says warn=malformed; with a Call-ID-only match the
// two warnings share the one warn= pair. Before, such a message was
// dropped from correlation and its frame had no comment.
func TestMalformedMessagesAreAnnotated(t *testing.T) {
	const hdrs = "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKg1\r\nFrom: <sip:a@10.0.0.1>;tag=1\r\n" +
		"To: <sip:b@10.0.0.2>\r\nCall-ID: g1@10.0.0.1\r\nCSeq: 1 INVITE\r\nX-Genesys-Call-ID: 8d2f-1\r\n"
	path := udpCapture(t,
		"INVITE sip:b@10.0.0.2 SIP/2.0\r\n"+hdrs+"This line has no colon\r\nContent-Length: bad\r\n\r\nv=0\r\n",
		"SIP/2.0 200 OK\r\n"+strings.Replace(hdrs, "<sip:b@10.0.0.2>", "<sip:b@10.0.0.2>;tag=2", 1)+"Content-Length: 0\r\n\r\n")
	ix := trace.NewIndex(trace.Options{})
	ix.Add(
		trace.Record{Time: t0, Key: "8d2f-1", CallID: "g1@10.0.0.1", Method: "INVITE", CSeqNum: 1, CSeqMethod: "INVITE", ViaBranch: "z9hG4bKg1"},
		trace.Record{Time: t0.Add(time.Millisecond), Key: "8d2f-1", CallID: "g1@10.0.0.1", Status: 200, Reason: "OK", CSeqNum: 1, CSeqMethod: "INVITE", ViaBranch: "z9hG4bKg1"},
	)
	got := commentsOf(t, path, ix)
	if len(got) != 2 || !strings.HasSuffix(got[0], " key=x-genesys-call-id warn=malformed") ||
		!strings.HasSuffix(got[1], " key=x-genesys-call-id") {
		t.Errorf("comments:\n%s", strings.Join(got, "\n"))
	}

	// The zeek capture of the corpus: Content-Length "bad" and "xyz", and
	// only the SIP Call-ID to match on.
	zeek := filepath.Join(testenv.Captures(t), "zeek__sip_invalid-content-length.pcap")
	ix = trace.NewIndex(trace.Options{})
	ix.Add(
		trace.Record{Time: t0, CallID: "a84b4c76e66710@10.0.0.1", Method: "INVITE", CSeqNum: 1, CSeqMethod: "INVITE", ViaBranch: "z9hG4bK776"},
		trace.Record{Time: t0, CallID: "a84b4c76e66710@10.0.0.1", Status: 200, Reason: "OK", CSeqNum: 1, CSeqMethod: "INVITE", ViaBranch: "z9hG4bK776"},
	)
	const warn = ` key=call-id warn="malformed; matched on Call-ID only; a proxy may have rewritten it"`
	got = commentsOf(t, zeek, ix)
	if len(got) != 2 || !strings.HasSuffix(got[0], warn) || !strings.HasSuffix(got[1], warn) {
		t.Errorf("zeek comments:\n%s", strings.Join(got, "\n"))
	}
}
