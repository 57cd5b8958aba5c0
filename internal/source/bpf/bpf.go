// Package bpf compiles and runs tcpdump-style capture filters with libpcap,
// the same compiler Wireshark and dumpcap use, so a filter means exactly what
// the user expects. It validates --extcap-capture-filter and filters
// replayed packets; the live source hands filters to libpcap directly.
//
// Builds without cgo (cross-compiled for macOS, for instance) have no
// libpcap: Compile then returns ErrUnavailable.
package bpf

import "errors"

// ErrUnavailable is returned when this binary was built without libpcap.
var ErrUnavailable = errors.New("capture filters need libpcap, and this build of genesys-sip has none (built without cgo)")
