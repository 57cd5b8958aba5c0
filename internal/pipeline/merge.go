package pipeline

import (
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/genesys-sip/genesys-sip/internal/decode"
	"github.com/genesys-sip/genesys-sip/internal/source"
	"github.com/genesys-sip/genesys-sip/internal/source/replay"
)

// mergeName is the output interface of the Genesys-side PCAP's frames.
const mergeName = "Genesys Cloud PCAP"

// merger interleaves the frames of the Genesys-side PCAP (downloaded from
// the Genesys Cloud API) into the output as an interface of its own, moved
// onto the capture clock. A nil merger merges nothing.
//
// The file is streamed: one frame is read ahead. A frame's output time is
// its timestamp minus the clock offset (Genesys minus capture, as the
// annotation comments' skew=: the estimate of the matching pass, or
// --clock-offset), plus the wire frames' re-basing shift. Frame bytes are
// written unchanged except for redaction, which rewrites SIP text in place
// (same length, checksums repaired) when it is on. Every pass over the
// replay (loop) merges the file again. A file that cannot be read stops
// the merge with a warning in the log; the capture goes on.
type merger struct {
	p      *processor
	path   string
	src    *replay.Source
	pkt    *source.Packet // read ahead, not yet written; nil: read the next
	ifaces []int          // input interface → sink interface, -1 until used
	done   bool           // this pass has read the whole file (or failed)
	ended  bool           // writeRest ran: the next writeDue starts a new pass
	shift  time.Duration  // re-basing shift of the last wire frame
	buf    []byte         // copy of a frame being redacted
	n      uint64         // frames merged
}

func newMerger(p *processor, path string) *merger {
	return &merger{p: p, path: path}
}

// writeDue writes the merged frames due before a wire frame at ts.
func (m *merger) writeDue(ts time.Time, shift time.Duration) error {
	if m == nil {
		return nil
	}
	if m.ended {
		m.ended, m.done = false, false
	}
	m.shift = shift
	for {
		pkt := m.peek()
		if pkt == nil {
			return nil
		}
		t := m.when(pkt, shift)
		if t.After(ts) {
			return nil
		}
		if err := m.write(pkt, t); err != nil {
			return err
		}
	}
}

// writeRest writes the merged frames after the last wire frame.
func (m *merger) writeRest() error {
	if m == nil {
		return nil
	}
	if m.ended {
		m.ended, m.done = false, false
	}
	for {
		pkt := m.peek()
		if pkt == nil {
			break
		}
		if err := m.write(pkt, m.when(pkt, m.shift)); err != nil {
			return err
		}
	}
	m.closeSource()
	m.ended = true
	m.p.r.log.Info("Genesys-side PCAP merged", "frames", m.n, "offset", m.p.corr.fmtr.Skew.Offset.String())
	return nil
}

// when is a merged frame's output time.
func (m *merger) when(pkt *source.Packet, shift time.Duration) time.Time {
	return pkt.CI.Timestamp.Add(-m.p.corr.fmtr.Skew.Offset).Add(shift)
}

// peek returns the next frame of the file, or nil at its end.
func (m *merger) peek() *source.Packet {
	if m.pkt != nil || m.done {
		return m.pkt
	}
	log := m.p.r.log
	if m.src == nil {
		src, err := replay.Open(m.path)
		if err != nil {
			log.Warn("Genesys-side PCAP not merged", "err", err)
			m.done = true
			return nil
		}
		m.src = src
	}
	pkt, err := m.src.Next()
	if err != nil {
		if err != io.EOF {
			log.Warn("Genesys-side PCAP: merge stopped", "frames", m.n, "err", err)
		}
		m.closeSource()
		m.done = true
		return nil
	}
	m.pkt = pkt
	return pkt
}

func (m *merger) closeSource() {
	if m.src != nil {
		m.src.Close()
		m.src = nil
	}
	m.pkt = nil
}

// write writes the read-ahead frame at t on its output interface.
func (m *merger) write(pkt *source.Packet, t time.Time) error {
	m.pkt = nil
	sink := m.p.r.sink
	if sink == nil {
		return nil
	}
	in := int(pkt.CI.InterfaceIndex)
	for len(m.ifaces) <= in {
		m.ifaces = append(m.ifaces, -1)
	}
	desc := m.src.Interface(in)
	if m.ifaces[in] < 0 {
		what := "Genesys-side capture downloaded from Genesys Cloud, moved onto the capture clock"
		if desc.Name != "" {
			what += " (interface " + desc.Name + ")"
		}
		id, err := sink.AddInterface(source.Interface{LinkType: desc.LinkType, SnapLen: desc.SnapLen, Name: mergeName, Description: what})
		if err != nil {
			return err
		}
		m.ifaces[in] = id
	}
	data := pkt.Data
	if m.p.cfg.Redactor != nil {
		m.buf = append(m.buf[:0], data...)
		data = m.buf
		m.redact(desc.LinkType, data)
	}
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(data), Length: pkt.CI.Length, InterfaceIndex: m.ifaces[in]}
	if ci.Length < ci.CaptureLength {
		ci.Length = ci.CaptureLength
	}
	if err := sink.WritePacket(ci, data, nil); err != nil {
		return err
	}
	m.n++
	return nil
}

// redact rewrites, in place, the phone numbers of a merged frame's
// transport payloads with redact.Scrub: complete SIP lines as the redactor
// always treats them, lines cut at the segment's edges conservatively.
func (m *merger) redact(link layers.LinkType, frame []byte) {
	red := m.p.cfg.Redactor
	changed := false
	decode.Payloads(link, frame, func(_ int, b []byte) {
		if red.Scrub(b) > 0 {
			changed = true
		}
	})
	if changed {
		if err := decode.FixChecksums(link, frame); err != nil {
			m.p.r.log.Debug("checksums of a merged frame", "err", err)
		}
	}
}
