//go:build !cgo && !windows

package bpf

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Filter is a compiled filter for one link type.
type Filter struct{}

// Compile always fails: this build has no libpcap.
func Compile(link layers.LinkType, snaplen int, expr string) (*Filter, error) {
	return nil, ErrUnavailable
}

// Matches reports whether the packet passes the filter.
func (f *Filter) Matches(ci gopacket.CaptureInfo, data []byte) bool { return true }
