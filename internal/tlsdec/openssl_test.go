package tlsdec_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
	"github.com/genesys-sip/genesys-sip/internal/tlsdec/tlsgen"
)

// TestOpenSSLClientKeyUpdate covers what Go's client cannot produce:
// TLS_AES_256_GCM_SHA384 and KeyUpdate. openssl s_client offers only that
// suite and, on the "K" command, sends a KeyUpdate requesting one back, so
// both directions change keys mid-connection. tshark validates the capture.
func TestOpenSSLClientKeyUpdate(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	// No client message may start with an s_client command letter (Q, R,
	// K, k, B): s_client reads the first byte of each stdin chunk as one.
	msgs := []tlsgen.Message{
		{Data: []byte("OPTIONS sip:genesys.invalid SIP/2.0\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")},
		{FromServer: true, Data: []byte("SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")},
		{Data: []byte("INFO sip:genesys.invalid SIP/2.0\r\nCSeq: 2 INFO\r\nContent-Length: 0\r\n\r\n")},
		{FromServer: true, Data: []byte("SIP/2.0 200 OK\r\nCSeq: 2 INFO\r\nContent-Length: 0\r\n\r\n")},
	}
	client := func(ctx context.Context, addr string) error {
		cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", addr, "-tls1_3",
			"-ciphersuites", "TLS_AES_256_GCM_SHA384", "-servername", "tlsgen.invalid")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		fail := func(err error) error {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return err
		}
		// Both outputs are read line by line; waitFor consumes them.
		out, errs := make(chan string, 100), make(chan string, 100)
		scan := func(r io.Reader, ch chan<- string) {
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				ch <- sc.Text()
			}
			close(ch)
		}
		go scan(stdout, out)
		go scan(stderr, errs)
		waitFor := func(ch <-chan string, s string) error {
			timeout := time.After(10 * time.Second)
			for {
				select {
				case l, ok := <-ch:
					if !ok {
						return fmt.Errorf("s_client ended before printing %q", s)
					}
					if strings.Contains(l, s) {
						return nil
					}
				case <-timeout:
					return fmt.Errorf("s_client did not print %q", s)
				}
			}
		}
		if err := waitFor(out, "Cipher is TLS_AES_256_GCM_SHA384"); err != nil {
			return fail(err)
		}
		if _, err := io.WriteString(stdin, "K\n"); err != nil {
			return fail(err)
		}
		if err := waitFor(errs, "KEYUPDATE"); err != nil {
			return fail(err)
		}
		var all []byte
		for _, m := range msgs {
			if !m.FromServer {
				all = append(all, m.Data...)
			}
		}
		if _, err := stdin.Write(all); err != nil {
			return fail(err)
		}
		go func() {
			for range out {
			}
		}()
		go func() {
			for range errs {
			}
		}()
		// The server closes after its last answer; s_client then exits.
		err = cmd.Wait()
		stdin.Close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		_ = err // s_client's exit status after the server closed does not matter
		return nil
	}
	c, err := tlsgen.Generate(tlsgen.Config{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_256_GCM_SHA384,
		Messages: msgs, ExternalClient: client, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	segs := segments(t, c)
	r := decrypt(t, parseKeyLog(t, c.KeyLog), segs)
	want := sent(msgs)
	if !bytes.Equal(r.plain[0].Bytes(), want[0]) || !bytes.Equal(r.plain[1].Bytes(), want[1]) || r.stats.Undecryptable() != 0 ||
		r.stats.CipherSuite != tls.TLS_AES_256_GCM_SHA384 {
		t.Fatalf("client %q\nserver %q\nstats %+v", r.plain[0].Bytes(), r.plain[1].Bytes(), r.stats)
	}
	// tshark agrees, after the KeyUpdates.
	if r.stats.KeyUpdates != 2 {
		t.Errorf("%d KeyUpdates, want 2 (one per direction)", r.stats.KeyUpdates)
	}
	got := tsharkLines(t, c)
	wantLines := []string{"INFO sip:genesys.invalid SIP/2.0", "OPTIONS sip:genesys.invalid SIP/2.0", "SIP/2.0 200 OK", "SIP/2.0 200 OK"}
	if !slices.Equal(got, wantLines) {
		t.Errorf("tshark sees %q", got)
	}
}
