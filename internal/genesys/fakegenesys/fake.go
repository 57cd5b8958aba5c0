// Package fakegenesys is a fake Genesys Cloud for tests: an httptest server
// on loopback that serves the OAuth token endpoint, the siptraces search and
// the PCAP download flow with the real JSON shapes, plus scripted faults
// (429 with Retry-After, 5xx bursts, 401, 403, malformed JSON, hanging and
// slow responses, dropped connections, connections reset or closed in the
// middle of a body, a body that stalls). It records every request so tests
// can assert counts, rates and the absence of credentials where none belong.
// With Options.TLS it serves HTTPS with httptest's self-signed certificate,
// which a client does not trust unless told to (Server.Certificate).
//
// The login and API hosts are the same server; set both Config.LoginURL and
// Config.APIURL of the client (or the extcap's --genesys-login-url and
// --genesys-api-url) to Server.URL.
package fakegenesys

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Endpoint names a route of the fake, for faults and request counts.
type Endpoint string

// The routes of the fake.
const (
	Token          Endpoint = "token"           // POST /oauth/token
	Search         Endpoint = "search"          // GET /api/v2/telephony/siptraces
	DownloadStart  Endpoint = "download-start"  // POST /api/v2/telephony/siptraces/download
	DownloadStatus Endpoint = "download-status" // GET /api/v2/telephony/siptraces/download/{id}
	Signed         Endpoint = "signed"          // GET /signed/{id}?X-Amz-Signature=… (the signed URL)
	Other          Endpoint = "other"           // anything else (404)
)

// Permissions checked by the fake, as in Genesys Cloud.
const (
	PermView = "telephony:pcap:view"
	PermAdd  = "telephony:pcap:add"
)

// Options configures a Server. Zero values take the defaults noted.
type Options struct {
	ClientID     string        // default "fake-client-id"
	ClientSecret string        // default "fake-client-secret"
	TokenTTL     time.Duration // expires_in of issued tokens; default 1 h
	// Permissions granted to the client; nil grants PermView and PermAdd.
	// A missing one yields the real 403 body.
	Permissions []string
	// PendingPolls is how many download-status polls answer "pending"
	// before the URL is returned; PendingStatus is that answer's status
	// (default 202, with body {}; 404 gives a not.found body).
	PendingPolls  int
	PendingStatus int
	// PCAP is served at the signed URL; nil serves a minimal valid pcap (a
	// global header, no packets).
	PCAP []byte
	// Now is the fake's clock for token expiry; nil is time.Now.
	Now func() time.Time
	// TLS serves HTTPS (httptest.NewTLSServer) with a self-signed
	// certificate for 127.0.0.1, ::1 and example.com.
	TLS bool
}

// FaultKind is what a scripted fault does.
type FaultKind int

// Fault kinds.
const (
	Pass       FaultKind = iota // answer normally (lets requests through before later faults)
	Status                      // answer Fault.Status with the real Genesys error body
	Malformed                   // answer 200 with a body that is not JSON
	Hang                        // never answer; ends when the client gives up or the server closes
	Slow                        // answer normally after Fault.Delay
	Disconnect                  // close the connection without answering
	// ResetBody sends the status, the headers (with the full Content-Length)
	// and half of the normal body, then resets the connection (TCP RST).
	ResetBody
	// TruncateBody is ResetBody with an orderly close (FIN) instead of the
	// reset: the client reads an unexpected EOF.
	TruncateBody
	// SlowBody sends the status, the headers and half of the normal body at
	// once, and the rest after Fault.Delay.
	SlowBody
)

// Fault is a scripted misbehaviour applied to the next Times requests (0
// means 1) of one endpoint. Faults of an endpoint apply in the order
// injected.
type Fault struct {
	Kind       FaultKind
	Status     int           // Status: the HTTP status
	RetryAfter string        // Status: Retry-After header value, e.g. "2"
	Body       string        // Status, Malformed: replaces the default body
	Delay      time.Duration // Slow: delay before answering; SlowBody: before the second half
	Times      int
}

// Request is a request the fake received. Credentials are not recorded:
// only the Authorization scheme.
type Request struct {
	Endpoint Endpoint
	Method   string
	Path     string
	Query    url.Values
	// AuthScheme is the Authorization header's scheme ("Bearer", "Basic",
	// another word) or "" when the header is absent.
	AuthScheme string
	Time       time.Time // arrival (wall clock)
	Status     int       // status answered; 0 for Hang and Disconnect
}

// Server is a running fake Genesys Cloud.
type Server struct {
	// URL is the base URL (http://127.0.0.1:port) of both hosts.
	URL string

	opts    Options
	ts      *httptest.Server
	closing chan struct{}
	once    sync.Once

	mu        sync.Mutex
	records   []record
	tokens    map[string]time.Time // token → expiry
	faults    map[Endpoint][]Fault
	reqs      []Request
	downloads map[string]*download
	nextID    int
}

type record struct {
	raw                                      json.RawMessage
	t                                        time.Time
	callID, toUser, fromUser, conversationID string
}

type download struct {
	polls int
	sig   string
}

// New starts a fake on a loopback port. Close it when done.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = "fake-client-id"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "fake-client-secret"
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.Permissions == nil {
		opts.Permissions = []string{PermView, PermAdd}
	}
	if opts.PendingStatus == 0 {
		opts.PendingStatus = http.StatusAccepted
	}
	if opts.PCAP == nil {
		opts.PCAP = EmptyPCAP()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts: opts, closing: make(chan struct{}),
		tokens: map[string]time.Time{}, faults: map[Endpoint][]Fault{}, downloads: map[string]*download{},
	}
	if opts.TLS {
		s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
		// Handshakes a client refuses are what TLS tests are about: do not
		// log them to stderr.
		s.ts.Config.ErrorLog = log.New(io.Discard, "", 0)
		s.ts.StartTLS()
	} else {
		s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	}
	s.URL = s.ts.URL
	return s
}

// Certificate returns the TLS server's certificate (nil without
// Options.TLS), for a client that is meant to trust it.
func (s *Server) Certificate() *x509.Certificate { return s.ts.Certificate() }

// EmptyPCAP returns a pcap global header (little-endian, µs, Ethernet) with
// no packets.
func EmptyPCAP() []byte {
	return []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
}

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closing) })
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// ClientID and ClientSecret are the credentials the fake accepts.
func (s *Server) ClientID() string { return s.opts.ClientID }

// ClientSecret is the secret the fake accepts.
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// LoadRecords adds Homer records from a siptraces response
// ({"data":[…],"count":N}) or a bare JSON array. Each record is served
// byte-for-byte as given.
func (s *Server) LoadRecords(data []byte) error {
	t := bytes.TrimSpace(data)
	var raws []json.RawMessage
	if len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &raws); err != nil {
			return fmt.Errorf("fakegenesys: records: %w", err)
		}
	} else {
		var v struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(t, &v); err != nil {
			return fmt.Errorf("fakegenesys: records: %w", err)
		}
		raws = v.Data
	}
	for i, r := range raws {
		if err := s.AddRecord(r); err != nil {
			return fmt.Errorf("fakegenesys: record %d: %w", i, err)
		}
	}
	return nil
}

// AddRecord adds one Homer record (a JSON object). Its time comes from
// microTs, milliTs or date; a record without one matches no window.
func (s *Server) AddRecord(raw json.RawMessage) error {
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		return err
	}
	str := func(k string) string {
		switch v := h[k].(type) {
		case string:
			return v
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return ""
	}
	r := record{raw: append(json.RawMessage(nil), raw...), callID: str("callid"), toUser: str("toUser"),
		fromUser: str("fromUser"), conversationID: str("conversationId")}
	if n, err := strconv.ParseInt(str("microTs"), 10, 64); err == nil {
		r.t = time.UnixMicro(n)
	} else if n, err := strconv.ParseInt(str("milliTs"), 10, 64); err == nil {
		r.t = time.UnixMilli(n)
	} else if t, err := time.Parse(time.RFC3339Nano, str("date")); err == nil {
		r.t = t
	}
	s.mu.Lock()
	s.records = append(s.records, r)
	s.mu.Unlock()
	return nil
}

// ExpireTokens makes every token issued so far invalid: the next API
// request with one gets the real 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	for k := range s.tokens {
		s.tokens[k] = time.Time{}
	}
	s.mu.Unlock()
}

// IssuedTokens returns the access tokens issued so far (for tests that
// check a token never leaks).
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.tokens))
	for k := range s.tokens {
		out = append(out, k)
	}
	return out
}

// Inject appends faults to the script of ep.
func (s *Server) Inject(ep Endpoint, faults ...Fault) {
	s.mu.Lock()
	s.faults[ep] = append(s.faults[ep], faults...)
	s.mu.Unlock()
}

// Requests returns a copy of the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Count returns how many requests ep received.
func (s *Server) Count(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.reqs {
		if r.Endpoint == ep {
			n++
		}
	}
	return n
}

func route(r *http.Request) Endpoint {
	p := r.URL.Path
	switch {
	case p == "/oauth/token":
		return Token
	case p == "/api/v2/telephony/siptraces":
		return Search
	case p == "/api/v2/telephony/siptraces/download":
		return DownloadStart
	case strings.HasPrefix(p, "/api/v2/telephony/siptraces/download/"):
		return DownloadStatus
	case strings.HasPrefix(p, "/signed/"):
		return Signed
	}
	return Other
}

// popFault takes the next fault of ep, if any.
func (s *Server) popFault(ep Endpoint) (Fault, bool) {
	q := s.faults[ep]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	if f.Times <= 1 {
		s.faults[ep] = q[1:]
	} else {
		q[0].Times--
	}
	return f, true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	ep := route(r)
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.mu.Lock()
	idx := len(s.reqs)
	s.reqs = append(s.reqs, Request{Endpoint: ep, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		AuthScheme: scheme, Time: time.Now()})
	f, faulty := s.popFault(ep)
	s.mu.Unlock()
	rw := &statusWriter{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		s.reqs[idx].Status = rw.status
		s.mu.Unlock()
	}()
	if faulty {
		switch f.Kind {
		case Status:
			body := f.Body
			if body == "" {
				body = s.errorBody(ep, f.Status)
				if f.Status == http.StatusTooManyRequests && f.RetryAfter != "" {
					body = strings.Replace(body, "[60]", "["+f.RetryAfter+"]", 1)
				}
			}
			if f.RetryAfter != "" {
				rw.Header().Set("Retry-After", f.RetryAfter)
			}
			writeRaw(rw, f.Status, body)
			return
		case Malformed:
			body := f.Body
			if body == "" {
				body = `{"data":[{"callid":"x"` // truncated JSON
			}
			writeRaw(rw, http.StatusOK, body)
			return
		case Hang:
			select {
			case <-r.Context().Done():
			case <-s.closing:
			}
			return
		case Slow:
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			case <-s.closing:
				return
			}
		case Disconnect:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		case ResetBody, TruncateBody, SlowBody:
			s.serveBroken(rw, r, ep, f)
			return
		}
	}
	s.route(rw, r, ep)
}

// serveBroken answers the request normally into a buffer, then sends the
// status, the headers with the full Content-Length and the first half of
// the body, and breaks the rest as f says.
func (s *Server) serveBroken(w http.ResponseWriter, r *http.Request, ep Endpoint, f Fault) {
	rec := httptest.NewRecorder()
	s.route(rec, r, ep)
	body := rec.Body.Bytes()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	half := len(body) / 2
	_, _ = w.Write(body[:half])
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	if f.Kind == SlowBody {
		select {
		case <-time.After(f.Delay):
			_, _ = w.Write(body[half:])
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	}
	// The client has the headers and half the body when the connection goes.
	conn, buf, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = buf.Flush()
	if f.Kind == ResetBody {
		if tc, ok := underlyingTCP(conn); ok {
			_ = tc.SetLinger(0) // close sends RST, not FIN
		}
	}
	conn.Close()
}

// underlyingTCP returns the TCP connection under conn (a TLS connection
// wraps one).
func underlyingTCP(conn net.Conn) (*net.TCPConn, bool) {
	for {
		switch c := conn.(type) {
		case *net.TCPConn:
			return c, true
		case interface{ NetConn() net.Conn }:
			conn = c.NetConn()
		default:
			return nil, false
		}
	}
}

// route serves ep normally.
func (s *Server) route(rw http.ResponseWriter, r *http.Request, ep Endpoint) {
	switch ep {
	case Token:
		s.serveToken(rw, r)
	case Search:
		if s.authorize(rw, r, ep, PermView) {
			s.serveSearch(rw, r)
		}
	case DownloadStart:
		if s.authorize(rw, r, ep, PermAdd) {
			s.serveDownloadStart(rw, r)
		}
	case DownloadStatus:
		if s.authorize(rw, r, ep, PermView) {
			s.serveDownloadStatus(rw, r)
		}
	case Signed:
		s.serveSigned(rw, r)
	default:
		writeRaw(rw, http.StatusNotFound, s.errorBody(ep, http.StatusNotFound))
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (Flush, Hijack).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func writeRaw(w http.ResponseWriter, status int, body string) {
	if strings.HasPrefix(body, "<") {
		w.Header().Set("Content-Type", "application/xml")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	writeRaw(w, status, string(b))
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func contextID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// errorBody is the body Genesys sends for status on ep.
func (s *Server) errorBody(ep Endpoint, status int) string {
	if ep == Token && (status == http.StatusBadRequest || status == http.StatusUnauthorized) {
		return `{"error":"invalid_client","description":"client not found","error_description":"client not found"}`
	}
	if ep == Signed {
		return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`
	}
	var msg, code string
	switch status {
	case http.StatusBadRequest:
		msg, code = "The request could not be understood by the server due to malformed syntax.", "bad.request"
	case http.StatusUnauthorized:
		msg, code = "Invalid login credentials.", "bad.credentials"
	case http.StatusForbidden:
		perm := PermView
		if ep == DownloadStart {
			perm = PermAdd
		}
		return missingPermission(perm)
	case http.StatusNotFound:
		msg, code = "The requested resource was not found.", "not.found"
	case http.StatusTooManyRequests:
		msg, code = "Rate limit exceeded the maximum. Retry the request in [60] seconds", "too.many.requests.retry.after"
	case http.StatusInternalServerError:
		msg, code = "The server encountered an unexpected condition which prevented it from fulfilling the request.", "internal.server.error"
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		msg, code = "The service is currently unavailable. Please try again later.", "service.unavailable"
	default:
		msg, code = http.StatusText(status), "error"
	}
	b, _ := json.Marshal(map[string]any{"message": msg, "code": code, "status": status, "contextId": contextID(),
		"details": []any{}, "errors": []any{}})
	return string(b)
}

func missingPermission(perm string) string {
	msg := "Unable to perform the requested action. You are missing the following permission(s): [" + perm + "]"
	b, _ := json.Marshal(map[string]any{"message": msg, "code": "missing.permissions", "status": 403,
		"messageWithParams": msg, "messageParams": map[string]any{}, "contextId": contextID(),
		"details": []any{}, "errors": []any{}})
	return string(b)
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeRaw(w, http.StatusMethodNotAllowed, s.errorBody(Token, http.StatusMethodNotAllowed))
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != s.opts.ClientID || secret != s.opts.ClientSecret {
		writeRaw(w, http.StatusUnauthorized, s.errorBody(Token, http.StatusUnauthorized))
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type",
			"description": "grant type not supported", "error_description": "grant type not supported"})
		return
	}
	tok := randomString(48)
	s.mu.Lock()
	s.tokens[tok] = s.opts.Now().Add(s.opts.TokenTTL)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "bearer",
		"expires_in": int64(s.opts.TokenTTL / time.Second)})
}

// authorize checks the bearer token and the permission, answering 401/403.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, ep Endpoint, perm string) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, known := s.tokens[tok]
	s.mu.Unlock()
	if !ok || !known || !s.opts.Now().Before(exp) {
		writeRaw(w, http.StatusUnauthorized, s.errorBody(ep, http.StatusUnauthorized))
		return false
	}
	for _, p := range s.opts.Permissions {
		if p == perm {
			return true
		}
	}
	writeRaw(w, http.StatusForbidden, missingPermission(perm))
	return false
}

func parseAPITime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	return time.Parse(time.RFC3339Nano, s)
}

func (s *Server) badRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"message": msg, "code": "bad.request", "status": 400,
		"contextId": contextID(), "details": []any{}, "errors": []any{}})
}

func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, err1 := parseAPITime(q.Get("dateStart"))
	end, err2 := parseAPITime(q.Get("dateEnd"))
	if err1 != nil || err2 != nil {
		s.badRequest(w, "dateStart and dateEnd are required ISO-8601 dates")
		return
	}
	s.mu.Lock()
	var out [][]byte
	for _, rec := range s.records {
		if rec.t.IsZero() || rec.t.Before(start) || rec.t.After(end) ||
			!matches(q.Get("callId"), rec.callID) || !matches(q.Get("toUser"), rec.toUser) ||
			!matches(q.Get("fromUser"), rec.fromUser) || !matches(q.Get("conversationId"), rec.conversationID) {
			continue
		}
		out = append(out, rec.raw)
	}
	s.mu.Unlock()
	var b bytes.Buffer
	b.WriteString(`{"data":[`)
	b.Write(bytes.Join(out, []byte(",")))
	fmt.Fprintf(&b, `],"count":%d}`, len(out))
	writeRaw(w, http.StatusOK, b.String())
}

func matches(filter, v string) bool { return filter == "" || filter == v }

func (s *Server) serveDownloadStart(w http.ResponseWriter, r *http.Request) {
	var body struct {
		DateStart string `json:"dateStart"`
		DateEnd   string `json:"dateEnd"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.badRequest(w, "request body is not valid JSON")
		return
	}
	if _, err := parseAPITime(body.DateStart); err != nil {
		s.badRequest(w, "dateStart is required")
		return
	}
	if _, err := parseAPITime(body.DateEnd); err != nil {
		s.badRequest(w, "dateEnd is required")
		return
	}
	s.mu.Lock()
	s.nextID++
	id := fmt.Sprintf("dl-%04d-%s", s.nextID, randomString(6))
	s.downloads[id] = &download{sig: randomString(24)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"downloadId": id, "documentId": "doc-" + id})
}

func (s *Server) serveDownloadStatus(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/api/v2/telephony/siptraces/download/")
	s.mu.Lock()
	d := s.downloads[id]
	pending := false
	var sig string
	if d != nil {
		d.polls++
		pending = d.polls <= s.opts.PendingPolls
		sig = d.sig
	}
	s.mu.Unlock()
	switch {
	case d == nil:
		writeRaw(w, http.StatusNotFound, s.errorBody(DownloadStatus, http.StatusNotFound))
	case pending && s.opts.PendingStatus == http.StatusNotFound:
		writeRaw(w, http.StatusNotFound, s.errorBody(DownloadStatus, http.StatusNotFound))
	case pending:
		writeRaw(w, s.opts.PendingStatus, `{}`)
	default:
		u := s.URL + "/signed/" + url.PathEscape(id) + "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=600&X-Amz-Signature=" + sig
		writeJSON(w, http.StatusOK, map[string]string{"url": u})
	}
}

func (s *Server) serveSigned(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		writeRaw(w, http.StatusBadRequest, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified</Message></Error>`)
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/signed/")
	s.mu.Lock()
	d := s.downloads[id]
	s.mu.Unlock()
	if d == nil || r.URL.Query().Get("X-Amz-Signature") != d.sig {
		writeRaw(w, http.StatusForbidden, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error>`)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.tcpdump.pcap")
	w.Header().Set("Content-Length", strconv.Itoa(len(s.opts.PCAP)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(s.opts.PCAP)
}
