package replay

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

var t0 = time.Date(2026, 11, 25, 10, 5, 1, 123456789, time.UTC)

func ci(i int, n int, iface int) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: n, Length: n + 10, InterfaceIndex: iface}
}

func pcapBytes(t *testing.T, nanos bool, n int) []byte {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if nanos {
		w = pcapgo.NewWriterNanos(&b)
	}
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		data := bytes.Repeat([]byte{byte(i)}, 60+i)
		c := ci(i, len(data), 0)
		if !nanos {
			c.Timestamp = c.Timestamp.Truncate(time.Microsecond)
		}
		if err := w.WritePacket(c, data); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// twoSections is a pcapng of two sections: the first with interfaces
// (Ethernet, raw IP), the second with one Linux SLL interface whose local
// id 0 must not be confused with the first section's interface 0.
func twoSections(t *testing.T) []byte {
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw}); err != nil {
		t.Fatal(err)
	}
	w.WritePacketWithOptions(ci(0, 4, 1), []byte{0x45, 0, 0, 4}, pcapgo.NgPacketOptions{Comments: []string{"hello"}})
	w.WritePacket(ci(1, 3, 0), []byte{1, 2, 3})
	w.Flush()
	w2, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{Name: "any", LinkType: layers.LinkTypeLinuxSLL}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	w2.WritePacket(ci(2, 2, 0), []byte{9, 9})
	w2.Flush()
	return b.Bytes()
}

func writeFile(t *testing.T, name string, data []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAll(t *testing.T, s *Source) (pkts []gopacket.CaptureInfo, data [][]byte, comments []string, err error) {
	for {
		p, err := s.Next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return pkts, data, comments, err
		}
		pkts = append(pkts, p.CI)
		data = append(data, append([]byte(nil), p.Data...))
		comments = append(comments, strings.Join(p.Options.Comments, "|"))
	}
}

func TestPcapMicroAndNano(t *testing.T) {
	for _, nanos := range []bool{false, true} {
		s, err := Open(writeFile(t, "x.pcap", pcapBytes(t, nanos, 5)))
		if err != nil {
			t.Fatal(err)
		}
		cis, data, _, err := readAll(t, s)
		s.Close()
		if err != nil || len(cis) != 5 {
			t.Fatalf("nanos=%v: %d packets, err %v", nanos, len(cis), err)
		}
		want := t0.Add(4 * time.Millisecond)
		if !nanos {
			want = want.Truncate(time.Microsecond)
		}
		if !cis[4].Timestamp.Equal(want) || cis[4].Length != len(data[4])+10 || data[4][0] != 4 {
			t.Fatalf("nanos=%v: packet 5 = %+v", nanos, cis[4])
		}
		if s.Format() != PCAP || s.Interface(0).LinkType != layers.LinkTypeEthernet {
			t.Fatalf("format %v iface %+v", s.Format(), s.Interface(0))
		}
	}
}

func TestPcapGzip(t *testing.T) {
	var z bytes.Buffer
	gw := gzip.NewWriter(&z)
	gw.Write(pcapBytes(t, false, 3))
	gw.Close()
	s, err := Open(writeFile(t, "x.pcap.gz", z.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if cis, _, _, err := readAll(t, s); err != nil || len(cis) != 3 {
		t.Fatalf("%d packets, %v", len(cis), err)
	}
}

func TestPcapngSectionsAndInterfaces(t *testing.T) {
	s, err := Open(writeFile(t, "x.pcapng", twoSections(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cis, _, comments, err := readAll(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(cis) != 3 {
		t.Fatalf("%d packets", len(cis))
	}
	gotIfaces := []int{cis[0].InterfaceIndex, cis[1].InterfaceIndex, cis[2].InterfaceIndex}
	if gotIfaces[0] != 1 || gotIfaces[1] != 0 || gotIfaces[2] != 2 {
		t.Fatalf("interface indices %v, want [1 0 2]", gotIfaces)
	}
	if s.Interfaces() != 3 || s.Interface(2).LinkType != layers.LinkTypeLinuxSLL || s.Interface(1).Name != "tun0" {
		t.Fatalf("interfaces: %d, %+v", s.Interfaces(), s.Interface(2))
	}
	if comments[0] != "hello" {
		t.Fatalf("comment lost: %q", comments[0])
	}
}

func TestErrors(t *testing.T) {
	good := pcapBytes(t, false, 5)
	dir := t.TempDir()
	cases := []struct {
		name, path, want string
		data             []byte
		isDir            bool
	}{
		{name: "missing", path: filepath.Join(dir, "nope.pcap"), want: "nope.pcap: no such file"},
		{name: "dir", path: dir, isDir: true, want: "is a directory, not a capture file"},
		{name: "empty", data: []byte{}, want: "empty file, not a capture"},
		{name: "short", data: []byte{0xd4, 0xc3}, want: "not a pcap or pcapng capture file (file too short: 2 bytes)"},
		{name: "text", data: []byte("hello world\n"), want: "not a pcap or pcapng capture file (starts with 68 65 6c 6c)"},
		{name: "kuznetzov", data: []byte{0x34, 0xcd, 0xb2, 0xa1, 0, 0, 0, 0}, want: "modified (Kuznetzov) pcap is not supported"},
		{name: "header-cut", data: good[:10], want: "bad pcap file header"},
		{name: "ng-garbage", data: []byte{0x0a, 0x0d, 0x0d, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8}, want: "bad pcapng section header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.path
			if p == "" {
				p = writeFile(t, c.name, c.data)
			}
			_, err := Open(p)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("err = %v, want it to name %s and say %q", err, p, c.want)
			}
		})
	}
}

func TestTruncatedKeepsIntactPackets(t *testing.T) {
	good := pcapBytes(t, false, 5)
	// Header 24 bytes, then records of 16 + 60+i bytes; cut inside record 4.
	cut := 24 + (16 + 60) + (16 + 61) + (16 + 62) + 20
	s, err := Open(writeFile(t, "cut.pcap", good[:cut]))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cis, _, _, err := readAll(t, s)
	if len(cis) != 3 || err == nil || !strings.Contains(err.Error(), "cut inside frame 4 (3 frames before it are intact)") {
		t.Fatalf("%d packets, err %v", len(cis), err)
	}
}

func TestSharedCapturesOpen(t *testing.T) {
	for _, f := range testenv.CaptureFiles(t) {
		s, err := Open(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cis, _, _, err := readAll(t, s)
		s.Close()
		if err != nil || len(cis) == 0 {
			t.Fatalf("%s: %d packets, %v", filepath.Base(f), len(cis), err)
		}
	}
}

func TestNotCaptureIsSentinel(t *testing.T) {
	_, err := Open(writeFile(t, "t", []byte("GET / HTTP/1.1\r\n")))
	if !errors.Is(err, ErrNotCapture) {
		t.Fatalf("err %v does not wrap ErrNotCapture", err)
	}
}

// FuzzReplay feeds arbitrary bytes as a capture file: Open and Next may
// fail, never panic or loop.
func FuzzReplay(f *testing.F) {
	f.Add(pcapBytes(&testing.T{}, false, 2))
	f.Add(pcapBytes(&testing.T{}, true, 2))
	f.Add(twoSections(&testing.T{}))
	f.Add(ngPackets(&testing.T{}, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(p)
		if err != nil {
			return
		}
		defer s.Close()
		for i := 0; i < 10000; i++ {
			pkt, err := s.Next()
			if err != nil {
				return
			}
			if pkt.CI.InterfaceIndex < 0 || pkt.CI.InterfaceIndex >= s.Interfaces() {
				t.Fatalf("interface %d of %d", pkt.CI.InterfaceIndex, s.Interfaces())
			}
			if len(pkt.Data) != pkt.CI.CaptureLength {
				t.Fatalf("data %d, caplen %d", len(pkt.Data), pkt.CI.CaptureLength)
			}
		}
	})
}
