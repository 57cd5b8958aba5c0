package replay

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ngPackets is a pcapng of n packets of 60+i bytes, each with a comment.
func ngPackets(t *testing.T, n int) []byte {
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		data := bytes.Repeat([]byte{byte(i + 1)}, 60+i)
		c := ci(i, len(data), 0)
		c.Length = len(data)
		if err := w.WritePacketWithOptions(c, data, pcapgo.NgPacketOptions{Comments: []string{"packet " + string(rune('1'+i))}}); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return b.Bytes()
}

// epb returns the offset of the k'th (1-based) Enhanced Packet Block.
func epb(b []byte, k int) int {
	for off := 0; off+8 <= len(b); off += int(binary.LittleEndian.Uint32(b[off+4:])) {
		if binary.LittleEndian.Uint32(b[off:]) == blockEPB {
			if k--; k == 0 {
				return off
			}
		}
	}
	panic("no such block")
}

type got struct {
	frames  []uint64 // input frame numbers of the packets returned
	lens    [][2]int // captured, original length
	notes   []string // comments of each packet, joined
	damage  []string // "frame N: what"
	err     error
	dropped int
}

func readDamaged(t *testing.T, name string, data []byte) got {
	t.Helper()
	s, err := Open(writeFile(t, name, data))
	if err != nil {
		return got{err: err}
	}
	defer s.Close()
	var g got
	s.OnDamage = func(frame uint64, dropped bool, what string) {
		g.damage = append(g.damage, "frame "+string(rune('0'+frame))+": "+what)
		if dropped {
			g.dropped++
		}
	}
	for {
		p, err := s.Next()
		if err == io.EOF {
			return g
		}
		if err != nil {
			g.err = err
			return g
		}
		g.frames = append(g.frames, s.Frame())
		g.lens = append(g.lens, [2]int{p.CI.CaptureLength, p.CI.Length})
		g.notes = append(g.notes, strings.Join(p.Options.Comments, ","))
		if len(p.Data) != p.CI.CaptureLength {
			t.Fatalf("frame %d: %d bytes, caplen %d", s.Frame(), len(p.Data), p.CI.CaptureLength)
		}
	}
}

// TestDamagedPacketCostsThatPacket: inconsistent lengths inside a packet
// block are repaired or cost that one packet; the frames after it are
// read and numbered as in the file. Framing damage stops the read with an
// error naming the file and the place, after every frame before it.
func TestDamagedPacketCostsThatPacket(t *testing.T) {
	u32 := binary.LittleEndian.PutUint32
	for _, tc := range []struct {
		name    string
		mutate  func(b []byte) []byte // packet 3 is at epb(b, 3)
		frames  []uint64
		damage  string // in the one damage report
		err     string // in the error, when reading must stop
		lens3   [2]int // lengths of frame 3 when kept
		notes3  string // its comments when kept
		dropped int
	}{
		{name: "intact", mutate: func(b []byte) []byte { return b },
			frames: []uint64{1, 2, 3, 4, 5}, lens3: [2]int{62, 62}, notes3: "packet 3"},
		{name: "original length below captured", mutate: func(b []byte) []byte { u32(b[epb(b, 3)+24:], 50); return b },
			frames: []uint64{1, 2, 3, 4, 5}, lens3: [2]int{62, 62}, notes3: "packet 3",
			damage: "frame 3: original length 50 is less than the captured length 62; original length set to 62"},
		{name: "original length zero", mutate: func(b []byte) []byte { u32(b[epb(b, 3)+24:], 0); return b },
			frames: []uint64{1, 2, 3, 4, 5}, lens3: [2]int{62, 62}, notes3: "packet 3",
			damage: "original length 0 is less than the captured length 62"},
		{name: "captured length past the block", mutate: func(b []byte) []byte { u32(b[epb(b, 3)+20:], 162); return b },
			frames: []uint64{1, 2, 4, 5}, dropped: 1,
			damage: "frame 3: captured length 162 does not fit in its block of 112 bytes; frame dropped"},
		{name: "captured length cut: packet bytes read as options", mutate: func(b []byte) []byte {
			o := epb(b, 3)
			u32(b[o+20:], 20)
			u32(b[o+24:], 20)
			return b
		},
			frames: []uint64{1, 2, 3, 4, 5}, lens3: [2]int{20, 20}, notes3: "",
			damage: "frame 3: its options are unreadable (option 771 of length 771 runs past the end of the block); options dropped"},
		{name: "comment length past the block", mutate: func(b []byte) []byte {
			o := epb(b, 3)
			binary.LittleEndian.PutUint16(b[o+28+64+2:], 4000)
			return b
		},
			frames: []uint64{1, 2, 3, 4, 5}, lens3: [2]int{62, 62}, notes3: "",
			damage: "(option 1 of length 4000 runs past the end of the block); options dropped"},
		{name: "block length not a multiple of 4", mutate: func(b []byte) []byte { u32(b[epb(b, 3)+4:], 113); return b },
			frames: []uint64{1, 2}, err: "the block at byte 328 (after frame 2): block length 113 is not a multiple of 4"},
		{name: "block length below 12", mutate: func(b []byte) []byte { u32(b[epb(b, 3)+4:], 8); return b },
			frames: []uint64{1, 2}, err: "block length 8 is shorter than a block's header and trailer"},
		{name: "trailer disagrees", mutate: func(b []byte) []byte { o := epb(b, 3); u32(b[o+108:], 116); return b },
			frames: []uint64{1, 2, 3, 4, 5}, lens3: [2]int{62, 62}, notes3: "packet 3",
			damage: "frame 3: block length 112 at its start but 116 at its end; the start is right"},
		{name: "leading length disagrees", mutate: func(b []byte) []byte { o := epb(b, 3); u32(b[o+4:], 116); return b },
			frames: []uint64{1, 2}, err: "the block at byte 328 (after frame 2): block length 116 at its start but 6 at its end"},
		{name: "block length absurd", mutate: func(b []byte) []byte { u32(b[epb(b, 3)+4:], 0xfffffff0); return b },
			frames: []uint64{1, 2}, err: "block length 4294967280 is larger than any valid block"},
		{name: "cut inside frame 3", mutate: func(b []byte) []byte { return b[:epb(b, 3)+50] },
			frames: []uint64{1, 2}, err: "file is truncated: cut inside frame 3 (2 frames before it are intact)"},
		{name: "cut after frame 5", mutate: func(b []byte) []byte { return append(b, 1, 0, 0) },
			frames: []uint64{1, 2, 3, 4, 5}, lens3: [2]int{62, 62}, notes3: "packet 3",
			err: "file is truncated: cut inside the block at byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := readDamaged(t, "d.pcapng", tc.mutate(ngPackets(t, 5)))
			if tc.err == "" && g.err != nil || tc.err != "" && (g.err == nil || !strings.Contains(g.err.Error(), tc.err) || !strings.Contains(g.err.Error(), "d.pcapng: ")) {
				t.Fatalf("err %v, want one naming the file and saying %q", g.err, tc.err)
			}
			if !equal(g.frames, tc.frames) {
				t.Fatalf("frames %v, want %v", g.frames, tc.frames)
			}
			for i, f := range g.frames {
				if f == 3 && (g.lens[i] != tc.lens3 || g.notes[i] != tc.notes3) {
					t.Errorf("frame 3: lengths %v comments %q, want %v %q", g.lens[i], g.notes[i], tc.lens3, tc.notes3)
				}
			}
			if tc.damage == "" && len(g.damage) > 0 || tc.damage != "" && (len(g.damage) != 1 || !strings.Contains(g.damage[0], tc.damage)) {
				t.Errorf("damage reports %q, want one with %q", g.damage, tc.damage)
			}
			if g.dropped != tc.dropped {
				t.Errorf("%d dropped, want %d", g.dropped, tc.dropped)
			}
		})
	}
}

// TestPcapOriginalBelowCaptured: a pcap record whose original length is
// below its captured length is read (pcapgo alone stops the file there).
func TestPcapOriginalBelowCaptured(t *testing.T) {
	b := pcapBytes(t, false, 5)
	// Records of 16 + 60+i bytes after the 24-byte header: record 3.
	off := 24 + (16 + 60) + (16 + 61)
	binary.LittleEndian.PutUint32(b[off+12:], 10)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	for name, data := range map[string][]byte{"d.pcap": b, "d.pcap.gz": z.Bytes()} {
		g := readDamaged(t, name, data)
		if g.err != nil || !equal(g.frames, []uint64{1, 2, 3, 4, 5}) {
			t.Fatalf("%s: frames %v, err %v", name, g.frames, g.err)
		}
		if g.lens[2] != [2]int{62, 62} || len(g.damage) != 1 || !strings.Contains(g.damage[0], "frame 3: original length 10 is less than the captured length 62") {
			t.Errorf("%s: frame 3 lengths %v, damage %q", name, g.lens[2], g.damage)
		}
	}
}

// TestGzipPcapng: gzip-compressed pcapng reads like pcapng.
func TestGzipPcapng(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(ngPackets(t, 3))
	zw.Close()
	if g := readDamaged(t, "d.pcapng.gz", z.Bytes()); g.err != nil || len(g.frames) != 3 {
		t.Fatalf("frames %v, err %v", g.frames, g.err)
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
