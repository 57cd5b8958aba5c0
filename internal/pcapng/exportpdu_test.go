package pcapng

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"

	"github.com/genesys-sip/genesys-sip/internal/source"
	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// TestExportedPDUDissectsAsSIP writes exported-PDU frames (IPv4/UDP,
// IPv6/TCP, no addresses) on a second interface added mid-stream and checks
// tshark dissects them as SIP between the right endpoints.
func TestExportedPDUDissectsAsSIP(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	sip := "OPTIONS sip:+15550100@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-1\r\n" +
		"From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: pdu-%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	var b bytes.Buffer
	s, err := NewSink(&b, Options{Application: "test"}, source.Interface{LinkType: 1, Name: "wire"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.AddInterface(source.Interface{LinkType: LinkTypeUpperPDU, Name: "Genesys Cloud"})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	frames := [][]byte{
		AppendExportedPDU(nil, "sip", netip.MustParseAddrPort("198.51.100.20:5060"), netip.MustParseAddrPort("203.0.113.10:5070"), PortUDP, []byte(strings.Replace(sip, "%d", "1", 1))),
		AppendExportedPDU(nil, "sip", netip.MustParseAddrPort("[2001:db8::20]:5061"), netip.MustParseAddrPort("[2001:db8::10]:5062"), PortTCP, []byte(strings.Replace(sip, "%d", "2", 1))),
		AppendExportedPDU(nil, "sip", netip.AddrPort{}, netip.AddrPort{}, PortNone, []byte(strings.Replace(sip, "%d", "3", 1))),
	}
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * time.Second), CaptureLength: len(f), Length: len(f), InterfaceIndex: id}
		if err := s.WritePacket(ci, f, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pdu.pcapng")
	os.WriteFile(p, b.Bytes(), 0o644)
	out, err := exec.Command(tshark, "-r", p, "-T", "fields", "-e", "sip.Call-ID", "-e", "ip.src", "-e", "ipv6.src", "-e", "exported_pdu.port_type", "-e", "exported_pdu.dst_port", "-e", "frame.interface_name").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "pdu-1\t198.51.100.20\t\t3\t5070\tGenesys Cloud\npdu-2\t\t2001:db8::20\t2\t5062\tGenesys Cloud\npdu-3\t\t\t\t\tGenesys Cloud\n"
	if string(out) != want {
		t.Fatalf("tshark:\n%s\nwant:\n%s", out, want)
	}
}
