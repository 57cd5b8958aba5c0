// Package dissector holds genesys.lua, the Wireshark Lua post-dissector that
// adds the genesys.* display-filter fields, and embeds it in the binary so
// `genesys-sip install` can put it into Wireshark's personal plugin folder.
package dissector

import (
	"bytes"
	_ "embed"
)

//go:embed genesys.lua
var lua []byte

// FileName is the name the dissector is installed under.
const FileName = "genesys.lua"

// Lua returns the dissector's source.
func Lua() []byte { return bytes.Clone(lua) }
