package scenario

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// snapLen is the snapshot length written in capture headers.
const snapLen = 262144

// WritePcap writes the frames as a classic pcap file with microsecond
// timestamps.
func (s *Scenario) WritePcap(w io.Writer) error { return s.writePcap(w, false) }

// WritePcapNanos writes the frames as a classic pcap file with nanosecond
// timestamps (magic 0xa1b23c4d).
func (s *Scenario) WritePcapNanos(w io.Writer) error { return s.writePcap(w, true) }

func (s *Scenario) writePcap(w io.Writer, nanos bool) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	pw := newPcapWriter(bw, nanos)
	if err := pw.WriteFileHeader(snapLen, layers.LinkTypeEthernet); err != nil {
		return fmt.Errorf("scenario: pcap header: %w", err)
	}
	for i := range s.Frames {
		f := &s.Frames[i]
		if err := pw.WritePacket(f.CI, f.Data); err != nil {
			return fmt.Errorf("scenario: pcap frame %d: %w", i+1, err)
		}
	}
	return bw.Flush()
}

func newPcapWriter(w io.Writer, nanos bool) *pcapgo.Writer {
	if nanos {
		return pcapgo.NewWriterNanos(w)
	}
	return pcapgo.NewWriter(w)
}

// newNgWriter starts a pcapng section with one Ethernet interface. The
// section and interface options name the generator and nothing about the
// host, so the bytes do not depend on where they were made.
func newNgWriter(w io.Writer) (*pcapgo.NgWriter, error) {
	return pcapgo.NewNgWriterInterface(w,
		pcapgo.NgInterface{Name: "sbc0", Description: "carrier SBC uplink (synthetic)", LinkType: layers.LinkTypeEthernet, TimestampResolution: 9},
		pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "genesys-sip scenario"}})
}

// WritePcapng writes the frames as a pcapng file (nanosecond timestamps).
func (s *Scenario) WritePcapng(w io.Writer) error {
	nw, err := newNgWriter(w)
	if err != nil {
		return fmt.Errorf("scenario: pcapng header: %w", err)
	}
	for i := range s.Frames {
		f := &s.Frames[i]
		if err := nw.WritePacket(f.CI, f.Data); err != nil {
			return fmt.Errorf("scenario: pcapng frame %d: %w", i+1, err)
		}
	}
	return nw.Flush()
}

// WriteTrace writes the records as the siptraces API returns them:
// {"data":[…],"count":N}, one record per line.
func (s *Scenario) WriteTrace(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"data":[`)
	for i, r := range s.Records {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n")
		bw.Write(r)
	}
	bw.WriteString("\n],\"count\":" + strconv.Itoa(len(s.Records)) + "}\n")
	return bw.Flush()
}

// groundTruth is the document WriteExpect writes.
type groundTruth struct {
	ClockOffset   string        `json:"clockOffset"` // Genesys clock minus capture clock
	ClockOffsetNs int64         `json:"clockOffsetNs"`
	TransitNs     int64         `json:"transitNs"`
	Frames        int           `json:"frames"`
	SIPMessages   int           `json:"sipMessages"`
	Calls         []Call        `json:"calls"`
	Records       []Expectation `json:"records"`
	Messages      []Message     `json:"messages"`
	Numbers       []string      `json:"numbers"`
}

// WriteExpect writes the ground truth as indented JSON: the true clock
// offset and transit, the calls, one expectation per record, every SIP
// message on the wire and every phone number.
func (s *Scenario) WriteExpect(w io.Writer) error {
	g := groundTruth{
		ClockOffset: s.ClockOffset.String(), ClockOffsetNs: s.ClockOffset.Nanoseconds(), TransitNs: s.Transit.Nanoseconds(),
		Frames: len(s.Frames), SIPMessages: len(s.Messages),
		Calls: s.Calls, Records: s.Expect, Messages: s.Messages, Numbers: s.Numbers,
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	return enc.Encode(g)
}
