package main

import (
	"context"
	"log/slog"

	"github.com/urfave/cli/v2"
)

// setupGenesys configures trace records fetched from the Genesys Cloud API
// (issue 5): for a replay, once for the capture's time window; for a live
// capture, a poller feeding s.cfg.Records. It does nothing when no
// credentials are configured or a --trace-file is given.
func setupGenesys(ctx context.Context, o *captureOptions, log *slog.Logger, cliMode bool, s *setup) error {
	return nil
}

// tracesCommand is `genesys-sip traces fetch|pcap`.
func tracesCommand(e *env) *cli.Command {
	return &cli.Command{Name: "traces", Usage: "fetch Genesys Cloud SIP trace records or the Genesys-side PCAP", Hidden: true}
}

// checkCommand is `genesys-sip check`.
func checkCommand(e *env) *cli.Command {
	return &cli.Command{Name: "check", Usage: "check Genesys Cloud credentials, permission and region", Hidden: true}
}
