//go:build cgo || windows

package live

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gopacket/gopacket/pcap"

	"github.com/genesys-sip/genesys-sip/internal/source"
)

// readTimeout is how long libpcap waits before returning with no packet,
// and how long the kernel holds a partly filled block of packets: short
// enough that the pipeline can flush and notice cancellation well within the
// 50 ms latency budget.
//
// The capture does not use immediate mode: on Linux that selects TPACKET_V2,
// whose ring has one fixed slot per packet sized for the largest packet
// (64 KiB on loopback or with receive offload): libpcap 1.10 made a ring of
// 512 slots, about 20 ms of 2,000 calls/s on loopback (where each packet
// takes two), and a short stall of the reader (a FIFO write blocked on
// Wireshark, a busy CPU) dropped packets.
// Buffered mode (TPACKET_V3) packs packets into the buffer by their size;
// readTimeout bounds the delay it adds.
const readTimeout = 5 * time.Millisecond

// Devices lists the host's capture interfaces.
func Devices() ([]Device, error) {
	ifs, err := pcap.FindAllDevs()
	if err != nil {
		return nil, fmt.Errorf("listing capture interfaces: %w", err)
	}
	out := make([]Device, 0, len(ifs))
	for _, i := range ifs {
		d := Device{
			Name:        i.Name,
			Description: i.Description,
			Loopback:    i.Flags&0x1 != 0, // PCAP_IF_LOOPBACK
			Up:          i.Flags&0x2 != 0, // PCAP_IF_UP
		}
		for _, a := range i.Addresses {
			if a.IP != nil && !a.IP.IsLinkLocalUnicast() {
				d.Addresses = append(d.Addresses, a.IP.String())
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// Source is a running live capture. It is not safe for concurrent use,
// except Stats, which may be called from another goroutine.
type Source struct {
	h      *pcap.Handle
	device string
	filter string
	iface  source.Interface
	pkt    source.Packet
}

// Open starts capturing on cfg.Device.
func Open(cfg Config) (*Source, error) {
	dev := cfg.Device
	if dev == "" {
		devs, err := Devices()
		if err != nil {
			return nil, err
		}
		if dev, err = DefaultDevice(devs); err != nil {
			return nil, err
		}
	}
	filter := cfg.Filter
	if filter == "" {
		filter = DefaultFilter
	}
	snap := cfg.SnapLen
	if snap <= 0 {
		snap = 262144
	}
	buf := cfg.BufferSize
	if buf <= 0 {
		buf = 32 << 20
	}
	in, err := pcap.NewInactiveHandle(dev)
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", dev, err)
	}
	defer in.CleanUp()
	for _, set := range []func() error{
		func() error { return in.SetSnapLen(snap) },
		func() error { return in.SetPromisc(!cfg.NoPromisc) },
		func() error { return in.SetTimeout(readTimeout) },
		func() error { return in.SetImmediateMode(false) },
		func() error { return in.SetBufferSize(buf) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("device %s: %w", dev, err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, fmt.Errorf("device %s: %s", dev, explain(err))
	}
	if err := h.SetBPFFilter(filter); err != nil {
		h.Close()
		return nil, fmt.Errorf("capture filter %q: %w", filter, err)
	}
	s := &Source{h: h, device: dev, filter: filter}
	s.iface = source.Interface{
		LinkType:    h.LinkType(),
		SnapLen:     uint32(snap),
		Name:        dev,
		Description: "live capture on " + dev,
		Filter:      filter,
	}
	return s, nil
}

// explain turns libpcap's activation errors into advice.
func explain(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "ermission") || strings.Contains(msg, "not permitted"):
		return msg + " (capturing needs root or CAP_NET_RAW and CAP_NET_ADMIN: sudo setcap cap_net_raw,cap_net_admin+eip genesys-sip)"
	case strings.Contains(msg, "No such device") || strings.Contains(msg, "doesn't exist"):
		if ifs, e := net.Interfaces(); e == nil {
			var names []string
			for _, i := range ifs {
				names = append(names, i.Name)
			}
			return msg + " (interfaces: " + strings.Join(names, ", ") + ")"
		}
	}
	return msg
}

// Device returns the interface being captured.
func (s *Source) Device() string { return s.device }

// Filter returns the capture filter in effect.
func (s *Source) Filter() string { return s.filter }

// Interface returns the capture interface (index 0, the only one).
func (s *Source) Interface(int) source.Interface { return s.iface }

// Next returns the next packet, ErrIdle when none arrived within the read
// timeout, or another error when the capture failed.
func (s *Source) Next() (*source.Packet, error) {
	data, ci, err := s.h.ZeroCopyReadPacketData()
	switch {
	case err == nil:
	case errors.Is(err, pcap.NextErrorTimeoutExpired):
		return nil, ErrIdle
	default:
		return nil, fmt.Errorf("device %s: %w", s.device, err)
	}
	// gopacket fills InterfaceIndex with the OS interface index; packets
	// of this source are on its interface 0.
	ci.AncillaryData, ci.InterfaceIndex = nil, 0
	s.pkt.CI, s.pkt.Data = ci, data
	return &s.pkt, nil
}

// Stats returns libpcap's counters so far.
func (s *Source) Stats() (Stats, error) {
	st, err := s.h.Stats()
	if err != nil {
		return Stats{}, err
	}
	return Stats{Received: uint64(st.PacketsReceived), Dropped: uint64(st.PacketsDropped), IfDropped: uint64(st.PacketsIfDropped)}, nil
}

// Close stops the capture.
func (s *Source) Close() error {
	s.h.Close()
	return nil
}
