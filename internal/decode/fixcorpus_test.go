package decode

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// badChecksumFrames returns the frames in which tshark, with checksum
// validation on, finds a bad IPv4, UDP, TCP, SCTP or GRE checksum.
func badChecksumFrames(t *testing.T, tshark, path string) []string {
	t.Helper()
	out, err := exec.Command(tshark, "-r", path,
		"-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
		"-o", "sctp.checksum:crc-32c",
		"-Y", "ip.checksum.status==0 or udp.checksum.status==0 or tcp.checksum.status==0 or sctp.checksum.status==0 or gre.checksum.status==0",
		"-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	return strings.Fields(string(out))
}

// TestFixChecksumsCorpus runs FixChecksums over every frame of the corpus
// and has tshark validate the result: no frame may have a bad checksum
// afterwards, except fragments of datagrams whose checksum was already bad
// (the checksum of a fragmented datagram needs the other fragments; see
// Rewrite). Frames carrying no IP are left as they were.
func TestFixChecksumsCorpus(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	for _, path := range testenv.CaptureFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			frames := readCapture(t, path)
			out := filepath.Join(t.TempDir(), "fixed.pcap")
			f, err := os.Create(out)
			if err != nil {
				t.Fatal(err)
			}
			w := pcapgo.NewWriter(f)
			if err := w.WriteFileHeader(262144, frames[0].link); err != nil {
				t.Fatal(err)
			}
			var changed []string
			for i, fr := range frames {
				if fr.link != frames[0].link {
					t.Skip("mixed link types")
				}
				b := append([]byte(nil), fr.data...)
				if err := FixChecksums(fr.link, b); err != nil {
					t.Logf("frame %d: %v", i+1, err)
				}
				if !slices.Equal(b, fr.data) {
					changed = append(changed, strconv.Itoa(i+1))
				}
				ci := gopacket.CaptureInfo{Timestamp: fr.ts, CaptureLength: len(b), Length: len(b)}
				if err := w.WritePacket(ci, b); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			before := badChecksumFrames(t, tshark, path)
			after := badChecksumFrames(t, tshark, out)
			for _, n := range after {
				if !slices.Contains(before, n) {
					t.Errorf("frame %s: checksum bad after FixChecksums", n)
				}
			}
			for _, n := range changed {
				if !slices.Contains(before, n) {
					t.Errorf("frame %s: good checksums changed", n)
				}
			}
			t.Logf("%d frames changed; bad checksums: %d before, %d after", len(changed), len(before), len(after))
		})
	}
}
