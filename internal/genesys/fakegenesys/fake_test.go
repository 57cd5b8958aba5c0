package fakegenesys

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func do(t *testing.T, method, u, auth, body string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if strings.Contains(body, "grant_type") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func token(t *testing.T, s *Server) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.SetBasicAuth(s.ClientID(), s.ClientSecret())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.AccessToken == "" || v.ExpiresIn != 3600 || v.TokenType != "bearer" {
		t.Fatalf("token: %+v %v", v, err)
	}
	return v.AccessToken
}

func TestFake(t *testing.T) {
	s := New(Options{PendingPolls: 1})
	defer s.Close()
	err := s.LoadRecords([]byte(`{"data":[
		{"microTs":"1764064800000000","callid":"a","toUser":"+1555"},
		{"microTs":1764064900000000,"callid":"b","toUser":"+1666"},
		{"date":"2025-11-25T10:30:00.000Z","callid":"c","conversationId":"conv"}],"count":3}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LoadRecords([]byte(`{"data":`)); err == nil {
		t.Fatal("bad records accepted")
	}
	search := func(auth string, q url.Values) (int, string) {
		code, _, body := do(t, http.MethodGet, s.URL+"/api/v2/telephony/siptraces?"+q.Encode(), auth, "")
		return code, body
	}
	win := url.Values{"dateStart": {"2025-11-25T09:00:00.000Z"}, "dateEnd": {"2025-11-25T11:00:00.000Z"}}
	if code, body := search("", win); code != 401 || !strings.Contains(body, "bad.credentials") {
		t.Fatalf("no token: %d %s", code, body)
	}
	tok := "Bearer " + token(t, s)
	if code, body := search(tok, win); code != 200 || !strings.Contains(body, `"count":3`) {
		t.Fatalf("window: %d %s", code, body)
	}
	q := url.Values{"toUser": {"+1666"}}
	for k, v := range win {
		q[k] = v
	}
	if code, body := search(tok, q); code != 200 || !strings.Contains(body, `"callid":"b"`) || !strings.Contains(body, `"count":1`) {
		t.Fatalf("toUser: %d %s", code, body)
	}
	if code, _ := search(tok, url.Values{}); code != 400 {
		t.Fatalf("missing dates: %d", code)
	}

	// Faults, in order, per endpoint.
	s.Inject(Search, Fault{Kind: Status, Status: 429, RetryAfter: "7"}, Fault{Kind: Malformed, Times: 2})
	code, hdr, body := do(t, http.MethodGet, s.URL+"/api/v2/telephony/siptraces?"+win.Encode(), tok, "")
	if code != 429 || hdr.Get("Retry-After") != "7" || !strings.Contains(body, "too.many.requests.retry.after") || !strings.Contains(body, "[7]") {
		t.Fatalf("429: %d %v %s", code, hdr, body)
	}
	for range 2 {
		if code, body := search(tok, win); code != 200 || json.Valid([]byte(body)) {
			t.Fatalf("malformed: %d %s", code, body)
		}
	}
	if code, _ := search(tok, win); code != 200 {
		t.Fatal("script did not end")
	}

	s.ExpireTokens()
	if code, _ := search(tok, win); code != 401 {
		t.Fatalf("expired token: %d", code)
	}
	tok = "Bearer " + token(t, s)

	// Download flow.
	code, _, body = do(t, http.MethodPost, s.URL+"/api/v2/telephony/siptraces/download", tok,
		`{"dateStart":"2025-11-25T09:00:00.000Z","dateEnd":"2025-11-25T11:00:00.000Z"}`)
	var dl struct{ DownloadID string }
	if code != 200 || json.Unmarshal([]byte(body), &dl) != nil || dl.DownloadID == "" {
		t.Fatalf("download: %d %s", code, body)
	}
	st := s.URL + "/api/v2/telephony/siptraces/download/" + dl.DownloadID
	if code, _, _ := do(t, http.MethodGet, st, tok, ""); code != 202 {
		t.Fatalf("pending: %d", code)
	}
	code, _, body = do(t, http.MethodGet, st, tok, "")
	var su struct{ URL string }
	if code != 200 || json.Unmarshal([]byte(body), &su) != nil || !strings.HasPrefix(su.URL, s.URL+"/signed/") {
		t.Fatalf("ready: %d %s", code, body)
	}
	if code, _, _ := do(t, http.MethodGet, su.URL, tok, ""); code != 400 {
		t.Fatalf("signed URL with Authorization: %d", code)
	}
	if code, _, body := do(t, http.MethodGet, su.URL, "", ""); code != 200 || body != string(EmptyPCAP()) {
		t.Fatalf("signed URL: %d", code)
	}

	// Requests are recorded without credentials.
	reqs := s.Requests()
	if s.Count(Token) != 2 || s.Count(Signed) != 2 || len(reqs) < 10 {
		t.Fatalf("counts: token %d signed %d total %d", s.Count(Token), s.Count(Signed), len(reqs))
	}
	last := reqs[len(reqs)-1]
	if last.Endpoint != Signed || last.AuthScheme != "" || last.Status != 200 || last.Time.IsZero() {
		t.Fatalf("last request %+v", last)
	}
	if reqs[len(reqs)-2].AuthScheme != "Bearer" || reqs[len(reqs)-2].Status != 400 {
		t.Fatalf("request %+v", reqs[len(reqs)-2])
	}
}

func TestFakePermissionsAndHang(t *testing.T) {
	s := New(Options{Permissions: []string{PermView}})
	tok := "Bearer " + token(t, s)
	code, _, body := do(t, http.MethodPost, s.URL+"/api/v2/telephony/siptraces/download", tok, `{}`)
	if code != 403 || !strings.Contains(body, "missing.permissions") || !strings.Contains(body, PermAdd) {
		t.Fatalf("403: %d %s", code, body)
	}
	s.Inject(Search, Fault{Kind: Hang})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(s.URL + "/api/v2/telephony/siptraces")
		if err == nil {
			resp.Body.Close()
		}
	}()
	for s.Count(Search) == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	s.Close() // releases the hanging request
	<-done
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Close took %s", el)
	}
}

// The body faults send the status, the headers with the full length and
// half the body, then break: reset (RST), close (FIN), or stall.
func TestFakeBrokenBodies(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	get := func(c *http.Client) (int, int, error) {
		t.Helper()
		resp, err := c.Post(s.URL+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"))
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, len(b), err
	}
	// The token endpoint without credentials: a 401 with a JSON body.
	_, full, err := get(http.DefaultClient)
	if err != nil || full < 20 {
		t.Fatalf("normal: %d bytes, %v", full, err)
	}
	tests := []struct {
		kind    FaultKind
		delay   time.Duration
		wantErr string // "" : the whole body arrives
	}{
		{ResetBody, 0, "connection reset"},
		{TruncateBody, 0, "unexpected EOF"},
		{SlowBody, 100 * time.Millisecond, ""},
	}
	for _, tt := range tests {
		s.Inject(Token, Fault{Kind: tt.kind, Delay: tt.delay})
		start := time.Now()
		// A fresh client: the reset must hit this request's connection.
		code, n, err := get(&http.Client{Transport: &http.Transport{}})
		if code != http.StatusUnauthorized {
			t.Fatalf("kind %d: status %d (%v), want the headers of a 401", tt.kind, code, err)
		}
		switch {
		case tt.wantErr == "" && (err != nil || n != full || time.Since(start) < tt.delay):
			t.Fatalf("kind %d: %d of %d bytes after %s, %v", tt.kind, n, full, time.Since(start), err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || n >= full):
			t.Fatalf("kind %d: %d of %d bytes, err %v, want %q", tt.kind, n, full, err, tt.wantErr)
		}
	}
}

// With TLS the fake serves HTTPS with a certificate a client trusts only
// when told to.
func TestFakeTLS(t *testing.T) {
	s := New(Options{TLS: true})
	defer s.Close()
	if !strings.HasPrefix(s.URL, "https://") || s.Certificate() == nil {
		t.Fatalf("URL %s, certificate %v", s.URL, s.Certificate())
	}
	if _, err := (&http.Client{Transport: &http.Transport{}}).Get(s.URL + "/x"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate accepted: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(s.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
