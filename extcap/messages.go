package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/genesys-sip/genesys-sip/internal/decode"
	"github.com/genesys-sip/genesys-sip/internal/pipeline"
	"github.com/genesys-sip/genesys-sip/internal/redact"
	"github.com/genesys-sip/genesys-sip/internal/sip"
	"github.com/genesys-sip/genesys-sip/internal/source/replay"
)

// sipMessage is one line of `genesys-sip messages --format jsonl`. The keys
// are a public contract: scripts parse them.
type sipMessage struct {
	Frame       uint64            `json:"frame"`
	Time        string            `json:"time"`
	Transport   string            `json:"transport"`
	Src         string            `json:"src"`
	Dst         string            `json:"dst"`
	Method      string            `json:"method"`
	Status      int               `json:"status"`
	Reason      string            `json:"reason"`
	CallID      string            `json:"call_id"`
	CSeq        string            `json:"cseq"`
	ViaBranch   string            `json:"via_branch"`
	Correlation map[string]string `json:"correlation"`
	// Malformed names the defect of a message sip.Parse kept as malformed
	// (bad Content-Length, header line without colon, ...); the key is
	// absent for a well-formed message, so older scripts see no change.
	Malformed string `json:"malformed,omitempty"`
}

// decodeFlags are the options of the commands that decode a capture file.
func decodeFlags(table []arg) []cli.Flag {
	return tableFlags(selectArgs(table, func(a *arg) bool {
		return a.Call == "--correlation-headers" || a.Call == "--tls-keylog" || a.Call == "--tls-rsa-key" || outputPrivacy(a)
	}), false)
}

// walkMessages decodes every SIP message of a capture file in frame order.
// Messages Parse rejects are counted and reported through bad; those it
// keeps as malformed (s.Malformed) are visited like the rest.
func walkMessages(ctx context.Context, path string, o *captureOptions, log *slog.Logger,
	visit func(m *decode.Message, s *sip.Message) error, bad func(frame uint64, err error)) (frames uint64, err error) {
	src, err := replay.Open(path)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	cfg := decode.Config{OnMalformed: bad}
	if o.TLSKeylog != "" || o.TLSRSAKey != "" {
		s := &setup{}
		kl, err := loadKeys(ctx, o, log, s)
		if err != nil {
			return 0, err
		}
		cfg.StreamHandler = pipeline.TLSStreamHandler(kl)
	}
	dec := decode.NewDecoder(cfg)
	defer dec.Reset()
	var msgs []decode.Message
	var m sip.Message
	for {
		if ctx.Err() != nil {
			return frames, ctx.Err()
		}
		p, err := src.Next()
		if err == io.EOF {
			return frames, nil
		}
		if err != nil {
			return frames, err
		}
		frames++
		msgs = dec.Decode(frames, p.CI.Timestamp, src.Interface(p.CI.InterfaceIndex).LinkType, p.Data, msgs[:0])
		for i := range msgs {
			if err := sip.Parse(msgs[i].Data, &m); err != nil && !errors.Is(err, sip.ErrShortBody) {
				bad(msgs[i].Frame, err)
				continue
			}
			if err := visit(&msgs[i], &m); err != nil {
				return frames, err
			}
		}
	}
}

// fileCommandSetup parses the shared options of the file commands.
func fileCommandSetup(c *cli.Context, table []arg, e *env) (captureOptions, *slog.Logger, *redact.Redactor, func(), error) {
	opts, err := optionsFrom(c, table)
	if err != nil {
		return opts, nil, nil, nil, err
	}
	log, _, closeLog, err := newLogger(opts.LogLevel, opts.LogFile, true, e.stderr)
	if err != nil {
		return opts, nil, nil, nil, err
	}
	var red *redact.Redactor
	if opts.Redact {
		if red, err = newRedactor(&opts); err != nil {
			closeLog()
			return opts, nil, nil, nil, err
		}
	}
	return opts, log, red, closeLog, nil
}

// messagesCommand is `genesys-sip messages FILE [--format text|jsonl]`.
func messagesCommand(e *env, table []arg) *cli.Command {
	return &cli.Command{
		Name:      "messages",
		Usage:     "list every SIP message of a capture, on every transport and encapsulation",
		ArgsUsage: "FILE",
		Description: "One line per SIP message: frame (numbered as tshark numbers them), time, transport,\n" +
			"source and destination, method or status, Call-ID, CSeq and the correlation headers.\n" +
			"--format jsonl writes one JSON object per line with the keys frame, time, transport, src,\n" +
			"dst, method, status, reason, call_id, cseq, via_branch and correlation (header → value),\n" +
			"and malformed (what is wrong) only for a message kept although malformed.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text or jsonl"},
		}, decodeFlags(table)...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("messages", "give one capture file (got %d arguments): genesys-sip messages FILE", c.NArg())
			}
			format := c.String("format")
			if format != "text" && format != "jsonl" {
				return usagef("messages", "--format: %q is not text or jsonl", format)
			}
			opts, log, red, closeLog, err := fileCommandSetup(c, table, e)
			if err != nil {
				return err
			}
			defer closeLog()
			headers := opts.CorrelationHeaders
			set := sip.NewHeaderSet(headers...)
			var vals [][]byte
			w := bufio.NewWriterSize(e.stdout, 64<<10)
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			var n, malformed uint64
			var firstBad string
			bad := func(frame uint64, err error) {
				malformed++
				if firstBad == "" {
					firstBad = fmt.Sprintf("frame %d: %v", frame, err)
				}
			}
			ctx, stop := signalContext()
			defer stop()
			_, err = walkMessages(ctx, c.Args().First(), &opts, log, func(m *decode.Message, s *sip.Message) error {
				n++
				row := sipMessage{
					Frame: m.Frame, Time: m.Time.UTC().Format("2006-01-02T15:04:05.000000000Z07:00"), Transport: m.Transport.String(),
					Src: m.Src.String(), Dst: m.Dst.String(), Method: string(s.Method), Status: s.StatusCode,
					Reason: string(s.Reason), CallID: string(s.CallID), CSeq: string(s.AppendCSeq(nil)),
					ViaBranch: string(s.Branch), Correlation: map[string]string{}, Malformed: s.Malformed,
				}
				vals = s.Lookup(set, vals)
				for i, v := range vals {
					if v != nil {
						row.Correlation[set.Name(i)] = string(v)
					}
				}
				if red != nil {
					row.CallID = red.CallID(row.CallID)
					row.Reason = red.Text(row.Reason)
					for k, v := range row.Correlation {
						row.Correlation[k] = red.CallID(v)
					}
				}
				if format == "jsonl" {
					return enc.Encode(&row)
				}
				return writeMessageText(w, &row, headers)
			}, bad)
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				return err
			}
			if malformed > 0 {
				log.Info("malformed SIP messages skipped", "count", malformed, "first", firstBad)
				fmt.Fprintf(e.stderr, "genesys-sip: warning: %s: %d SIP messages listed, %d malformed skipped (first: %s)\n",
					c.Args().First(), n, malformed, printable(firstBad))
			}
			return nil
		},
	}
}

func writeMessageText(w io.Writer, r *sipMessage, headers []string) error {
	what := r.Method
	if r.Status != 0 {
		what = fmt.Sprintf("%d %s", r.Status, r.Reason)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%6d %s %-4s %s → %s  %s  Call-ID: %s  CSeq: %s", r.Frame, r.Time, r.Transport, r.Src, r.Dst, what, r.CallID, r.CSeq)
	for _, h := range headers {
		if v, ok := r.Correlation[h]; ok {
			fmt.Fprintf(&b, "  %s: %s", h, v)
		}
	}
	if r.Malformed != "" {
		fmt.Fprintf(&b, "  malformed: %s", r.Malformed)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}
