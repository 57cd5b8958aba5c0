package bpf

import "github.com/gopacket/gopacket/layers"

// Validate compiles expr the way Wireshark's capture-filter check does for an
// Ethernet interface and returns the compiler's complaint, if any.
func Validate(expr string) error {
	_, err := Compile(layers.LinkTypeEthernet, 262144, expr)
	return err
}
