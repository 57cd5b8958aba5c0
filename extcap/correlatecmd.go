package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/genesys-sip/genesys-sip/internal/correlate"
	"github.com/genesys-sip/genesys-sip/internal/redact"
	"github.com/genesys-sip/genesys-sip/internal/trace"
)

// reportTime is the layout of the report's times: fixed width (always six
// fractional digits, microseconds as Genesys records them), so the
// columns line up and the times sort as text.
const reportTime = "2006-01-02T15:04:05.000000Z07:00"

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
	// RowsBadTime counts CSV rows skipped for a time that does not parse
	// or is out of range; TraceSkipped the trace records not usable.
	RowsBadTime  int `json:"rows_bad_time"`
	TraceSkipped int `json:"trace_skipped"`
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
			"  " + csvTsharkCommand("CAPTURE") + "\n" +
			"(the genesys.* fields need the dissector: genesys-sip install). It needs a time column, sip.CSeq,\n" +
			"sip.Method and sip.Status-Code (or Wireshark's Info column), and an X-Genesys-Call-ID column (any\n" +
			"title containing it, or genesys.call_id) or sip.Call-ID. Times: absolute (local to --tz unless they\n" +
			"carry UTC), epoch, or relative to the first packet. Prints the pairs, the clock skew, what is\n" +
			"unmatched on each side, and the calls whose Call-ID differs between the capture and Genesys.\n" +
			"To annotate a capture directly instead: genesys-sip capture --replay-file CAPTURE --trace-file T -w OUT.pcapng",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "csv", Usage: "packet list exported as CSV", Required: true},
			&cli.StringFlag{Name: "trace", Usage: "Genesys Cloud trace records (any format the trace loaders read)", Required: true},
			&cli.StringFlag{Name: "tz", Usage: "zone of absolute CSV times without one (e.g. Europe/Berlin); default UTC"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "table, csv or json"},
		}, tableFlags(sub, false)...),
		Action: func(c *cli.Context) error {
			format := c.String("format")
			if format != "table" && format != "csv" && format != "json" {
				return usagef("correlate", "--format: %q is not table, csv or json", format)
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
			csvPath, tracePath := c.String("csv"), c.String("trace")
			f, err := os.Open(csvPath)
			if err != nil {
				return fmt.Errorf("--csv %s: %w", csvPath, unwrapPath(err))
			}
			defer f.Close()
			br := bufio.NewReader(f)
			head, _ := br.Peek(512)
			if err := checkCSVInput(csvPath, tracePath, head); err != nil {
				return err
			}
			if err := checkTraceInput(tracePath); err != nil {
				return err
			}
			wire, crep, err := correlate.ReadCSV(br, csvPath, correlate.CSVOptions{Location: loc, Headers: opts.CorrelationHeaders})
			if err != nil {
				return explainCSVError(err, crep, opts.CorrelationHeaders)
			}
			ix, trep, err := trace.LoadFile(ctx, tracePath, trace.Options{CorrelationHeaders: opts.CorrelationHeaders})
			if err != nil {
				return err
			}
			defer ix.Close()
			log.Info("inputs", "csv_rows", crep.Rows, "sip", crep.SIP, "time", crep.TimeKind, "trace", trep.String())
			// Skipped input is said, never only logged: a row or record
			// dropped in silence is a message the analyst thinks is missing.
			if crep.BadTimes > 0 {
				fmt.Fprintf(e.stderr, "genesys-sip: warning: --csv %s: %d rows skipped for their time; first: %s\n", csvPath, crep.BadTimes, printable(crep.FirstBadTime))
			}
			if trep.SkippedTotal() > 0 {
				fmt.Fprintf(e.stderr, "genesys-sip: warning: --trace %s\n", printable(trep.String()))
			}
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
			rep.RowsBadTime, rep.TraceSkipped = crep.BadTimes, trep.SkippedTotal()
			if crep.TimeKind == "relative" {
				log.Warn(csvPath + ": the times are relative to the first packet: the skew is Genesys' clock at the capture start, not a clock error")
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
			Frame: m.Frame, WireTime: m.WireTime.UTC().Format(reportTime), Event: r.Event(),
			CSeq: strconv.FormatUint(uint64(r.CSeqNum), 10) + " " + r.CSeqMethod, Call: id(r.Key), Conv: id(r.ConversationID),
			RecordTime: f.CorrectedTime(r).UTC().Format(reportTime),
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
		rep.UnmatchedWire = append(rep.UnmatchedWire, correlateWire{Frame: w.Frame, Time: w.Time.UTC().Format(reportTime),
			Event: ev, CSeq: strconv.FormatUint(uint64(w.CSeqNum), 10) + " " + string(w.CSeqMethod), CallID: id(string(w.CallID))})
	}
	for _, r := range res.GenesysOnly {
		rep.GenesysOnly = append(rep.GenesysOnly, correlatePair{Event: r.Event(), CSeq: strconv.FormatUint(uint64(r.CSeqNum), 10) + " " + r.CSeqMethod,
			Call: id(r.Key), Conv: id(r.ConversationID), RecordTime: f.CorrectedTime(r).UTC().Format(reportTime)})
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

// csvTsharkCommand is the tshark command that exports capture as the CSV
// correlate reads best: every identity column, the Genesys fields of the
// dissector, epoch times (no time zone to guess).
func csvTsharkCommand(capture string) string {
	return "tshark -r " + shellQuote(capture) + " -Y sip -T fields -E separator=, -E header=y -E quote=d" +
		" -e frame.number -e frame.time_epoch -e sip.Call-ID -e sip.CSeq -e sip.Method -e sip.Status-Code" +
		" -e sip.Via.branch -e ip.src -e ip.dst -e genesys.call_id -e genesys.conversation_id > packets.csv"
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./+:@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sniffKind names the kind of a file from its first bytes: "pcap",
// "pcapng", "gzip", "json", "binary", or "" for text that may be CSV.
func sniffKind(head []byte) string {
	if len(head) >= 4 {
		switch m := binary.BigEndian.Uint32(head); m {
		case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
			return "pcap"
		case 0x0a0d0d0a:
			return "pcapng"
		}
	}
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		return "gzip"
	}
	text := head
	if len(text) == 512 {
		// The peek may cut a character in two; only complete ones count.
		for i := 0; i < 3 && len(text) > 0 && !utf8.Valid(text); i++ {
			text = text[:len(text)-1]
		}
	}
	if bytes.IndexByte(text, 0) >= 0 || !utf8.Valid(text) {
		return "binary"
	}
	if t := bytes.TrimLeft(bytes.TrimPrefix(text, []byte("\ufeff")), " \t\r\n"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return "json"
	}
	return ""
}

// checkCSVInput refuses, in one line, a --csv that is not a packet list,
// before the CSV reader would quote its bytes.
func checkCSVInput(csvPath, tracePath string, head []byte) error {
	annotate := "genesys-sip capture --replay-file " + shellQuote(csvPath) + " --trace-file " + shellQuote(tracePath) + " -w annotated.pcapng"
	switch kind := sniffKind(head); kind {
	case "pcap", "pcapng", "gzip":
		what := "a " + kind + " capture"
		if kind == "gzip" {
			what = "gzip-compressed (a capture?)"
		}
		return fmt.Errorf("--csv %s is %s; correlate reads a CSV packet list (make one with: %s) — or annotate the capture itself: %s",
			csvPath, what, csvTsharkCommand(csvPath), annotate)
	case "json":
		return fmt.Errorf("--csv %s is JSON (trace records? they go to --trace); --csv takes the packet list as CSV: %s",
			csvPath, csvTsharkCommand("CAPTURE"))
	case "binary":
		return fmt.Errorf("--csv %s is not text (it starts %s); --csv takes the packet list as CSV: %s",
			csvPath, quoteHead(head), csvTsharkCommand("CAPTURE"))
	}
	return nil
}

// checkTraceInput refuses a capture given as --trace: the trace loaders
// would call it "not JSON" without saying what it is.
func checkTraceInput(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--trace %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	switch kind := sniffKind(head[:n]); kind {
	case "pcap", "pcapng":
		return fmt.Errorf("--trace %s is a %s capture; --trace takes the Genesys trace records (JSON, e.g. from genesys-sip traces fetch), --csv the packet list: %s",
			path, kind, csvTsharkCommand(path))
	}
	return nil
}

// quoteHead quotes the first bytes of an input for an error message:
// escaped and short, never raw bytes on the terminal.
func quoteHead(head []byte) string {
	return strconv.Quote(string(head[:min(len(head), 16)]))
}

// explainCSVError adds to an error of the CSV reader about the columns,
// or about rows none of which is a SIP message, which columns correlate
// needs and the tshark command that exports them.
func explainCSVError(err error, rep correlate.CSVReport, headers []string) error {
	msg := printable(err.Error())
	if r := []rune(msg); len(r) > 300 {
		msg = string(r[:300]) + "…"
	}
	// ReadCSV names every missing column itself; a file whose rows all
	// lack a SIP identity fails after reading. Either way the fix is the
	// same export, so say it once.
	if !strings.Contains(msg, "missing columns") && rep.Skipped != rep.Rows {
		return errors.New(msg) // a bad row, not the wrong columns
	}
	return errors.New(msg + "; export the packet list with: " + csvTsharkCommand("CAPTURE") +
		" (the genesys.* fields need the dissector: genesys-sip install)")
}
