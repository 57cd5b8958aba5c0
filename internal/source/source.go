// Package source defines where packets come from: the Packet and Interface
// types every source produces, and the Source interface the pipeline reads.
// Concrete sources live in sub-packages: replay (saved pcap/pcapng files) and
// live (libpcap).
package source

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Interface describes one capture interface of a source, the way a pcapng
// Interface Description Block does.
type Interface struct {
	LinkType    layers.LinkType
	SnapLen     uint32 // 0: unlimited
	Name        string
	Description string
	Filter      string
	OS          string
	Comment     string
}

// Packet is one captured frame. Data and Options are owned by the source
// and valid only until the next call to Next.
type Packet struct {
	// CI carries the timestamp, lengths and the index of the packet's
	// interface in the source's interface list (Source.Interface).
	CI   gopacket.CaptureInfo
	Data []byte
	// Options holds the pcapng per-packet options of the input (comments,
	// flags, hashes, drop count …), carried over unchanged.
	Options pcapgo.NgPacketOptions
}

// Source produces packets in capture order.
type Source interface {
	// Next returns the next packet, or io.EOF at the end of the input.
	// Any other error names the input and what is wrong with it.
	Next() (*Packet, error)
	// Interface returns the description of interface i. Interfaces can
	// appear while reading (a pcapng IDB mid-file); Next never returns a
	// packet whose interface Interface cannot describe.
	Interface(i int) Interface
	// Close releases the input.
	Close() error
}
