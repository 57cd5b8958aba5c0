// Package pcapng is the output side of the pipeline: a pcapng stream
// (Section Header, Interface Description, Enhanced Packet blocks with
// comments, Decryption Secrets and Interface Statistics blocks) written with
// gopacket's pcapgo.NgWriter to a file, stdout or a Wireshark extcap FIFO.
//
// Blocks are always written whole: whatever Flush has pushed out is a valid
// pcapng prefix that Wireshark reads without error.
package pcapng

import (
	"bufio"
	"fmt"
	"io"
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
}

// Sink writes one pcapng section. It is not safe for concurrent use.
type Sink struct {
	out    *bufio.Writer
	ng     *pcapgo.NgWriter
	ifaces int
	err    error // sticky write error
}

// NewSink writes the Section Header Block and the first interface's
// Interface Description Block to w (pcapgo cannot write a section without
// one). The first interface gets index 0.
func NewSink(w io.Writer, opt Options, first source.Interface) (*Sink, error) {
	size := opt.BufferSize
	if size <= 0 {
		size = 256 << 10
	}
	s := &Sink{out: bufio.NewWriterSize(w, size)}
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
		return nil, fmt.Errorf("pcapng: writing section header: %w", err)
	}
	s.ifaces = 1
	return s, nil
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
		return 0, s.fail(fmt.Errorf("pcapng: writing interface description: %w", err))
	}
	s.ifaces++
	return id, nil
}

// Interfaces returns how many interfaces the section describes.
func (s *Sink) Interfaces() int { return s.ifaces }

// WritePacket writes one Enhanced Packet Block. ci.InterfaceIndex is the
// sink's interface index. opts may be nil.
func (s *Sink) WritePacket(ci gopacket.CaptureInfo, data []byte, opts *pcapgo.NgPacketOptions) error {
	if s.err != nil {
		return s.err
	}
	var err error
	if opts == nil {
		err = s.ng.WritePacket(ci, data)
	} else {
		err = s.ng.WritePacketWithOptions(ci, data, *opts)
	}
	if err != nil {
		return s.fail(fmt.Errorf("pcapng: writing packet: %w", err))
	}
	return nil
}

// WriteTLSSecrets writes a Decryption Secrets Block holding NSS key-log
// lines. Wireshark applies it to the packets that follow.
func (s *Sink) WriteTLSSecrets(keylog []byte) error {
	if s.err != nil {
		return s.err
	}
	if err := s.ng.WriteDecryptionSecretsBlock(pcapgo.DSB_SECRETS_TYPE_TLS, keylog); err != nil {
		return s.fail(fmt.Errorf("pcapng: writing decryption secrets: %w", err))
	}
	return nil
}

// WriteStats writes an Interface Statistics Block for interface id.
func (s *Sink) WriteStats(id int, st pcapgo.NgInterfaceStatistics) error {
	if s.err != nil {
		return s.err
	}
	if err := s.ng.WriteInterfaceStats(id, st); err != nil {
		return s.fail(fmt.Errorf("pcapng: writing interface statistics: %w", err))
	}
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
	if err := s.ng.Flush(); err != nil {
		return s.fail(err)
	}
	if err := s.out.Flush(); err != nil {
		return s.fail(err)
	}
	return nil
}

// fail records the first write error; a sink that failed writes nothing
// more, so the output stays a valid prefix.
func (s *Sink) fail(err error) error {
	if s.err == nil {
		s.err = err
	}
	return s.err
}

// Err returns the first write error, if any.
func (s *Sink) Err() error { return s.err }
