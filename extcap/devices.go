package main

import "github.com/genesys-sip/genesys-sip/internal/source/live"

// deviceValues lists the host's capture interfaces for the --device
// selector, the default one first-class: Wireshark does not pass a
// selector's default, so the capture applies the same choice itself.
func deviceValues() []value {
	devs, err := live.Devices()
	if err != nil || len(devs) == 0 {
		return nil
	}
	def, _ := live.DefaultDevice(devs)
	vals := make([]value, 0, len(devs))
	for _, d := range devs {
		vals = append(vals, value{Value: d.Name, Display: d.Display(), Default: d.Name == def})
	}
	return vals
}
