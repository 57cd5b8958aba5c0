package tlsdec

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Direction is the direction of one TCP payload stream of a connection.
type Direction uint8

// The two directions of a TLS connection.
const (
	ClientToServer Direction = 0
	ServerToClient Direction = 1
)

// String returns "client→server" or "server→client".
func (d Direction) String() string {
	switch d {
	case ClientToServer:
		return "client→server"
	case ServerToClient:
		return "server→client"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// ErrNotTLS is returned by Feed once a direction has been searched for a
// TLS record boundary for too long without finding one: the stream is not
// TLS, and the caller may stop feeding it.
var ErrNotTLS = errors.New("tlsdec: stream is not TLS")

var errDirection = errors.New("tlsdec: invalid direction")

// Limits that bound a Conn's memory.
const (
	maxRecordLen   = 1<<14 + 2048 // TLS 1.2 TLSCiphertext limit (RFC 5246 section 6.2.3)
	maxWaitRecords = 16           // per direction, records waiting for keys
	maxWaitBytes   = 32 << 10     // per direction, bytes of records waiting for keys
	maxHunt        = 2 * (maxRecordLen + 5)
	giveUpHunt     = 256 << 10 // bytes searched for a record boundary before ErrNotTLS
	maxSeqSkip     = 64        // sequence numbers tried after a gap
	maxUsed        = 4         // sessions remembered for KeyLogLines (renegotiation)
	maxAppTrial    = 8         // TLS 1.3 application sequence numbers tried when handshake keys fail
)

// Record content types (RFC 8446 section 5.1).
const (
	recCCS       = 20
	recAlert     = 21
	recHandshake = 22
	recAppData   = 23
	recHeartbeat = 24
)

// Alert is a TLS alert as seen on the wire.
type Alert struct {
	Level       uint8 // 1 warning, 2 fatal
	Description uint8 // e.g. 0 close_notify, 20 bad_record_mac, 40 handshake_failure
}

// String describes the alert, e.g. "fatal alert 20".
func (a Alert) String() string {
	lvl := "warning"
	if a.Level == 2 {
		lvl = "fatal"
	}
	return fmt.Sprintf("%s alert %d", lvl, a.Description)
}

// ConnStats summarises what a Conn has seen. Problem explains, in one line
// without key material, the first reason records could not be decrypted.
type ConnStats struct {
	Version      uint16 // negotiated protocol version (0x0303 TLS 1.2, 0x0304 TLS 1.3); 0 before the ServerHello
	CipherSuite  uint16 // negotiated cipher suite; 0 before the ServerHello
	Decrypted    int    // application_data records decrypted and emitted
	NoKeys       int    // encrypted records skipped for lack of keys (no key-log entry, no handshake seen, unsupported suite)
	Failed       int    // encrypted records that did not authenticate (wrong key log, corrupted data)
	Lost         int    // records damaged by bytes missing from the capture
	SkippedBytes int64  // bytes discarded while searching for a record boundary
	KeyUpdates   int    // TLS 1.3 KeyUpdate messages followed (both directions)
	Alerts       int    // alerts seen (plaintext or decrypted)
	LastAlert    Alert  // the last of them
	Problem      string // first reason for NoKeys, Failed or Lost; "" if none
}

// Undecryptable is the number of encrypted records that were not decrypted.
func (s ConnStats) Undecryptable() int { return s.NoKeys + s.Failed + s.Lost }

// VersionName is the name of the negotiated version, e.g. "TLS 1.3".
func (s ConnStats) VersionName() string { return VersionName(s.Version) }

// SuiteName is the IANA name of the negotiated cipher suite.
func (s ConnStats) SuiteName() string { return CipherSuiteName(s.CipherSuite) }

type syncState uint8

const (
	syncStart   syncState = iota // nothing seen yet
	syncOK                       // at or inside a record
	syncHunting                  // searching for a record boundary
	syncGaveUp                   // not TLS
)

type epoch uint8

const (
	epochPlain epoch = iota // no record protection yet
	epochCCS12              // after ChangeCipherSpec, TLS ≤ 1.2
	epochHS13               // TLS 1.3 handshake traffic keys
	epochApp13              // TLS 1.3 application traffic keys (any generation)
)

type evKind uint8

const (
	evRecord evKind = iota // a record
	evLost                 // a record damaged by missing bytes
	evGap                  // an unknown number of records missing
)

// event is an entry of a direction's queue of records waiting for keys;
// gaps are queued too, to keep sequence numbers right.
type event struct {
	kind  evKind
	frame uint64
	rec   []byte
}

// half is the state of one direction. It holds keys: never print it.
type half struct {
	dir        Direction
	state      syncState
	rec        []byte // the record being assembled
	hunt       []byte // bytes searched for a record boundary
	hunted     int64
	skip       int // rest of a damaged record to discard
	recVersion uint16
	epoch      epoch
	rc         *recordCipher
	seq        uint64
	seqUnknown bool   // records were lost: try the next sequence numbers
	secret     secret // TLS 1.3: current traffic secret, for KeyUpdate
	triedGen   uint64 // key-log generation last searched in vain (+1)
	hs         hsReader
	hsBroken   bool // handshake bytes were lost: ignore until the next epoch
	wait       []event
	waitBytes  int
	scratch    []byte
}

// setEpoch switches a direction to new record protection.
func (h *half) setEpoch(e epoch) {
	h.epoch, h.rc, h.seq, h.seqUnknown, h.triedGen, h.hsBroken = e, nil, 0, false, 0, false
	h.hs.reset()
}

// used is a session whose secrets a Conn used, for KeyLogLines.
type used struct {
	cr   [32]byte
	sess session
}

// Conn decrypts one TLS connection from the TCP payload of its two
// directions. It is not safe for concurrent use; different Conns are
// independent and may share one KeyLog. Its String and Format methods
// never reveal key material.
type Conn struct {
	kl         *KeyLog
	h          [2]*half
	cr, sr     [32]byte
	sawCH      bool
	sawSH      bool
	hrr        bool // a HelloRetryRequest was seen
	sh         serverHello
	encPM      []byte      // RSA-encrypted premaster from the ClientKeyExchange
	th         *transcript // handshake hash for extended_master_secret, only with RSA keys
	rsaTried   int         // RSA keys tried on encPM
	used       []*used     // pointers: a printed Conn value shows addresses, not secrets
	waitReason string
	stats      ConnStats
}

// NewConn returns a Conn that takes its secrets from kl, which may be nil
// (nothing will decrypt, but records are still framed and counted).
func NewConn(kl *KeyLog) *Conn {
	return &Conn{
		kl: kl,
		h:  [2]*half{{dir: ClientToServer}, {dir: ServerToClient}},
	}
}

// Feed hands c the next bytes b of direction dir, taken from frame number
// frame. For each application_data record decrypted, emit is called with
// the plaintext and the number of the frame that completed the record (or,
// for a record that had to wait for its keys, the frame it arrived in).
// The plaintext is valid only during the call; emit must not call c.
//
// Bad input is counted in Stats, not returned: Feed's only errors are an
// invalid direction and ErrNotTLS.
func (c *Conn) Feed(dir Direction, frame uint64, b []byte, emit func(dir Direction, frame uint64, plaintext []byte)) error {
	if dir > ServerToClient {
		return errDirection
	}
	if emit == nil {
		emit = func(Direction, uint64, []byte) {}
	}
	h := c.h[dir]
	c.retry(emit)
	c.frame(h, frame, b, emit)
	if h.state == syncGaveUp {
		return ErrNotTLS
	}
	return nil
}

// Lost tells c that n bytes of direction dir are missing from the capture
// at this point of the stream (n ≤ 0: an unknown amount). The damaged
// records are counted as Lost and decryption resumes after them.
func (c *Conn) Lost(dir Direction, n int) {
	if dir > ServerToClient {
		return
	}
	h := c.h[dir]
	switch h.state {
	case syncStart:
		h.state = syncHunting
		return
	case syncHunting, syncGaveUp:
		return
	}
	if n > 0 && h.skip > 0 {
		if n <= h.skip {
			h.skip -= n
			return
		}
		n -= h.skip
		h.skip = 0
	}
	if len(h.rec) >= 5 {
		rem := 5 + int(binary.BigEndian.Uint16(h.rec[3:5])) - len(h.rec)
		c.push(h, event{kind: evLost})
		if n > 0 && n <= rem {
			h.rec, h.skip = h.rec[:0], rem-n
			return
		}
	}
	h.rec, h.skip = h.rec[:0], 0
	c.push(h, event{kind: evGap})
	h.state = syncHunting
	h.hunt = h.hunt[:0]
}

// Flush makes a last attempt to decrypt records still waiting for keys and
// counts the rest as NoKeys. Call it when the connection ends, or when a
// live capture cannot wait any longer.
func (c *Conn) Flush(emit func(dir Direction, frame uint64, plaintext []byte)) {
	if emit == nil {
		emit = func(Direction, uint64, []byte) {}
	}
	c.retry(emit)
	for _, h := range c.h {
		for len(h.wait) > 0 {
			c.giveUpHead(h, emit)
		}
	}
}

// Stats returns what c has seen so far.
func (c *Conn) Stats() ConnStats { return c.stats }

// KeyLogLines returns, in NSS key-log format, the secrets c used to
// decrypt, for a pcapng Decryption Secrets Block. It is the one way key
// material leaves this package: write it only when the user asked for it.
func (c *Conn) KeyLogLines() []byte {
	var b []byte
	line := func(label string, cr [32]byte, s secret) {
		b = append(b, label...)
		b = append(b, ' ')
		b = hex.AppendEncode(b, cr[:])
		b = append(b, ' ')
		b = hex.AppendEncode(b, s)
		b = append(b, '\n')
	}
	for _, u := range c.used {
		if u.sess.master != nil {
			line("CLIENT_RANDOM", u.cr, u.sess.master)
		}
		for i, s := range u.sess.tls13 {
			if s != nil {
				line(labelName(i), u.cr, s)
			}
		}
	}
	return b
}

// String describes c without key material.
func (c *Conn) String() string {
	s := c.stats
	v := s.VersionName()
	if v == "" {
		v = "TLS"
	}
	return fmt.Sprintf("tlsdec.Conn(%s %s, %d decrypted, %d undecryptable)", v, s.SuiteName(), s.Decrypted, s.Undecryptable())
}

// Format makes every fmt verb print String, so that no verb can dump keys.
func (c *Conn) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// Detect reports whether b, the first bytes of a TCP direction, look like
// the start of a TLS stream: a handshake record holding a ClientHello or
// ServerHello. It needs at least 6 bytes and uses up to 11.
func Detect(b []byte) bool {
	if len(b) < 6 || b[0] != recHandshake || b[1] != 3 || b[2] > 4 {
		return false
	}
	if n := int(binary.BigEndian.Uint16(b[3:5])); n < 4 || n > maxRecordLen {
		return false
	}
	if b[5] != hsClientHello && b[5] != hsServerHello {
		return false
	}
	if len(b) >= 9 {
		if n := int(b[6])<<16 | int(b[7])<<8 | int(b[8]); n < 38 || n > maxHandshakeMsg {
			return false
		}
	}
	if len(b) >= 11 && (b[9] != 3 || b[10] > 4) {
		return false
	}
	return true
}

// plausible reports whether hdr can be a record header; version, if not 0,
// must match exactly (used when searching for a record boundary).
func plausible(hdr []byte, version uint16) bool {
	if hdr[0] < recCCS || hdr[0] > recHeartbeat {
		return false
	}
	if version != 0 {
		if binary.BigEndian.Uint16(hdr[1:3]) != version {
			return false
		}
	} else if hdr[1] != 3 || hdr[2] > 4 {
		return false
	}
	return int(binary.BigEndian.Uint16(hdr[3:5])) <= maxRecordLen
}

// findRecordStart searches buf for a record boundary: a plausible header
// followed by another one or by the end of buf. If none is found, off is
// where the search must resume once more bytes arrive.
func findRecordStart(buf []byte, version uint16) (off int, ok bool) {
	for i := 0; i+5 <= len(buf); i++ {
		h := buf[i : i+5]
		if h[0] == recHeartbeat || !plausible(h, version) || h[3] == 0 && h[4] == 0 {
			continue
		}
		end := i + 5 + int(binary.BigEndian.Uint16(h[3:5]))
		switch {
		case end+5 <= len(buf):
			if plausible(buf[end:end+5], version) {
				return i, true
			}
		case end == len(buf):
			return i, true
		default: // cannot tell yet
			return i, false
		}
	}
	return max(0, len(buf)-4), false
}

// frame splits b into records and processes each complete one.
func (c *Conn) frame(h *half, frame uint64, b []byte, emit func(Direction, uint64, []byte)) {
	for len(b) > 0 {
		switch h.state {
		case syncGaveUp:
			c.stats.SkippedBytes += int64(len(b))
			return
		case syncHunting:
			b = c.hunt(h, b)
			continue
		}
		if h.skip > 0 {
			n := min(h.skip, len(b))
			h.skip -= n
			b = b[n:]
			continue
		}
		if len(h.rec) < 5 {
			n := min(5-len(h.rec), len(b))
			h.rec = append(h.rec, b[:n]...)
			b = b[n:]
			if len(h.rec) < 5 {
				return
			}
			if !plausible(h.rec, 0) {
				if h.state == syncStart {
					c.problem("capture started mid-connection: no TLS record at the start of the stream")
				} else {
					c.push(h, event{kind: evGap})
				}
				h.hunt = append(h.hunt[:0], h.rec...)
				h.rec = h.rec[:0]
				h.state = syncHunting
				continue
			}
			h.state = syncOK
		}
		total := 5 + int(binary.BigEndian.Uint16(h.rec[3:5]))
		n := min(total-len(h.rec), len(b))
		h.rec = append(h.rec, b[:n]...)
		b = b[n:]
		if len(h.rec) == total {
			c.record(h, frame, h.rec, emit)
			h.rec = h.rec[:0]
		}
	}
}

// hunt searches for a record boundary; it returns the bytes to frame from
// there, or nil when more input is needed.
func (c *Conn) hunt(h *half, b []byte) []byte {
	h.hunt = append(h.hunt, b...)
	off, ok := findRecordStart(h.hunt, h.recVersion)
	c.stats.SkippedBytes += int64(off)
	h.hunted += int64(off)
	if ok {
		rest := h.hunt[off:]
		h.hunt, h.hunted, h.state = nil, 0, syncOK
		return rest
	}
	h.hunt = h.hunt[:copy(h.hunt, h.hunt[off:])]
	if h.hunted > giveUpHunt || len(h.hunt) > maxHunt {
		c.stats.SkippedBytes += int64(len(h.hunt))
		h.hunt, h.state = nil, syncGaveUp
		c.problem("no TLS record boundary found: not a TLS stream")
	}
	return nil
}

// record handles a complete record, in order with any waiting ones.
func (c *Conn) record(h *half, frame uint64, rec []byte, emit func(Direction, uint64, []byte)) {
	if len(h.wait) > 0 || !c.process(h, frame, rec, emit) {
		c.push(h, event{kind: evRecord, frame: frame, rec: append([]byte(nil), rec...)})
		c.bound(h, emit)
	}
	// A ServerHello may have unblocked the other direction.
	if o := c.h[1-h.dir]; len(o.wait) > 0 {
		c.drain(o, emit)
	}
}

// push applies a gap event now, or queues it behind waiting records.
func (c *Conn) push(h *half, ev event) {
	if len(h.wait) > 0 || ev.kind == evRecord {
		h.wait = append(h.wait, ev)
		h.waitBytes += len(ev.rec)
		return
	}
	c.applyGap(h, ev.kind)
}

func (c *Conn) applyGap(h *half, k evKind) {
	switch k {
	case evLost:
		c.stats.Lost++
		c.problem("bytes missing from the capture (packet loss)")
		if h.epoch != epochPlain {
			h.seq++
		}
		h.hsBroken = true
	case evGap:
		h.seqUnknown = h.epoch != epochPlain
		h.hsBroken = true
	}
}

// bound gives up on the oldest waiting records beyond the queue limits.
func (c *Conn) bound(h *half, emit func(Direction, uint64, []byte)) {
	for len(h.wait) > maxWaitRecords || h.waitBytes > maxWaitBytes {
		c.giveUpHead(h, emit)
	}
}

func (c *Conn) retry(emit func(Direction, uint64, []byte)) {
	for _, h := range c.h {
		if len(h.wait) > 0 {
			c.drain(h, emit)
		}
	}
}

// drain processes waiting events in order until one must still wait.
func (c *Conn) drain(h *half, emit func(Direction, uint64, []byte)) {
	for len(h.wait) > 0 {
		ev := h.wait[0]
		if ev.kind == evRecord {
			if !c.process(h, ev.frame, ev.rec, emit) {
				return
			}
		} else {
			c.applyGap(h, ev.kind)
		}
		c.pop(h)
	}
}

func (c *Conn) pop(h *half) {
	h.waitBytes -= len(h.wait[0].rec)
	h.wait[0] = event{}
	h.wait = h.wait[1:]
	if len(h.wait) == 0 {
		h.wait = nil
	}
}

// giveUpHead counts the first waiting record as NoKeys and processes what
// follows it.
func (c *Conn) giveUpHead(h *half, emit func(Direction, uint64, []byte)) {
	if ev := h.wait[0]; ev.kind == evRecord {
		c.noKeys(h, c.waitReason)
	} else {
		c.applyGap(h, ev.kind)
	}
	c.pop(h)
	c.drain(h, emit)
}

func (c *Conn) problem(s string) {
	if c.stats.Problem == "" && s != "" {
		c.stats.Problem = s
	}
}

// noKeys counts an encrypted record that cannot be decrypted.
func (c *Conn) noKeys(h *half, reason string) {
	c.stats.NoKeys++
	c.problem(reason)
	if h.epoch != epochPlain {
		h.seq++
	}
}

// process handles one complete record. It returns false, changing nothing,
// when the record must wait: for the ServerHello of the other direction or
// for its keys to appear in a followed key log.
func (c *Conn) process(h *half, frame uint64, rec []byte, emit func(Direction, uint64, []byte)) bool {
	typ, body := rec[0], rec[5:]
	if h.epoch == epochPlain {
		switch typ {
		case recHandshake:
			c.handshake(h, body)
		case recCCS:
			// TLS 1.3 sends CCS only for middlebox compatibility; in TLS
			// 1.2 the server's comes after its ServerHello. The client's
			// may be processed before the ServerHello when the caller
			// feeds one direction ahead: it switches tentatively, and a
			// TLS 1.3 ServerHello or HelloRetryRequest corrects that.
			if c.sh.version != 0x0304 && !c.hrr && (h.dir == ClientToServer || c.sawSH) {
				h.setEpoch(epochCCS12)
			}
		case recAlert:
			c.alert(body)
		case recAppData:
			switch {
			case !c.sawCH:
				c.noKeys(h, "no handshake seen: the capture started mid-connection")
			case !c.sawSH:
				c.waitReason = "no ServerHello seen: is the server→client direction in the capture?"
				return false
			default:
				c.noKeys(h, "application data before ChangeCipherSpec")
			}
		}
		h.recVersion = binary.BigEndian.Uint16(rec[1:3])
		return true
	}
	if c.sh.version == 0x0304 {
		switch {
		case typ == recCCS: // middlebox compatibility (RFC 8446 appendix D.4)
			return true
		case typ == recAlert && len(body) == 2: // plaintext alert during the handshake
			c.alert(body)
			return true
		}
	}
	if typ == recHeartbeat {
		return true
	}
	rc, ready := c.keys(h)
	if !ready {
		return false
	}
	h.recVersion = binary.BigEndian.Uint16(rec[1:3])
	if rc == nil {
		c.noKeys(h, c.waitReason)
		return true
	}
	inner, plain, err := c.decrypt(h, rec)
	if err != nil {
		if h.epoch == epochHS13 {
			if inner, plain, err = c.tryAppKeys(h, rec); err == nil {
				c.deliver(h, frame, inner, plain, emit)
				return true
			}
		}
		c.stats.Failed++
		c.problem("records do not authenticate: wrong key-log entry, or corrupted capture")
		return true
	}
	c.deliver(h, frame, inner, plain, emit)
	return true
}

// deliver acts on a decrypted record.
func (c *Conn) deliver(h *half, frame uint64, typ uint8, plain []byte, emit func(Direction, uint64, []byte)) {
	switch typ {
	case recAppData:
		c.stats.Decrypted++
		emit(h.dir, frame, plain)
	case recHandshake:
		c.handshake(h, plain)
	case recAlert:
		c.alert(plain)
	case recCCS: // encrypted ChangeCipherSpec: TLS ≤ 1.2 renegotiation
		if c.sh.version != 0x0304 {
			h.setEpoch(epochCCS12)
		}
	}
}

// decrypt opens rec with the direction's cipher, trying the following
// sequence numbers after a gap.
func (c *Conn) decrypt(h *half, rec []byte) (uint8, []byte, error) {
	rc := h.rc
	defer rc.advance()
	if !h.seqUnknown {
		typ, p, err := rc.open(rec, h.seq, nil)
		// A TLS 1.3 client record that fails under the handshake keys is
		// most likely 0-RTT data the server rejected; it takes no sequence
		// number (RFC 8446 section 4.2.10).
		if err == nil || !(h.epoch == epochHS13 && h.dir == ClientToServer) {
			h.seq++
		}
		return typ, p, err
	}
	if cap(h.scratch) < len(rec) {
		h.scratch = make([]byte, len(rec))
	}
	for i := uint64(0); i <= maxSeqSkip; i++ {
		typ, p, err := rc.open(rec, h.seq+i, h.scratch)
		if err == nil {
			h.seq += i + 1
			h.seqUnknown = false
			return typ, p, nil
		}
		if err == errShort {
			break
		}
	}
	h.seq++
	return 0, nil, errAuth
}

// tryAppKeys handles a TLS 1.3 record that failed under the handshake keys:
// if the Finished was lost, or the key log lacks the handshake secrets, it
// may be under the application keys already.
func (c *Conn) tryAppKeys(h *half, rec []byte) (uint8, []byte, error) {
	label := labelClientTS0
	if h.dir == ServerToClient {
		label = labelServerTS0
	}
	s, _ := suiteByID(c.sh.suite)
	sess, ok := c.kl.lookup(c.cr)
	sec := sess.tls13[label]
	if !ok || len(sec) != s.prf.Size() {
		return 0, nil, errAuth
	}
	rc, err := newCipher13(s, sec)
	if err != nil {
		return 0, nil, errAuth
	}
	if cap(h.scratch) < len(rec) {
		h.scratch = make([]byte, len(rec))
	}
	for i := uint64(0); i < maxAppTrial; i++ {
		typ, p, err := rc.open(rec, i, h.scratch)
		if err == nil {
			h.setEpoch(epochApp13)
			h.rc, h.secret, h.seq = rc, sec, i+1
			c.use(sess)
			return typ, p, nil
		}
	}
	return 0, nil, errAuth
}

func (c *Conn) alert(b []byte) {
	if len(b) >= 2 {
		c.stats.Alerts++
		c.stats.LastAlert = Alert{Level: b[0], Description: b[1]}
	}
}

// handshake feeds handshake-protocol bytes of direction h.
func (c *Conn) handshake(h *half, b []byte) {
	if h.hsBroken {
		return
	}
	if h.dir == ClientToServer && h.epoch == epochPlain && !c.sawCH && c.th == nil && c.kl.hasRSA() {
		c.th = newTranscript()
	}
	var raw func([]byte)
	if c.th != nil && !c.th.done && h.epoch == epochPlain {
		raw = c.th.write
	}
	h.hs.feed(b, raw, func(typ uint8, body []byte) { c.onHandshake(h, typ, body) })
}

func (c *Conn) onHandshake(h *half, typ uint8, body []byte) {
	switch typ {
	case hsClientHello:
		if h.dir != ClientToServer {
			return
		}
		ch, err := parseClientHello(body)
		if err != nil {
			c.problem("malformed ClientHello")
			return
		}
		c.cr, c.sawCH, c.encPM, c.rsaTried = ch.random, true, nil, 0
	case hsServerHello:
		if h.dir != ServerToClient {
			return
		}
		sh, err := parseServerHello(body)
		if err != nil {
			c.problem("malformed ServerHello")
			return
		}
		if sh.hrr { // the client will send a new ClientHello, in plaintext
			c.hrr = true
			c.stats.Version = sh.version
			if x := c.h[ClientToServer]; x.epoch == epochCCS12 && x.rc == nil {
				x.setEpoch(epochPlain)
			}
			return
		}
		c.sr, c.sh, c.sawSH = sh.random, sh, true
		c.stats.Version, c.stats.CipherSuite = sh.version, sh.suite
		if sh.version == 0x0304 {
			for _, x := range c.h {
				if x.epoch == epochPlain || x.epoch == epochCCS12 && x.rc == nil {
					x.setEpoch(epochHS13)
				}
			}
		}
	case hsClientKeyExchange:
		if h.dir != ClientToServer {
			return
		}
		r := reader{b: body}
		if enc := r.vec16(); !r.bad && len(r.b) == 0 {
			c.encPM = append(c.encPM[:0], enc...)
			c.rsaTried = 0
		}
		if c.th != nil && !c.th.done {
			c.th.finish(c.sh.version, c.sh.suite)
		}
	case hsFinished:
		if h.epoch == epochHS13 {
			h.setEpoch(epochApp13)
		}
	case hsKeyUpdate: // RFC 8446 section 4.6.3
		if h.epoch != epochApp13 || h.rc == nil || h.secret == nil {
			return
		}
		s, _ := suiteByID(c.sh.suite)
		next, err := hkdfExpandLabel(s.prf, h.secret, "traffic upd", nil, len(h.secret))
		if err != nil {
			return
		}
		rc, err := newCipher13(s, next)
		if err != nil {
			return
		}
		h.rc, h.secret, h.seq = rc, next, 0
		c.stats.KeyUpdates++
	}
}

// keys returns the cipher of direction h, deriving it when needed.
// ready=false means the record must wait; rc=nil with ready=true means it
// can never be decrypted (c.waitReason says why).
func (c *Conn) keys(h *half) (rc *recordCipher, ready bool) {
	if h.rc != nil {
		return h.rc, true
	}
	if !c.sawCH {
		c.waitReason = "no ClientHello seen: the capture started mid-connection"
		return nil, true
	}
	if !c.sawSH {
		c.waitReason = "no ServerHello seen: is the server→client direction in the capture?"
		return nil, false
	}
	s, ok := suiteByID(c.sh.suite)
	if !ok {
		c.waitReason = fmt.Sprintf("cipher suite %s is not supported", CipherSuiteName(c.sh.suite))
		return nil, true
	}
	gen := c.kl.generation()
	if h.triedGen == gen {
		return nil, !c.kl.isLive()
	}
	var err error
	switch v := c.sh.version; {
	case v == 0x0304 && s.tls13:
		rc, err = c.keys13(h, s)
	case v >= 0x0301 && v <= 0x0303 && !s.tls13:
		rc, err = c.keys12(h, s)
	default:
		c.waitReason = fmt.Sprintf("%s with %s is not supported", VersionName(v), CipherSuiteName(s.id))
		return nil, true
	}
	if err != nil {
		c.waitReason = err.Error()
		return nil, true
	}
	if rc == nil {
		h.triedGen = gen
		return nil, !c.kl.isLive()
	}
	h.rc = rc
	return rc, true
}

func (c *Conn) keys13(h *half, s suite) (*recordCipher, error) {
	label := labelClientHS
	switch {
	case h.epoch == epochHS13 && h.dir == ServerToClient:
		label = labelServerHS
	case h.epoch == epochApp13 && h.dir == ClientToServer:
		label = labelClientTS0
	case h.epoch == epochApp13:
		label = labelServerTS0
	}
	sess, ok := c.kl.lookup(c.cr)
	sec := sess.tls13[label]
	if !ok || sec == nil {
		c.waitReason = fmt.Sprintf("no key-log %s line for client random %x", labelName(label), c.cr)
		return nil, nil
	}
	if len(sec) != s.prf.Size() {
		return nil, fmt.Errorf("key-log %s for client random %x has the wrong length for %s", labelName(label), c.cr, CipherSuiteName(s.id))
	}
	rc, err := newCipher13(s, sec)
	if err != nil {
		return nil, fmt.Errorf("deriving %s keys failed", CipherSuiteName(s.id))
	}
	h.secret = sec
	c.use(sess)
	return rc, nil
}

func (c *Conn) keys12(h *half, s suite) (*recordCipher, error) {
	ms, err := c.masterSecret(s)
	if ms == nil || err != nil {
		return nil, err
	}
	macLen, ivLen := 0, 16
	switch s.kind {
	case kindCBC:
		macLen = s.mac.Size()
	case kindGCM:
		ivLen = 4
	case kindChaCha:
		ivLen = 12
	}
	seed := make([]byte, 0, 64)
	seed = append(append(seed, c.sr[:]...), c.cr[:]...)
	kb := prf(c.sh.version, s.prf, ms, "key expansion", seed, 2*(macLen+s.keyLen+ivLen))
	defer clear(kb)
	// key_block = client MAC, server MAC, client key, server key, client IV, server IV
	i := int(h.dir)
	macKey := kb[i*macLen : (i+1)*macLen]
	k := kb[2*macLen:]
	key := k[i*s.keyLen : (i+1)*s.keyLen]
	v := k[2*s.keyLen:]
	iv := v[i*ivLen : (i+1)*ivLen]
	rc, err := newCipher12(s, c.sh.version, key, iv, macKey, c.sh.etm && s.kind == kindCBC)
	if err != nil {
		return nil, fmt.Errorf("deriving %s keys failed", CipherSuiteName(s.id))
	}
	return rc, nil
}

// masterSecret finds the TLS ≤ 1.2 master secret: from a CLIENT_RANDOM
// line, or from the RSA-encrypted premaster with an "RSA" line or the
// server's private key. nil, nil means not (yet) available.
func (c *Conn) masterSecret(s suite) (secret, error) {
	sess, ok := c.kl.lookup(c.cr)
	if ok && sess.master != nil {
		c.use(sess)
		return sess.master, nil
	}
	c.waitReason = fmt.Sprintf("no key-log CLIENT_RANDOM line for client random %x", c.cr)
	if !s.rsaKx || len(c.encPM) == 0 {
		return nil, nil
	}
	pm := c.kl.premaster(c.encPM, &c.rsaTried)
	if pm == nil {
		c.waitReason += ", and no RSA key decrypts its premaster"
		return nil, nil
	}
	var ms secret
	if c.sh.ems { // RFC 7627 section 4
		if c.th == nil || c.th.sessionHash == nil {
			return nil, errors.New("RSA key exchange with extended_master_secret: handshake transcript incomplete, need a key-log CLIENT_RANDOM line")
		}
		ms = prf(c.sh.version, s.prf, pm, "extended master secret", c.th.sessionHash, 48)
	} else {
		seed := make([]byte, 0, 64)
		seed = append(append(seed, c.cr[:]...), c.sr[:]...)
		ms = prf(c.sh.version, s.prf, pm, "master secret", seed, 48)
	}
	c.kl.addMaster(c.cr, ms)
	c.use(session{master: ms})
	return ms, nil
}

// use remembers the secrets of the current session for KeyLogLines.
func (c *Conn) use(sess session) {
	for i := range c.used {
		if c.used[i].cr == c.cr {
			c.used[i].sess = sess
			return
		}
	}
	if len(c.used) < maxUsed {
		c.used = append(c.used, &used{cr: c.cr, sess: sess})
	}
}
