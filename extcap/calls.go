package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/genesys-sip/genesys-sip/internal/decode"
	"github.com/genesys-sip/genesys-sip/internal/sip"
)

// callSummary is one call of `genesys-sip calls`.
type callSummary struct {
	Key       string    `json:"key"`        // the correlation value
	KeyHeader string    `json:"key_header"` // the header it came from, or Call-ID
	CallIDs   []string  `json:"call_ids"`   // every SIP Call-ID seen for the key
	Rewritten bool      `json:"call_id_rewritten"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	Messages  int       `json:"messages"`
	Frames    []uint64  `json:"frames"`
	Final     string    `json:"final"` // the last final response to the INVITE, if any
	Flow      []string  `json:"flow"`  // methods and statuses in order
}

// callsCommand is `genesys-sip calls FILE`: messages grouped by correlation
// key, showing when one X-Genesys-Call-ID spans several SIP Call-IDs (a proxy
// or B2BUA rewrote the Call-ID).
func callsCommand(e *env, table []arg) *cli.Command {
	return &cli.Command{
		Name:      "calls",
		Usage:     "group the SIP messages of a capture into calls by correlation key",
		ArgsUsage: "FILE",
		Description: "A call is keyed by the first correlation header found (X-Genesys-Call-ID, then x-inin-cnv);\n" +
			"messages without one join the call of their SIP Call-ID. A key spanning several Call-IDs is\n" +
			"flagged: a proxy or B2BUA rewrote the Call-ID, which is why Call-ID alone cannot correlate.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"},
		}, decodeFlags(table)...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("calls", "give one capture file (got %d arguments): genesys-sip calls FILE", c.NArg())
			}
			format := c.String("format")
			if format != "text" && format != "json" {
				return usagef("calls", "--format: %q is not text or json", format)
			}
			opts, log, red, closeLog, err := fileCommandSetup(c, table, e)
			if err != nil {
				return err
			}
			defer closeLog()
			set := sip.NewHeaderSet(opts.CorrelationHeaders...)
			var vals [][]byte
			calls := map[string]*callSummary{}
			var order []*callSummary
			byCallID := map[string]*callSummary{} // dialog learning
			malformed := 0
			ctx, stop := signalContext()
			defer stop()
			_, err = walkMessages(ctx, c.Args().First(), &opts, log, func(m *decode.Message, s *sip.Message) error {
				callID := string(s.CallID)
				var cs *callSummary
				vals = s.Lookup(set, vals)
				for i, v := range vals {
					if len(v) == 0 {
						continue
					}
					k := set.Name(i) + "\x00" + string(v)
					if cs = calls[k]; cs == nil {
						cs = &callSummary{Key: string(v), KeyHeader: set.Name(i), First: m.Time}
						calls[k] = cs
						order = append(order, cs)
					}
					break
				}
				switch {
				case cs != nil:
					byCallID[callID] = cs
				case byCallID[callID] != nil:
					cs = byCallID[callID]
				default:
					k := "Call-ID\x00" + callID
					if cs = calls[k]; cs == nil {
						cs = &callSummary{Key: callID, KeyHeader: "Call-ID", First: m.Time}
						calls[k] = cs
						order = append(order, cs)
					}
					byCallID[callID] = cs
				}
				if !slices.Contains(cs.CallIDs, callID) {
					cs.CallIDs = append(cs.CallIDs, callID)
				}
				cs.Messages++
				cs.Last = m.Time
				if len(cs.Frames) == 0 || cs.Frames[len(cs.Frames)-1] != m.Frame {
					cs.Frames = append(cs.Frames, m.Frame)
				}
				if s.IsRequest() {
					cs.Flow = append(cs.Flow, string(s.Method))
				} else {
					cs.Flow = append(cs.Flow, fmt.Sprint(s.StatusCode))
					if s.StatusCode >= 200 && strings.EqualFold(string(s.CSeqMethod), "INVITE") {
						cs.Final = string(s.AppendEvent(nil))
					}
				}
				return nil
			}, func(uint64, error) { malformed++ })
			if err != nil {
				return err
			}
			for _, cs := range order {
				cs.Rewritten = len(cs.CallIDs) > 1
				if red != nil {
					cs.Key = red.CallID(cs.Key)
					for i := range cs.CallIDs {
						cs.CallIDs[i] = red.CallID(cs.CallIDs[i])
					}
				}
			}
			w := bufio.NewWriter(e.stdout)
			defer w.Flush()
			if format == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if order == nil {
					order = []*callSummary{}
				}
				return enc.Encode(order)
			}
			rewritten := 0
			for _, cs := range order {
				flag := ""
				if cs.Rewritten {
					flag = "  ⚠ Call-ID rewritten"
					rewritten++
				}
				fmt.Fprintf(w, "%s %s  %d messages, frames %d–%d, %s  %s%s\n", cs.KeyHeader, cs.Key, cs.Messages,
					cs.Frames[0], cs.Frames[len(cs.Frames)-1], cs.Last.Sub(cs.First).Round(time.Millisecond), cs.Final, flag)
				fmt.Fprintf(w, "    Call-IDs: %s\n    flow: %s\n", strings.Join(cs.CallIDs, ", "), strings.Join(cs.Flow, " "))
			}
			fmt.Fprintf(w, "%d calls, %d with a rewritten Call-ID", len(order), rewritten)
			if malformed > 0 {
				fmt.Fprintf(w, ", %d malformed SIP messages skipped", malformed)
			}
			fmt.Fprintln(w)
			return nil
		},
	}
}
