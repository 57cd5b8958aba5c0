package e2e

// Live capture end to end (issue 6): real SIP traffic from sipp (scenarios in
// test/sipp) on loopback and on a veth pair between network namespaces,
// captured by genesys-sip through tshark, the CLI and the extcap FIFO.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// Loopback ports of the sipp pair, both inside the default capture filter.
const (
	uasPort = 5060
	uacPort = 5062
)

// needCapture skips (locally) or fails (CI) when live capture and network
// namespaces are not allowed: they need root.
func needCapture(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if testenv.InCI() {
		t.Fatal("live capture tests need root (CAP_NET_RAW, CAP_NET_ADMIN) in CI")
	}
	t.Skip("live capture needs root (CAP_NET_RAW, CAP_NET_ADMIN); skipping")
}

// sippCall is one line of the injection file of uac.xml.
type sippCall struct {
	caller, callee string // E.164
	id             string // X-Genesys-Call-ID
	reply          int    // 200 or 503
}

// messages is how many SIP messages the call puts on the wire when nothing
// is retransmitted: INVITE 100 180 200 ACK BYE 200, or INVITE 100 503 ACK.
func (c sippCall) messages() int {
	if c.reply == 503 {
		return 4
	}
	return 7
}

// makeCalls returns n calls with unique X-Genesys-Call-IDs; every
// rejectEvery-th call is rejected with 503.
func makeCalls(n, rejectEvery int) []sippCall {
	var rnd [8]byte
	rand.Read(rnd[:])
	p := hex.EncodeToString(rnd[:])
	calls := make([]sippCall, n)
	for i := range calls {
		k := i + 1
		calls[i] = sippCall{
			caller: fmt.Sprintf("+1317%07d", 5550000+k),
			callee: fmt.Sprintf("+1415%07d", 7770000+k),
			id:     fmt.Sprintf("%s-%s-4%s-8%s-%012x", p[:8], p[8:12], p[12:15], p[13:16], k),
			reply:  200,
		}
		if rejectEvery > 0 && k%rejectEvery == 0 {
			calls[i].reply = 503
		}
	}
	return calls
}

func scenario(name string) string { return filepath.Join(repoRoot(), "test", "sipp", name) }

// sippSide is what one sipp process reports about its run.
type sippSide struct {
	sent    int               // messages sent, retransmissions included (-trace_counts)
	retrans int               // of which retransmissions
	stat    map[string]string // last line of -trace_stat
}

func (s sippSide) int(col string) int {
	n, _ := strconv.Atoi(s.stat[col])
	return n
}

// sippRun describes a UAS/UAC pair.
type sippRun struct {
	calls          []sippCall
	rate           int    // calls per second
	uac            string // scenario, default uac.xml
	uasNS, uacNS   string // network namespaces (empty: this one)
	uasIP, uacIP   string // default 127.0.0.1
	uasPort        int
	uacPort        int
	timeout        time.Duration
	uasOut, uacOut sippSide
	elapsed        time.Duration // of the UAC
}

func nsCommand(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	if ns != "" {
		return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	}
	return exec.CommandContext(ctx, name, args...)
}

// run starts the UAS, waits until it listens, runs the UAC to completion,
// waits for the UAS (-m: it exits after the last call) and reads both sides'
// statistics.
func (r *sippRun) run(t *testing.T) {
	t.Helper()
	sipp := testenv.Tool(t, "sipp")
	if r.uac == "" {
		r.uac = "uac.xml"
	}
	if r.uasIP == "" {
		r.uasIP, r.uacIP = "127.0.0.1", "127.0.0.1"
	}
	if r.uasPort == 0 {
		r.uasPort, r.uacPort = uasPort, uacPort
	}
	if r.timeout == 0 {
		r.timeout = 60 * time.Second
	}
	dir := t.TempDir()
	var inf strings.Builder
	inf.WriteString("SEQUENTIAL\n")
	for _, c := range r.calls {
		fmt.Fprintf(&inf, "%s;%s;%s;%d\n", c.caller, c.callee, c.id, c.reply)
	}
	csv := filepath.Join(dir, "calls.csv")
	if err := os.WriteFile(csv, []byte(inf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	n := strconv.Itoa(len(r.calls))
	common := []string{"-nostdin", "-m", n, "-timeout", strconv.Itoa(int(r.timeout.Seconds())) + "s",
		"-buff_size", "8388608", "-trace_counts", "-trace_stat", "-trace_err"}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout+10*time.Second)
	defer cancel()

	uasDir, uacDir := filepath.Join(dir, "uas"), filepath.Join(dir, "uac")
	os.Mkdir(uasDir, 0o755)
	os.Mkdir(uacDir, 0o755)
	uas := nsCommand(ctx, r.uasNS, sipp, append([]string{"-sf", scenario("uas.xml"),
		"-i", r.uasIP, "-p", strconv.Itoa(r.uasPort)}, common...)...)
	uas.Dir = uasDir
	var uasLog, uacLog bytes.Buffer
	uas.Stdout, uas.Stderr = &uasLog, &uasLog
	if err := uas.Start(); err != nil {
		t.Fatalf("sipp UAS: %v", err)
	}
	uasDone := make(chan error, 1)
	go func() { uasDone <- uas.Wait() }()
	t.Cleanup(func() {
		select {
		case <-uasDone:
		default:
			uas.Process.Kill()
		}
	})
	waitListening(t, r.uasNS, r.uasIP, r.uasPort, uasDone)

	uac := nsCommand(ctx, r.uacNS, sipp, append([]string{"-sf", scenario(r.uac), "-inf", csv,
		"-i", r.uacIP, "-p", strconv.Itoa(r.uacPort), "-r", strconv.Itoa(r.rate),
		"-cid_str", "genesys-sip-%u-%p@%s", net.JoinHostPort(r.uasIP, strconv.Itoa(r.uasPort))}, common...)...)
	uac.Dir = uacDir
	uac.Stdout, uac.Stderr = &uacLog, &uacLog
	start := time.Now()
	if err := uac.Run(); err != nil {
		t.Fatalf("sipp UAC: %v\n%s\nUAS:\n%s", err, tail(uacLog.String()), tail(uasLog.String()))
	}
	r.elapsed = time.Since(start)
	select {
	case err := <-uasDone:
		if err != nil {
			t.Fatalf("sipp UAS: %v\n%s", err, tail(uasLog.String()))
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("sipp UAS did not finish its %s calls\n%s", n, tail(uasLog.String()))
	}
	r.uasOut = readSippStats(t, uasDir, "uas")
	r.uacOut = readSippStats(t, uacDir, strings.TrimSuffix(r.uac, ".xml"))
	for _, s := range []struct {
		name string
		side sippSide
		col  string
	}{{"UAS", r.uasOut, "IncomingCall(C)"}, {"UAC", r.uacOut, "OutgoingCall(C)"}} {
		if s.side.int("SuccessfulCall(C)") != len(r.calls) || s.side.int("FailedCall(C)") != 0 || s.side.int(s.col) != len(r.calls) {
			t.Fatalf("sipp %s: %s calls, %s successful, %s failed; want %d successful", s.name,
				s.side.stat[s.col], s.side.stat["SuccessfulCall(C)"], s.side.stat["FailedCall(C)"], len(r.calls))
		}
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

// sent is the number of SIP messages both sides sent.
func (r *sippRun) sent() int { return r.uasOut.sent + r.uacOut.sent }

// waitListening waits until the UAS has bound its UDP port.
func waitListening(t *testing.T, ns, ip string, port int, exited <-chan error) {
	t.Helper()
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("sipp UAS exited at start: %v", err)
		default:
		}
		bound := false
		if ns == "" {
			c, err := net.ListenPacket("udp", addr)
			if err == nil {
				c.Close()
			}
			bound = errors.Is(err, syscall.EADDRINUSE)
		} else {
			out, _ := exec.Command("ip", "netns", "exec", ns, "ss", "-Hlun", "sport", "=", ":"+strconv.Itoa(port)).Output()
			bound = len(bytes.TrimSpace(out)) > 0
		}
		if bound {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("sipp UAS is not listening on %s", addr)
}

// readSippStats reads the files sipp wrote: <scenario>_<pid>_counts.csv
// (per scenario element: Sent and Retrans for sends) and
// <scenario>_<pid>_.csv (call statistics), both ';'-separated with a header.
func readSippStats(t *testing.T, dir, name string) sippSide {
	t.Helper()
	last := func(pattern string) map[string]string {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		if len(m) != 1 {
			t.Fatalf("sipp statistics %s in %s: found %v", pattern, dir, m)
		}
		b, err := os.ReadFile(m[0])
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		head, vals := strings.Split(lines[0], ";"), strings.Split(lines[len(lines)-1], ";")
		out := map[string]string{}
		for i, h := range head {
			if i < len(vals) {
				out[h] = vals[i]
			}
		}
		return out
	}
	s := sippSide{stat: last(name + "_*_.csv")}
	counts := last(name + "_*_counts.csv")
	for col, v := range counts {
		if p, ok := strings.CutSuffix(col, "_Sent"); ok {
			sent, _ := strconv.Atoi(v)
			re, _ := strconv.Atoi(counts[p+"_Retrans"])
			s.sent += sent + re
			s.retrans += re
		}
	}
	return s
}

// traceRecords writes siptraces-API-shaped records for every message of
// calls, as Genesys would have recorded them around start (rate calls/s).
func writeTrace(t *testing.T, path string, calls []sippCall, first int, rate int, start time.Time, uasIP, uacIP string) {
	t.Helper()
	type msg struct {
		method, reason, cseq, branch string
		fromUAC                      bool
	}
	var recs []map[string]string
	for i, c := range calls {
		b := "z9hG4bK-" + c.id + "-"
		msgs := []msg{{"INVITE", "", "1 INVITE", b + "1", true}, {"100", "Trying", "1 INVITE", b + "1", false}}
		if c.reply == 503 {
			msgs = append(msgs, msg{"503", "Service Unavailable", "1 INVITE", b + "1", false}, msg{"ACK", "", "1 ACK", b + "1", true})
		} else {
			msgs = append(msgs, msg{"180", "Ringing", "1 INVITE", b + "1", false}, msg{"200", "OK", "1 INVITE", b + "1", false},
				msg{"ACK", "", "1 ACK", b + "2", true}, msg{"BYE", "", "2 BYE", b + "3", true}, msg{"200", "OK", "2 BYE", b + "3", false})
		}
		at := start.Add(time.Duration(first+i) * time.Second / time.Duration(rate))
		for j, m := range msgs {
			ts := at.Add(time.Duration(j) * time.Millisecond)
			src, dst, sport, dport := uacIP, uasIP, uacPort, uasPort
			if !m.fromUAC {
				src, dst, sport, dport = uasIP, uacIP, uasPort, uacPort
			}
			line := m.method + " sip:" + c.callee + "@" + uasIP + ":" + strconv.Itoa(uasPort) + ";user=phone SIP/2.0"
			if m.reason != "" {
				line = "SIP/2.0 " + m.method + " " + m.reason
			}
			raw := line + "\r\nVia: SIP/2.0/UDP " + uacIP + ":" + strconv.Itoa(uacPort) + ";branch=" + m.branch + ";rport" +
				"\r\nFrom: <sip:" + c.caller + "@" + uacIP + ">\r\nTo: <sip:" + c.callee + "@" + uasIP + ">" +
				"\r\nCSeq: " + m.cseq + "\r\nX-Genesys-Call-ID: " + c.id + "\r\nContent-Length: 0\r\n\r\n"
			recs = append(recs, map[string]string{
				"date": ts.UTC().Format("2006-01-02T15:04:05.000Z"), "microTs": strconv.FormatInt(ts.UnixMicro(), 10),
				"method": m.method, "replyReason": m.reason, "cseq": m.cseq, "via1Branch": m.branch,
				"fromUser": c.caller, "toUser": c.callee, "ruriUser": c.callee,
				"sourceIp": src, "sourcePort": strconv.Itoa(sport), "destinationIp": dst, "destinationPort": strconv.Itoa(dport),
				"proto": "17", "node": "test-edge", "msg": raw,
			})
		}
	}
	b, err := json.Marshal(map[string]any{"data": recs, "count": len(recs)})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitNonEmpty waits until a capture file has its header.
func waitNonEmpty(t *testing.T, path string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("capture exited before it started: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%s is still empty: the capture did not start", path)
}

// bg is a background process of a test, stopped by signal.
type bg struct {
	cmd    *exec.Cmd
	done   chan error
	stderr bytes.Buffer
}

func startBG(t *testing.T, cmd *exec.Cmd) *bg {
	t.Helper()
	b := &bg{cmd: cmd, done: make(chan error, 1)}
	if cmd.Stderr == nil {
		cmd.Stderr = &b.stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", cmd.Path, err)
	}
	go func() { b.done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			cmd.Process.Kill()
			<-b.done
		}
	})
	return b
}

// stop signals the process and waits (at most 15 s) for its exit.
func (b *bg) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	b.cmd.Process.Signal(sig)
	select {
	case err := <-b.done:
		b.done <- err
		return err
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not stop within 15 s of %v", b.cmd.Path, sig)
		return nil
	}
}

// liveFrame is a frame of a live capture as tshark reads it.
type liveFrame struct {
	number, iface int
	method        string
	status        string
	cseq          string
	callID        string // genesys.call_id
	comments      []string
}

func (f liveFrame) comment(prefix string) string {
	for _, c := range f.comments {
		if strings.HasPrefix(c, prefix) {
			return c
		}
	}
	return ""
}

func (f liveFrame) event() string {
	if f.method != "" {
		return f.method
	}
	return f.status
}

// liveFrames reads the SIP frames of file matching filter with tshark
// (under the test home, so genesys.call_id comes from genesys.lua).
func liveFrames(t *testing.T, h *home, file, filter string) []liveFrame {
	t.Helper()
	r := h.run(t, 120*time.Second, h.tshark, "-r", file, "-Y", filter, "-T", "fields", "-E", "separator=\t", "-E", "aggregator=\x1f",
		"-e", "frame.number", "-e", "frame.interface_id", "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.CSeq",
		"-e", "genesys.call_id", "-e", "frame.comment")
	if r.err != nil {
		t.Fatalf("tshark -r %s: %v\n%s", file, r.err, r.stderr)
	}
	var out []liveFrame
	for _, line := range strings.Split(strings.TrimRight(r.stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		for len(f) < 7 {
			f = append(f, "")
		}
		n, _ := strconv.Atoi(f[0])
		i, _ := strconv.Atoi(f[1])
		lf := liveFrame{number: n, iface: i, method: f[2], status: f[3], cseq: f[4], callID: f[5]}
		if f[6] != "" {
			lf.comments = strings.Split(f[6], "\x1f")
		}
		out = append(out, lf)
	}
	return out
}

func portsFilter(a, b int) string {
	return fmt.Sprintf("(udp.srcport == %d && udp.dstport == %d) || (udp.srcport == %d && udp.dstport == %d)", a, b, b, a)
}

// TestLiveCaptureThroughTshark: sipp calls on loopback captured live by
// `tshark -i genesys-sip` with a trace file, and at the same time by
// `genesys-sip capture --device lo -w -`. Every message sipp sent is in the
// output, 503s carry alert comments, the traced calls' messages carry
// correlation comments, the two outputs are identical and the CLI's
// Interface Statistics Block reports no drops.
func TestLiveCaptureThroughTshark(t *testing.T) {
	needCapture(t)
	h := installHome(t)
	dir := t.TempDir()
	const rate = 50
	calls := makeCalls(20, 5) // calls 5, 10, 15, 20 are rejected
	traced := calls[:6]
	trace := filepath.Join(dir, "trace.json")
	writeTrace(t, trace, traced, 0, rate, time.Now().Add(500*time.Millisecond), "127.0.0.1", "127.0.0.1")
	key := "live-test-key"

	viaTshark := filepath.Join(dir, "tshark.pcapng")
	ts := h.command(context.Background(), h.tshark, "-i", "genesys-sip", "-w", viaTshark,
		"-o", "extcap.genesys_sip.device:lo", "-o", "extcap.genesys_sip.tracefile:"+trace)
	ts.Env = append(ts.Env, "GENESYS_SIP_REDACT_KEY="+key)
	tsProc := startBG(t, ts)

	viaCLI := filepath.Join(dir, "cli.pcapng")
	f, err := os.Create(viaCLI)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cli := exec.Command(binPath, "capture", "--device", "lo", "-w", "-", "--trace-file", trace)
	cli.Env = append(os.Environ(), "GENESYS_SIP_REDACT_KEY="+key)
	cli.Stdout = f
	cliProc := startBG(t, cli)

	waitNonEmpty(t, viaTshark, tsProc.done)
	waitNonEmpty(t, viaCLI, cliProc.done)

	run := &sippRun{calls: calls, rate: rate}
	run.run(t)
	time.Sleep(300 * time.Millisecond) // ≥ 6 flush intervals
	if err := cliProc.stop(t, syscall.SIGTERM); err != nil || unexpectedStderr(cliProc.stderr.String()) != "" {
		t.Errorf("genesys-sip capture after SIGTERM: %v, stderr %q", err, cliProc.stderr.String())
	}
	if err := tsProc.stop(t, os.Interrupt); err != nil {
		t.Errorf("tshark after SIGINT: %v\n%s", err, tsProc.stderr.String())
	}

	want := 0
	for _, c := range calls {
		want += c.messages()
	}
	filter := portsFilter(uasPort, uacPort)
	got := liveFrames(t, h, viaTshark, filter)
	t.Logf("sipp sent %d messages (UAC %d, UAS %d, %d retransmissions); tshark output holds %d",
		run.sent(), run.uacOut.sent, run.uasOut.sent, run.uacOut.retrans+run.uasOut.retrans, len(got))
	if run.sent() != want+run.uacOut.retrans+run.uasOut.retrans {
		t.Errorf("sipp reports %d messages sent; the scenario makes %d (+ retransmissions)", run.sent(), want)
	}
	if len(got) != run.sent() {
		t.Fatalf("captured %d SIP messages, sipp sent %d", len(got), run.sent())
	}

	isTraced := map[string]bool{}
	for _, c := range traced {
		isTraced[c.id] = true
	}
	byCall := map[string][]liveFrame{}
	for _, fr := range got {
		if fr.iface != 0 {
			t.Errorf("frame %d on interface %d: every record should have matched a wire message", fr.number, fr.iface)
		}
		if fr.callID == "" {
			t.Errorf("frame %d has no genesys.call_id", fr.number)
			continue
		}
		byCall[fr.callID] = append(byCall[fr.callID], fr)
		alert := fr.comment("genesys-alert:")
		if (fr.status == "503") != (alert != "") {
			t.Errorf("frame %d (%s): alert comment %q", fr.number, fr.event(), alert)
		} else if alert != "" && (!strings.Contains(alert, "status=503") || !strings.Contains(alert, `event="503 Service Unavailable"`) ||
			!strings.Contains(alert, "call="+fr.callID)) {
			t.Errorf("frame %d: alert comment %q", fr.number, alert)
		}
		ann := fr.comment("genesys: ")
		switch {
		case !isTraced[fr.callID] && ann != "":
			t.Errorf("frame %d of an untraced call is annotated: %q", fr.number, ann)
		case isTraced[fr.callID] && ann == "":
			t.Errorf("frame %d (%s, CSeq %s) of traced call %s has no genesys: comment; comments %q", fr.number, fr.event(), fr.cseq, fr.callID, fr.comments)
		case isTraced[fr.callID] && (!strings.Contains(ann, "call="+fr.callID) || !strings.Contains(ann, `cseq="`+fr.cseq+`"`) ||
			!strings.Contains(ann, "key=x-genesys-call-id") || strings.Contains(ann, "match=order")):
			t.Errorf("frame %d (%s, CSeq %s): annotation %q", fr.number, fr.event(), fr.cseq, ann)
		}
	}
	if extra := liveFrames(t, h, viaTshark, "frame.interface_id != 0"); len(extra) > 0 {
		t.Errorf("%d Genesys-only frames: every trace record should have matched a wire message", len(extra))
	}
	for _, c := range calls {
		if n := len(byCall[c.id]); n != c.messages() {
			t.Errorf("call %s (reply %d): %d messages captured, want %d", c.id, c.reply, n, c.messages())
		}
	}

	// Redaction is on by default: no phone number of the calls in clear.
	raw, _ := os.ReadFile(viaTshark)
	for _, c := range calls {
		if bytes.Contains(raw, []byte(c.caller[1:])) || bytes.Contains(raw, []byte(c.callee[1:])) {
			t.Fatalf("the output holds a phone number of call %s in clear", c.id)
		}
	}

	// The CLI saw the same packets with the same bytes and comments.
	a, b := frames(t, h.tshark, viaTshark, "-Y", filter), frames(t, h.tshark, viaCLI, "-Y", filter)
	if !slices.Equal(a, b) {
		t.Errorf("tshark and CLI captures differ: %d vs %d frames", len(a), len(b))
	}
	cf := liveFrames(t, h, viaCLI, filter)
	for i := range min(len(cf), len(got)) {
		if !slices.Equal(cf[i].comments, got[i].comments) {
			t.Errorf("frame %d: comments via tshark %q, via CLI %q", got[i].number, got[i].comments, cf[i].comments)
			break
		}
	}
	st := readCapture(t, viaCLI, nil)
	if !st.isb || st.ifDrop != 0 || st.ifRecv < uint64(len(got)) {
		t.Errorf("CLI statistics block: present %v, received %d, dropped %d", st.isb, st.ifRecv, st.ifDrop)
	}
}

// captureStats is what readCapture learned from a pcapng stream.
type captureStats struct {
	epbs           int
	isb            bool
	ifRecv, ifDrop uint64
}

// epb is one Enhanced Packet Block as the FIFO reader saw it.
type epb struct {
	iface    uint32
	ts       int64 // ns since the epoch
	arrival  int64 // when the reader had the whole block, ns since the epoch
	data     []byte
	comments []string
}

// readCapture parses a pcapng stream block by block as it arrives (the
// FIFO of an extcap, or a file) and calls fn for every packet. Only one
// section is expected; options are read where the test needs them
// (if_tsresol, opt_comment, isb_ifrecv, isb_ifdrop).
func readCapture(t *testing.T, path string, fn func(*epb)) captureStats {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return captureStats{}
	}
	defer f.Close()
	st, err := parsePcapng(f, fn)
	if err != nil {
		t.Errorf("%s: %v", path, err)
	}
	return st
}

func parsePcapng(r io.Reader, fn func(*epb)) (captureStats, error) {
	var st captureStats
	br := bufio.NewReaderSize(r, 1<<20)
	var bo binary.ByteOrder = binary.LittleEndian
	var tsres []int64 // per interface: units per second
	var hdr [8]byte
	var body []byte
	options := func(b []byte, each func(code uint16, v []byte)) {
		for len(b) >= 4 {
			code, n := bo.Uint16(b), int(bo.Uint16(b[2:]))
			if code == 0 || 4+n > len(b) {
				return
			}
			each(code, b[4:4+n])
			b = b[4+(n+3)&^3:]
		}
	}
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return st, nil
			}
			return st, fmt.Errorf("cut inside a block header: %w", err)
		}
		typ := binary.LittleEndian.Uint32(hdr[:])
		if typ == 0x0A0D0D0A {
			var magic [4]byte
			if _, err := io.ReadFull(br, magic[:]); err != nil {
				return st, err
			}
			if binary.BigEndian.Uint32(magic[:]) == 0x1A2B3C4D {
				bo = binary.BigEndian
			} else {
				bo = binary.LittleEndian
			}
			body = append(body[:0], magic[:]...)
		} else {
			typ = bo.Uint32(hdr[:])
			body = body[:0]
		}
		n := int(bo.Uint32(hdr[4:]))
		if n < 12 || n%4 != 0 {
			return st, fmt.Errorf("bad block length %d", n)
		}
		need := n - 8 - len(body)
		body = slices.Grow(body, need)[:len(body)+need]
		if _, err := io.ReadFull(br, body[len(body)-need:]); err != nil {
			return st, fmt.Errorf("cut inside a block: %w", err)
		}
		arrival := time.Now().UnixNano()
		b := body[:len(body)-4]
		switch typ {
		case 1: // IDB
			res := int64(1e6)
			if len(b) >= 8 {
				options(b[8:], func(code uint16, v []byte) {
					if code == 9 && len(v) == 1 {
						if v[0]&0x80 != 0 {
							res = 1 << (v[0] & 0x7f)
						} else {
							res = 1
							for range v[0] {
								res *= 10
							}
						}
					}
				})
			}
			tsres = append(tsres, res)
		case 6: // EPB
			if len(b) < 20 {
				return st, errors.New("short EPB")
			}
			st.epbs++
			if fn == nil {
				continue
			}
			p := &epb{iface: bo.Uint32(b), arrival: arrival}
			units := int64(bo.Uint32(b[4:]))<<32 | int64(bo.Uint32(b[8:]))
			res := int64(1e6)
			if int(p.iface) < len(tsres) {
				res = tsres[p.iface]
			}
			p.ts = units/res*1e9 + units%res*1e9/res
			capLen := int(bo.Uint32(b[12:]))
			if 20+capLen > len(b) {
				return st, errors.New("EPB captured length beyond the block")
			}
			p.data = b[20 : 20+capLen]
			options(b[20+(capLen+3)&^3:], func(code uint16, v []byte) {
				if code == 1 {
					p.comments = append(p.comments, string(v))
				}
			})
			fn(p)
		case 5: // ISB
			st.isb = true
			if len(b) >= 12 {
				options(b[12:], func(code uint16, v []byte) {
					if len(v) != 8 {
						return
					}
					switch code {
					case 4:
						st.ifRecv = bo.Uint64(v)
					case 5:
						st.ifDrop = bo.Uint64(v)
					}
				})
			}
		}
	}
}

// udpPorts returns the UDP ports of an Ethernet/IPv4 frame (first
// fragments and whole datagrams only).
func udpPorts(d []byte) (src, dst int, ok bool) {
	if len(d) < 14+20+8 || binary.BigEndian.Uint16(d[12:]) != 0x0800 {
		return 0, 0, false
	}
	ip := d[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[9] != 17 || binary.BigEndian.Uint16(ip[6:])&0x1fff != 0 || len(ip) < ihl+8 {
		return 0, 0, false
	}
	return int(binary.BigEndian.Uint16(ip[ihl:])), int(binary.BigEndian.Uint16(ip[ihl+2:])), true
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// extcap starts genesys-sip as tshark would, on a FIFO the test reads
// itself; extra are more arguments. The returned channel yields the
// statistics when the stream ends. It returns once the header has arrived
// (libpcap is capturing).
func startExtcap(t *testing.T, dir string, fn func(*epb), extra ...string) (proc *bg, result <-chan captureStats) {
	t.Helper()
	fifo := filepath.Join(dir, "capture.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	rdy := make(chan struct{})
	res := make(chan captureStats, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			res <- captureStats{}
			return
		}
		defer f.Close()
		// The sink writes SHB and IDB together and flushes before the
		// first packet: signal once bytes have arrived.
		var first [1]byte
		pr, pw := io.Pipe()
		go func() {
			n, err := f.Read(first[:])
			if n == 1 {
				close(rdy)
				pw.Write(first[:])
				_, err = io.Copy(pw, f)
			}
			pw.CloseWithError(err)
		}()
		st, err := parsePcapng(pr, fn)
		if err != nil {
			t.Errorf("capture FIFO: %v", err)
		}
		pr.Close()
		res <- st
	}()
	args := append([]string{"--capture", "--extcap-interface", "genesys-sip", "--fifo", fifo, "--device", "lo",
		"--log-file", filepath.Join(dir, "extcap.log")}, extra...)
	proc = startBG(t, exec.Command(binPath, args...))
	select {
	case <-rdy:
	case err := <-proc.done:
		t.Fatalf("extcap exited at start: %v %s", err, proc.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("extcap wrote no header within 20 s")
	}
	return proc, res
}

// TestLiveLoad: 2,000 calls/s of sipp traffic on loopback for 10 s through
// the extcap FIFO. Every message sipp sent is delivered, libpcap drops
// nothing, and packets reach the FIFO reader within 50 ms (p99).
func TestLiveLoad(t *testing.T) {
	needCapture(t)
	const (
		rate    = 2000
		seconds = 10
	)
	dir := t.TempDir()
	calls := makeCalls(rate*seconds, 10)
	var lat []time.Duration
	captured, alerts, other := 0, 0, 0
	proc, result := startExtcap(t, dir, func(p *epb) {
		if s, d, ok := udpPorts(p.data); !ok || !(s == uasPort && d == uacPort || s == uacPort && d == uasPort) {
			other++
			return
		}
		captured++
		lat = append(lat, time.Duration(p.arrival-p.ts))
		for _, c := range p.comments {
			if strings.HasPrefix(c, "genesys-alert: status=503") {
				alerts++
			}
		}
	})
	run := &sippRun{calls: calls, rate: rate, timeout: 60 * time.Second}
	run.run(t)
	time.Sleep(300 * time.Millisecond)
	if err := proc.stop(t, syscall.SIGTERM); err != nil || proc.stderr.Len() > 0 {
		t.Errorf("extcap after SIGTERM: %v, stderr %q", err, proc.stderr.String())
	}
	st := <-result

	want, rejected := 0, 0
	for _, c := range calls {
		want += c.messages()
		if c.reply == 503 {
			rejected++
		}
	}
	slices.Sort(lat)
	callRate, _ := strconv.ParseFloat(run.uacOut.stat["CallRate(C)"], 64)
	t.Logf("sipp: %d calls in %.2f s (sipp CallRate(C) %.1f/s, target %d/s); messages sent %d (UAC %d, UAS %d, retransmissions %d), scenario count %d",
		len(calls), run.elapsed.Seconds(), callRate, rate, run.sent(), run.uacOut.sent, run.uasOut.sent,
		run.uacOut.retrans+run.uasOut.retrans, want)
	t.Logf("captured %d (other frames %d), alerts %d of %d rejects; ISB received %d dropped %d",
		captured, other, alerts, rejected, st.ifRecv, st.ifDrop)
	t.Logf("latency packet→FIFO reader: p50 %v p95 %v p99 %v max %v",
		percentile(lat, .50), percentile(lat, .95), percentile(lat, .99), percentile(lat, 1))

	if callRate < 0.9*rate {
		t.Errorf("sipp reached %.1f calls/s, want ≥ %d (the load was not generated)", callRate, int(0.9*rate))
	}
	if captured != run.sent() {
		t.Errorf("captured %d SIP messages, sipp sent %d", captured, run.sent())
	}
	if !st.isb || st.ifDrop != 0 {
		t.Errorf("statistics block: present %v, dropped %d; want 0 drops", st.isb, st.ifDrop)
	}
	if alerts != rejected {
		t.Errorf("%d alert comments, want one per 503 (%d)", alerts, rejected)
	}
	if p99 := percentile(lat, .99); p99 >= 50*time.Millisecond {
		t.Errorf("p99 latency %v, budget 50 ms", p99)
	}
}

// netnsPair creates two network namespaces joined by a veth pair with MTU
// 1500 (10.203.x.1 in the first, .2 in the second) and returns their names,
// the first's interface and both addresses; t.Cleanup removes them.
func netnsPair(t *testing.T) (ns1, ns2, dev1, ip1, ip2 string) {
	t.Helper()
	ipTool := testenv.Tool(t, "ip")
	id := os.Getpid() % 100000
	ns1, ns2 = fmt.Sprintf("gs-live-%d-a", id), fmt.Sprintf("gs-live-%d-b", id)
	dev1, dev2 := fmt.Sprintf("gsl%da", id), fmt.Sprintf("gsl%db", id)
	sub := 100 + id%100
	ip1, ip2 = fmt.Sprintf("10.203.%d.1", sub), fmt.Sprintf("10.203.%d.2", sub)
	ipRun := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipTool, args...).CombinedOutput(); err != nil {
			if testenv.InCI() || !strings.Contains(string(out), "ermission") {
				t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			t.Skipf("network namespaces not permitted here: %s", out)
		}
	}
	t.Cleanup(func() {
		exec.Command(ipTool, "netns", "del", ns1).Run()
		exec.Command(ipTool, "netns", "del", ns2).Run()
	})
	ipRun("netns", "add", ns1)
	ipRun("netns", "add", ns2)
	ipRun("link", "add", dev1, "mtu", "1500", "netns", ns1, "type", "veth", "peer", "name", dev2, "mtu", "1500", "netns", ns2)
	for _, x := range []struct{ ns, dev, ip string }{{ns1, dev1, ip1}, {ns2, dev2, ip2}} {
		ipRun("-n", x.ns, "addr", "add", x.ip+"/24", "dev", x.dev)
		ipRun("-n", x.ns, "link", "set", x.dev, "up")
		ipRun("-n", x.ns, "link", "set", "lo", "up")
	}
	return ns1, ns2, dev1, ip1, ip2
}

// TestLiveFragmentedInvite: an INVITE larger than the MTU crosses a veth
// pair in IP fragments; genesys-sip, capturing in the receiving namespace
// with the default filter, keeps every fragment, reassembles the INVITE
// (its trace record annotates the frame that completes it) and alerts on the
// 503 it gets.
func TestLiveFragmentedInvite(t *testing.T) {
	needCapture(t)
	h := installHome(t)
	ns1, ns2, dev1, ip1, ip2 := netnsPair(t)
	dir := t.TempDir()
	calls := makeCalls(1, 1) // rejected with 503
	trace := filepath.Join(dir, "trace.json")
	writeTrace(t, trace, calls, 0, 1, time.Now().Add(time.Second), ip1, ip2)
	out := filepath.Join(dir, "out.pcapng")
	capProc := startBG(t, exec.Command("ip", "netns", "exec", ns1, binPath, "capture", "--device", dev1, "-w", out,
		"--trace-file", trace, "--log-file", filepath.Join(dir, "capture.log")))
	waitNonEmpty(t, out, capProc.done)
	run := &sippRun{calls: calls, rate: 1, uac: "uac_big.xml", uasNS: ns1, uacNS: ns2, uasIP: ip1, uacIP: ip2, timeout: 20 * time.Second}
	run.run(t)
	time.Sleep(200 * time.Millisecond)
	if err := capProc.stop(t, syscall.SIGTERM); err != nil || unexpectedStderr(capProc.stderr.String()) != "" {
		t.Errorf("capture after SIGTERM: %v, stderr %q", err, capProc.stderr.String())
	}

	r := h.run(t, 60*time.Second, h.tshark, "-r", out, "-T", "fields", "-E", "separator=\t", "-E", "aggregator=\x1f",
		"-e", "frame.number", "-e", "ip.flags.mf", "-e", "ip.frag_offset", "-e", "ip.reassembled_in", "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "frame.comment")
	if r.err != nil {
		t.Fatalf("tshark -r: %v\n%s", r.err, r.stderr)
	}
	t.Logf("capture:\n%s", r.stdout)
	var fragments, sipMsgs int
	var invite, alert string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		f := strings.Split(line, "\t")
		for len(f) < 7 {
			f = append(f, "")
		}
		if f[1] == "1" || (f[2] != "" && f[2] != "0") {
			fragments++
		}
		if f[4] != "" || f[5] != "" {
			sipMsgs++
		}
		if f[4] == "INVITE" {
			if f[2] == "" || f[2] == "0" {
				t.Errorf("frame %s: the INVITE is not completed by a non-first fragment (offset %q)", f[0], f[2])
			}
			invite = f[6]
		}
		if f[5] == "503" {
			alert = f[6]
		}
	}
	if fragments < 2 {
		t.Fatalf("%d IP fragments captured; want the INVITE's (≥ 2)", fragments)
	}
	if sipMsgs != run.sent() {
		t.Errorf("tshark shows %d SIP messages, sipp sent %d", sipMsgs, run.sent())
	}
	if !strings.Contains(invite, "genesys: ") || !strings.Contains(invite, "call="+calls[0].id) || !strings.Contains(invite, `cseq="1 INVITE"`) {
		t.Errorf("the reassembled INVITE lacks its trace annotation; comments %q", invite)
	}
	if !strings.Contains(alert, "genesys-alert: status=503") || !strings.Contains(alert, "call="+calls[0].id) {
		t.Errorf("the 503 lacks its alert; comments %q", alert)
	}
}

// TestLiveToolbar: the extcap's control pipes during a live capture. After
// Wireshark's "initialized" the status line (control 0) reports packets,
// and a 503 puts an alert line into the log (control 2).
func TestLiveToolbar(t *testing.T) {
	needCapture(t)
	dir := t.TempDir()
	ctlIn, ctlOut := filepath.Join(dir, "ctl.in"), filepath.Join(dir, "ctl.out")
	for _, p := range []string{ctlIn, ctlOut} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	type ctlMsg struct {
		ctrl, cmd byte
		payload   string
	}
	msgs := make(chan ctlMsg, 1000)
	proc, result := startExtcap(t, dir, nil, "--extcap-control-in", ctlIn, "--extcap-control-out", ctlOut)
	opened := make(chan error, 2)
	go func() {
		f, err := os.Open(ctlOut)
		opened <- err
		if err != nil {
			return
		}
		defer f.Close()
		br := bufio.NewReader(f)
		for {
			var hdr [6]byte
			if _, err := io.ReadFull(br, hdr[:]); err != nil {
				close(msgs)
				return
			}
			if hdr[0] != 'T' {
				msgs <- ctlMsg{payload: fmt.Sprintf("bad sync byte 0x%02x", hdr[0])}
				close(msgs)
				return
			}
			n := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
			p := make([]byte, max(n-2, 0))
			if _, err := io.ReadFull(br, p); err != nil {
				close(msgs)
				return
			}
			msgs <- ctlMsg{hdr[4], hdr[5], string(p)}
		}
	}()
	waitOpened := func() {
		t.Helper()
		select {
		case err := <-opened:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the extcap did not open its control pipes")
		}
	}
	// The extcap writes to the toolbar only once Wireshark reads: open the
	// output pipe first, then send "initialized" (its answer: the Refresh
	// button disabled, no API configured).
	waitOpened()
	ctlInFile := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(ctlIn, os.O_WRONLY, 0)
		if err == nil {
			// 'T', length 2, control 0, command 0 (initialized)
			_, err = f.Write([]byte{'T', 0, 0, 2, 0, 0})
			ctlInFile <- f // kept open, as Wireshark does, until the end
		}
		opened <- err
	}()
	waitOpened()
	defer func() { (<-ctlInFile).Close() }()

	run := &sippRun{calls: makeCalls(10, 5), rate: 20}
	run.run(t)

	var status, alert string
	var refreshDisabled bool
	deadline := time.After(5 * time.Second)
wait:
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				break wait
			}
			switch {
			case m.ctrl == 0 && m.cmd == 1:
				status = m.payload
			case m.ctrl == 1 && m.cmd == 5:
				refreshDisabled = true
			case m.ctrl == 2 && m.cmd == 2 && strings.Contains(m.payload, "alert"):
				alert = m.payload
			}
			if strings.HasPrefix(status, fmt.Sprintf("%d packets", run.sent())) && alert != "" {
				break wait
			}
		case <-deadline:
			break wait
		}
	}
	if err := proc.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("extcap after SIGTERM: %v", err)
	}
	st := <-result
	t.Logf("status %q; alert %q; %d packets delivered", status, alert, st.epbs)
	if !strings.HasPrefix(status, fmt.Sprintf("%d packets", run.sent())) {
		t.Errorf("status line %q does not report the %d packets", status, run.sent())
	}
	if !strings.Contains(alert, "503 Service Unavailable") {
		t.Errorf("no alert line for the 503s in the log control (last: %q)", alert)
	}
	if !refreshDisabled {
		// Messages sent before the output pipe opened are queued, so the
		// answer to "initialized" must arrive.
		t.Error("the Refresh traces button was not disabled after initialized")
	}
}

// unexpectedStderr drops the one warning a live capture rightly prints on a
// host whose clock is not synchronised (CI machines often are not) and
// returns the rest.
func unexpectedStderr(s string) string {
	var rest []string
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line != "" && !strings.HasPrefix(line, "genesys-sip: warning: host clock ") {
			rest = append(rest, line)
		}
	}
	return strings.Join(rest, "\n")
}
