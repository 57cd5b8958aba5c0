package redact

import (
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
)

// MaxKeepDigits is the largest accepted Config.KeepDigits (the longest E.164
// number has 15 digits).
const MaxKeepDigits = 15

// RequestURI is the pseudo header name that stands for the Request-URI in
// Config.Headers.
const RequestURI = "Request-URI"

// Config configures a Redactor.
type Config struct {
	// Key is the HMAC-SHA256 key tokens are derived from. The same key gives
	// the same tokens across runs, so separate captures can be compared.
	// Empty: 32 random bytes, so tokens differ on every run.
	Key []byte
	// KeepDigits is how many trailing digits of a number are kept as they
	// are (0 to MaxKeepDigits). Numbers with no more digits than that are
	// left unchanged.
	KeepDigits int
	// Headers names the headers whose numbers are redacted (case
	// insensitive; compact forms are added automatically). RequestURI stands
	// for the Request-URI. A name ending in "*" names every header starting
	// with what precedes it; such headers, and the free-text headers
	// Subject, Organization, Warning, Reason, Call-Info, Alert-Info and
	// Error-Info, get the free-text rules (see the package doc),
	// Authorization and Proxy-Authorization their username and uri
	// redacted, every other header the name-addr rules. Headers of
	// CallIDHeaders are never matched by a "*" name. Nil means
	// DefaultHeaders().
	Headers []string
	// RedactCallIDs replaces the values of CallIDHeaders too.
	RedactCallIDs bool
	// CallIDHeaders names the correlation headers replaced when
	// RedactCallIDs is set. Nil means DefaultCallIDHeaders().
	CallIDHeaders []string
}

// DefaultHeaders returns the headers redacted by default:
//   - the identity headers (name-addr lists): RequestURI, From, To,
//     P-Asserted-Identity, P-Preferred-Identity, Remote-Party-ID, Diversion,
//     History-Info, Contact, Refer-To, Referred-By, P-Called-Party-ID,
//     P-Charge-Info;
//   - the routing and registration headers whose URIs can carry a number in
//     their user part: Route, Record-Route, Path, Service-Route,
//     P-Associated-URI, P-Served-User, Reply-To;
//   - Authorization and Proxy-Authorization (username and uri);
//   - free text: Subject, Organization, Warning, Reason, Call-Info,
//     Alert-Info, Error-Info;
//   - the header families Genesys Cloud reserves for itself, "x-inin-*",
//     "x-genesys-*", "x-pcv-*" and "x-gcv-*" (x-inin-ani and x-inin-dnis
//     carry the caller's and the dialled number), except the correlation
//     headers of Config.CallIDHeaders.
func DefaultHeaders() []string {
	return []string{
		RequestURI, "From", "To", "P-Asserted-Identity", "P-Preferred-Identity",
		"Remote-Party-ID", "Diversion", "History-Info", "Contact", "Refer-To",
		"Referred-By", "P-Called-Party-ID", "P-Charge-Info",
		"Route", "Record-Route", "Path", "Service-Route", "P-Associated-URI", "P-Served-User", "Reply-To",
		"Authorization", "Proxy-Authorization",
		"Subject", "Organization", "Warning", "Reason", "Call-Info", "Alert-Info", "Error-Info",
		"x-inin-*", "x-genesys-*", "x-pcv-*", "x-gcv-*",
	}
}

// DefaultCallIDHeaders returns the correlation headers replaced when
// Config.RedactCallIDs is set.
func DefaultCallIDHeaders() []string {
	return []string{"Call-ID", "X-Genesys-Call-ID", "x-inin-cnv"}
}

// header kinds.
const (
	kindNone uint8 = iota
	kindNumbers
	kindCallID
	kindContentType
	kindContentLength
	kindText  // free text: URIs and phone-looking digit groups
	kindValue // a "*" family: kindText, or a value that is a number as a whole
	kindAuth  // Authorization: username and uri
	kindKeep  // a correlation header: never redacted by a "*" family
)

// Redactor redacts SIP messages, numbers and text. It is safe for concurrent
// use: calls are serialised by a mutex because the Redactor reuses scratch
// buffers and a token cache to stay allocation-free. Tokens depend only on
// the key, so for parallelism create one Redactor per goroutine with the
// same Config.Key: they produce identical output.
type Redactor struct {
	mu  sync.Mutex
	tok *tokenizer
	// byFirst holds the lower-case header names to act on, with their
	// kind, by their first byte: classifying a
	// header (every line of every message) is a few byte compares, no
	// hashing and no lower-case copy.
	byFirst [256][]headerName
	// prefixes holds the lower-case prefixes of the "*" families.
	prefixes []string
	ruri     bool
	callIDs  bool

	pos []int32 // positions of the digits of the current group
	num []byte  // the digits of the current group
	out []byte  // their token
	buf []byte  // Number and Text work area
}

// New returns a Redactor for cfg. It fails on an invalid header name, a
// KeepDigits out of range, or when no random key can be drawn.
func New(cfg Config) (*Redactor, error) {
	if cfg.KeepDigits < 0 || cfg.KeepDigits > MaxKeepDigits {
		return nil, fmt.Errorf("redact: keep digits %d out of range 0-%d", cfg.KeepDigits, MaxKeepDigits)
	}
	key := append([]byte(nil), cfg.Key...)
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("redact: random key: %w", err)
		}
	}
	r := &Redactor{
		tok:     newTokenizer(key, cfg.KeepDigits),
		callIDs: cfg.RedactCallIDs,
		pos:     make([]int32, 0, 64),
		num:     make([]byte, 0, 64),
		out:     make([]byte, 64),
	}
	kinds := map[string]uint8{} // lower-case header name -> kind
	headers := cfg.Headers
	if headers == nil {
		headers = DefaultHeaders()
	}
	for _, h := range headers {
		if strings.EqualFold(h, RequestURI) {
			r.ruri = true
			continue
		}
		if p, ok := strings.CutSuffix(h, "*"); ok {
			if !isToken(p) {
				return nil, fmt.Errorf("redact: invalid header name %q", h)
			}
			r.prefixes = append(r.prefixes, strings.ToLower(p))
			continue
		}
		if err := addHeader(kinds, h, kindNumbers); err != nil {
			return nil, err
		}
	}
	ids := cfg.CallIDHeaders
	if ids == nil {
		ids = DefaultCallIDHeaders()
	}
	for _, h := range ids {
		// Without RedactCallIDs a correlation header is kept, unless it is
		// named in Headers itself.
		kind := kindCallID
		if !cfg.RedactCallIDs {
			kind = kindKeep
			if _, named := kinds[strings.ToLower(h)]; named {
				continue
			}
		}
		if err := addHeader(kinds, h, kind); err != nil {
			return nil, err
		}
	}
	// Needed to find the body; they carry no numbers.
	kinds["content-type"], kinds["c"] = kindContentType, kindContentType
	kinds["content-length"], kinds["l"] = kindContentLength, kindContentLength
	for name, kind := range kinds {
		r.byFirst[name[0]] = append(r.byFirst[name[0]], headerName{name, kind})
	}
	return r, nil
}

type headerName struct {
	name string // lower case
	kind uint8
}

// addHeader registers a header name and its compact form in kinds. The
// kind kindNumbers is refined by the name: free-text and authorization
// headers get their own rules.
func addHeader(kinds map[string]uint8, name string, kind uint8) error {
	if !isToken(name) {
		return fmt.Errorf("redact: invalid header name %q", name)
	}
	long := strings.ToLower(name)
	if len(long) == 1 {
		if l := longForm(long[0]); l != "" {
			long = l
		}
	}
	if kind == kindNumbers {
		switch long {
		case "subject", "organization", "warning", "reason", "call-info", "alert-info", "error-info":
			kind = kindText
		case "authorization", "proxy-authorization":
			kind = kindAuth
		}
	}
	kinds[long] = kind
	if c := compactForm(long); c != "" {
		kinds[c] = kind
	}
	return nil
}

// compactForm returns the compact form of a lower-case header name
// (RFC 3261 §7.3.3, RFC 3515, RFC 3892), or "".
func compactForm(long string) string {
	switch long {
	case "from":
		return "f"
	case "to":
		return "t"
	case "contact":
		return "m"
	case "refer-to":
		return "r"
	case "referred-by":
		return "b"
	case "call-id":
		return "i"
	case "subject":
		return "s"
	}
	return ""
}

// longForm returns the lower-case long name of a compact header name, or "".
func longForm(c byte) string {
	for _, l := range [...]string{"from", "to", "contact", "refer-to", "referred-by", "call-id", "subject"} {
		if compactForm(l)[0] == c {
			return l
		}
	}
	return ""
}

// isToken reports whether s is a non-empty RFC 3261 token.
func isToken[S ~string | ~[]byte](s S) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || isTokenMark(c)) {
			return false
		}
	}
	return true
}

// isTokenMark reports whether c is one of the non-alphanumeric token
// characters of RFC 3261 §25.1.
func isTokenMark(c byte) bool {
	switch c {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}

// Message redacts one SIP message in place and returns the number of
// replacements (digit groups and Call-ID values). The length never changes.
// A buffer that does not start with a SIP request or status line is left
// unchanged. Message does not allocate once its scratch buffers have grown
// to the longest digit group seen.
func (r *Redactor) Message(msg []byte) (n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.message(msg)
}

// Number returns the token for a bare number or user string such as the
// fromUser, toUser, ruriUser and pidUser fields of a trace record: the same
// token Message gives that user part. A string starting with sip:, sips: or
// tel: is treated as a URI. Strings without digit groups ("anonymous") are
// returned unchanged; mixed ones ("voi18062") get their digit groups
// redacted.
func (r *Redactor) Number(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = appendNumber(r, r.buf[:0], s)
	if string(r.buf) == s {
		return s
	}
	return string(r.buf)
}

// AppendNumber appends the redacted form of s (as Number) to dst and returns
// the extended slice. It does not allocate when dst has room.
func (r *Redactor) AppendNumber(dst []byte, s []byte) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return appendNumber(r, dst, s)
}

func appendNumber[S ~string | ~[]byte](r *Redactor, dst []byte, s S) []byte {
	start := len(dst)
	dst = append(dst, s...)
	b := dst[start:]
	if hasPrefixFold(b, "sip:") || hasPrefixFold(b, "sips:") || hasPrefixFold(b, "tel:") {
		r.uri(b, 0, len(b), true)
	} else {
		r.groups(b, 0, len(b), ctxUser)
	}
	return dst
}

// Text redacts free text such as a log line, conservatively: every digit run
// of six or more digits, and every "+" number with separators holding six or
// more digits ("+1 555 123-4567"; not "+0…", a UTC offset), gets the token Message would give the
// same digits, unless the run is part of a time stamp (a fraction of a
// second, a date such as 20261125 or 20261125100501, a 10/13/16/19-digit Unix
// time in s/ms/µs/ns starting with 1) or of a hex id (a word of hex digits
// with at least one letter, "0x…", a UUID). An IP address cannot hold a run
// of six digits, so IP addresses are never touched.
func (r *Redactor) Text(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf[:0], s...)
	if r.text(r.buf) == 0 {
		return s
	}
	return string(r.buf)
}

// CallID returns the replacement Message gives a value of a CallIDHeaders
// header: s itself unless Config.RedactCallIDs is set. Use it to keep trace
// records consistent with redacted messages.
func (r *Redactor) CallID(s string) string {
	if !r.callIDs {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf[:0], s...)
	r.tok.callID(r.buf)
	return string(r.buf)
}
