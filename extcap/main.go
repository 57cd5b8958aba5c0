// Command genesys-sip is a Wireshark extcap ("Genesys SIP") and a CLI that
// streams SIP traffic — replayed from a saved capture or captured live — as
// pcapng, annotated with Genesys Cloud SIP trace records.
//
// Wireshark runs it with the extcap protocol flags (--extcap-interfaces,
// --extcap-config, --capture --fifo …); people run its subcommands.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// exitError carries an exit status with a message already printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run is main without the process: tests call it directly.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	if err := app.Run(intersperse(app, args)); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		fmt.Fprintf(stderr, "genesys-sip: %v\n", err)
		return 1
	}
	return 0
}

// env is what actions need besides their flags.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	table := argTable()
	app := &cli.App{
		Name:    "genesys-sip",
		Usage:   "SIP captures annotated with Genesys Cloud SIP traces, in Wireshark and on the command line",
		Version: versionString(),
		Description: "In Wireshark and tshark, genesys-sip is the capture interface \"Genesys SIP\" (an extcap).\n" +
			"Install it with `genesys-sip install`, then pick \"Genesys SIP\" in the capture interfaces,\n" +
			"or run `tshark -i genesys-sip -o extcap.genesys_sip.replayfile:FILE`.\n" +
			"The subcommands below do the same work outside Wireshark.",
		Writer:    stdout,
		ErrWriter: stderr,
		Reader:    stdin,
		// Errors are printed once, by run; never os.Exit inside the library.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%v (see genesys-sip --help)", err)
		},
		HideHelpCommand: true,
		Flags:           append(extcapFlags(), tableFlags(table, true)...),
		Action:          func(c *cli.Context) error { return e.extcapAction(c, table) },
		Commands: []*cli.Command{
			captureCommand(e, table),
			installCommand(e),
			uninstallCommand(e),
			versionCommand(e),
			redactCommand(e, table),
			tracesCommand(e),
			checkCommand(e),
			messagesCommand(e, table),
			callsCommand(e, table),
			correlateCommand(e, table),
			sampleCommand(e),
			argsCommand(e, table),
		},
	}
	sort.Sort(cli.FlagsByName(app.Flags))
	return app
}

// intersperse moves the positional arguments of a subcommand after its
// flags, so `genesys-sip redact IN -w OUT` works: the flag parser urfave/cli
// uses stops at the first positional argument. A flag's value is recognised
// from the command's own flag definitions; "--" ends the flags as usual.
func intersperse(app *cli.App, args []string) []string {
	if len(args) < 3 {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var flags, positional []string
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			positional = append(positional, rest[i+1:]...)
			i = len(rest)
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(rest) {
				i++
				flags = append(flags, rest[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	out := append([]string{args[0], args[1]}, flags...)
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
}

func versionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(e.stdout, "genesys-sip %s (%s, %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
