//go:build !cgo && !windows

package live

import "github.com/genesys-sip/genesys-sip/internal/source"

// Devices reports that this build cannot capture.
func Devices() ([]Device, error) { return nil, ErrUnavailable }

// Source is a live capture; this build has none.
type Source struct{}

// Open reports that this build cannot capture.
func Open(Config) (*Source, error) { return nil, ErrUnavailable }

// Device returns the interface being captured.
func (s *Source) Device() string { return "" }

// Filter returns the capture filter in effect.
func (s *Source) Filter() string { return "" }

// Interface returns the capture interface.
func (s *Source) Interface(int) source.Interface { return source.Interface{} }

// Next reports that this build cannot capture.
func (s *Source) Next() (*source.Packet, error) { return nil, ErrUnavailable }

// Stats reports that this build cannot capture.
func (s *Source) Stats() (Stats, error) { return Stats{}, ErrUnavailable }

// Close does nothing.
func (s *Source) Close() error { return nil }
