package main

import (
	"fmt"
	"os"
	"slices"

	"github.com/urfave/cli/v2"
)

// redactCommand is `genesys-sip redact IN -w OUT`: the redaction of the
// capture pipeline applied to an existing capture, nothing else (no
// annotation, no alerts), written as pcapng.
func redactCommand(e *env, table []arg) *cli.Command {
	sub := selectArgs(table, func(a *arg) bool {
		return a.Group == "Privacy" || a.Group == "Debug" || a.Call == "--tls-keylog" || a.Call == "--tls-rsa-key"
	})
	return &cli.Command{
		Name:      "redact",
		Usage:     "redact phone numbers in an existing capture (length-preserving; checksums repaired)",
		ArgsUsage: "IN.pcap[ng] -w OUT.pcapng",
		Description: "Every SIP message keeps its length and structure; numbers become keyed tokens that stay\n" +
			"consistent across the capture (set GENESYS_SIP_REDACT_KEY or --redact-key to get the same tokens\n" +
			"in several captures). With --tls-keylog, SIP over TLS is decrypted into redacted exported PDUs.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "write", Aliases: []string{"w"}, Usage: "the output pcapng file, or - for stdout", Required: true},
		}, tableFlags(sub, false)...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("redact", "give one input capture (got %d arguments): genesys-sip redact IN.pcap -w OUT.pcapng", c.NArg())
			}
			opts, err := optionsFrom(c, sub)
			if err != nil {
				return err
			}
			opts.ReplayFile, opts.ReplaySpeed, opts.ReplayLoop = c.Args().First(), 0, 1
			opts.Redact = true // the command's whole point; --redact is not among its flags
			opts.AlertCodesText = ""
			if slices.Contains([]string{opts.ReplayFile}, c.String("write")) {
				return fmt.Errorf("redact: the output would overwrite the input %s", opts.ReplayFile)
			}
			target := c.String("write")
			out := nopCloser{e.stdout}
			var f *os.File
			if target != "-" {
				if f, err = os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
					return fmt.Errorf("-w %s: %w", target, unwrapPath(err))
				}
				out.Writer = f
			}
			err = e.capture(opts, out, true, nil, nil)
			if f != nil {
				if cerr := f.Close(); err == nil && cerr != nil {
					err = fmt.Errorf("-w %s: %w", target, cerr)
				}
			}
			return err
		},
	}
}
