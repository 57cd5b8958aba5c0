package pcapng

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/source"
)

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// sipFrame is an Ethernet/IPv4/UDP frame carrying a real-looking SIP
// OPTIONS of about n bytes (checksums are not the point here).
func sipFrame(n, i int) []byte {
	msg := "OPTIONS sip:+15550100@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-" +
		strings.Repeat("x", max(0, n-120)) + "\r\nCall-ID: sink-" + string(rune('a'+i%26)) + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	f := make([]byte, 42+len(msg))
	f[12], f[13] = 0x08, 0x00
	f[14] = 0x45
	binary.BigEndian.PutUint16(f[16:], uint16(28+len(msg)))
	f[22], f[23] = 64, 17
	copy(f[26:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(f[34:], 5060)
	binary.BigEndian.PutUint16(f[36:], 5060)
	binary.BigEndian.PutUint16(f[38:], uint16(8+len(msg)))
	copy(f[42:], msg)
	return f
}

func readAll(t *testing.T, b []byte) ([]gopacket.CaptureInfo, error) {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		return nil, err
	}
	var cis []gopacket.CaptureInfo
	for {
		_, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return cis, nil
		}
		if err != nil {
			return cis, err
		}
		cis = append(cis, ci)
	}
}

// TestWritePacketRepairsLengths: inconsistent lengths from a damaged input
// are written with the captured length of the data and an original length
// at least that long, instead of failing the sink (issue 13: the packet
// was refused, the error stuck, and nothing buffered before it was ever
// flushed).
func TestWritePacketRepairsLengths(t *testing.T) {
	data := sipFrame(300, 0)
	n := len(data)
	for _, tc := range []struct {
		name          string
		capLen, len   int
		wantLen       int
		wantInterface int
	}{
		{"consistent", n, n, n, 0},
		{"snapped (len > caplen)", n, n + 1000, n + 1000, 0},
		{"caplen > len", n, n - 8, n, 0},
		{"len zero", n, 0, n, 0},
		{"caplen larger than the data", n + 100, n + 100, n + 100, 0},
		{"caplen smaller than the data", n - 100, n - 100, n, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			s, err := NewSink(&b, Options{Application: "test"}, source.Interface{LinkType: layers.LinkTypeEthernet})
			if err != nil {
				t.Fatal(err)
			}
			good := gopacket.CaptureInfo{Timestamp: t0, CaptureLength: n, Length: n}
			if err := s.WritePacket(good, data, nil); err != nil {
				t.Fatal(err)
			}
			bad := gopacket.CaptureInfo{Timestamp: t0.Add(time.Millisecond), CaptureLength: tc.capLen, Length: tc.len}
			if err := s.WritePacket(bad, data, nil); err != nil {
				t.Fatalf("WritePacket: %v", err)
			}
			good.Timestamp = t0.Add(2 * time.Millisecond)
			if err := s.WritePacket(good, data, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			cis, err := readAll(t, b.Bytes())
			if err != nil || len(cis) != 3 {
				t.Fatalf("read back %d packets, err %v; want 3", len(cis), err)
			}
			if got := cis[1]; got.CaptureLength != n || got.Length != tc.wantLen {
				t.Errorf("lengths %d/%d, want %d/%d", got.CaptureLength, got.Length, n, tc.wantLen)
			}
		})
	}
}

// TestArgumentErrorsDoNotStick: a call pcapgo refuses without writing a
// byte leaves the sink working and everything before it intact.
func TestArgumentErrorsDoNotStick(t *testing.T) {
	var b bytes.Buffer
	s, err := NewSink(&b, Options{Application: "test"}, source.Interface{LinkType: layers.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	data := sipFrame(200, 0)
	ci := gopacket.CaptureInfo{Timestamp: t0, CaptureLength: len(data), Length: len(data)}
	if err := s.WritePacket(ci, data, nil); err != nil {
		t.Fatal(err)
	}
	bad := ci
	bad.InterfaceIndex = 3
	if err := s.WritePacket(bad, data, nil); err == nil || !strings.Contains(err.Error(), "interface 3") {
		t.Errorf("packet for a missing interface: err %v", err)
	}
	if err := s.WriteStats(5, pcapgo.NgInterfaceStatistics{}); err == nil {
		t.Error("statistics for a missing interface: no error")
	}
	if err := s.WritePacket(ci, data, nil); err != nil || s.Err() != nil {
		t.Fatalf("after an argument error: %v, Err %v", err, s.Err())
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if cis, err := readAll(t, b.Bytes()); err != nil || len(cis) != 2 {
		t.Fatalf("read back %d packets, err %v; want 2", len(cis), err)
	}
}

// fullFile is a regular file on a disk with room bytes left.
type fullFile struct {
	*os.File
	room int
}

func (f *fullFile) Write(p []byte) (int, error) {
	if len(p) <= f.room {
		f.room -= len(p)
		return f.File.Write(p)
	}
	n, _ := f.File.Write(p[:f.room])
	f.room = 0
	return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
}

// blockEnds returns where each block of a pcapng stream ends.
func blockEnds(b []byte) []int {
	var ends []int
	for off := 0; off+8 <= len(b); {
		off += int(binary.LittleEndian.Uint32(b[off+4:]))
		ends = append(ends, off)
	}
	return ends
}

// TestDiskFullLeavesValidFile: when the output fills up, the sink reports
// one error naming the file, and the file is cut back to the last block
// that reached it whole, so a reader gets every block up to a clean EOF.
func TestDiskFullLeavesValidFile(t *testing.T) {
	const packets = 400
	write := func(w io.Writer, bufSize int) (int, error) {
		s, err := NewSink(w, Options{Application: "test", BufferSize: bufSize}, source.Interface{LinkType: layers.LinkTypeEthernet})
		if err != nil {
			return 0, err
		}
		for i := range packets {
			data := sipFrame(100+(i*37)%900, i)
			ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(data), Length: len(data)}
			opts := &pcapgo.NgPacketOptions{Comments: []string{"genesys: frame " + strings.Repeat("c", i%7)}}
			if err := s.WritePacket(ci, data, opts); err != nil {
				return i, err
			}
			if i%50 == 49 {
				if err := s.Flush(); err != nil {
					return i, err
				}
			}
		}
		return packets, s.Flush()
	}
	var ref bytes.Buffer
	if _, err := write(&ref, 0); err != nil {
		t.Fatal(err)
	}
	ends := blockEnds(ref.Bytes())
	for _, bufSize := range []int{4096, 0} {
		for _, room := range []int{0, 100, ends[1] - 1, ends[1], ends[1] + 1, ends[10] + 3, ends[100], len(ref.Bytes())/2 + 1, len(ref.Bytes()) - 1} {
			path := filepath.Join(t.TempDir(), "out.pcapng")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			_, werr := write(&fullFile{File: f, room: room}, bufSize)
			f.Close()
			var oe *OutputError
			if !errors.As(werr, &oe) || !errors.Is(werr, syscall.ENOSPC) {
				t.Fatalf("room %d: err %v, want an *OutputError for ENOSPC", room, werr)
			}
			if want := path + ": no space left on device"; werr.Error() != want {
				t.Errorf("room %d: error %q, want %q", room, werr, want)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// The section header and the first interface are written
			// as one unit (pcapgo writes them together).
			want := 0
			for _, e := range ends[1:] {
				if e <= room {
					want = e
				}
			}
			if len(got) != want {
				t.Errorf("buffer %d, room %d: file cut at %d, want the last block end %d", bufSize, room, len(got), want)
			}
			if !bytes.Equal(got, ref.Bytes()[:len(got)]) {
				t.Errorf("room %d: the file is not a prefix of the full output", room)
			}
			if len(got) >= ends[1] { // SHB and IDB made it: a readable file
				if _, err := readAll(t, got); err != nil {
					t.Errorf("room %d: reading the cut file: %v", room, err)
				}
			}
		}
	}
}
