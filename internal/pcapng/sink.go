// Package pcapng is the output side of the pipeline: a pcapng stream
// (Section Header, Interface Description, Enhanced Packet blocks with
// comments, Decryption Secrets and Interface Statistics blocks) written with
// gopacket's pcapgo.NgWriter to a file, stdout or a Wireshark extcap FIFO.
//
// Blocks are always written whole: whatever Flush has pushed out is a valid
// pcapng prefix that Wireshark reads without error. When the output itself
// fails (disk full, a write error) the sink stops for good and, when the
// output is a regular file, cuts it back to the end of the last block that
// reached it whole, so the file stays a valid pcapng that ends at a block
// boundary. A pipe or FIFO cannot be cut back: its reader may see a partial
// last block, which Wireshark reports as a capture cut short.
package pcapng

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/source"
)

// Options describe the section the sink writes.
type Options struct {
	// Application is written as shb_userappl, e.g. "genesys-sip 0.1.0".
	Application string
	// Comment is the section comment (opt_comment of the SHB).
	Comment string
	// BufferSize is the output buffer; 0 means 256 KiB. The pipeline
	// decides when to flush (see Sink.Flush).
	BufferSize int
	// Name names the output in errors; empty means the file's name when
	// the writer is an *os.File.
	Name string
}

// OutputError is a failure of the output itself (disk full, I/O error,
// reader gone): the sink writes nothing more after it. Err is the system's
// error without the "write NAME" wrapping, so the message reads
// "NAME: no space left on device".
type OutputError struct {
	Name string
	Err  error
}

func (e *OutputError) Error() string {
	if e.Name == "" {
		return "writing the pcapng output: " + e.Err.Error()
	}
	return e.Name + ": " + e.Err.Error()
}

func (e *OutputError) Unwrap() error { return e.Err }

// Sink writes one pcapng section. It is not safe for concurrent use.
type Sink struct {
	out    *bufio.Writer
	ng     *pcapgo.NgWriter
	dst    *tracker
	name   string
	ifaces int
	err    error // sticky output error (*OutputError)

	// file and base are set when the output is a regular file: base is
	// where this section starts in it, so a failed write can cut the file
	// back to base + dst.safe.
	file file
	base int64
}

// file is what the sink needs of an *os.File to cut it back.
type file interface {
	Name() string
	Stat() (os.FileInfo, error)
	Seek(offset int64, whence int) (int64, error)
	Truncate(size int64) error
}

// tracker sits between the output buffer and the writer. It counts the
// bytes the writer accepted and knows where the complete blocks end, so
// that after a failed write the sink knows the longest prefix of the
// output that holds only whole blocks.
type tracker struct {
	w    io.Writer
	n    int64   // bytes w accepted
	ends []int64 // ends of complete blocks beyond n, ascending
	safe int64   // the last block end at or before n
	err  error   // the first write error of w
}

func (t *tracker) Write(p []byte) (int, error) {
	k, err := t.w.Write(p)
	t.n += int64(k)
	i := 0
	for i < len(t.ends) && t.ends[i] <= t.n {
		t.safe = t.ends[i]
		i++
	}
	if i > 0 {
		t.ends = t.ends[:copy(t.ends, t.ends[i:])]
	}
	if err == nil && k < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil && t.err == nil {
		t.err = err
	}
	return k, err
}

// NewSink writes the Section Header Block and the first interface's
// Interface Description Block to w (pcapgo cannot write a section without
// one). The first interface gets index 0.
func NewSink(w io.Writer, opt Options, first source.Interface) (*Sink, error) {
	size := opt.BufferSize
	if size <= 0 {
		size = 256 << 10
	}
	s := &Sink{dst: &tracker{w: w}, name: opt.Name}
	// pcapgo writes straight into s.out: bufio.NewWriter returns a
	// *bufio.Writer of at least its default size unchanged, so there is one
	// buffer and the tracker sees every byte.
	s.out = bufio.NewWriterSize(s.dst, size)
	if f, ok := w.(file); ok {
		if s.name == "" {
			s.name = f.Name()
		}
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if pos, err := f.Seek(0, io.SeekCurrent); err == nil {
				// In append mode writes land at the end whatever
				// the offset says: never cut below what was there.
				s.file, s.base = f, max(pos, st.Size())
			}
		}
	}
	var err error
	s.ng, err = pcapgo.NewNgWriterInterface(s.out, ngInterface(first), pcapgo.NgWriterOptions{
		SectionInfo: pcapgo.NgSectionInfo{
			Application: opt.Application,
			Comment:     opt.Comment,
			Hardware:    runtime.GOARCH,
			OS:          runtime.GOOS,
		},
	})
	if err != nil {
		return nil, s.fail(err, "writing the section header")
	}
	s.blockDone()
	s.ifaces = 1
	return s, nil
}

// blockDone records that every byte handed to the buffer so far belongs
// to complete blocks.
func (s *Sink) blockDone() {
	end := s.dst.n + int64(s.out.Buffered())
	if end > s.dst.n {
		s.dst.ends = append(s.dst.ends, end)
	} else {
		s.dst.safe = end
	}
}

// ngInterface converts a source interface into pcapgo's form. Timestamps
// reach the sink already offset-corrected (pcapgo's reader applies
// if_tsoffset), so the offset is never written again.
func ngInterface(i source.Interface) pcapgo.NgInterface {
	return pcapgo.NgInterface{
		Name:        i.Name,
		Description: i.Description,
		Comment:     i.Comment,
		Filter:      i.Filter,
		OS:          i.OS,
		LinkType:    i.LinkType,
		SnapLength:  i.SnapLen,
	}
}

// AddInterface writes an Interface Description Block and returns the new
// interface's index. An IDB may follow packets: Wireshark accepts new
// interfaces mid-stream.
func (s *Sink) AddInterface(i source.Interface) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	id, err := s.ng.AddInterface(ngInterface(i))
	if err != nil {
		return 0, s.fail(err, "writing an interface description")
	}
	s.blockDone()
	s.ifaces++
	return id, nil
}

// Interfaces returns how many interfaces the section describes.
func (s *Sink) Interfaces() int { return s.ifaces }

// WritePacket writes one Enhanced Packet Block. ci.InterfaceIndex is the
// sink's interface index. opts may be nil.
//
// The captured length is always len(data), and an original length below
// it is raised to it: pcapgo refuses to write such a packet, and the
// captured bytes are the evidence (a capture cannot hold more bytes than
// were on the wire, so it is the original length that is wrong). Wireshark
// reads such a frame whole and flags it "Frame length is less than
// captured length"; editcap copies the lengths unchanged. The pipeline
// warns about the input frame before it gets here.
func (s *Sink) WritePacket(ci gopacket.CaptureInfo, data []byte, opts *pcapgo.NgPacketOptions) error {
	if s.err != nil {
		return s.err
	}
	if ci.InterfaceIndex < 0 || ci.InterfaceIndex >= s.ifaces {
		// Checked here so that pcapgo fails only on output errors.
		return fmt.Errorf("pcapng: packet for interface %d, but the section describes %d", ci.InterfaceIndex, s.ifaces)
	}
	ci.CaptureLength = len(data)
	ci.Length = max(ci.Length, ci.CaptureLength)
	var err error
	if opts == nil {
		err = s.ng.WritePacket(ci, data)
	} else {
		err = s.ng.WritePacketWithOptions(ci, data, *opts)
	}
	if err != nil {
		return s.fail(err, "writing a packet")
	}
	s.blockDone()
	return nil
}

// WriteTLSSecrets writes a Decryption Secrets Block holding NSS key-log
// lines. Wireshark applies it to the packets that follow.
func (s *Sink) WriteTLSSecrets(keylog []byte) error {
	if s.err != nil {
		return s.err
	}
	if err := s.ng.WriteDecryptionSecretsBlock(pcapgo.DSB_SECRETS_TYPE_TLS, keylog); err != nil {
		return s.fail(err, "writing decryption secrets")
	}
	s.blockDone()
	return nil
}

// WriteStats writes an Interface Statistics Block for interface id.
func (s *Sink) WriteStats(id int, st pcapgo.NgInterfaceStatistics) error {
	if s.err != nil {
		return s.err
	}
	if id < 0 || id >= s.ifaces {
		return fmt.Errorf("pcapng: statistics for interface %d, but the section describes %d", id, s.ifaces)
	}
	if err := s.ng.WriteInterfaceStats(id, st); err != nil {
		return s.fail(err, "writing interface statistics")
	}
	s.blockDone()
	return nil
}

// Buffered returns the number of bytes written but not yet flushed.
func (s *Sink) Buffered() int { return s.out.Buffered() }

// Flush pushes every complete block written so far to the underlying
// writer.
func (s *Sink) Flush() error {
	if s.err != nil {
		return s.err
	}
	// s.ng writes into s.out (see NewSink): one flush pushes both.
	if err := s.out.Flush(); err != nil {
		return s.fail(err, "flushing")
	}
	return nil
}

// fail handles an error of pcapgo. An error of the output makes the sink
// stop for good (sticky), and a regular file is cut back to its last
// complete block, so the output stays a valid pcapng. Any other error
// (pcapgo checks its arguments before writing a byte) is returned as it
// is, and the sink goes on.
func (s *Sink) fail(err error, doing string) error {
	if s.dst.err == nil {
		return fmt.Errorf("pcapng: %s: %w", doing, err)
	}
	if s.err != nil {
		return s.err
	}
	s.err = &OutputError{Name: s.name, Err: unwrapPath(s.dst.err)}
	if s.file != nil {
		end := s.base + s.dst.safe
		if st, serr := s.file.Stat(); serr == nil && st.Size() > end {
			// Best effort: the write error is what gets reported.
			_ = s.file.Truncate(end)
		}
	}
	return s.err
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Written returns how many bytes of complete blocks reached the output.
func (s *Sink) Written() int64 { return s.dst.safe }

// Err returns the first output error, if any (an *OutputError).
func (s *Sink) Err() error { return s.err }
