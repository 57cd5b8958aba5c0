//go:build cgo || windows

package bpf

import (
	"fmt"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// Filter is a compiled filter for one link type.
type Filter struct {
	bpf *pcap.BPF
}

// Compile compiles expr for packets of the given link type.
func Compile(link layers.LinkType, snaplen int, expr string) (*Filter, error) {
	if snaplen <= 0 {
		snaplen = 262144
	}
	b, err := pcap.NewBPF(link, snaplen, expr)
	if err != nil {
		return nil, fmt.Errorf("capture filter %q: %s", expr, strings.TrimSpace(err.Error()))
	}
	return &Filter{bpf: b}, nil
}

// Matches reports whether the packet passes the filter.
func (f *Filter) Matches(ci gopacket.CaptureInfo, data []byte) bool {
	return f.bpf.Matches(ci, data)
}
