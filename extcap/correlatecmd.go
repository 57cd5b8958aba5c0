package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/genesys-sip/genesys-sip/internal/correlate"
	"github.com/genesys-sip/genesys-sip/internal/redact"
	"github.com/genesys-sip/genesys-sip/internal/trace"
)

// correlateReport is what `genesys-sip correlate` prints.
type correlateReport struct {
	Skew           string          `json:"skew"`
	SkewSeconds    float64         `json:"skew_seconds"`
	Pairs          []correlatePair `json:"pairs"`
	UnmatchedWire  []correlateWire `json:"unmatched_wire"`
	GenesysOnly    []correlatePair `json:"genesys_only"`
	CallIDsDiffer  []callIDDiff    `json:"call_ids_differ"`
	WireMessages   int             `json:"wire_messages"`
	TraceRecords   int             `json:"trace_records"`
	CSVTimeKind    string          `json:"csv_time_kind"`
	RowsWithoutSIP int             `json:"rows_without_sip"`
}

type correlatePair struct {
	Frame      uint64 `json:"frame,omitempty"`
	WireTime   string `json:"wire_time,omitempty"`
	Event      string `json:"event"`
	CSeq       string `json:"cseq"`
	Call       string `json:"call,omitempty"`
	Conv       string `json:"conversation,omitempty"`
	RecordTime string `json:"record_time"` // corrected onto the capture clock
	Delta      string `json:"delta,omitempty"`
	Key        string `json:"key,omitempty"`
	Match      string `json:"match,omitempty"`
	Warn       string `json:"warn,omitempty"`
}

type correlateWire struct {
	Frame  uint64 `json:"frame"`
	Time   string `json:"time"`
	Event  string `json:"event"`
	CSeq   string `json:"cseq"`
	CallID string `json:"call_id"`
}

type callIDDiff struct {
	Key         string `json:"key"`
	WireCallID  string `json:"wire_call_id"`
	TraceCallID string `json:"trace_call_id"`
}

// correlateCommand is `genesys-sip correlate --csv FILE --trace FILE`: the
// correlation for people who exported Wireshark's packet list as CSV.
func correlateCommand(e *env, table []arg) *cli.Command {
	sub := selectArgs(table, func(a *arg) bool {
		return a.Call == "--correlation-headers" || a.Call == "--clock-offset" || outputPrivacy(a)
	})
	return &cli.Command{
		Name:  "correlate",
		Usage: "pair a Wireshark CSV export with Genesys Cloud trace records",
		Description: "The CSV comes from Wireshark (File > Export Packet Dissections > As CSV) or from\n" +
			"  tshark -r F -Y sip -T fields -E separator=, -E header=y -E quote=d -e frame.number -e frame.time_epoch \\\n" +
			"    -e sip.Call-ID -e sip.CSeq -e sip.Method -e sip.Status-Code -e sip.Via.branch -e ip.src -e ip.dst -e genesys.call_id\n" +
			"It needs a time column, a CSeq column and an X-Genesys-Call-ID column (any title containing it,\n" +
			"or genesys.call_id) or sip.Call-ID. Times: absolute (local to --tz unless they carry UTC), epoch, or\n" +
			"relative to the first packet. Prints the pairs, the clock skew, what is unmatched on each side,\n" +
			"and the calls whose Call-ID differs between the capture and Genesys.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "csv", Usage: "packet list exported as CSV", Required: true},
			&cli.StringFlag{Name: "trace", Usage: "Genesys Cloud trace records (any format the trace loaders read)", Required: true},
			&cli.StringFlag{Name: "tz", Usage: "zone of absolute CSV times without one (e.g. Europe/Berlin); default UTC"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "table, csv or json"},
		}, tableFlags(sub, false)...),
		Action: func(c *cli.Context) error {
			format := c.String("format")
			if format != "table" && format != "csv" && format != "json" {
				return fmt.Errorf("--format: %q is not table, csv or json", format)
			}
			loc := time.UTC
			if tz := c.String("tz"); tz != "" {
				l, err := time.LoadLocation(tz)
				if err != nil {
					return fmt.Errorf("--tz %s: not a time zone (use an IANA name such as Europe/Berlin)", tz)
				}
				loc = l
			}
			opts, log, red, closeLog, err := fileCommandSetup(c, sub, e)
			if err != nil {
				return err
			}
			defer closeLog()
			ctx, stop := signalContext()
			defer stop()
			f, err := os.Open(c.String("csv"))
			if err != nil {
				return fmt.Errorf("--csv %s: %w", c.String("csv"), unwrapPath(err))
			}
			defer f.Close()
			wire, crep, err := correlate.ReadCSV(f, c.String("csv"), correlate.CSVOptions{Location: loc, Headers: opts.CorrelationHeaders})
			if err != nil {
				return err
			}
			ix, trep, err := trace.LoadFile(ctx, c.String("trace"), trace.Options{CorrelationHeaders: opts.CorrelationHeaders})
			if err != nil {
				return err
			}
			defer ix.Close()
			log.Info("inputs", "csv_rows", crep.Rows, "sip", crep.SIP, "time", crep.TimeKind, "trace", trep.String())
			var recs []trace.Record
			for r := range ix.All() {
				recs = append(recs, r)
			}
			eng := correlate.New(recs, correlate.Options{Headers: opts.CorrelationHeaders, Offset: opts.ClockOffset})
			for i := range wire {
				eng.Observe(&wire[i])
			}
			res := eng.Finish()
			rep := buildCorrelateReport(wire, res, red)
			rep.TraceRecords, rep.CSVTimeKind, rep.RowsWithoutSIP = len(recs), crep.TimeKind, crep.Skipped
			if crep.TimeKind == "relative" {
				log.Warn("CSV times are relative to the first packet: the skew is Genesys' clock at the capture start, not a clock error")
			}
			w := bufio.NewWriter(e.stdout)
			defer w.Flush()
			switch format {
			case "json":
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			case "csv":
				return writeCorrelateCSV(w, rep)
			}
			return writeCorrelateTable(w, rep)
		},
	}
}

func buildCorrelateReport(wire []correlate.WireMsg, res correlate.Result, red *redact.Redactor) correlateReport {
	id := func(s string) string {
		if red != nil {
			return red.CallID(s)
		}
		return s
	}
	f := correlate.Formatter{Skew: res.Skew}
	rep := correlateReport{Skew: res.Skew.String(), SkewSeconds: res.Skew.Offset.Seconds(), WireMessages: len(wire)}
	matched := map[[2]uint64]bool{}
	seenDiff := map[string]bool{}
	byFrame := map[[2]uint64]*correlate.WireMsg{}
	for i := range wire {
		byFrame[[2]uint64{wire[i].Frame, uint64(wire[i].Index)}] = &wire[i]
	}
	for _, m := range res.Matches {
		matched[[2]uint64{m.Frame, uint64(m.Index)}] = true
		r := m.Record
		p := correlatePair{
			Frame: m.Frame, WireTime: m.WireTime.UTC().Format(time.RFC3339Nano), Event: r.Event(),
			CSeq: strconv.FormatUint(uint64(r.CSeqNum), 10) + " " + r.CSeqMethod, Call: id(r.Key), Conv: id(r.ConversationID),
			RecordTime: f.CorrectedTime(r).UTC().Format(time.RFC3339Nano),
			Delta:      correlate.FormatDuration(f.CorrectedTime(r).Sub(m.WireTime)), Key: m.Key.String(),
		}
		if m.Order {
			p.Match = "order"
		}
		if m.Key == correlate.KeyCallID {
			p.Warn = correlate.CallIDWarning
		}
		rep.Pairs = append(rep.Pairs, p)
		if w := byFrame[[2]uint64{m.Frame, uint64(m.Index)}]; w != nil && r.CallID != "" && string(w.CallID) != r.CallID {
			k := r.Key + "\x00" + string(w.CallID) + "\x00" + r.CallID
			if !seenDiff[k] {
				seenDiff[k] = true
				rep.CallIDsDiffer = append(rep.CallIDsDiffer, callIDDiff{Key: id(r.Key), WireCallID: id(string(w.CallID)), TraceCallID: id(r.CallID)})
			}
		}
	}
	for i := range wire {
		w := &wire[i]
		if matched[[2]uint64{w.Frame, uint64(w.Index)}] {
			continue
		}
		ev := string(w.Method)
		if w.Status != 0 {
			ev = strconv.Itoa(w.Status)
		}
		rep.UnmatchedWire = append(rep.UnmatchedWire, correlateWire{Frame: w.Frame, Time: w.Time.UTC().Format(time.RFC3339Nano),
			Event: ev, CSeq: strconv.FormatUint(uint64(w.CSeqNum), 10) + " " + string(w.CSeqMethod), CallID: id(string(w.CallID))})
	}
	for _, r := range res.GenesysOnly {
		rep.GenesysOnly = append(rep.GenesysOnly, correlatePair{Event: r.Event(), CSeq: strconv.FormatUint(uint64(r.CSeqNum), 10) + " " + r.CSeqMethod,
			Call: id(r.Key), Conv: id(r.ConversationID), RecordTime: f.CorrectedTime(r).UTC().Format(time.RFC3339Nano)})
	}
	slices.SortStableFunc(rep.Pairs, func(a, b correlatePair) int { return int(a.Frame) - int(b.Frame) })
	return rep
}

func writeCorrelateTable(w io.Writer, rep correlateReport) error {
	fmt.Fprintf(w, "%s\n\n", rep.Skew)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FRAME\tWIRE TIME\tEVENT\tCSEQ\tGENESYS TIME (corrected)\tΔ\tKEY\tNOTE")
	for _, p := range rep.Pairs {
		note := p.Match
		if p.Warn != "" {
			note = "Call-ID only"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Frame, p.WireTime, p.Event, p.CSeq, p.RecordTime, p.Delta, p.Key, note)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d pairs from %d wire messages and %d trace records\n", len(rep.Pairs), rep.WireMessages, rep.TraceRecords)
	if len(rep.UnmatchedWire) > 0 {
		fmt.Fprintf(w, "\nOn the wire only (%d):\n", len(rep.UnmatchedWire))
		for _, u := range rep.UnmatchedWire {
			fmt.Fprintf(w, "  frame %d  %s  %s  %s  Call-ID %s\n", u.Frame, u.Time, u.Event, u.CSeq, u.CallID)
		}
	}
	if len(rep.GenesysOnly) > 0 {
		fmt.Fprintf(w, "\nOnly in the Genesys trace (%d):\n", len(rep.GenesysOnly))
		for _, g := range rep.GenesysOnly {
			fmt.Fprintf(w, "  %s  %s  %s  call %s\n", g.RecordTime, g.Event, g.CSeq, g.Call)
		}
	}
	if len(rep.CallIDsDiffer) > 0 {
		fmt.Fprintf(w, "\nCall-ID differs between the capture and Genesys (%d; a proxy or B2BUA rewrote it):\n", len(rep.CallIDsDiffer))
		for _, d := range rep.CallIDsDiffer {
			fmt.Fprintf(w, "  %s  wire %s  Genesys %s\n", d.Key, d.WireCallID, d.TraceCallID)
		}
	}
	return nil
}

func writeCorrelateCSV(w io.Writer, rep correlateReport) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"side", "frame", "wire_time", "event", "cseq", "call", "conversation", "record_time", "delta", "key", "match", "warn", "skew"})
	for _, p := range rep.Pairs {
		cw.Write([]string{"both", strconv.FormatUint(p.Frame, 10), p.WireTime, p.Event, p.CSeq, p.Call, p.Conv, p.RecordTime, p.Delta, p.Key, p.Match, p.Warn, rep.Skew})
	}
	for _, u := range rep.UnmatchedWire {
		cw.Write([]string{"wire", strconv.FormatUint(u.Frame, 10), u.Time, u.Event, u.CSeq, "", "", "", "", "", "", "", rep.Skew})
	}
	for _, g := range rep.GenesysOnly {
		cw.Write([]string{"genesys", "", "", g.Event, g.CSeq, g.Call, g.Conv, g.RecordTime, "", "", "", "", rep.Skew})
	}
	cw.Flush()
	return cw.Error()
}
