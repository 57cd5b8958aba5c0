package tlsdec

import (
	"bytes"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultMaxSessions is the number of TLS sessions a [KeyLog] keeps when
// created by [ParseKeyLog] or with a non-positive limit: the oldest sessions
// are forgotten first, so a key log followed for days stays bounded.
const DefaultMaxSessions = 1 << 16

// maxKeyLogLine bounds a key-log line; a valid one is under 250 bytes.
const maxKeyLogLine = 1024

// maxRSAKeys bounds the number of RSA private keys a KeyLog holds.
const maxRSAKeys = 64

// secret is key material. The type exists to make it obvious in code review
// where secrets flow; printing protection is on KeyLog and Conn, because fmt
// does not call methods on unexported fields.
type secret []byte

// TLS 1.3 key-log labels, in the order KeyLogLines writes them.
const (
	labelClientHS = iota
	labelServerHS
	labelClientTS0
	labelServerTS0
	labelExporter
	labelClientEarly
	labelEarlyExporter
	numLabels
)

// labelNames are the NSS key-log labels of the TLS 1.3 secrets.
func labelName(i int) string {
	switch i {
	case labelClientHS:
		return "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
	case labelServerHS:
		return "SERVER_HANDSHAKE_TRAFFIC_SECRET"
	case labelClientTS0:
		return "CLIENT_TRAFFIC_SECRET_0"
	case labelServerTS0:
		return "SERVER_TRAFFIC_SECRET_0"
	case labelExporter:
		return "EXPORTER_SECRET"
	case labelClientEarly:
		return "CLIENT_EARLY_TRAFFIC_SECRET"
	case labelEarlyExporter:
		return "EARLY_EXPORTER_SECRET"
	}
	return ""
}

func labelIndex(s string) int {
	for i := 0; i < numLabels; i++ {
		if labelName(i) == s {
			return i
		}
	}
	return -1
}

// session holds the secrets of one TLS session, keyed by client random.
// Stored secrets are never modified, only replaced, so copies of a session
// may share them.
type session struct {
	master secret            // TLS ≤ 1.2 master secret (48 bytes)
	tls13  [numLabels]secret // TLS 1.3 secrets
}

// KeyLog is a concurrency-safe store of TLS secrets read from NSS key logs,
// keyed by client random, plus RSA private keys for TLS_RSA_* suites. Its
// memory is bounded: beyond its session limit the oldest sessions are
// forgotten. Its String and Format methods never reveal secrets.
type KeyLog struct {
	mu       sync.RWMutex
	sessions map[[32]byte]*session
	order    [][32]byte // insertion order ring, for eviction
	next     int        // next ring slot to overwrite once full
	max      int
	rsaPre   map[[8]byte]*secret // "RSA" lines: encrypted premaster prefix → premaster
	rsaOrder [][8]byte
	rsaNext  int
	rsaKeys  []*rsa.PrivateKey
	lines    int           // lines read (all inputs)
	bad      int           // lines rejected
	ignored  int           // well-formed lines with a label this package does not use
	gen      atomic.Uint64 // bumped whenever a secret or key is added
	live     atomic.Int32  // number of running Follow calls
}

// NewKeyLog returns an empty key log that keeps at most maxSessions sessions
// (DefaultMaxSessions if maxSessions ≤ 0).
func NewKeyLog(maxSessions int) *KeyLog {
	if maxSessions <= 0 {
		maxSessions = DefaultMaxSessions
	}
	return &KeyLog{
		sessions: make(map[[32]byte]*session),
		max:      maxSessions,
		rsaPre:   make(map[[8]byte]*secret),
	}
}

// ParseKeyLog reads a whole NSS key log. Bad lines do not stop it: the
// returned KeyLog holds every good line, and the error, a *BadLinesError,
// says which lines were skipped. Any other error is a read error; the
// KeyLog then holds what was read before it.
func ParseKeyLog(r io.Reader) (*KeyLog, error) {
	kl := NewKeyLog(0)
	_, err := kl.Read(r)
	return kl, err
}

// LineError describes one key-log line that was skipped. It never contains
// the line's secret.
type LineError struct {
	Line   int    // 1-based line number within the input
	Reason string // what is wrong, e.g. "secret is not hex"
}

// String returns "line N: reason".
func (e LineError) String() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Reason }

// BadLinesError reports the key-log lines that were skipped; all other lines
// were used. Callers usually log it as a warning.
type BadLinesError struct {
	Count int         // number of lines skipped
	First []LineError // the first few of them
}

// maxLineErrors is how many LineErrors a BadLinesError keeps.
const maxLineErrors = 5

// Error lists the count and the first skipped lines.
func (e *BadLinesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "key log: %d bad line(s) skipped", e.Count)
	for i, le := range e.First {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(le.String())
	}
	if len(e.First) > 0 {
		if e.Count > len(e.First) {
			b.WriteString("; …")
		}
		b.WriteString(")")
	}
	return b.String()
}

// Read adds the lines of an NSS key log to kl and returns how many lines
// added or changed a secret. Comments ('#'), blank lines and CRLF line ends
// are accepted; well-formed lines with labels this package does not use are
// ignored. Bad lines are skipped and reported in a *BadLinesError; any other
// error is a read error.
func (kl *KeyLog) Read(r io.Reader) (added int, err error) {
	var lp lineParser
	buf := make([]byte, 32<<10)
	for {
		n, rerr := r.Read(buf)
		added += lp.feed(kl, buf[:n])
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return added, fmt.Errorf("key log: %w", rerr)
		}
	}
	added += lp.finish(kl)
	if lp.bad != nil {
		return added, lp.bad
	}
	return added, nil
}

// lineParser splits a byte stream into key-log lines, keeping at most one
// bounded partial line between calls.
type lineParser struct {
	partial []byte
	tooLong bool // discarding the rest of an over-long line
	lineNo  int
	bad     *BadLinesError
}

func (lp *lineParser) feed(kl *KeyLog, b []byte) (added int) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			lp.appendPartial(b)
			return added
		}
		lp.appendPartial(b[:i])
		b = b[i+1:]
		added += lp.endLine(kl)
	}
	return added
}

// finish handles a last line without a newline.
func (lp *lineParser) finish(kl *KeyLog) int {
	if len(lp.partial) == 0 && !lp.tooLong {
		return 0
	}
	return lp.endLine(kl)
}

func (lp *lineParser) appendPartial(b []byte) {
	if lp.tooLong {
		return
	}
	if len(lp.partial)+len(b) > maxKeyLogLine {
		lp.tooLong = true
		lp.partial = lp.partial[:0]
		return
	}
	lp.partial = append(lp.partial, b...)
}

func (lp *lineParser) endLine(kl *KeyLog) int {
	lp.lineNo++
	var reason string
	added := 0
	if lp.tooLong {
		reason = "line too long"
		kl.mu.Lock()
		kl.lines++
		kl.bad++
		kl.mu.Unlock()
	} else {
		var ok bool
		ok, reason = kl.addLine(lp.partial)
		if ok {
			added = 1
		}
	}
	clear(lp.partial) // may hold a secret
	lp.partial = lp.partial[:0]
	lp.tooLong = false
	if reason != "" {
		if lp.bad == nil {
			lp.bad = &BadLinesError{}
		}
		lp.bad.Count++
		if len(lp.bad.First) < maxLineErrors {
			lp.bad.First = append(lp.bad.First, LineError{Line: lp.lineNo, Reason: reason})
		}
	}
	return added
}

// addLine parses one line. It reports whether a secret was added or changed,
// or why the line is bad (never quoting the secret).
func (kl *KeyLog) addLine(line []byte) (added bool, reason string) {
	line = bytes.TrimRight(line, "\r")
	line = bytes.TrimSpace(line)
	kl.mu.Lock()
	defer kl.mu.Unlock()
	kl.lines++
	if len(line) == 0 || line[0] == '#' {
		return false, ""
	}
	label, rest, _ := bytes.Cut(line, []byte{' '})
	rest = bytes.TrimLeft(rest, " \t")
	id, sec, _ := bytes.Cut(rest, []byte{' '})
	sec = bytes.TrimLeft(sec, " \t")
	if !validLabel(label) {
		kl.bad++
		return false, "not a key-log line"
	}
	if len(id) == 0 || len(sec) == 0 || bytes.ContainsAny(sec, " \t") {
		kl.bad++
		return false, "want 3 fields: LABEL <hex> <hex>"
	}
	lab := string(label)
	if lab == "RSA" {
		var pfx [8]byte
		if len(id) != 16 || !decodeHex(pfx[:], id) {
			kl.bad++
			return false, "encrypted premaster prefix is not 16 hex digits"
		}
		if len(sec) != 96 {
			kl.bad++
			return false, "premaster secret is not 96 hex digits"
		}
		pm := make(secret, 48)
		if !decodeHex(pm, sec) {
			kl.bad++
			return false, "secret is not hex"
		}
		kl.addPremasterLocked(pfx, pm)
		kl.gen.Add(1)
		return true, ""
	}
	idx := labelIndex(lab)
	if lab != "CLIENT_RANDOM" && idx < 0 {
		kl.ignored++
		return false, ""
	}
	var cr [32]byte
	if len(id) != 64 || !decodeHex(cr[:], id) {
		kl.bad++
		return false, "client random is not 64 hex digits"
	}
	if len(sec)%2 != 0 {
		kl.bad++
		return false, "secret is not hex"
	}
	n := len(sec) / 2
	if lab == "CLIENT_RANDOM" && n != 48 {
		kl.bad++
		return false, "master secret is not 96 hex digits"
	}
	if lab != "CLIENT_RANDOM" && n != 32 && n != 48 {
		kl.bad++
		return false, "TLS 1.3 secret is not 64 or 96 hex digits"
	}
	s := make(secret, n)
	if !decodeHex(s, sec) {
		kl.bad++
		return false, "secret is not hex"
	}
	sess := kl.sessionLocked(cr)
	if idx < 0 {
		if bytes.Equal(sess.master, s) {
			return false, ""
		}
		sess.master = s
	} else {
		if bytes.Equal(sess.tls13[idx], s) {
			return false, ""
		}
		sess.tls13[idx] = s
	}
	kl.gen.Add(1)
	return true, ""
}

func validLabel(b []byte) bool {
	if len(b) == 0 || len(b) > 64 {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// decodeHex decodes src into dst (len(dst)*2 == len(src) is the caller's
// job) without allocating or quoting the input in an error.
func decodeHex(dst, src []byte) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	_, err := hex.Decode(dst, src)
	return err == nil
}

// sessionLocked returns the session for cr, creating it (and evicting the
// oldest session when full). kl.mu must be held for writing.
func (kl *KeyLog) sessionLocked(cr [32]byte) *session {
	if s, ok := kl.sessions[cr]; ok {
		return s
	}
	s := &session{}
	if len(kl.order) < kl.max {
		kl.order = append(kl.order, cr)
	} else {
		delete(kl.sessions, kl.order[kl.next])
		kl.order[kl.next] = cr
		kl.next = (kl.next + 1) % kl.max
	}
	kl.sessions[cr] = s
	return s
}

func (kl *KeyLog) addPremasterLocked(pfx [8]byte, pm secret) {
	if _, ok := kl.rsaPre[pfx]; !ok {
		if len(kl.rsaOrder) < kl.max {
			kl.rsaOrder = append(kl.rsaOrder, pfx)
		} else {
			delete(kl.rsaPre, kl.rsaOrder[kl.rsaNext])
			kl.rsaOrder[kl.rsaNext] = pfx
			kl.rsaNext = (kl.rsaNext + 1) % kl.max
		}
	}
	kl.rsaPre[pfx] = &pm
}

// addMaster records a master secret derived by this package (from an RSA
// premaster), so that later connections and KeyLogLines can use it.
func (kl *KeyLog) addMaster(cr [32]byte, ms secret) {
	kl.mu.Lock()
	defer kl.mu.Unlock()
	kl.sessionLocked(cr).master = ms
	kl.gen.Add(1)
}

// generation changes whenever kl gains a secret; it is never 0, so that 0
// can mean "never searched".
func (kl *KeyLog) generation() uint64 {
	if kl == nil {
		return 1
	}
	return kl.gen.Load() + 1
}

// isLive reports whether kl is being followed, so that missing secrets may
// still appear and records should wait for them.
func (kl *KeyLog) isLive() bool { return kl != nil && kl.live.Load() > 0 }

// lookup returns a copy of the session for cr.
func (kl *KeyLog) lookup(cr [32]byte) (session, bool) {
	if kl == nil {
		return session{}, false
	}
	kl.mu.RLock()
	defer kl.mu.RUnlock()
	s, ok := kl.sessions[cr]
	if !ok {
		return session{}, false
	}
	return *s, true
}

// KeyLogStats counts what a KeyLog has read.
type KeyLogStats struct {
	Sessions int // client randoms with at least one secret
	RSAKeys  int // RSA private keys added with AddRSAKey
	Lines    int // lines read
	Bad      int // lines rejected
	Ignored  int // well-formed lines with labels not used for decryption
}

// Stats returns counts of what kl holds and has read.
func (kl *KeyLog) Stats() KeyLogStats {
	kl.mu.RLock()
	defer kl.mu.RUnlock()
	return KeyLogStats{Sessions: len(kl.sessions), RSAKeys: len(kl.rsaKeys), Lines: kl.lines, Bad: kl.bad, Ignored: kl.ignored}
}

// String describes kl by counts only.
func (kl *KeyLog) String() string {
	if kl == nil {
		return "KeyLog(nil)"
	}
	s := kl.Stats()
	return fmt.Sprintf("KeyLog(%d sessions, %d RSA keys, %d bad lines)", s.Sessions, s.RSAKeys, s.Bad)
}

// Format makes every fmt verb print String, so that no verb (%#v, %+v)
// can dump secrets.
func (kl *KeyLog) Format(f fmt.State, _ rune) { io.WriteString(f, kl.String()) }

// errNoRSAKey is returned by AddRSAKey for PEM input without an RSA key.
var errNoRSAKey = errors.New("no RSA private key found in PEM input")
