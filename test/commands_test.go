package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// TestMessagesJSONLContract checks `genesys-sip messages --format jsonl`
// against tshark on shared captures of every transport: the same frames,
// Call-IDs and CSeqs, and exactly the keys of the public contract.
func TestMessagesJSONLContract(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	dir := testenv.Captures(t)
	h := &home{dir: t.TempDir()}
	wantKeys := []string{"call_id", "correlation", "cseq", "dst", "frame", "method", "reason", "src", "status", "time", "transport", "via_branch"}
	for _, c := range []struct {
		file, transport string
		tsharkArgs      []string
	}{
		{"sngrep__aaa_udp-register-invite-cancel-4xx-with-rtp.pcap", "udp", nil},
		{"heplify__sip_ipv4_tcp_fragmented_port6060-segmented.pcap", "tcp", []string{"-d", "tcp.port==6060,sip"}},
		{"heplify__sip_sctp_linux-sll.pcap", "sctp", nil},
		{"heplify__sip_tcp_websocket.pcap", "ws", nil},
		{"sngrep__ipv6frag_udp-fragmented-invite_linux-sll.pcap", "udp", nil},
	} {
		t.Run(c.file, func(t *testing.T) {
			in := filepath.Join(dir, c.file)
			r := h.run(t, 60*time.Second, binPath, "messages", "--format", "jsonl", "--redact", "false", in)
			if r.err != nil {
				t.Fatalf("messages: %v %s", r.err, r.stderr)
			}
			var got []string
			transports := map[string]int{}
			sc := bufio.NewScanner(strings.NewReader(r.stdout))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("not JSON: %s", sc.Text())
				}
				var keys []string
				for k := range m {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				if strings.Join(keys, ",") != strings.Join(wantKeys, ",") {
					t.Fatalf("keys %v, want %v", keys, wantKeys)
				}
				if _, err := time.Parse(time.RFC3339Nano, m["time"].(string)); err != nil {
					t.Fatalf("time %v", m["time"])
				}
				transports[m["transport"].(string)]++
				got = append(got, fmt.Sprintf("%v|%v|%v", m["frame"], m["call_id"], m["cseq"]))
			}
			if transports[c.transport] == 0 {
				t.Fatalf("no %s messages: %v", c.transport, transports)
			}
			args := append([]string{"-r", in, "-Y", "sip", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;", "-e", "frame.number", "-e", "sip.Call-ID", "-e", "sip.CSeq"}, c.tsharkArgs...)
			tr := h.run(t, 60*time.Second, tshark, args...)
			var want []string
			for _, line := range strings.Split(strings.TrimSpace(tr.stdout), "\n") {
				f := strings.Split(line, "\t")
				ids, cseqs := strings.Split(f[1], ";"), strings.Split(f[2], ";")
				for i := range cseqs {
					want = append(want, fmt.Sprintf("%s|%s|%s", f[0], ids[min(i, len(ids)-1)], cseqs[i]))
				}
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("messages differ from tshark: got %d, want %d", len(got), len(want))
			}
		})
	}
}

// TestCallsFlagsRewrittenCallID: a capture on both legs of an SBC carries
// one X-Genesys-Call-ID under two SIP Call-IDs; calls groups them and flags
// the rewrite.
func TestCallsFlagsRewrittenCallID(t *testing.T) {
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	pkts := []testPacket{
		{ts: start, data: sipUDP(t, "203.0.113.10", "10.0.0.5", 5060, 5060, sipRequest("INVITE", "leg-a@carrier", 1, "X-Genesys-Call-ID: 8d2f-1"))},
		{ts: start.Add(time.Millisecond), data: sipUDP(t, "10.0.0.5", "198.51.100.20", 5060, 5060, sipRequest("INVITE", "leg-b@sbc", 1, "X-Genesys-Call-ID: 8d2f-1"))},
		{ts: start.Add(2 * time.Millisecond), data: sipUDP(t, "10.0.0.5", "198.51.100.20", 5060, 5060, sipRequest("BYE", "leg-b@sbc", 2))},
		{ts: start.Add(3 * time.Millisecond), data: sipUDP(t, "203.0.113.10", "10.0.0.5", 5060, 5060, sipRequest("OPTIONS", "other@x", 1))},
	}
	in := filepath.Join(t.TempDir(), "legs.pcap")
	writePcap(t, in, false, layers.LinkTypeEthernet, pkts)
	h := &home{dir: t.TempDir()}
	r := h.run(t, 30*time.Second, binPath, "calls", "--format", "json", in)
	if r.err != nil {
		t.Fatalf("calls: %v %s", r.err, r.stderr)
	}
	var calls []struct {
		Key       string   `json:"key"`
		CallIDs   []string `json:"call_ids"`
		Rewritten bool     `json:"call_id_rewritten"`
		Messages  int      `json:"messages"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &calls); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if len(calls) != 2 || calls[0].Key != "8d2f-1" || !calls[0].Rewritten || calls[0].Messages != 3 || len(calls[0].CallIDs) != 2 || calls[1].Rewritten {
		t.Fatalf("calls: %+v", calls)
	}
	text := h.run(t, 30*time.Second, binPath, "calls", in)
	if !strings.Contains(text.stdout, "Call-ID rewritten") || !strings.Contains(text.stdout, "2 calls, 1 with a rewritten Call-ID") {
		t.Fatalf("text output:\n%s", text.stdout)
	}
}

// TestCorrelateCSV runs `genesys-sip correlate` on the correlation scenario
// exported by tshark as CSV, and on a Wireshark-style export with quoted
// columns and local times.
func TestCorrelateCSV(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	h := &home{dir: t.TempDir()}
	dir := t.TempDir()
	if r := h.run(t, 60*time.Second, binPath, "sample", "--kind", "correlation", "-o", dir); r.err != nil {
		t.Fatal(r.stderr)
	}
	lua := "lua_script:" + filepath.Join(repoRoot(), "dissector", "genesys.lua")
	r := h.run(t, 60*time.Second, tshark, "-r", filepath.Join(dir, "sample.pcap"), "-X", lua, "-Y", "sip", "-T", "fields",
		"-E", "separator=,", "-E", "header=y", "-E", "quote=d", "-e", "frame.number", "-e", "frame.time_epoch", "-e", "sip.Call-ID",
		"-e", "sip.CSeq", "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.Via.branch", "-e", "ip.src", "-e", "ip.dst",
		"-e", "genesys.call_id", "-e", "genesys.conversation_id")
	csvPath := filepath.Join(dir, "tshark.csv")
	os.WriteFile(csvPath, []byte(r.stdout), 0o644)
	out := h.run(t, 60*time.Second, binPath, "correlate", "--csv", csvPath, "--trace", filepath.Join(dir, "sample-trace.json"), "--format", "json")
	if out.err != nil {
		t.Fatalf("correlate: %v %s", out.err, out.stderr)
	}
	var rep struct {
		SkewSeconds   float64 `json:"skew_seconds"`
		Pairs         []any   `json:"pairs"`
		GenesysOnly   []any   `json:"genesys_only"`
		UnmatchedWire []any   `json:"unmatched_wire"`
		CallIDsDiffer []struct {
			WireCallID, TraceCallID string
		} `json:"call_ids_differ"`
	}
	if err := json.Unmarshal([]byte(out.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	truth := readTruth(t, dir)
	genesysOnly := 0
	for _, e := range truth.Records {
		if e.Frame == 0 {
			genesysOnly++
		}
	}
	if d := rep.SkewSeconds - float64(truth.ClockOffsetNs)/1e9; d > 0.005 || d < -0.005 {
		t.Errorf("skew %.6f", rep.SkewSeconds)
	}
	if len(rep.Pairs) != len(truth.Records)-genesysOnly || len(rep.GenesysOnly) != genesysOnly {
		t.Errorf("%d pairs, %d Genesys-only; want %d, %d", len(rep.Pairs), len(rep.GenesysOnly), len(truth.Records)-genesysOnly, genesysOnly)
	}
	if len(rep.CallIDsDiffer) == 0 {
		t.Error("the B2BUA call's differing Call-ID is not reported")
	}
	if len(rep.UnmatchedWire) == 0 {
		t.Error("the wire-only call is not reported as unmatched")
	}

	// A Wireshark GUI export: quoted columns, local time (Europe/Berlin),
	// custom column titled X-Genesys-Call-ID, Info for method/status.
	var b strings.Builder
	b.WriteString(`"No.","Time","Source","Destination","Protocol","Length","X-Genesys-Call-ID","CSeq","Info"` + "\n")
	r = h.run(t, 60*time.Second, tshark, "-r", filepath.Join(dir, "sample.pcap"), "-X", lua, "-Y", "sip && genesys.call_id", "-T", "fields",
		"-E", "separator=\t", "-e", "frame.number", "-e", "frame.time_epoch", "-e", "genesys.call_id", "-e", "sip.CSeq", "-e", "sip.Method", "-e", "sip.Status-Code")
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	wireOnly := map[int]bool{}
	for _, c := range truth.Calls {
		for _, m := range truth.Messages {
			if c.WireOnly && m.Call == c.Label {
				wireOnly[m.Frame] = true
			}
		}
	}
	rows, wireOnlyRows := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		f := strings.Split(line, "\t")
		if strings.Contains(f[3], ",") {
			continue // keep the hand-written export simple: one message per row
		}
		var sec, nsec int64
		fmt.Sscanf(f[1], "%d.%d", &sec, &nsec)
		local := time.Unix(sec, nsec).In(berlin).Format("2006-01-02 15:04:05.000000")
		info := "Request: " + f[4] + " sip:x@y"
		if f[5] != "" {
			info = "Status: " + f[5] + " X"
		}
		fmt.Fprintf(&b, "%q,%q,\"203.0.113.10\",\"198.51.100.20\",\"SIP\",\"500\",%q,%q,%q\n", f[0], local, f[2], f[3], info)
		rows++
		var frame int
		fmt.Sscan(f[0], &frame)
		if wireOnly[frame] {
			wireOnlyRows++
		}
	}
	wsPath := filepath.Join(dir, "wireshark.csv")
	os.WriteFile(wsPath, []byte(b.String()), 0o644)
	out = h.run(t, 60*time.Second, binPath, "correlate", "--csv", wsPath, "--trace", filepath.Join(dir, "sample-trace.json"), "--tz", "Europe/Berlin", "--format", "json")
	if out.err != nil {
		t.Fatalf("correlate (Wireshark CSV): %v %s", out.err, out.stderr)
	}
	if err := json.Unmarshal([]byte(out.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	// Every row pairs except those of the call only the wire saw.
	if d := rep.SkewSeconds - float64(truth.ClockOffsetNs)/1e9; d > 0.005 || d < -0.005 || len(rep.Pairs) != rows-wireOnlyRows || len(rep.UnmatchedWire) != wireOnlyRows {
		t.Errorf("Wireshark CSV: skew %.6f, %d pairs and %d unmatched of %d rows (%d wire-only)", rep.SkewSeconds, len(rep.Pairs), len(rep.UnmatchedWire), rows, wireOnlyRows)
	}
	for _, format := range []string{"table", "csv"} {
		if r := h.run(t, 60*time.Second, binPath, "correlate", "--csv", csvPath, "--trace", filepath.Join(dir, "sample-trace.json"), "--format", format); r.err != nil || !strings.Contains(r.stdout, "+2.333s") {
			t.Errorf("--format %s: %v %s", format, r.err, r.stdout[:min(len(r.stdout), 300)])
		}
	}
}

func readTruth(t *testing.T, dir string) groundTruth {
	t.Helper()
	var truth groundTruth
	b, err := os.ReadFile(filepath.Join(dir, "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	return truth
}

// TestBadTraceInput: a trace file that cannot be used never stops the
// packets in Wireshark (they stream unannotated, with a warning tshark
// shows and the section comment keeps), and fails the command line.
func TestBadTraceInput(t *testing.T) {
	h := installHome(t)
	dir := t.TempDir()
	if r := h.run(t, 60*time.Second, binPath, "sample", "--kind", "demo", "-o", dir); r.err != nil {
		t.Fatal(r.stderr)
	}
	capture := filepath.Join(dir, "sample.pcap")
	inputPackets := countPackets(t, h.tshark, capture)
	huge := filepath.Join(dir, "huge.json")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(`{"data":[{"microTs":"1795600800000000","callid":"x","msg":"`)
	chunk := strings.Repeat("A", 1<<20)
	for i := 0; i < 70; i++ {
		w.WriteString(chunk)
	}
	w.WriteString(`"}],"count":1}`)
	w.Flush()
	f.Close()
	cases := map[string]struct{ data, want string }{
		"not-json":      {"this is not JSON\n", "not JSON"},
		"wrong-shape":   {`{"hello":"world"}`, "trace file"},
		"missing-times": {`{"data":[{"callid":"a","method":"INVITE"},{"callid":"b","method":"BYE"}],"count":2}`, "no usable records"},
		"huge":          {"", "trace file"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := huge
			if c.data != "" {
				path = filepath.Join(dir, name+".json")
				os.WriteFile(path, []byte(c.data), 0o644)
			}
			out := filepath.Join(t.TempDir(), "out.pcapng")
			r := h.tsharkCapture(t, out, map[string]string{"replayfile": capture, "replayspeed": "0", "tracefile": path})
			if got := countPackets(t, h.tshark, out); got != inputPackets {
				t.Fatalf("extcap streamed %d packets, want %d (stderr %s)", got, inputPackets, r.stderr)
			}
			if !strings.Contains(r.stderr, "warning: trace file") || !strings.Contains(r.stderr, c.want) {
				t.Errorf("tshark shows no warning with %q:\n%s", c.want, r.stderr)
			}
			info := h.run(t, 30*time.Second, "capinfos", "-k", out)
			if !strings.Contains(info.stdout, "WARNING: trace file") {
				t.Errorf("section comment lacks the warning:\n%s", info.stdout)
			}
			ann := h.run(t, 30*time.Second, h.tshark, "-r", out, "-Y", `frame.comment contains "genesys:"`)
			if strings.TrimSpace(ann.stdout) != "" {
				t.Errorf("annotations from a bad trace file:\n%s", ann.stdout)
			}
			cli := h.run(t, 120*time.Second, binPath, "capture", "--replay-file", capture, "--replay-speed", "0", "--trace-file", path, "-w", filepath.Join(t.TempDir(), "cli.pcapng"))
			lines := strings.Split(strings.TrimSpace(cli.stderr), "\n")
			if cli.err == nil || len(lines) != 1 || !strings.HasPrefix(lines[0], "genesys-sip: trace file") || !strings.Contains(lines[0], path) {
				t.Errorf("CLI: err %v, stderr %q", cli.err, cli.stderr)
			}
		})
	}
}

// TestCorrelateNamesItsCSV: following the README's prose (a time, a CSeq
// and the Genesys call id) gives a CSV without methods and statuses; the
// error names the missing columns and a tshark command, and that command,
// run as printed, makes a CSV correlate pairs completely. A capture given
// as --csv is recognised as such, with the command for that very file.
func TestCorrelateNamesItsCSV(t *testing.T) {
	h := installHome(t)
	dir := t.TempDir()
	if r := h.run(t, 60*time.Second, binPath, "sample", "--kind", "demo", "-o", dir); r.err != nil {
		t.Fatal(r.stderr)
	}
	capture, traceFile := filepath.Join(dir, "sample.pcap"), filepath.Join(dir, "sample-trace.json")
	prose := h.run(t, 60*time.Second, h.tshark, "-r", capture, "-Y", "sip", "-T", "fields", "-E", "separator=,", "-E", "header=y", "-E", "quote=d",
		"-e", "frame.time_epoch", "-e", "sip.CSeq", "-e", "genesys.call_id")
	if prose.err != nil {
		t.Fatalf("tshark: %v %s", prose.err, prose.stderr)
	}
	prosePath := filepath.Join(dir, "prose.csv")
	os.WriteFile(prosePath, []byte(prose.stdout), 0o644)
	r := h.run(t, 30*time.Second, binPath, "correlate", "--csv", prosePath, "--trace", traceFile)
	if r.err == nil || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "missing columns: the method and status (sip.Method and sip.Status-Code") {
		t.Fatalf("prose CSV: err %v, stderr %q", r.err, r.stderr)
	}
	_, cmd, ok := strings.Cut(strings.TrimSpace(r.stderr), "export the packet list with: ")
	cmd, _, _ = strings.Cut(cmd, " (the genesys.* fields")
	if !ok || !strings.HasPrefix(cmd, "tshark -r CAPTURE ") {
		t.Fatalf("no tshark command in %q", r.stderr)
	}
	cmd = strings.Replace(cmd, "CAPTURE", capture, 1)

	// The pcap given as --csv: the command printed names that file.
	r = h.run(t, 30*time.Second, binPath, "correlate", "--csv", capture, "--trace", traceFile)
	if r.err == nil || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "is a pcap capture") || !strings.Contains(r.stderr, cmd) {
		t.Fatalf("pcap as --csv: err %v, stderr %q; want it to name %q", r.err, r.stderr, cmd)
	}

	work := t.TempDir()
	sh := h.command(context.Background(), "sh", "-c", cmd)
	sh.Dir = work
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	r = h.run(t, 30*time.Second, binPath, "correlate", "--csv", filepath.Join(work, "packets.csv"), "--trace", traceFile, "--format", "json")
	if r.err != nil {
		t.Fatalf("correlate on the CSV of the printed command: %v %s", r.err, r.stderr)
	}
	var rep struct {
		Pairs         []any `json:"pairs"`
		UnmatchedWire []any `json:"unmatched_wire"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	truth := readTruth(t, dir)
	onWire := 0 // the records of a message the capture holds pair; the rest are Genesys-only
	for _, e := range truth.Records {
		if e.Frame > 0 {
			onWire++
		}
	}
	if len(rep.Pairs) != onWire || len(rep.UnmatchedWire) != 0 {
		t.Fatalf("%d pairs and %d unmatched; want %d and 0", len(rep.Pairs), len(rep.UnmatchedWire), onWire)
	}
}
