package genesys

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/genesys/fakegenesys"
)

func TestDownloadPCAP(t *testing.T) {
	pcap := append(fakegenesys.EmptyPCAP(), bytes.Repeat([]byte{0xab}, 100000)...)
	tests := []struct {
		name          string
		pending       int
		pendingStatus int
		want          []byte
		wantErr       error
	}{
		{"ready at once", 0, 0, pcap, nil},
		{"pending 202", 3, http.StatusAccepted, pcap, nil},
		{"pending 404", 2, http.StatusNotFound, pcap, nil},
		{"pcapng", 0, 0, []byte{0x0a, 0x0d, 0x0d, 0x0a, 1, 2, 3, 4}, nil},
		{"not a capture", 0, 0, []byte("<html>oops</html>"), ErrNotPCAP},
		{"empty", 0, 0, []byte{}, ErrNotPCAP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, fakegenesys.Options{PendingPolls: tt.pending, PendingStatus: tt.pendingStatus, PCAP: tt.want})
			c := newClient(t, testConfig(f, nil))
			var out bytes.Buffer
			q := query(time.Minute)
			q.ConversationID = "conv-1"
			n, err := c.DownloadPCAP(ctxT(t), q, &out)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(tt.want)) || !bytes.Equal(out.Bytes(), tt.want) {
				t.Fatalf("got %d bytes, want %d", n, len(tt.want))
			}
			if got := f.Count(fakegenesys.DownloadStatus); got != tt.pending+1 {
				t.Fatalf("status polls = %d, want %d", got, tt.pending+1)
			}
			for _, r := range f.Requests() {
				if r.Endpoint == fakegenesys.Signed && r.AuthScheme != "" {
					t.Fatalf("signed URL fetched with Authorization %s", r.AuthScheme)
				}
				if r.Endpoint == fakegenesys.DownloadStart && r.AuthScheme != "Bearer" {
					t.Fatal("download requested without a bearer token")
				}
			}
		})
	}
}

func TestDownloadNotReadyIsBounded(t *testing.T) {
	f := newFake(t, fakegenesys.Options{PendingPolls: 1 << 30})
	cfg := testConfig(f, nil)
	clk := &fakeClock{t: base}
	cfg.Now = clk.Now
	cfg.DownloadTimeout = time.Minute
	cfg.DownloadPollMin = time.Second
	cfg.DownloadPollMax = 8 * time.Second
	var waits []time.Duration
	cfg.Sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		clk.Advance(d)
		return ctx.Err()
	}
	c := newClient(t, cfg)
	_, err := c.DownloadPCAP(ctxT(t), query(time.Minute), &bytes.Buffer{})
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "last status 202") {
		t.Fatalf("err = %v", err)
	}
	want := []time.Duration{1, 2, 4, 8, 8, 8, 8, 8, 8}
	if len(waits) != len(want) {
		t.Fatalf("waits = %v", waits)
	}
	for i := range want {
		if waits[i] != want[i]*time.Second {
			t.Fatalf("waits = %v, want backoff 1s..8s", waits)
		}
	}
}

func TestDownloadRejectsPattern(t *testing.T) {
	f := newFake(t, fakegenesys.Options{})
	c := newClient(t, testConfig(f, nil))
	q := query(time.Minute)
	q.Destination = "+1555*"
	if _, err := c.DownloadPCAP(ctxT(t), q, &bytes.Buffer{}); !errors.Is(err, ErrBadQuery) {
		t.Fatalf("err = %v", err)
	}
}

func TestSignedURLRejectsAuthorization(t *testing.T) {
	f := newFake(t, fakegenesys.Options{})
	c := newClient(t, testConfig(f, nil))
	id, err := c.startDownload(ctxT(t), query(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.waitDownload(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	req.Header.Set("Authorization", "Bearer x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("signed URL with Authorization: %d, want 400", resp.StatusCode)
	}
	// A tampered signature is refused; the error keeps only the S3 code.
	u.RawQuery = "X-Amz-Signature=forged"
	_, err = c.fetchSigned(ctxT(t), u, &bytes.Buffer{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Code != "SignatureDoesNotMatch" || strings.Contains(err.Error(), "forged") {
		t.Fatalf("err = %v", err)
	}
}
