// Package replay reads saved captures — pcap (microsecond and nanosecond,
// either byte order, optionally gzip-compressed) and pcapng (several
// sections, several interfaces and link types) — as a source.Source.
//
// The format is decided by the file's content, never its name. Every error
// names the file and says what is wrong with it.
package replay

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/source"
)

// Format is the container format of a capture file.
type Format int

// Capture file formats.
const (
	PCAP Format = iota + 1
	PCAPNG
)

func (f Format) String() string {
	switch f {
	case PCAP:
		return "pcap"
	case PCAPNG:
		return "pcapng"
	}
	return "unknown"
}

// ErrNotCapture is wrapped by the error returned for a file that is neither
// pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng capture file")

// Source reads one capture file. It is not safe for concurrent use.
type Source struct {
	path   string
	f      *os.File
	size   int64
	count  *countingReader
	format Format

	pcap *pcapgo.Reader
	ng   *pcapgo.NgReader
	fr   *framer       // pcapng: checks blocks before pcapgo reads them
	br   *bufio.Reader // pcap: the records, for checking their headers
	big  bool          // pcap: big-endian record headers

	// OnDamage, when set, is told about every damaged frame the source
	// repaired or dropped (frame counts every packet of the file, from 1).
	// The replay goes on after it.
	OnDamage func(frame uint64, dropped bool, what string)
	frame    uint64 // input frame number of the last packet returned
	damaged  uint64

	// Interfaces of all sections so far; pcapng interface ids restart at 0
	// in each section, so section-local ids map through ifaceMap.
	ifaces   []source.Interface
	ifaceMap []int // section-local id → index in ifaces
	section  int   // sections completed before the current one
	secSeen  int   // section whose interfaces are mapped in ifaceMap

	pkt     source.Packet
	packets uint64
}

// Open opens a capture file and reads its header.
func Open(path string) (*Source, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: no such file", path)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, unwrapPathError(err))
	case st.IsDir():
		return nil, fmt.Errorf("%s: is a directory, not a capture file", path)
	case st.Size() == 0:
		return nil, fmt.Errorf("%s: empty file, not a capture", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPathError(err))
	}
	s, err := newSource(path, f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func newSource(path string, f *os.File, size int64) (*Source, error) {
	s := &Source{path: path, f: f, size: size}
	s.count = &countingReader{r: f}
	br := bufio.NewReaderSize(s.count, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (file too short: %d bytes)", path, ErrNotCapture, size)
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		// Decompressed here rather than by pcapgo, so that the checks
		// below see the capture itself, pcap or pcapng alike.
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: bad gzip header: %s", path, describe(err))
		}
		br = bufio.NewReaderSize(gz, 1<<16)
		if magic, err = br.Peek(4); err != nil {
			return nil, fmt.Errorf("%s: %w (gzip-compressed, %s)", path, ErrNotCapture, describe(err))
		}
	}
	switch m := binary.LittleEndian.Uint32(magic); {
	case m == 0x0A0D0D0A:
		s.format = PCAPNG
		s.fr = &framer{r: br}
		s.ng, err = pcapgo.NewNgReader(s.fr, pcapgo.NgReaderOptions{
			WantMixedLinkType: true,
			// A pcapng section of an unknown version is skipped, as the
			// pcapng specification asks.
			SkipUnknownVersion: true,
			SectionEndCallback: func([]pcapgo.NgInterface, pcapgo.NgSectionInfo) { s.section++ },
		})
		if err != nil {
			if fe := s.framingErr(); fe != nil {
				err = fe
			}
			return nil, fmt.Errorf("%s: bad pcapng section header: %s", path, describe(err))
		}
	case m == 0xA1B2C3D4 || m == 0xD4C3B2A1 || m == 0xA1B23C4D || m == 0x4D3CB2A1:
		s.format = PCAP
		s.br, s.big = br, m == 0xD4C3B2A1 || m == 0x4D3CB2A1
		s.pcap, err = pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: bad pcap file header: %s", path, describe(err))
		}
		s.ifaces = []source.Interface{{LinkType: s.pcap.LinkType(), SnapLen: s.pcap.Snaplen()}}
		s.ifaceMap = []int{0}
	case m == 0xA1B2CD34 || m == 0x34CDB2A1:
		return nil, fmt.Errorf("%s: modified (Kuznetzov) pcap is not supported; convert it with: editcap -F pcapng %s out.pcapng", path, path)
	default:
		return nil, fmt.Errorf("%s: %w (starts with % x)", path, ErrNotCapture, magic)
	}
	return s, nil
}

// Path returns the file name given to Open.
func (s *Source) Path() string { return s.path }

// Format returns the file's container format.
func (s *Source) Format() Format { return s.format }

// Size returns the file size in bytes.
func (s *Source) Size() int64 { return s.size }

// Offset returns roughly how many bytes of the file have been consumed, for
// progress reports (read-ahead makes it run slightly early).
func (s *Source) Offset() int64 { return s.count.n }

// Interface returns interface i in the order interfaces appeared in the file.
func (s *Source) Interface(i int) source.Interface { return s.ifaces[i] }

// Interfaces returns how many interfaces have appeared so far.
func (s *Source) Interfaces() int { return len(s.ifaces) }

// Frame returns the input frame number of the packet Next returned last
// (dropped frames count: it is the frame number Wireshark shows for the
// input file).
func (s *Source) Frame() uint64 { return s.frame }

// Damaged returns how many frames so far were repaired or dropped.
func (s *Source) Damaged() uint64 { return s.damaged }

// Next returns the next packet or io.EOF. A file cut mid-packet gives an
// error that says how many packets were read intact. A damaged packet is
// repaired or dropped (see framer and OnDamage) and the file read on.
func (s *Source) Next() (*source.Packet, error) {
	var err error
	p := &s.pkt
	if s.format == PCAP {
		s.checkRecord()
		p.Data, p.CI, err = s.pcap.ZeroCopyReadPacketData()
	} else {
		p.Data, p.CI, p.Options, err = s.ng.ZeroCopyReadPacketDataWithOptions()
	}
	if err != nil {
		s.claimDamage(true)
		return nil, s.readError(err)
	}
	s.claimDamage(false)
	if s.format == PCAPNG {
		if err := s.mapInterface(p); err != nil {
			return nil, err
		}
	}
	// Link type travels in the interface; the reader's AncillaryData
	// slice is its own buffer and must not escape.
	p.CI.AncillaryData = nil
	s.packets++
	return p, nil
}

// mapInterface translates the pcapng section-local interface id of p into a
// global index, registering the interfaces the reader has seen since.
func (s *Source) mapInterface(p *source.Packet) error {
	if s.secSeen != s.section {
		s.secSeen = s.section
		s.ifaceMap = s.ifaceMap[:0]
	}
	for local := len(s.ifaceMap); local < s.ng.NInterfaces(); local++ {
		ni, err := s.ng.Interface(local)
		if err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
		s.ifaceMap = append(s.ifaceMap, len(s.ifaces))
		s.ifaces = append(s.ifaces, source.Interface{
			LinkType:    ni.LinkType,
			SnapLen:     ni.SnapLength,
			Name:        ni.Name,
			Description: ni.Description,
			Filter:      ni.Filter,
			OS:          ni.OS,
			Comment:     ni.Comment,
		})
	}
	local := p.CI.InterfaceIndex
	if local < 0 || local >= len(s.ifaceMap) {
		return fmt.Errorf("%s: frame %d refers to interface %d, which the file does not describe", s.path, s.frame, local)
	}
	p.CI.InterfaceIndex = s.ifaceMap[local]
	return nil
}

// claimDamage reports the damage the framer found up to the packet Next is
// about to return and numbers it; at the end (eof) it reports the rest.
func (s *Source) claimDamage(eof bool) {
	if s.format == PCAP {
		if !eof {
			s.frame++
		}
		return
	}
	next := s.frame + 1
	for len(s.fr.damage) > 0 {
		d := s.fr.damage[0]
		if !eof && (d.frame > next || d.frame == next && !d.dropped) {
			break
		}
		s.fr.damage = s.fr.damage[1:]
		s.report(d.frame, d.dropped, d.what)
		if d.dropped && d.frame == next {
			next++
		}
	}
	if eof {
		return
	}
	s.frame = next
	if len(s.fr.damage) > 0 && s.fr.damage[0].frame == next && !s.fr.damage[0].dropped {
		d := s.fr.damage[0]
		s.fr.damage = s.fr.damage[1:]
		s.report(d.frame, false, d.what)
	}
}

func (s *Source) report(frame uint64, dropped bool, what string) {
	s.damaged++
	if s.OnDamage != nil {
		s.OnDamage(frame, dropped, what)
	}
}

// checkRecord repairs the header of the next pcap record before pcapgo
// reads it: a captured length above the original length makes pcapgo
// refuse the record after consuming its header, which loses the place in
// the file. The bytes are the evidence (a capture cannot hold more than
// was on the wire), so the original length is raised to the captured
// length. Wireshark reads such a record as it is and flags it "Frame length
// is less than captured length". The header is patched in the read
// buffer, which pcapgo reads next.
func (s *Source) checkRecord() {
	h, err := s.br.Peek(16)
	if err != nil {
		return // pcapgo reports the end or the cut
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if s.big {
		order = binary.BigEndian
	}
	capLen, origLen := order.Uint32(h[8:12]), order.Uint32(h[12:16])
	if capLen <= origLen || capLen > maxRecord(s.pcap.Snaplen()) {
		return // fine, or beyond what pcapgo reads: it says so
	}
	order.PutUint32(h[12:16], capLen)
	s.report(s.frame+1, false, fmt.Sprintf("original length %d is less than the captured length %d; original length set to %d", origLen, capLen, capLen))
}

// maxRecord is pcapgo's limit on a pcap record (see its maxCaptureLength:
// the snap length, at least its eager-read limit of 256 KiB).
func maxRecord(snap uint32) uint32 { return max(snap, 262144) }

// framingErr returns the framer's error, if the pcapng framing failed.
func (s *Source) framingErr() error {
	var fe *framingError
	if s.fr != nil && errors.As(s.fr.err, &fe) {
		return fe
	}
	return nil
}

func (s *Source) readError(err error) error {
	if fe := s.framingErr(); fe != nil {
		return fmt.Errorf("%s: %w", s.path, fe)
	}
	switch {
	case err == io.EOF:
		return io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: file is truncated: cut inside frame %d (%d frames before it are intact)", s.path, s.frame+1, s.frame)
	}
	return fmt.Errorf("%s: corrupt after frame %d: %s", s.path, s.frame, describe(err))
}

// Close closes the file.
func (s *Source) Close() error { return s.f.Close() }

// describe turns gopacket's terse reader errors into lower-case text.
func describe(err error) string {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "file is truncated"
	case errors.Is(err, pcapgo.ErrNgVersionMismatch):
		return "unsupported pcapng version"
	}
	return err.Error()
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// countingReader counts bytes read, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
