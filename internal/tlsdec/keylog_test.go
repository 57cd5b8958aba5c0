package tlsdec_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/tlsdec"
)

const (
	cr1 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	cr2 = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
	// Secrets are recognisable so that the tests can check they never
	// appear in errors.
	ms  = "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e7"
	s32 = "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7"
)

func TestParseKeyLog(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		sessions int
		bad      []string // "line N: reason" substrings, in order
		ignored  int
	}{
		{"tls12", "CLIENT_RANDOM " + cr1 + " " + ms + "\n", 1, nil, 0},
		{"tls13 four lines one session", "CLIENT_HANDSHAKE_TRAFFIC_SECRET " + cr1 + " " + s32 + "\nSERVER_HANDSHAKE_TRAFFIC_SECRET " + cr1 + " " + s32 +
			"\nCLIENT_TRAFFIC_SECRET_0 " + cr1 + " " + s32 + "\nSERVER_TRAFFIC_SECRET_0 " + cr1 + " " + ms + "\n", 1, nil, 0},
		{"comments blank CRLF no final newline", "# SSL/TLS secrets log file\r\n\r\n  \nCLIENT_RANDOM " + cr1 + " " + ms + "\r\nCLIENT_RANDOM " + cr2 + " " + ms, 2, nil, 0},
		{"exporter and early secrets", "EXPORTER_SECRET " + cr1 + " " + s32 + "\nCLIENT_EARLY_TRAFFIC_SECRET " + cr1 + " " + s32 + "\nEARLY_EXPORTER_SECRET " + cr1 + " " + s32 + "\n", 1, nil, 0},
		{"unknown label ignored", "ECH_SECRET " + cr1 + " " + s32 + "\nECH_CONFIG " + cr1 + " 0011\n", 0, nil, 2},
		{"rsa line", "RSA 0011223344556677 " + ms + "\n", 0, nil, 0},
		{"uppercase hex", "CLIENT_RANDOM " + strings.ToUpper(cr1) + " " + strings.ToUpper(ms) + "\n", 1, nil, 0},
		{"bad lines counted, good kept", strings.Join([]string{
			"CLIENT_RANDOM " + cr1 + " " + ms,
			"CLIENT_RANDOM " + cr1[:62] + " " + ms,
			"CLIENT_RANDOM " + cr2 + " " + ms[:94] + "zz",
			"CLIENT_RANDOM " + cr2,
			"client_random " + cr2 + " " + ms,
			"CLIENT_RANDOM " + cr2 + " " + ms[:64],
			"CLIENT_TRAFFIC_SECRET_0 " + cr2 + " " + s32[:40],
			"CLIENT_RANDOM " + cr2 + " " + ms + " extra",
			"RSA 00112233 " + ms,
			strings.Repeat("A", 2000),
			"CLIENT_RANDOM " + cr2 + " " + ms + "1",
		}, "\n"), 1, []string{
			"line 2: client random is not 64 hex digits", "line 3: secret is not hex", "line 4: want 3 fields",
			"line 5: not a key-log line", "line 6: master secret is not 96 hex digits",
		}, 0},
		{"too long line", strings.Repeat("x", 5000) + "\nCLIENT_RANDOM " + cr1 + " " + ms + "\n", 1, []string{"line 1: line too long"}, 0},
		{"binary garbage", "\x00\x01\xff\n\x80\x81 \x82\n", 0, []string{"line 1: not a key-log line", "line 2: not a key-log line"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kl, err := tlsdec.ParseKeyLog(strings.NewReader(tc.in))
			if kl == nil {
				t.Fatal("nil KeyLog")
			}
			st := kl.Stats()
			if st.Sessions != tc.sessions || st.Ignored != tc.ignored {
				t.Errorf("stats %+v, want %d sessions, %d ignored", st, tc.sessions, tc.ignored)
			}
			var ble *tlsdec.BadLinesError
			if len(tc.bad) == 0 {
				if err != nil {
					t.Fatalf("err %v", err)
				}
				return
			}
			if !errors.As(err, &ble) {
				t.Fatalf("err %v, want *BadLinesError", err)
			}
			if ble.Count != st.Bad || ble.Count < len(tc.bad) {
				t.Errorf("Count %d, stats %d", ble.Count, st.Bad)
			}
			for i, want := range tc.bad {
				if got := ble.First[i].String(); !strings.HasPrefix(got, want) {
					t.Errorf("bad line %d: %q, want %q", i, got, want)
				}
			}
			for _, sec := range []string{ms[:16], s32[:16], "5ec7e7"} {
				if strings.Contains(strings.ToLower(err.Error()), sec) {
					t.Errorf("error reveals a secret: %s", err)
				}
			}
		})
	}
}

func TestKeyLogBounded(t *testing.T) {
	kl := tlsdec.NewKeyLog(3)
	var b strings.Builder
	for i := range 10 {
		cr := []byte(cr1)
		cr[0] = "0123456789"[i]
		b.WriteString("CLIENT_RANDOM " + string(cr) + " " + ms + "\n")
	}
	n, err := kl.Read(strings.NewReader(b.String()))
	if err != nil || n != 10 || kl.Stats().Sessions != 3 {
		t.Fatalf("added %d, err %v, stats %+v", n, err, kl.Stats())
	}
	// Re-reading the same lines adds nothing.
	if n, _ := kl.Read(strings.NewReader("CLIENT_RANDOM " + cr1[:0] + "9" + cr1[1:] + " " + ms + "\n")); n != 0 {
		t.Errorf("re-read added %d", n)
	}
}

func TestKeyLogFormatHidesSecrets(t *testing.T) {
	kl, _ := tlsdec.ParseKeyLog(strings.NewReader("CLIENT_RANDOM " + cr1 + " " + ms + "\nRSA 0011223344556677 " + ms + "\n"))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q", "%d"} {
		if out := fmt.Sprintf(verb, kl); strings.Contains(out, "5ec7") || strings.Contains(out, "^\xec") {
			t.Errorf("%s shows %q", verb, out)
		}
	}
	if err := kl.AddRSAKey([]byte("-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n")); err == nil || strings.Contains(err.Error(), "MIIB") {
		t.Errorf("bad RSA key: %v", err)
	}
	if err := kl.AddRSAKey([]byte("not pem")); err == nil {
		t.Error("no error for non-PEM input")
	}
}

// TestFollow tails a key log through appends, a partial line, truncation
// and rotation.
func TestFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.log")
	kl := tlsdec.NewKeyLog(0)
	var mu sync.Mutex
	var errs []error
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		kl.Follow(ctx, path, 5*time.Millisecond, func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}()
	defer func() { cancel(); <-done }()
	line := func(i int) string {
		cr := []byte(cr1)
		cr[0] = "0123456789"[i]
		return "CLIENT_RANDOM " + string(cr) + " " + ms
	}
	waitSessions := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for kl.Stats().Sessions != n {
			if time.Now().After(deadline) {
				t.Fatalf("sessions %d, want %d", kl.Stats().Sessions, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	appendFile := func(s string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	time.Sleep(20 * time.Millisecond) // the file does not exist yet
	appendFile(line(0) + "\n")
	waitSessions(1)
	appendFile(line(1)[:40]) // partial line: not used yet
	time.Sleep(30 * time.Millisecond)
	waitSessions(1)
	appendFile(line(1)[40:] + "\nbad line\n")
	waitSessions(2)
	// Truncate and rewrite: re-read from the start.
	if err := os.WriteFile(path, []byte(line(2)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitSessions(3)
	// Rotate: the old file is finished, the new one read.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(line(3) + "\n")
	waitSessions(4)
	mu.Lock()
	defer mu.Unlock()
	var sawWait, sawBad bool
	for _, e := range errs {
		var ble *tlsdec.BadLinesError
		sawBad = sawBad || errors.As(e, &ble) && ble.First[0].Line == 3
		sawWait = sawWait || strings.Contains(e.Error(), "waiting for the file")
	}
	if !sawWait || !sawBad {
		t.Errorf("errors reported: %v", errs)
	}
}
