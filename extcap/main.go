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
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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
		var ue usageError
		if errors.As(err, &ue) {
			prefix := "genesys-sip"
			if ue.cmd != "" {
				prefix += " " + ue.cmd
			}
			fmt.Fprintf(stderr, "%s: %s\n", prefix, printable(ue.msg))
			return 2
		}
		fmt.Fprintf(stderr, "genesys-sip: %s\n", printable(err.Error()))
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
		ExitErrHandler:  func(*cli.Context, error) {},
		HideHelpCommand: true,
		Flags:           append(extcapFlags(), tableFlags(table, true)...),
		Action: func(c *cli.Context) error {
			if c.Args().Present() && !extcapRequest(c) {
				return rootArgs(c)
			}
			return e.extcapAction(c, table)
		},
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
	app.OnUsageError = onUsageError("")
	for _, cmd := range app.Commands {
		tuneCommand(cmd, table)
	}
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
	rest := args[2:]
	for _, a := range rest {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" || a == "-help" {
			// `traces fetch --help`, `messages x.pcap --help`: help for
			// the command, not a search for a help topic named after
			// the positional argument.
			return []string{args[0], args[1], "--help"}
		}
	}
	var flags, positional []string
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

// usageError is a mistake in how the command was called: run prints it as
// one line, "genesys-sip CMD: msg", and exits 2 (the usual status for a
// usage error), without the help text that would bury it.
type usageError struct{ cmd, msg string }

func (e usageError) Error() string { return e.msg }

// usagef returns a usageError of the command cmd ("" for the top level).
func usagef(cmd, format string, args ...any) error {
	return usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// onUsageError turns the flag parser's complaints into one line with a
// suggestion for a mistyped flag.
func onUsageError(cmd string) cli.OnUsageErrorFunc {
	return func(c *cli.Context, err error, _ bool) error {
		var flags []cli.Flag
		if c.Command != nil && c.Command.Name != "" {
			flags = c.Command.Flags
		} else {
			flags = c.App.Flags
		}
		msg := err.Error()
		switch {
		case strings.HasPrefix(msg, "flag provided but not defined: "):
			name := strings.TrimLeft(strings.TrimPrefix(msg, "flag provided but not defined: "), "-")
			msg = "unknown flag " + dashed(name)
			if s := suggestFlag(flags, name); s != "" {
				msg += "; did you mean " + s + "?"
			}
			return usagef(cmd, "%s (see %s --help)", msg, helpName(cmd))
		case strings.HasPrefix(msg, "flag needs an argument: "):
			name := strings.TrimLeft(strings.TrimPrefix(msg, "flag needs an argument: "), "-")
			msg = flagNames(flags, name) + " needs a value"
			if u := flagUsage(flags, name); u != "" {
				msg += " (" + u + ")"
			}
			return usagef(cmd, "%s", msg)
		}
		return usagef(cmd, "%s (see %s --help)", msg, helpName(cmd))
	}
}

func helpName(cmd string) string {
	if cmd == "" {
		return "genesys-sip"
	}
	return "genesys-sip " + cmd
}

func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagOf returns the flag of flags with the name (or alias) name.
func flagOf(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// flagNames spells a flag the way its help line does, short form first:
// "-w/--write".
func flagNames(flags []cli.Flag, name string) string {
	f := flagOf(flags, name)
	if f == nil {
		return dashed(name)
	}
	names := slices.Clone(f.Names())
	sort.SliceStable(names, func(i, j int) bool { return len(names[i]) == 1 && len(names[j]) > 1 })
	for i := range names {
		names[i] = dashed(names[i])
	}
	return strings.Join(names, "/")
}

func flagUsage(flags []cli.Flag, name string) string {
	if f, ok := flagOf(flags, name).(cli.DocGenerationFlag); ok {
		return f.GetUsage()
	}
	return ""
}

// suggestFlag returns cli.SuggestFlag's nearest flag, or "" when it is not
// near enough to be what was meant.
func suggestFlag(flags []cli.Flag, typed string) string {
	var visible []cli.Flag
	for _, f := range flags {
		if vf, ok := f.(cli.VisibleFlag); !ok || vf.IsVisible() {
			visible = append(visible, f)
		}
	}
	if len(visible) == 0 {
		visible = flags // the top level: its capture arguments are hidden, but taken
	}
	s := cli.SuggestFlag(visible, typed, false)
	if s == "" || !near(typed, strings.TrimLeft(s, "-")) {
		return ""
	}
	return s
}

// suggestCommand returns the command nearest to typed, or "".
func suggestCommand(cmds []*cli.Command, typed string) string {
	var visible []*cli.Command
	for _, c := range cmds {
		if !c.Hidden {
			visible = append(visible, c)
		}
	}
	var name string
	// SuggestCommand answers with SuggestDidYouMeanTemplate filled in.
	if _, err := fmt.Sscanf(cli.SuggestCommand(visible, typed), cli.SuggestDidYouMeanTemplate, &name); err != nil {
		return ""
	}
	if name == "help" || name == "h" || !near(typed, name) {
		return ""
	}
	return name
}

// near reports whether typed is a plausible misspelling of name: a few
// edits (or a prefix), not merely the least distant of unrelated words.
func near(typed, name string) bool {
	typed, name = strings.ToLower(typed), strings.ToLower(name)
	if len(typed) >= 3 && strings.HasPrefix(name, typed) {
		return true
	}
	return editDistance(typed, name) <= max(1, min(3, len(name)/3))
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// tuneCommand gives a subcommand the top level's voice: one-line usage
// errors, required flags checked with a one-line message (urfave/cli
// prints the whole help first), and the argument table's computed defaults
// in --help.
func tuneCommand(cmd *cli.Command, table []arg) {
	cmd.OnUsageError = onUsageError(cmd.Name)
	var required []string
	for _, f := range cmd.Flags {
		sf, ok := f.(*cli.StringFlag)
		if !ok {
			continue
		}
		if sf.Required {
			sf.Required = false
			required = append(required, sf.Name)
		}
		for i := range table {
			// A command's own flag of the same name (sample --clock-offset)
			// has its own default; table flags carry the tooltip as usage.
			if a := &table[i]; a.flag() == sf.Name && sf.Usage == a.Tooltip && sf.DefaultText == "" {
				sf.DefaultText = a.helpDefault()
			}
		}
	}
	if len(required) > 0 {
		before := cmd.Before
		cmd.Before = func(c *cli.Context) error {
			for _, name := range required {
				if !c.IsSet(name) {
					msg := flagNames(cmd.Flags, name) + " is required"
					if u := flagUsage(cmd.Flags, name); u != "" {
						msg += " (" + u + ")"
					}
					return usagef(cmd.Name, "%s", msg)
				}
			}
			if before != nil {
				return before(c)
			}
			return nil
		}
	}
	for _, sub := range cmd.Subcommands {
		tuneCommand(sub, table)
	}
}

// extcapRequest reports whether the top level was called by Wireshark
// (one of the extcap protocol's requests), where stray words are ignored
// as before.
func extcapRequest(c *cli.Context) bool {
	for _, f := range []string{"extcap-interfaces", "extcap-dlts", "extcap-config", "capture", "extcap-capture-filter"} {
		if c.IsSet(f) {
			return true
		}
	}
	return false
}

// rootArgs handles words after `genesys-sip` that name no command: `help
// [COMMAND]`, or a mistyped command, which must not look like success.
func rootArgs(c *cli.Context) error {
	first := c.Args().First()
	if first == "help" {
		if name := c.Args().Get(1); name != "" {
			if c.App.Command(name) == nil {
				return unknownCommand(c, name)
			}
			return cli.ShowCommandHelp(c, name)
		}
		return cli.ShowAppHelp(c)
	}
	return unknownCommand(c, first)
}

func unknownCommand(c *cli.Context, name string) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if s := suggestCommand(c.App.Commands, name); s != "" {
		msg += "; did you mean " + s + "?"
	} else if fi, err := os.Stat(name); err == nil && !fi.IsDir() {
		msg += fmt.Sprintf("; to read a capture: genesys-sip messages %s, or genesys-sip capture --replay-file %s -w OUT.pcapng", name, name)
	}
	return usagef("", "%s (genesys-sip --help lists the commands)", msg)
}

// printable keeps a message to one line of text: control characters and
// bytes that are not UTF-8 (from a binary input quoted in an error) are
// escaped as Go does, so they cannot garble the terminal.
func printable(s string) string {
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteByte(' ')
		case !unicode.IsPrint(r) && r != ' ':
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
