package main

import (
	"fmt"
	"io"
	"strings"
)

// The extcap protocol: what Wireshark and tshark ask the binary, and what
// it answers. The reference is Wireshark's doc/extcap.adoc and
// extcap/udpdump.c; argument passing was checked against tshark 4.0.

const (
	ifaceValue   = "genesys-sip"
	ifaceDisplay = "Genesys SIP"
	helpURL      = "https://github.com/genesys-sip/genesys-sip"
	// dltUser0 is what extcaps whose link type depends on the input
	// announce (sshdump does the same); the pcapng IDBs carry the real
	// link types.
	dltUser0 = 147
)

// writeInterfaces answers --extcap-interfaces.
func writeInterfaces(w io.Writer) {
	fmt.Fprintf(w, "extcap {version=%s}{help=%s}{display=SIP with Genesys Cloud trace annotations}\n", extcapEscape(version), helpURL)
	fmt.Fprintf(w, "interface {value=%s}{display=%s}\n", ifaceValue, ifaceDisplay)
}

// writeDLTs answers --extcap-dlts.
func writeDLTs(w io.Writer) {
	fmt.Fprintf(w, "dlt {number=%d}{name=%s}{display=Link types of the captured or replayed interfaces}\n", dltUser0, ifaceValue)
}

// writeConfig answers --extcap-config, or, with reload set, the
// --extcap-reload-option query for one selector. It runs at every Wireshark
// start, so it does no I/O beyond what values() of a reloadable selector
// needs.
func writeConfig(w io.Writer, table []arg, reload string) error {
	reload = strings.TrimLeft(reload, "-")
	found := reload == ""
	for i := range table {
		a := &table[i]
		if reload != "" {
			if a.flag() != reload {
				continue
			}
			found = true
			writeValues(w, i, a)
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "arg {number=%d}{call=%s}{display=%s}{type=%s}", i, a.Call, extcapEscape(a.Display), a.Type)
		if a.Tooltip != "" {
			fmt.Fprintf(&b, "{tooltip=%s}", extcapEscape(a.Tooltip))
		}
		if a.Default != "" {
			fmt.Fprintf(&b, "{default=%s}", extcapEscape(a.Default))
		}
		if a.Range != "" {
			fmt.Fprintf(&b, "{range=%s}", a.Range)
		}
		if a.MustExist {
			b.WriteString("{mustexist=true}")
		}
		if a.FileExt != "" {
			fmt.Fprintf(&b, "{fileext=%s}", extcapEscape(a.FileExt))
		}
		if a.Reload {
			b.WriteString("{reload=true}")
		}
		if a.NoSave {
			b.WriteString("{save=false}")
		}
		fmt.Fprintf(&b, "{group=%s}\n", extcapEscape(a.Group))
		io.WriteString(w, b.String())
		writeValues(w, i, a)
	}
	if !found {
		return fmt.Errorf("--extcap-reload-option %s: no such reloadable argument", reload)
	}
	return nil
}

func writeValues(w io.Writer, i int, a *arg) {
	vals := a.Values
	if a.values != nil {
		vals = a.values()
	}
	for _, v := range vals {
		def := ""
		if v.Default {
			def = "{default=true}"
		}
		fmt.Fprintf(w, "value {arg=%d}{value=%s}{display=%s}%s\n", i, extcapEscape(v.Value), extcapEscape(v.Display), def)
	}
}

// extcapEscape keeps a value from closing its {…} sentence early: Wireshark's
// parser has no escape for braces, so they become parentheses.
func extcapEscape(s string) string {
	return strings.NewReplacer("{", "(", "}", ")", "\n", " ").Replace(s)
}
