// Package live captures packets from a network interface with libpcap (via
// gopacket's pcap package, which needs cgo on Unix and loads Npcap on
// Windows) as a source.Source.
//
// The capture runs with a short read timeout (not in immediate mode, see
// readTimeout), so a packet reaches the pipeline within a few milliseconds,
// and Next returns ErrIdle when nothing arrived for a moment: the pipeline
// flushes then.
package live

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultFilter keeps SIP's usual ports and every IP fragment. A filter on
// ports alone would drop all fragments but the first (only the first carries
// the UDP header), and with them every INVITE larger than the MTU. VLAN
// tagged frames are matched too.
const DefaultFilter = "(" + sipPorts + ") or " + fragments +
	" or (vlan and ((" + sipPorts + ") or " + fragments + "))"

const (
	sipPorts = "port 5060 or port 5061 or port 5062 or port 5080 or port 5081"
	// ip[6:2] & 0x3fff: the MF flag or a non-zero offset; ip6[6] = 44: a
	// fragment header right after the IPv6 header.
	fragments = "(ip[6:2] & 0x3fff != 0) or (ip6[6] = 44)"
)

// ErrIdle is returned by Next when no packet arrived within the read
// timeout. It is not an error; call Next again.
var ErrIdle = errors.New("live: no packet within the read timeout")

// ErrUnavailable is returned when this binary has no libpcap.
var ErrUnavailable = errors.New("live capture needs libpcap, and this build of genesys-sip has none (built without cgo); replay a file instead")

// Config configures a live capture.
type Config struct {
	// Device is the interface name; empty picks DefaultDevice.
	Device string
	// Filter is a BPF capture filter; empty means DefaultFilter.
	Filter string
	// SnapLen bounds the bytes kept per packet; 0 means 262144.
	SnapLen int
	// BufferSize is the kernel capture buffer; 0 means 32 MiB, enough for
	// thousands of calls per second without drops.
	BufferSize int
	// NoPromisc leaves the interface out of promiscuous mode.
	NoPromisc bool
}

// Device is a capture interface of this host.
type Device struct {
	Name        string
	Description string
	Addresses   []string
	Loopback    bool
	Up          bool
}

// Display is how the device is shown in Wireshark's selector.
func (d Device) Display() string {
	var b strings.Builder
	b.WriteString(d.Name)
	if d.Description != "" {
		fmt.Fprintf(&b, " (%s)", d.Description)
	} else if len(d.Addresses) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(d.Addresses, ", "))
	}
	return b.String()
}

// DefaultDevice picks the first interface that is up, not a loopback and
// has an address; failing that, the first one that is up.
func DefaultDevice(devs []Device) (string, error) {
	for _, d := range devs {
		if d.Up && !d.Loopback && len(d.Addresses) > 0 && d.Name != "any" {
			return d.Name, nil
		}
	}
	for _, d := range devs {
		if d.Up {
			return d.Name, nil
		}
	}
	if len(devs) > 0 {
		return devs[0].Name, nil
	}
	return "", errors.New("no capture interface found (are you allowed to capture? try as root or with CAP_NET_RAW)")
}

// Stats are libpcap's counters for the capture.
type Stats struct {
	Received  uint64 // packets the filter accepted
	Dropped   uint64 // dropped for lack of buffer space
	IfDropped uint64 // dropped by the interface or its driver
}
