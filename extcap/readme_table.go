package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// argsCommand prints the argument table as Markdown for the README, so the
// README cannot drift from what the binary accepts (a test compares them).
func argsCommand(e *env, table []arg) *cli.Command {
	return &cli.Command{
		Name:   "args",
		Usage:  "print the capture arguments as a Markdown table",
		Hidden: true,
		Action: func(c *cli.Context) error {
			writeMarkdownTable(e.stdout, table)
			return nil
		},
	}
}

func writeMarkdownTable(w io.Writer, table []arg) {
	fmt.Fprintln(w, "| Argument | tshark preference | Type | Default | Tab | What it does |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for i := range table {
		a := &table[i]
		def := a.defaultValue()
		switch {
		case a.DefaultText != "":
			def = a.DefaultText
		case def == "":
			def = "—"
		default:
			def = "`" + def + "`"
		}
		desc := a.Tooltip
		if len(a.Values) > 0 {
			var vs []string
			for _, v := range a.Values {
				vs = append(vs, "`"+v.Value+"`")
			}
			desc += " (" + strings.Join(vs, ", ") + ")"
		}
		fmt.Fprintf(w, "| `%s` | `extcap.genesys_sip.%s` | %s | %s | %s | %s |\n",
			a.Call, a.name(), a.Type, def, a.Group, strings.ReplaceAll(desc, "|", "\\|"))
	}
}
