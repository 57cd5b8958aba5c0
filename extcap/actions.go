package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/genesys-sip/genesys-sip/internal/source/bpf"
)

// extcapFlags are the protocol flags Wireshark passes. They are hidden from
// --help: people use the subcommands.
func extcapFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "extcap-interfaces", Hidden: true},
		&cli.StringFlag{Name: "extcap-version", Hidden: true},
		&cli.StringFlag{Name: "extcap-interface", Hidden: true},
		&cli.BoolFlag{Name: "extcap-dlts", Hidden: true},
		&cli.BoolFlag{Name: "extcap-config", Hidden: true},
		&cli.StringFlag{Name: "extcap-reload-option", Hidden: true},
		&cli.StringFlag{Name: "extcap-capture-filter", Hidden: true},
		&cli.BoolFlag{Name: "capture", Hidden: true},
		&cli.StringFlag{Name: "fifo", Hidden: true},
		&cli.StringFlag{Name: "extcap-control-in", Hidden: true},
		&cli.StringFlag{Name: "extcap-control-out", Hidden: true},
	}
}

// tableFlags turns the argument table into CLI flags. Every value is taken
// as a string and parsed by the table, so tshark's "--redact FALSE" and a
// person's "--redact=false" go through the same checks and errors.
func tableFlags(table []arg, hidden bool) []cli.Flag {
	var fs []cli.Flag
	for i := range table {
		a := &table[i]
		if a.Type == typeBoolflag {
			fs = append(fs, &cli.BoolFlag{Name: a.flag(), Usage: a.Tooltip, Category: a.Group, Hidden: hidden})
			continue
		}
		fs = append(fs, &cli.StringFlag{
			Name: a.flag(), Usage: a.Tooltip, Category: a.Group, Hidden: hidden,
			DefaultText: a.defaultValue(),
		})
	}
	return fs
}

// optionsFrom reads the table's flags into captureOptions, applying
// defaults for absent ones. An invalid value names the argument.
func optionsFrom(c *cli.Context, table []arg) (captureOptions, error) {
	var o captureOptions
	for i := range table {
		a := &table[i]
		v := a.defaultValue()
		switch {
		case a.Type == typeBoolflag:
			v = "false"
			if c.Bool(a.flag()) {
				v = "true"
			}
		case c.IsSet(a.flag()):
			v = c.String(a.flag())
		}
		if err := a.set(&o, v); err != nil {
			return o, fmt.Errorf("%s: %w", a.Call, err)
		}
	}
	return o, nil
}

// checkInterface rejects an --extcap-interface this binary does not provide.
func checkInterface(c *cli.Context) error {
	if name := c.String("extcap-interface"); name != ifaceValue {
		return fmt.Errorf("unknown extcap interface %q (this binary provides %q)", name, ifaceValue)
	}
	return nil
}

// extcapAction handles a run without subcommand: the extcap protocol.
func (e *env) extcapAction(c *cli.Context, table []arg) error {
	switch {
	case c.Bool("extcap-interfaces"):
		writeInterfaces(e.stdout)
		writeControls(e.stdout)
		return nil
	case c.Bool("extcap-dlts"):
		if err := checkInterface(c); err != nil {
			return err
		}
		writeDLTs(e.stdout)
		return nil
	case c.Bool("extcap-config"):
		if err := checkInterface(c); err != nil {
			return err
		}
		return writeConfig(e.stdout, table, c.String("extcap-reload-option"))
	case c.Bool("capture"):
		return e.extcapCapture(c, table)
	case c.IsSet("extcap-capture-filter"):
		// Wireshark colours the filter field from our answer: nothing on
		// stdout means valid, anything else is the reason it is not.
		if err := bpf.Validate(c.String("extcap-capture-filter")); err != nil {
			fmt.Fprintln(e.stdout, err)
		}
		return nil
	}
	return cli.ShowAppHelp(c)
}

// extcapCapture runs a capture for Wireshark: the FIFO is opened before
// anything can fail, because tshark 4.0 waits on it forever otherwise, and
// errors go to stderr, which Wireshark shows to the user.
func (e *env) extcapCapture(c *cli.Context, table []arg) error {
	if err := checkInterface(c); err != nil {
		return err
	}
	fifo := c.String("fifo")
	if fifo == "" {
		return errors.New("--capture needs --fifo PATH")
	}
	out, err := openFIFO(fifo)
	if err != nil {
		return fmt.Errorf("cannot open the capture pipe %s: %w", fifo, err)
	}
	err = e.extcapRun(c, table, out)
	if err != nil {
		// Say why before the pipe closes: tshark stops reading the
		// extcap's stderr soon after it sees the end of the capture.
		fmt.Fprintf(e.stderr, "genesys-sip: %v\n", err)
		out.Close()
		return exitError{code: 1}
	}
	return out.Close()
}

func (e *env) extcapRun(c *cli.Context, table []arg, out *os.File) error {
	opts, err := optionsFrom(c, table)
	if err != nil {
		return err
	}
	opts.CaptureFilter = c.String("extcap-capture-filter")
	var tb *toolbar
	if in, outPath := c.String("extcap-control-in"), c.String("extcap-control-out"); in != "" || outPath != "" {
		tb = openToolbar(in, outPath)
	}
	err = e.capture(opts, out, false, nil, tb)
	wait := toolbarWait
	if err != nil {
		wait = 0 // say why at once; Wireshark is not coming to a failed capture
	}
	tb.Close(wait)
	return err
}

// openFIFO opens Wireshark's capture pipe for writing (a FIFO on Unix, a
// named pipe on Windows; both open like files).
func openFIFO(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY, 0)
}
