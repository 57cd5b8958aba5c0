package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/genesys/fakegenesys"
	"github.com/genesys-sip/genesys-sip/internal/source/replay"
	"github.com/genesys-sip/genesys-sip/internal/testenv"
	"github.com/genesys-sip/genesys-sip/internal/trace"
)

// The fake Genesys Cloud's credentials: distinctive, so a leak is found.
const (
	fakeID     = "fake-client-id-7f3a"
	fakeSecret = "fake-secret-Qx7Vb9Lm2Zt4Rw8K"
	redactKey  = "genesys-e2e-redaction-key"
)

// genesysScenario writes the correlation scenario and returns its directory
// and ground truth.
func genesysScenario(t *testing.T) (string, groundTruth) {
	t.Helper()
	dir := t.TempDir()
	r := genesysRun(t, &home{dir: t.TempDir()}, nil, binPath, "sample", "--kind", "correlation", "-o", dir)
	if r.err != nil {
		t.Fatalf("sample: %v %s", r.err, r.stderr)
	}
	truth := readTruth(t, dir)
	return dir, truth
}

// newFake starts a fake Genesys Cloud holding the scenario's records.
func newFake(t *testing.T, dir string, opts fakegenesys.Options) *fakegenesys.Server {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID, opts.ClientSecret = fakeID, fakeSecret
	}
	f := fakegenesys.New(opts)
	t.Cleanup(f.Close)
	if dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, "sample-trace.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.LoadRecords(b); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// credEnv is the environment that gives a run the fake's credentials.
func credEnv(secret string) []string {
	return []string{"GENESYS_CLIENT_ID=" + fakeID, "GENESYS_CLIENT_SECRET=" + secret, "GENESYS_SIP_REDACT_KEY=" + redactKey}
}

// urlArgs points the CLI at the fake.
func urlArgs(f *fakegenesys.Server) []string {
	return []string{"--genesys-api-url", f.URL, "--genesys-login-url", f.URL}
}

// genesysRun runs a command under h with extra environment variables,
// without any GENESYS_ variable of the caller's environment.
func genesysRun(t *testing.T, h *home, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := h.command(ctx, name, args...)
	var kept []string
	for _, kv := range cmd.Env {
		if !strings.HasPrefix(kv, "GENESYS_") {
			kept = append(kept, kv)
		}
	}
	cmd.Env = append(kept, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), err: err, elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: hang\nstderr: %s", name, strings.Join(args, " "), r.stderr)
	}
	return r
}

// tsharkGenesys runs tshark -i genesys-sip with preferences and environment.
func tsharkGenesys(t *testing.T, h *home, env []string, out string, prefs map[string]string) result {
	t.Helper()
	args := []string{"-i", "genesys-sip", "-w", out}
	for k, v := range prefs {
		args = append(args, "-o", "extcap.genesys_sip."+k+":"+v)
	}
	return genesysRun(t, h, env, h.tshark, args...)
}

// TestGenesysAPIReplayThroughTshark: a replay whose records come from the
// (fake) Genesys Cloud API, credentials in the environment of tshark, gives
// exactly the comments and Genesys-only frames of the same records given as
// --trace-file.
func TestGenesysAPIReplayThroughTshark(t *testing.T) {
	h := installHome(t)
	dir, truth := genesysScenario(t)
	f := newFake(t, dir, fakegenesys.Options{})
	replayFile := filepath.Join(dir, "sample.pcap")
	env := credEnv(fakeSecret)

	viaAPI := filepath.Join(dir, "api.pcapng")
	logFile := filepath.Join(dir, "api.log")
	r := tsharkGenesys(t, h, env, viaAPI, map[string]string{
		"replayfile": replayFile, "replayspeed": "0",
		"genesysapiurl": f.URL, "genesysloginurl": f.URL, "logfile": logFile, "loglevel": "debug",
	})
	if r.err != nil {
		t.Fatalf("tshark (API): %v\n%s", r.err, r.stderr)
	}
	viaFile := filepath.Join(dir, "file.pcapng")
	r2 := tsharkGenesys(t, h, env, viaFile, map[string]string{
		"replayfile": replayFile, "replayspeed": "0", "tracefile": filepath.Join(dir, "sample-trace.json"),
	})
	if r2.err != nil {
		t.Fatalf("tshark (file): %v\n%s", r2.err, r2.stderr)
	}
	if n := f.Count(fakegenesys.Search); n != 1 {
		t.Errorf("%d siptraces searches for one replay, want 1", n)
	}
	api, file := readOutput(t, h, viaAPI), readOutput(t, h, viaFile)
	annotated := 0
	for _, fr := range api {
		annotated += len(fr.comments)
	}
	if annotated < len(truth.Records) {
		t.Errorf("%d comments via the API, want at least %d (one per record)", annotated, len(truth.Records))
	}
	if !reflect.DeepEqual(api, file) {
		t.Errorf("the API replay differs from the --trace-file replay:\nAPI:  %v\nfile: %v", api, file)
	}
	log, _ := os.ReadFile(logFile)
	if !strings.Contains(string(log), "Genesys Cloud trace records fetched") {
		t.Errorf("the log does not report the fetch:\n%s", log)
	}

	// Credentials refused (401): in Wireshark the packets still stream,
	// unannotated, and the warning says why.
	const wrong = "wrong-secret-Lk3Vd7Qa"
	refused := filepath.Join(dir, "refused.pcapng")
	r3 := tsharkGenesys(t, h, credEnv(wrong), refused, map[string]string{
		"replayfile": replayFile, "replayspeed": "0", "genesysapiurl": f.URL, "genesysloginurl": f.URL,
	})
	if r3.err != nil {
		t.Fatalf("tshark (401): %v\n%s", r3.err, r3.stderr)
	}
	if got := readOutput(t, h, refused); len(got) != truth.Frames {
		t.Errorf("401: %d frames, want the %d wire frames", len(got), truth.Frames)
	}
	if !strings.Contains(r3.stderr, "401 Unauthorized") || !strings.Contains(r3.stderr, "packets are not annotated") {
		t.Errorf("401: the warning does not say the credentials were refused:\n%s", r3.stderr)
	}
	assertNoSecrets(t, []*fakegenesys.Server{f}, []string{fakeSecret, wrong},
		r.stdout, r.stderr, r2.stdout, r2.stderr, r3.stdout, r3.stderr, string(log), readFile(t, viaAPI), readFile(t, refused))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertNoSecrets fails if any output holds a secret or a token a fake
// issued.
func assertNoSecrets(t *testing.T, fakes []*fakegenesys.Server, secrets []string, outputs ...string) {
	t.Helper()
	needles := append([]string(nil), secrets...)
	for _, f := range fakes {
		needles = append(needles, f.IssuedTokens()...)
	}
	if len(needles) == len(secrets) {
		t.Error("no token was issued: the runs did not reach the fake")
	}
	for i, out := range outputs {
		for _, n := range needles {
			if n != "" && strings.Contains(out, n) {
				t.Errorf("output %d holds a secret or token (%d bytes of output)", i, len(out))
			}
		}
	}
}

// TestGenesysSecretsNeverLeak greps every output of capture, traces and
// check runs, successful and failing (401, 403, 429, expired token), for
// the client secret and every access token the fakes issued.
func TestGenesysSecretsNeverLeak(t *testing.T) {
	h := &home{dir: t.TempDir()}
	dir, _ := genesysScenario(t)
	ok := newFake(t, dir, fakegenesys.Options{})
	denied := newFake(t, dir, fakegenesys.Options{Permissions: []string{}})
	replayFile := filepath.Join(dir, "sample.pcap")
	span := recordSpan(t, dir)
	const wrong = "wrong-secret-Hj5Pq2Nc8Ws1"

	var outputs []string
	n := 0
	runCase := func(name string, wantOK bool, env []string, args ...string) {
		t.Helper()
		n++
		logFile := filepath.Join(dir, fmt.Sprintf("run%d.log", n))
		out := filepath.Join(dir, fmt.Sprintf("run%d.out", n))
		full := append([]string(nil), args...)
		if args[0] == "check" {
			full = append(full, "--log-file", logFile, "--log-level", "debug")
		} else {
			full = append(full, "--log-file", logFile, "--log-level", "debug", flagOut(args[0]), out)
		}
		r := genesysRun(t, h, env, binPath, full...)
		if (r.err == nil) != wantOK {
			t.Errorf("%s: err=%v, want success=%v\nstderr: %s", name, r.err, wantOK, r.stderr)
		}
		outputs = append(outputs, r.stdout, r.stderr)
		for _, p := range []string{logFile, out} {
			if b, err := os.ReadFile(p); err == nil {
				outputs = append(outputs, string(b))
			}
		}
	}
	capture := func(f *fakegenesys.Server) []string {
		return append([]string{"capture", "--replay-file", replayFile, "--replay-speed", "0"}, urlArgs(f)...)
	}
	fetch := func(f *fakegenesys.Server, what string) []string {
		return append([]string{"traces", what, "--from", span[0], "--to", span[1]}, urlArgs(f)...)
	}
	good, bad := credEnv(fakeSecret), credEnv(wrong)

	runCase("capture", true, good, capture(ok)...)
	runCase("capture, 401", false, bad, capture(ok)...)
	runCase("capture, 403", false, good, capture(denied)...)
	ok.Inject(fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 429, RetryAfter: "1"})
	runCase("traces fetch, 429 then ok", true, good, fetch(ok, "fetch")...)
	ok.Inject(fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 401})
	runCase("traces fetch, expired token", true, good, fetch(ok, "fetch")...)
	ok.Inject(fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 429, RetryAfter: "1", Times: 9})
	runCase("traces fetch, 429 until the retries give up", false, good, fetch(ok, "fetch")...)
	runCase("traces fetch, 401", false, bad, fetch(ok, "fetch")...)
	runCase("traces fetch, 403", false, good, fetch(denied, "fetch")...)
	runCase("traces pcap", true, good, fetch(ok, "pcap")...)
	runCase("traces pcap, 403", false, good, fetch(denied, "pcap")...)
	runCase("check, 403", false, good, append([]string{"check"}, urlArgs(denied)...)...)
	runCase("check, 401", false, bad, append([]string{"check"}, urlArgs(ok)...)...)
	// The secret as an argument (the last resort) is not echoed either.
	runCase("check, secret as argument", false, nil,
		append([]string{"check", "--genesys-client-id", fakeID, "--genesys-client-secret", fakeSecret}, urlArgs(denied)...)...)
	assertNoSecrets(t, []*fakegenesys.Server{ok, denied}, []string{fakeSecret, wrong}, outputs...)
	if len(outputs) < 30 {
		t.Errorf("only %d outputs collected", len(outputs))
	}
}

func flagOut(cmd string) string {
	if cmd == "capture" {
		return "-w"
	}
	return "-o"
}

// recordSpan returns --from and --to covering the scenario's records.
func recordSpan(t *testing.T, dir string) [2]string {
	t.Helper()
	ix, _, err := trace.LoadFile(context.Background(), filepath.Join(dir, "sample-trace.json"), trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	first, last, _ := ix.Span()
	return [2]string{first.Add(-time.Minute).Format(time.RFC3339Nano), last.Add(time.Minute).Format(time.RFC3339Nano)}
}

// TestGenesysCredentialsFileMode: a credentials file readable by others is
// refused with a clear error; chmod 600 makes it work.
func TestGenesysCredentialsFileMode(t *testing.T) {
	h := &home{dir: t.TempDir()}
	dir, _ := genesysScenario(t)
	f := newFake(t, dir, fakegenesys.Options{})
	creds := filepath.Join(t.TempDir(), "genesys.creds")
	if err := os.WriteFile(creds, []byte("# test\nclient_id="+fakeID+"\nclient_secret="+fakeSecret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(creds, 0o644)
	span := recordSpan(t, dir)
	args := append([]string{"traces", "fetch", "--from", span[0], "--to", span[1], "-o", filepath.Join(dir, "t.json"),
		"--genesys-credentials-file", creds}, urlArgs(f)...)
	capArgs := append([]string{"capture", "--replay-file", filepath.Join(dir, "sample.pcap"), "--replay-speed", "0",
		"-w", filepath.Join(dir, "c.pcapng"), "--genesys-credentials-file", creds}, urlArgs(f)...)
	for _, a := range [][]string{args, capArgs} {
		r := genesysRun(t, h, nil, binPath, a...)
		if r.err == nil {
			t.Errorf("%s with a 0644 credentials file succeeded", a[0])
		}
		if !strings.Contains(r.stderr, "readable by group or others") || !strings.Contains(r.stderr, "chmod 600") {
			t.Errorf("%s: unclear error: %s", a[0], r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, fakeSecret) {
			t.Error("the secret was printed")
		}
	}
	os.Chmod(creds, 0o600)
	for _, a := range [][]string{args, capArgs} {
		if r := genesysRun(t, h, nil, binPath, a...); r.err != nil {
			t.Errorf("%s with a 0600 credentials file: %v\n%s", a[0], r.err, r.stderr)
		}
	}
	if f.Count(fakegenesys.Search) != 2 {
		t.Errorf("%d searches, want 2 (fetch and capture)", f.Count(fakegenesys.Search))
	}
}

// rawRecords returns the raw JSON of a siptraces response's records.
func rawRecords(t *testing.T, b []byte) []string {
	t.Helper()
	var resp struct {
		Data  []json.RawMessage `json:"data"`
		Count int               `json:"count"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatalf("not a siptraces response: %v", err)
	}
	if resp.Count != len(resp.Data) {
		t.Errorf("count %d, %d records", resp.Count, len(resp.Data))
	}
	var out []string
	for _, r := range resp.Data {
		var c bytes.Buffer
		json.Compact(&c, r)
		out = append(out, c.String())
	}
	return out
}

// TestTracesFetchAndPCAP: traces fetch writes the fake's records in the
// siptraces shape (the loaders read them back the same), with filters and
// relative times; traces pcap writes the fake's PCAP.
func TestTracesFetchAndPCAP(t *testing.T) {
	h := &home{dir: t.TempDir()}
	dir, _ := genesysScenario(t)
	pcapData := []byte(readFile(t, filepath.Join(dir, "sample.pcap")))
	f := newFake(t, dir, fakegenesys.Options{PCAP: pcapData, PendingPolls: 1})
	recent := time.Now().Add(-10 * time.Minute)
	recentRec := fmt.Sprintf(`{"microTs":"%d","method":"INVITE","callid":"recent@e2e","cseq":"1 INVITE","toUser":"+15550100","ruriUser":"+15550100","fromUser":"+15550199"}`, recent.UnixMicro())
	if err := f.AddRecord(json.RawMessage(recentRec)); err != nil {
		t.Fatal(err)
	}
	env := credEnv(fakeSecret)
	span := recordSpan(t, dir)
	out := filepath.Join(dir, "trace.json")
	r := genesysRun(t, h, env, binPath, append([]string{"traces", "fetch", "--from", span[0], "--to", span[1], "-o", out}, urlArgs(f)...)...)
	if r.err != nil {
		t.Fatalf("traces fetch: %v\n%s", r.err, r.stderr)
	}
	want := rawRecords(t, []byte(readFile(t, filepath.Join(dir, "sample-trace.json"))))
	got := rawRecords(t, []byte(readFile(t, out)))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("traces fetch wrote %d records, want the fake's %d, byte for byte", len(got), len(want))
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("trace.json mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	// The loaders read it as they read the original.
	a, _, err := trace.LoadFile(context.Background(), out, trace.Options{})
	if err != nil {
		t.Fatalf("trace.LoadFile(fetched): %v", err)
	}
	defer a.Close()
	b, _, err := trace.LoadFile(context.Background(), filepath.Join(dir, "sample-trace.json"), trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if summary(a) != summary(b) || a.Len() != len(want) {
		t.Errorf("fetched records load differently:\n%s\nwant\n%s", summary(a), summary(b))
	}

	// Relative times and filters.
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--from", "-1h"}, 1},
		{[]string{"--from", "now-30m", "--to", "now"}, 1},
		{[]string{"--from", "-1h", "--to", "-20m"}, 0},
		{[]string{"--from", "-0.1d", "--destination", "+1555010*"}, 1},
		{[]string{"--from", "-1h", "--destination", "+1666*"}, 0},
		{[]string{"--from", "-1h", "--call-id", "recent@e2e"}, 1},
		{[]string{"--from", "-1h", "--to-user", "+15550101"}, 0},
	} {
		args := append(append([]string{"traces", "fetch", "-o", "-"}, c.args...), urlArgs(f)...)
		r := genesysRun(t, h, env, binPath, args...)
		if r.err != nil {
			t.Errorf("%v: %v\n%s", c.args, r.err, r.stderr)
			continue
		}
		if n := len(rawRecords(t, []byte(r.stdout))); n != c.want {
			t.Errorf("%v: %d records, want %d", c.args, n, c.want)
		}
	}
	if r := genesysRun(t, h, env, binPath, append([]string{"traces", "fetch", "--from", "yesterday", "-o", "-"}, urlArgs(f)...)...); r.err == nil || !strings.Contains(r.stderr, "--from") {
		t.Errorf("a bad --from: err=%v stderr=%s", r.err, r.stderr)
	}

	pcapOut := filepath.Join(dir, "genesys.pcap")
	r = genesysRun(t, h, env, binPath, append([]string{"traces", "pcap", "--from", span[0], "--to", span[1], "-o", pcapOut}, urlArgs(f)...)...)
	if r.err != nil {
		t.Fatalf("traces pcap: %v\n%s", r.err, r.stderr)
	}
	if got := readFile(t, pcapOut); got != string(pcapData) {
		t.Errorf("traces pcap wrote %d bytes, not the fake's %d", len(got), len(pcapData))
	}
	if f.Count(fakegenesys.Signed) != 1 {
		t.Errorf("%d signed-URL fetches, want 1", f.Count(fakegenesys.Signed))
	}
}

// summary lists an index's records in time order, one line each.
func summary(ix *trace.Index) string {
	var b strings.Builder
	for r := range ix.All() {
		fmt.Fprintf(&b, "%s %s %s %s %d %s\n", r.Time.Format(time.RFC3339Nano), r.Key, r.CallID, r.Event(), r.CSeqNum, r.ConversationID)
	}
	return b.String()
}

// TestGenesysCheck: check passes against the fake and fails clearly, naming
// telephony:pcap:view, when the client lacks it.
func TestGenesysCheck(t *testing.T) {
	h := &home{dir: t.TempDir()}
	f := newFake(t, "", fakegenesys.Options{})
	rec := fmt.Sprintf(`{"microTs":"%d","method":"INVITE","callid":"c@e2e","cseq":"1 INVITE","toUser":"+15550100","ruriUser":"+15550100"}`,
		time.Now().Add(-10*time.Minute).UnixMicro())
	if err := f.AddRecord(json.RawMessage(rec)); err != nil {
		t.Fatal(err)
	}
	env := credEnv(fakeSecret)
	r := genesysRun(t, h, env, binPath, append([]string{"check", "--trace-filter", "+1555*"}, urlArgs(f)...)...)
	if r.err != nil {
		t.Fatalf("check: %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
	}
	for _, w := range []string{"[ ok ] client credentials accepted", "[ ok ] permission telephony:pcap:view", "[ ok ] records in the last hour: 1", "Advice:"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("check output lacks %q:\n%s", w, r.stdout)
		}
	}
	// A filter nothing matches: the records step fails.
	if r := genesysRun(t, h, env, binPath, append([]string{"check", "--trace-filter", "+1666*"}, urlArgs(f)...)...); r.err == nil {
		t.Errorf("check with no matching records succeeded:\n%s", r.stdout)
	}

	denied := newFake(t, "", fakegenesys.Options{Permissions: []string{}})
	r = genesysRun(t, h, env, binPath, append([]string{"check"}, urlArgs(denied)...)...)
	if r.err == nil {
		t.Fatalf("check without the permission succeeded:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "[FAIL] permission telephony:pcap:view") || !strings.Contains(r.stderr, "check failed: permission telephony:pcap:view") {
		t.Errorf("the failure does not name telephony:pcap:view:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	// No credentials at all: one clear line.
	r = genesysRun(t, h, nil, binPath, append([]string{"check"}, urlArgs(f)...)...)
	if r.err == nil || !strings.Contains(r.stderr, "GENESYS_CLIENT_ID") {
		t.Errorf("check without credentials: err=%v stderr=%s", r.err, r.stderr)
	}
}

// genesysPCAP builds the Genesys-side PCAP the fake serves: the first n
// frames of the scenario with timestamps on the Genesys clock (capture
// time plus the scenario's clock offset).
func genesysPCAP(t *testing.T, replayFile string, n int, offset time.Duration) ([]byte, []gopacket.CaptureInfo, [][]byte) {
	t.Helper()
	src, err := replay.Open(replayFile)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(65535, src.Interface(0).LinkType); err != nil {
		t.Fatal(err)
	}
	var cis []gopacket.CaptureInfo
	var data [][]byte
	for len(cis) < n {
		p, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ci := p.CI
		ci.Timestamp = ci.Timestamp.Add(offset)
		ci.InterfaceIndex = 0
		if err := w.WritePacket(ci, p.Data); err != nil {
			t.Fatal(err)
		}
		cis = append(cis, p.CI)
		data = append(data, append([]byte(nil), p.Data...))
	}
	return buf.Bytes(), cis, data
}

type mergedFrame struct {
	pos  int // position in the output, 0-based
	ts   time.Time
	data []byte
}

// outputFrames reads an output pcapng: the frames of the interface named
// iface, and the total frame count.
func outputFrames(t *testing.T, file, iface string) ([]mergedFrame, int) {
	t.Helper()
	src, err := replay.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []mergedFrame
	n := 0
	for ; ; n++ {
		p, err := src.Next()
		if err == io.EOF {
			return out, n
		}
		if err != nil {
			t.Fatal(err)
		}
		if src.Interface(p.CI.InterfaceIndex).Name == iface {
			out = append(out, mergedFrame{pos: n, ts: p.CI.Timestamp, data: append([]byte(nil), p.Data...)})
		}
	}
}

// TestGenesysPCAPMerge: --genesys-pcap downloads the Genesys-side PCAP of
// the replay's window and merges it on an interface of its own, "Genesys
// Cloud PCAP": its frames keep their bytes, move onto the capture clock by
// the estimated offset, and interleave with the wire frames; with
// redaction on, no number of the scenario survives in them.
func TestGenesysPCAPMerge(t *testing.T) {
	h := installHome(t)
	dir, truth := genesysScenario(t)
	replayFile := filepath.Join(dir, "sample.pcap")
	offset := time.Duration(truth.ClockOffsetNs)
	const n = 12
	data, cis, orig := genesysPCAP(t, replayFile, n, offset)
	f := newFake(t, dir, fakegenesys.Options{PCAP: data})
	env := credEnv(fakeSecret)

	out := filepath.Join(dir, "merged.pcapng")
	r := tsharkGenesys(t, h, env, out, map[string]string{
		"replayfile": replayFile, "replayspeed": "0", "genesyspcap": "true", "redact": "false",
		"genesysapiurl": f.URL, "genesysloginurl": f.URL,
	})
	if r.err != nil {
		t.Fatalf("tshark: %v\n%s", r.err, r.stderr)
	}
	if msg := tsharkErrors(t, h.tshark, out); msg != "" {
		t.Fatalf("tshark cannot read the output: %s", msg)
	}
	if c := f.Count(fakegenesys.Signed); c != 1 {
		t.Errorf("%d PCAP downloads, want 1", c)
	}
	merged, total := outputFrames(t, out, "Genesys Cloud PCAP")
	if len(merged) != n {
		t.Fatalf("%d frames on Genesys Cloud PCAP, want %d", len(merged), n)
	}
	if total != truth.Frames+n+countIface(t, out, "Genesys Cloud") {
		t.Errorf("%d output frames, want %d wire + %d merged + Genesys-only", total, truth.Frames, n)
	}
	for i, m := range merged {
		if !bytes.Equal(m.data, orig[i]) {
			t.Errorf("merged frame %d: bytes changed", i)
		}
		// Genesys clock minus the estimated offset: back on the capture
		// clock, within the estimate's error.
		if d := m.ts.Sub(cis[i].Timestamp); d < -5*time.Millisecond || d > 5*time.Millisecond {
			t.Errorf("merged frame %d at %s, want %s (±5 ms): the offset %s was not taken off", i, m.ts, cis[i].Timestamp, offset)
		}
	}
	if merged[n-1].pos >= truth.Frames {
		t.Errorf("the merged frames were not interleaved with the wire frames (last at %d of %d)", merged[n-1].pos, total)
	}
	// tshark sees them as their own interface, dissected.
	fr := frames(t, h.tshark, out, "-Y", `frame.interface_name == "Genesys Cloud PCAP"`)
	if len(fr) != n {
		t.Errorf("tshark shows %d frames on Genesys Cloud PCAP, want %d", len(fr), n)
	}

	// Redaction on (the default), two loops: each loop merges the frames
	// again, and they carry no number of the scenario.
	red := filepath.Join(dir, "merged-redacted.pcapng")
	r = genesysRun(t, h, env, binPath, append([]string{"capture", "--replay-file", replayFile, "--replay-speed", "0",
		"--replay-loop", "2", "--genesys-pcap", "-w", red}, urlArgs(f)...)...)
	if r.err != nil {
		t.Fatalf("capture --genesys-pcap: %v\n%s", r.err, r.stderr)
	}
	merged, _ = outputFrames(t, red, "Genesys Cloud PCAP")
	if len(merged) != 2*n {
		t.Fatalf("redacted, two loops: %d merged frames, want %d", len(merged), 2*n)
	}
	if n := f.Count(fakegenesys.Signed); n != 2 {
		t.Errorf("%d PCAP downloads after two runs, want 2 (one per run, not per loop)", n)
	}
	for i, m := range merged {
		for _, num := range truth.Numbers {
			digits := strings.TrimPrefix(num, "+")
			if len(digits) >= 6 && bytes.Contains(m.data, []byte(digits)) {
				t.Errorf("merged frame %d still holds %s", i, num)
			}
		}
	}
	if msg := tsharkErrors(t, h.tshark, red); msg != "" {
		t.Errorf("tshark cannot read the redacted output: %s", msg)
	}
}

func countIface(t *testing.T, file, iface string) int {
	t.Helper()
	fr, _ := outputFrames(t, file, iface)
	return len(fr)
}

// TestGenesysLivePoller: a live capture with credentials polls the API at
// once and writes the records it gets (no packet matched them yet) on the
// Genesys Cloud interface, without waiting for traffic.
func TestGenesysLivePoller(t *testing.T) {
	if os.Geteuid() != 0 {
		if testenv.InCI() {
			t.Fatal("live capture needs root in CI")
		}
		t.Skip("live capture needs root; skipping")
	}
	dir := t.TempDir()
	f := newFake(t, "", fakegenesys.Options{})
	key := fmt.Sprintf("e2e-live-%d", time.Now().UnixNano())
	msg := "INVITE sip:+15550100@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bKlive1\r\n" +
		"From: <sip:+15550199@192.0.2.2>;tag=a\r\nTo: <sip:+15550100@192.0.2.1>\r\nCall-ID: live@e2e\r\nCSeq: 1 INVITE\r\n" +
		"X-Genesys-Call-ID: " + key + "\r\nContent-Length: 0\r\n\r\n"
	rec, _ := json.Marshal(map[string]string{"microTs": fmt.Sprint(time.Now().Add(-time.Minute).UnixMicro()), "method": "INVITE",
		"callid": "live@e2e", "cseq": "1 INVITE", "toUser": "+15550100", "fromUser": "+15550199", "msg": msg})
	if err := f.AddRecord(rec); err != nil {
		t.Fatal(err)
	}
	out, logFile := filepath.Join(dir, "live.pcapng"), filepath.Join(dir, "live.log")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := &home{dir: t.TempDir()}
	cmd := h.command(ctx, binPath, append([]string{"capture", "--device", "lo", "-f", "udp port 5099", "-w", out,
		"--log-file", logFile, "--log-level", "debug", "--redact", "false"}, urlArgs(f)...)...)
	cmd.Env = append(cmd.Env, credEnv(fakeSecret)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for f.Count(fakegenesys.Search) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // the capture loop takes the batch within ~10 ms
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("capture: %v\n%s", err, stderr.String())
	}
	if f.Count(fakegenesys.Search) == 0 {
		t.Fatal("the poller made no search")
	}
	frames, _ := outputFrames(t, out, "Genesys Cloud")
	if len(frames) != 1 || !bytes.Contains(frames[0].data, []byte(key)) {
		t.Errorf("%d Genesys Cloud frames, want the polled record\nlog: %s", len(frames), readFile(t, logFile))
	}
	assertNoSecrets(t, []*fakegenesys.Server{f}, []string{fakeSecret}, stderr.String(), readFile(t, logFile), readFile(t, out))
}

// noSecretIn fails if an output holds the fake's client secret or the Basic
// credentials made of it (runs that never obtain a token).
func noSecretIn(t *testing.T, outputs ...string) {
	t.Helper()
	basic := base64.StdEncoding.EncodeToString([]byte(fakeID + ":" + fakeSecret))
	for i, out := range outputs {
		if strings.Contains(out, fakeSecret) || strings.Contains(out, basic) {
			t.Errorf("output %d holds the client secret", i)
		}
	}
}

// TestGenesysCheckPermanentErrors: check fails at once, after one attempt,
// on errors that do not clear (a host that does not resolve, a closed
// port, a certificate not trusted), with one [FAIL] line naming the host
// and the cause. Before, each took ~90 s of retries.
func TestGenesysCheckPermanentErrors(t *testing.T) {
	h := &home{dir: t.TempDir()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	tlsFake := newFake(t, "", fakegenesys.Options{TLS: true})
	tests := []struct {
		name, url string
		want      []string
	}{
		// RFC 6761: .invalid never resolves.
		{"no such host", "https://login.genesys-sip-e2e.invalid", []string{"login.genesys-sip-e2e.invalid", "no such host", "1 attempt in"}},
		{"connection refused", closed, []string{strings.TrimPrefix(closed, "http://"), "connection refused", "1 attempt in"}},
		{"self-signed certificate", tlsFake.URL, []string{strings.TrimPrefix(tlsFake.URL, "https://"), "certificate signed by unknown authority", "1 attempt in"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := genesysRun(t, h, credEnv(fakeSecret), binPath, "check", "--genesys-login-url", tt.url, "--genesys-api-url", tt.url)
			t.Logf("%s: %s\n%s", tt.name, r.elapsed.Round(time.Millisecond), r.stdout)
			if r.err == nil {
				t.Fatal("check succeeded")
			}
			if r.elapsed > time.Second {
				t.Errorf("check took %s, want < 1 s", r.elapsed)
			}
			var fail []string
			for _, l := range strings.Split(r.stdout, "\n") {
				if strings.HasPrefix(l, "[FAIL]") {
					fail = append(fail, l)
				}
			}
			if len(fail) != 1 || !strings.HasPrefix(fail[0], "[FAIL] login host reachable: ") {
				t.Fatalf("want one [FAIL] line for the login host:\n%s", r.stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(fail[0], w) {
					t.Errorf("%q lacks %q", fail[0], w)
				}
			}
			if strings.TrimSpace(r.stderr) != "genesys-sip: check failed: login host reachable" {
				t.Errorf("stderr is more than the one failure line:\n%s", r.stderr)
			}
			noSecretIn(t, r.stdout, r.stderr)
		})
	}
	if n := tlsFake.Count(fakegenesys.Token); n != 0 {
		t.Errorf("the TLS fake answered %d token requests", n)
	}
}

// interruptRun starts a command, sends it SIGINT (Ctrl-C) once ready
// reports true, and returns its result.
func interruptRun(t *testing.T, h *home, env []string, ready func() bool, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := h.command(ctx, binPath, args...)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !ready() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the request is in flight
	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("%s: hang after SIGINT\nstderr: %s", strings.Join(args, " "), stderr.String())
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err, elapsed: time.Since(start)}
}

// TestGenesysInterruptedSaysWhatItWaitedFor: Ctrl-C during check or traces
// fetch ends with one line naming the host, what was awaited, the attempt
// and the last error, not a bare "context canceled".
func TestGenesysInterruptedSaysWhatItWaitedFor(t *testing.T) {
	h := &home{dir: t.TempDir()}
	dir := t.TempDir()
	f := newFake(t, "", fakegenesys.Options{})
	host := strings.TrimPrefix(f.URL, "http://")

	f.Inject(fakegenesys.Token, fakegenesys.Fault{Kind: fakegenesys.Hang})
	r := interruptRun(t, h, credEnv(fakeSecret), func() bool { return f.Count(fakegenesys.Token) > 0 },
		append([]string{"check"}, urlArgs(f)...)...)
	want := "genesys-sip: check: interrupted while waiting for " + host + " (OAuth token; attempt 1, no answer yet)"
	if r.err == nil || !strings.Contains(r.stderr, want) {
		t.Errorf("check: err=%v, stderr lacks %q:\n%s", r.err, want, r.stderr)
	}
	t.Logf("check interrupted, exit after %s: %s", r.elapsed.Round(time.Millisecond), strings.TrimSpace(r.stderr))
	noSecretIn(t, r.stdout, r.stderr)

	f.Inject(fakegenesys.Search, fakegenesys.Fault{Kind: fakegenesys.Status, Status: 503}, fakegenesys.Fault{Kind: fakegenesys.Hang})
	out := filepath.Join(dir, "trace.json")
	r = interruptRun(t, h, credEnv(fakeSecret), func() bool { return f.Count(fakegenesys.Search) > 1 },
		append([]string{"traces", "fetch", "--from", "-1h", "-o", out}, urlArgs(f)...)...)
	want = "genesys-sip: interrupted while waiting for " + host +
		" (SIP trace search; attempt 2, no answer yet, last error: 503 Service Unavailable)"
	if r.err == nil || !strings.Contains(r.stderr, want) {
		t.Errorf("traces fetch: err=%v, stderr lacks %q:\n%s", r.err, want, r.stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an interrupted fetch wrote its output")
	}
	t.Logf("traces fetch interrupted, exit after %s: %s", r.elapsed.Round(time.Millisecond), strings.TrimSpace(r.stderr))
	assertNoSecrets(t, []*fakegenesys.Server{f}, []string{fakeSecret}, r.stdout, r.stderr)
}
