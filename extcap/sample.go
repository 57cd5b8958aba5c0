package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/genesys-sip/genesys-sip/internal/decode"
	"github.com/genesys-sip/genesys-sip/internal/scenario"
	"github.com/genesys-sip/genesys-sip/internal/sip"
)

// sampleCommand writes synthetic captures and their Genesys trace records:
// the demo sample, the correlation acceptance scenario and the bulk
// benchmark capture. Nothing is downloaded.
func sampleCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "sample",
		Usage: "write a synthetic SIP capture and its Genesys trace records (for demos, tests, benchmarks)",
		Description: "Kinds:\n" +
			"  demo         a few Genesys BYOC calls (answered, 408, 503) over UDP: sample.pcap, sample-trace.json\n" +
			"  correlation  every correlation case (TCP split/coalesced, IPv6 compact, fragments, B2BUA,\n" +
			"               Genesys-only records, wire-only call) with expect.json ground truth\n" +
			"  bulk         --packets SIP packets of many calls, for throughput measurements (no trace)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "kind", Value: "demo", Usage: "demo, correlation or bulk"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: ".", Usage: "folder to write into"},
			&cli.StringFlag{Name: "format", Value: "pcap", Usage: "pcap, pcap-ns or pcapng"},
			&cli.IntFlag{Name: "packets", Value: 500000, Usage: "bulk: number of SIP packets"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "random seed (same seed, same bytes)"},
			&cli.StringFlag{Name: "clock-offset", Value: "2.333s", Usage: "Genesys clock minus capture clock in the trace records"},
			&cli.BoolFlag{Name: "with-trace", Usage: "bulk: also write sample-trace.ndjson, one trace record per SIP message (every packet matches)"},
		},
		Action: func(c *cli.Context) error {
			dir := c.String("output")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("sample: %w", err)
			}
			offset, err := time.ParseDuration(c.String("clock-offset"))
			if err != nil {
				return fmt.Errorf("--clock-offset: %q is not a duration", c.String("clock-offset"))
			}
			ext := map[string]string{"pcap": ".pcap", "pcap-ns": ".pcap", "pcapng": ".pcapng"}[c.String("format")]
			if ext == "" {
				return fmt.Errorf("--format: %q is not pcap, pcap-ns or pcapng", c.String("format"))
			}
			capPath := filepath.Join(dir, "sample"+ext)
			if c.String("kind") == "bulk" {
				format := "pcap"
				if ext == ".pcapng" {
					format = "pcapng"
				}
				if err := writeWith(capPath, func(f *os.File) error {
					return scenario.Bulk(f, format, c.Int("packets"), c.Int64("seed"))
				}); err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, capPath)
				if c.Bool("with-trace") {
					tracePath := filepath.Join(dir, "sample-trace.ndjson")
					if err := writeWith(tracePath, func(f *os.File) error { return bulkTrace(f, capPath, offset) }); err != nil {
						return err
					}
					fmt.Fprintln(e.stdout, tracePath)
				}
				return nil
			}
			opt := scenario.DefaultOptions()
			opt.Seed, opt.ClockOffset = c.Int64("seed"), offset
			var s *scenario.Scenario
			switch c.String("kind") {
			case "demo":
				s = scenario.Demo(opt)
			case "correlation":
				s = scenario.Correlation(opt)
			default:
				return fmt.Errorf("--kind: %q is not demo, correlation or bulk", c.String("kind"))
			}
			writeCap := s.WritePcap
			switch c.String("format") {
			case "pcap-ns":
				writeCap = s.WritePcapNanos
			case "pcapng":
				writeCap = s.WritePcapng
			}
			files := []struct {
				path  string
				write func(f *os.File) error
			}{
				{capPath, func(f *os.File) error { return writeCap(f) }},
				{filepath.Join(dir, "sample-trace.json"), func(f *os.File) error { return s.WriteTrace(f) }},
				{filepath.Join(dir, "expect.json"), func(f *os.File) error { return s.WriteExpect(f) }},
			}
			for _, fl := range files {
				if err := writeWith(fl.path, fl.write); err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, fl.path)
			}
			return nil
		},
	}
}

func writeWith(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("sample: writing %s: %w", path, err)
	}
	return f.Close()
}

// bulkTrace writes, as NDJSON, one Genesys-style trace record per SIP
// message of the capture at path, stamped offset later: the benchmark's
// "every packet matched" trace.
func bulkTrace(w io.Writer, path string, offset time.Duration) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	opts := captureOptions{CorrelationHeaders: []string{"X-Genesys-Call-ID", "x-inin-cnv"}}
	set := sip.NewHeaderSet(opts.CorrelationHeaders...)
	var vals [][]byte
	_, err := walkMessages(context.Background(), path, &opts, slog.New(slog.DiscardHandler), func(m *decode.Message, s *sip.Message) error {
		vals = s.Lookup(set, vals)
		method, reason := string(s.Method), ""
		if s.IsResponse() {
			method, reason = strconv.Itoa(s.StatusCode), string(s.Reason)
		}
		return enc.Encode(map[string]string{
			"microTs": strconv.FormatInt(m.Time.Add(offset).UnixMicro(), 10), "call-id": string(vals[0]),
			"conversationId": string(vals[1]), "callid": string(s.CallID), "method": method, "replyReason": reason,
			"cseq": string(s.AppendCSeq(nil)), "via1Branch": string(s.Branch),
			"sourceIp": m.Src.Addr().String(), "destinationIp": m.Dst.Addr().String(),
		})
	}, func(uint64, error) {})
	if err != nil {
		return err
	}
	return bw.Flush()
}
