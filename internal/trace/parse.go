package trace

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"net/netip"
)

// field is a record field the loaders understand. Several spellings map to
// one field; when a record repeats a field, the first occurrence wins.
type field uint8

const (
	fNone field = iota
	fMicroTs
	fMilliTs
	fDate
	fTimestamp
	fTime
	fMethod
	fReplyReason
	fEvent
	fKey
	fConv
	fPart
	fCallID
	fCSeq
	fVia1Branch
	fVia1
	fFromUser
	fToUser
	fRURIUser
	fPIDUser
	fSrcIP
	fSrcPort
	fDstIP
	fDstPort
	fProto
	fNode
	fMsg
	nField
)

// fieldOf maps a JSON member name to a field. The Homer names are those of
// the Platform API model HomerRecord; the others are spellings seen in trace
// exports. Matching is exact: "callid" (SIP Call-ID) and "callId" (the
// X-Genesys-Call-ID in exports) differ only in case.
func fieldOf(k []byte) field {
	switch string(k) {
	case "microTs":
		return fMicroTs
	case "milliTs":
		return fMilliTs
	case "date":
		return fDate
	case "timestamp":
		return fTimestamp
	case "time":
		return fTime
	case "method":
		return fMethod
	case "replyReason":
		return fReplyReason
	case "event":
		return fEvent
	case "call-id", "callId", "x-genesys-call-id", "X-Genesys-Call-ID":
		return fKey
	case "conversationId":
		return fConv
	case "participantId":
		return fPart
	case "callid", "sipCallId":
		return fCallID
	case "cseq":
		return fCSeq
	case "via1Branch":
		return fVia1Branch
	case "via1":
		return fVia1
	case "fromUser":
		return fFromUser
	case "toUser":
		return fToUser
	case "ruriUser":
		return fRURIUser
	case "pidUser":
		return fPIDUser
	case "sourceIp":
		return fSrcIP
	case "sourcePort":
		return fSrcPort
	case "destinationIp":
		return fDstIP
	case "destinationPort":
		return fDstPort
	case "proto":
		return fProto
	case "node":
		return fNode
	case "msg":
		return fMsg
	}
	return fNone
}

// Value kinds of a field span.
const (
	kAbsent uint8 = iota
	kStr          // string; s and e bound the content without quotes
	kNum          // number literal
	kOther        // null, booleans, objects, arrays: not usable
)

type span struct {
	s, e int32
	kind uint8
	esc  bool
}

type fieldSpans [nField]span

// parseObject reads the object that starts at w[0] and records the spans
// of the fields it knows. It returns the offset just past the object and the
// newlines inside it. It validates the object's own grammar; nested values
// are only checked for balance. Running out of w is errShort.
func parseObject(w []byte, f *fieldSpans, tmp *[]byte) (end, nl int, err error) {
	*f = fieldSpans{}
	n := len(w)
	if n == 0 || w[0] != '{' {
		return 0, 0, errAt(0, "expected an object")
	}
	i, k := skipSpace(w, 1)
	nl += k
	if i < n && w[i] == '}' {
		return i + 1, nl, nil
	}
	for {
		if i >= n {
			return 0, nl, errShort
		}
		if w[i] != '"' {
			return 0, nl, badChar(w, i, "looking for beginning of object key string")
		}
		e, esc, err := scanString(w, i)
		if err != nil {
			return 0, nl, err
		}
		key := w[i+1 : e-1]
		if esc {
			k, err := unescape((*tmp)[:0], key)
			if err != nil {
				return 0, nl, errAt(i, err.(*syntaxError).Msg)
			}
			*tmp = k
			key = k
		}
		fi := fieldOf(key)
		i, k = skipSpace(w, e)
		nl += k
		if i >= n {
			return 0, nl, errShort
		}
		if w[i] != ':' {
			return 0, nl, badChar(w, i, "after object key")
		}
		i, k = skipSpace(w, i+1)
		nl += k
		if i >= n {
			return 0, nl, errShort
		}
		var sp span
		switch c := w[i]; {
		case c == '"':
			e, esc, err = scanString(w, i)
			sp = span{s: int32(i + 1), e: int32(e - 1), kind: kStr, esc: esc}
		case c == '-' || (c >= '0' && c <= '9'):
			e, err = scanNumber(w, i)
			sp = span{s: int32(i), e: int32(e), kind: kNum}
		default:
			e, k, err = skipValue(w, i)
			nl += k
			sp = span{kind: kOther}
		}
		if err != nil {
			return 0, nl, err
		}
		if fi != fNone && f[fi].kind == kAbsent {
			f[fi] = sp
		}
		i, k = skipSpace(w, e)
		nl += k
		if i >= n {
			return 0, nl, errShort
		}
		switch w[i] {
		case ',':
			i, k = skipSpace(w, i+1)
			nl += k
			continue
		case '}':
			return i + 1, nl, nil
		}
		return 0, nl, badChar(w, i, "after object key:value pair")
	}
}

// String slots of a compact record.
const (
	sKey = iota
	sConv
	sPart
	sCallID
	sMethod
	sReason
	sCSeqMethod
	sBranch
	sFrom
	sTo
	sRURI
	sPID
	sProto
	sNode
	nStr
)

// lowCard marks slots with few distinct values, interned per batch.
func lowCard(slot int) bool {
	switch slot {
	case sMethod, sReason, sCSeqMethod, sProto, sNode:
		return true
	}
	return false
}

// maxStr bounds a stored string; longer values are truncated.
const maxStr = 1<<16 - 1

// crec is the compact form of a Record kept by an Index: strings are
// offsets into the batch's arena, addresses are 16-byte arrays.
type crec struct {
	t      int64 // Unix nanoseconds
	b      *batch
	ext    *msgFile // message on disk when non-nil
	msgOff int64    // offset in ext's file, or in the arena
	off    [nStr]uint32
	n      [nStr]uint16
	msgLen uint32
	cseq   uint32
	src    [16]byte
	dst    [16]byte
	sport  uint16
	dport  uint16
	status uint16
	flags  uint8
}

// Address flags.
const (
	flSrc4 = 1 << iota
	flSrc6
	flDst4
	flDst6
	flDup // a duplicate, left out of lookups
)

// batch owns the string arena of a group of records.
type batch struct {
	arena string
}

func (c *crec) str(k int) string {
	o := c.off[k]
	return c.b.arena[o : o+uint32(c.n[k])]
}

func addrFrom(a *[16]byte, fl, f4, f6 uint8) netip.Addr {
	switch {
	case fl&f4 != 0:
		return netip.AddrFrom4([4]byte(a[12:16]))
	case fl&f6 != 0:
		return netip.AddrFrom16(*a)
	}
	return netip.Addr{}
}

// record expands the compact form. It does not allocate.
func (c *crec) record() Record {
	r := Record{
		Key:            c.str(sKey),
		ConversationID: c.str(sConv),
		ParticipantID:  c.str(sPart),
		CallID:         c.str(sCallID),
		Method:         c.str(sMethod),
		Status:         int(c.status),
		Reason:         c.str(sReason),
		CSeqNum:        c.cseq,
		CSeqMethod:     c.str(sCSeqMethod),
		ViaBranch:      c.str(sBranch),
		FromUser:       c.str(sFrom),
		ToUser:         c.str(sTo),
		RURIUser:       c.str(sRURI),
		PIDUser:        c.str(sPID),
		SrcIP:          addrFrom(&c.src, c.flags, flSrc4, flSrc6),
		DstIP:          addrFrom(&c.dst, c.flags, flDst4, flDst6),
		SrcPort:        c.sport,
		DstPort:        c.dport,
		Proto:          c.str(sProto),
		Node:           c.str(sNode),
	}
	r.Time = timeOf(c.t)
	if c.ext != nil {
		r.ext, r.extOff, r.extLen = c.ext, c.msgOff, c.msgLen
	} else if c.msgLen > 0 {
		r.Msg = c.b.arena[c.msgOff : c.msgOff+int64(c.msgLen)]
	}
	return r
}

// identity hashes what makes two records the same traced message: time,
// SIP Call-ID, CSeq, method or status, top Via branch, addresses and node.
// The same record fetched twice hashes equal; a retransmission (later time)
// or the same message at another node does not.
func (c *crec) identity(seed maphash.Seed, buf []byte) (uint64, []byte) {
	buf = binary.LittleEndian.AppendUint64(buf[:0], uint64(c.t))
	buf = binary.LittleEndian.AppendUint32(buf, c.cseq)
	buf = binary.LittleEndian.AppendUint16(buf, c.status)
	buf = binary.LittleEndian.AppendUint16(buf, c.sport)
	buf = binary.LittleEndian.AppendUint16(buf, c.dport)
	buf = append(buf, c.flags)
	buf = append(buf, c.src[:]...)
	buf = append(buf, c.dst[:]...)
	for _, k := range [...]int{sCallID, sCSeqMethod, sMethod, sBranch, sNode} {
		buf = binary.LittleEndian.AppendUint16(buf, c.n[k])
		buf = append(buf, c.str(k)...)
	}
	return maphash.Bytes(seed, buf), buf
}

func sameIdentity(a, b *crec) bool {
	if a.t != b.t || a.cseq != b.cseq || a.status != b.status || a.sport != b.sport ||
		a.dport != b.dport || a.flags != b.flags || a.src != b.src || a.dst != b.dst {
		return false
	}
	for _, k := range [...]int{sCallID, sCSeqMethod, sMethod, sBranch, sNode} {
		if a.str(k) != b.str(k) {
			return false
		}
	}
	return true
}

// hdrKind names the headers the record builder reads from a message.
type hdrKind uint8

const (
	hNone hdrKind = iota
	hKey
	hConv
	hCallID
	hCSeq
	hVia
	hFrom
	hTo
	hPAI
	nHdr
)

func classifyHeader(n []byte) hdrKind {
	switch len(n) {
	case 1:
		switch n[0] | 0x20 {
		case 'i':
			return hCallID
		case 'v':
			return hVia
		case 'f':
			return hFrom
		case 't':
			return hTo
		}
	case 2:
		if equalFoldASCII(n, "to") {
			return hTo
		}
	case 3:
		if equalFoldASCII(n, "via") {
			return hVia
		}
	case 4:
		if equalFoldASCII(n, "cseq") {
			return hCSeq
		}
		if equalFoldASCII(n, "from") {
			return hFrom
		}
	case 7:
		if equalFoldASCII(n, "call-id") {
			return hCallID
		}
	case 10:
		if equalFoldASCII(n, "x-inin-cnv") {
			return hConv
		}
	case 17:
		if equalFoldASCII(n, "x-genesys-call-id") {
			return hKey
		}
	case 19:
		if equalFoldASCII(n, "p-asserted-identity") {
			return hPAI
		}
	}
	return hNone
}

// ref is a string stored in a batch arena.
type ref struct {
	off uint32
	n   uint16
}

// Skip reasons, in report order.
const (
	skipNoTime = iota
	skipBadTime
	skipTimeRange
	skipNoKey
	skipNotObject
	skipNotJSON
	nSkip
)

// builder turns parsed records into compact records in an arena. One
// builder serves one goroutine; its buffers are reused across batches.
type builder struct {
	cfg     *config
	arena   []byte
	intern  map[string]ref
	last    [nStr]ref
	hasLast [nStr]bool
	tmp     []byte // unescaped field values, consumed at once
	msg     []byte // the unescaped message
	ext     []ref  // extra header values of the batch, cfg.nExtra per record
	hdr     [nHdr][]byte
	extraV  [][]byte
	fs      fieldSpans
	keyTmp  []byte
	hbuf    []byte // decoded header values of scanEscaped
	escErr  error  // first bad escape met by value
	// badTime is the time value (as written, escapes and all) of a record
	// skipped for its time, and
	// badTimeField its field: read (into a skip's Detail) only for the
	// first such record of a block, so nothing is allocated per record.
	badTime      []byte
	badTimeField field
}

func newBuilder(cfg *config) *builder {
	return &builder{cfg: cfg, intern: make(map[string]ref), extraV: make([][]byte, len(cfg.extra))}
}

func (b *builder) reset() {
	b.arena = b.arena[:0]
	clear(b.intern)
	b.hasLast = [nStr]bool{}
	b.ext = b.ext[:0]
}

// add stores v in the arena for slot, reusing an identical earlier value
// when cheap to find.
func (b *builder) add(slot int, v []byte) ref {
	if len(v) == 0 {
		return ref{}
	}
	if len(v) > maxStr {
		v = v[:maxStr]
	}
	if slot >= 0 && b.hasLast[slot] {
		l := b.last[slot]
		if bytes.Equal(b.arena[l.off:l.off+uint32(l.n)], v) {
			return l
		}
	}
	if lowCard(slot) {
		r, ok := b.intern[string(v)]
		if !ok {
			r = b.put(v)
			b.intern[string(v)] = r
		}
		b.last[slot], b.hasLast[slot] = r, true
		return r
	}
	r := b.put(v)
	if slot >= 0 {
		b.last[slot], b.hasLast[slot] = r, true
	}
	return r
}

func (b *builder) put(v []byte) ref {
	r := ref{off: uint32(len(b.arena)), n: uint16(len(v))}
	b.arena = append(b.arena, v...)
	return r
}

// value returns the bytes of a string or number field, unescaped; nil when
// absent or not a scalar.
func (b *builder) value(w []byte, sp span) []byte {
	switch sp.kind {
	case kNum:
		return w[sp.s:sp.e]
	case kStr:
		v := w[sp.s:sp.e]
		if !sp.esc {
			return v
		}
		t, err := unescape(b.tmp[:0], v)
		b.tmp = t
		if err != nil {
			if b.escErr == nil {
				b.escErr = errAt(int(sp.s), err.(*syntaxError).Msg)
			}
			return nil
		}
		return t
	}
	return nil
}

// build parses the record object at the start of w (whose first byte is at
// input offset base) into c. It returns the skip reason (-1 when the record
// is usable), the object's length and newlines, and a syntax error for
// malformed JSON (errShort when w ends inside the object).
func (b *builder) build(w []byte, base int64, c *crec) (reason, end, nl int, err error) {
	end, nl, err = parseObject(w, &b.fs, &b.keyTmp)
	if err != nil {
		return -1, 0, nl, err
	}
	b.escErr = nil
	reason, err = b.fill(w[:end], base, c)
	if err == nil && b.escErr != nil {
		err = b.escErr
	}
	return reason, end, nl, err
}

// fill converts the parsed fields of the object w into c.
func (b *builder) fill(w []byte, base int64, c *crec) (int, error) {
	f := &b.fs
	*c = crec{}

	// Time: the most precise field that parses.
	timeSeen, found, outOfRange := false, false, false
	for _, tf := range [...]struct {
		f    field
		unit int64
	}{{fMicroTs, unitUs}, {fMilliTs, unitMs}, {fDate, unitAuto}, {fTimestamp, unitAuto}, {fTime, unitAuto}} {
		sp := f[tf.f]
		if sp.kind == kAbsent || sp.kind == kOther {
			continue
		}
		v := b.value(w, sp)
		ns, res := parseTime(v, tf.unit)
		if res == timeOK {
			c.t, found = ns, true
			break
		}
		if !timeSeen || (res == timeRange && !outOfRange) {
			// The raw bytes: v may be in b.tmp, which later fields reuse.
			b.badTime, b.badTimeField = w[sp.s:sp.e], tf.f
		}
		timeSeen = true
		outOfRange = outOfRange || res == timeRange
	}
	if !found {
		switch {
		case outOfRange:
			return skipTimeRange, nil
		case timeSeen:
			return skipBadTime, nil
		}
		return skipNoTime, nil
	}

	// The message, and the headers the fields do not already give.
	b.hdr = [nHdr][]byte{}
	for i := range b.extraV {
		b.extraV[i] = nil
	}
	var sl startLine
	haveSL := false
	if sp := f[fMsg]; sp.kind == kStr && sp.e > sp.s {
		raw := w[sp.s:sp.e]
		var first []byte
		scanned := false
		m := raw
		if sp.esc && b.cfg.file && !validEscapes(raw) {
			// Kept on disk, the message is decoded only later: reject bad
			// escapes now, with the error decoding gives.
			_, err := unescape(b.msg[:0], raw)
			if err == nil {
				err = errAt(0, "invalid escape in string literal")
			}
			return -1, errAt(int(sp.s), err.(*syntaxError).Msg)
		}
		if sp.esc && b.cfg.file && b.onlyKeyNeeded(w) {
			// API records give every other value as a field.
			if v, ok := findKeyEscaped(raw); ok {
				b.hdr[hKey] = b.decodeValues(raw, v)
				scanned = true
			}
		}
		if sp.esc && b.cfg.file && !scanned {
			// The message stays on disk: read its headers in escaped form.
			first, scanned = b.scanEscaped(raw)
		}
		if sp.esc && !scanned {
			var err error
			if b.cfg.file {
				m, err = unescapeHeaders(b.msg[:0], raw)
			} else {
				m, err = unescape(b.msg[:0], raw)
			}
			if err != nil {
				return -1, errAt(int(sp.s), err.(*syntaxError).Msg)
			}
			b.msg = m
		}
		if b.cfg.file {
			c.ext = b.cfg.mf
			c.msgOff = base + int64(sp.s)
			c.msgLen = uint32(len(raw))
		} else if len(m) > 0 {
			r := b.put(m)
			c.msgOff, c.msgLen = int64(r.off), uint32(len(m))
		}
		if !scanned {
			b.hdr = [nHdr][]byte{}
			for i := range b.extraV {
				b.extraV[i] = nil
			}
			var hs headerScanner
			hs, first = newHeaderScanner(m)
			b.scanHeaders(&hs)
		}
		sl, haveSL = parseStartLine(first)
	}

	strField := func(fi field, h hdrKind) []byte {
		if v := b.value(w, f[fi]); len(v) > 0 {
			return v
		}
		if h != hNone {
			return cleanValue(b.hdr[h])
		}
		return nil
	}
	c.set(sKey, b.add(sKey, bytes.TrimSpace(strField(fKey, hKey))))
	c.set(sConv, b.add(sConv, bytes.TrimSpace(strField(fConv, hConv))))
	c.set(sPart, b.add(sPart, b.value(w, f[fPart])))
	c.set(sCallID, b.add(sCallID, bytes.TrimSpace(strField(fCallID, hCallID))))

	// Event: Homer puts a request method or a status code in "method";
	// exports say "INVITE" or "408 Request Timeout" in "event".
	var method, reason []byte
	if v := b.value(w, f[fMethod]); len(v) > 0 {
		if code, ok := parseStatus(v); ok && len(v) == 3 {
			c.status = uint16(code)
			reason = b.value(w, f[fReplyReason])
		} else if isToken(v) {
			method = v
		}
	}
	if c.status == 0 && method == nil {
		if v := bytes.TrimSpace(b.value(w, f[fEvent])); len(v) > 0 {
			if len(v) >= 8 && equalFoldASCII(v[:8], "sip/2.0 ") {
				v = bytes.TrimLeft(v[8:], " ")
			}
			if code, ok := parseStatus(firstWordOr3(v)); ok {
				c.status = uint16(code)
				reason = bytes.TrimSpace(v[3:])
			} else if k := bytes.IndexByte(v, ' '); k > 0 && isToken(v[:k]) {
				method = v[:k]
			} else if isToken(v) {
				method = v
			}
		}
	}
	if c.status == 0 && method == nil && haveSL {
		method = sl.method
		if sl.status != 0 {
			c.status = uint16(sl.status)
			reason = sl.reason
		}
	}
	if c.status != 0 && len(reason) == 0 && haveSL && sl.status == int(c.status) {
		reason = sl.reason
	}
	if c.status != 0 {
		method = nil
	}
	c.set(sMethod, b.add(sMethod, method))
	c.set(sReason, b.add(sReason, reason))

	cs := strField(fCSeq, hCSeq)
	if num, m, ok := parseCSeq(cs); ok {
		c.cseq = num
		c.set(sCSeqMethod, b.add(sCSeqMethod, m))
	} else if len(b.hdr[hCSeq]) > 0 {
		if num, m, ok := parseCSeq(cleanValue(b.hdr[hCSeq])); ok {
			c.cseq = num
			c.set(sCSeqMethod, b.add(sCSeqMethod, m))
		}
	}

	br := b.value(w, f[fVia1Branch])
	if len(br) == 0 {
		br = viaBranch(b.value(w, f[fVia1]))
	}
	if len(br) == 0 {
		br = viaBranch(b.hdr[hVia])
	}
	c.set(sBranch, b.add(sBranch, br))

	user := func(fi field, h hdrKind) []byte {
		if f[fi].kind == kStr { // present, even empty: Homer read the message
			return b.value(w, f[fi])
		}
		if h == hNone {
			if haveSL {
				return uriUser(sl.ruri)
			}
			return nil
		}
		return uriUser(b.hdr[h])
	}
	c.set(sFrom, b.add(sFrom, user(fFromUser, hFrom)))
	c.set(sTo, b.add(sTo, user(fToUser, hTo)))
	c.set(sRURI, b.add(sRURI, user(fRURIUser, hNone)))
	c.set(sPID, b.add(sPID, user(fPIDUser, hPAI)))

	if a, fl, ok := parseIP(b.value(w, f[fSrcIP])); ok {
		c.src = a
		c.flags |= fl
	}
	if a, fl, ok := parseIP(b.value(w, f[fDstIP])); ok {
		c.dst = a
		c.flags |= fl << 2
	}
	c.sport = parsePort(b.value(w, f[fSrcPort]))
	c.dport = parsePort(b.value(w, f[fDstPort]))
	c.set(sProto, b.add(sProto, b.value(w, f[fProto])))
	c.set(sNode, b.add(sNode, b.value(w, f[fNode])))

	hasExtra := false
	for _, v := range b.extraV {
		r := b.add(-1, cleanValue(v))
		b.ext = append(b.ext, r)
		hasExtra = hasExtra || r.n > 0
	}
	if c.n[sKey] == 0 && c.n[sConv] == 0 && c.n[sCallID] == 0 && !hasExtra {
		b.ext = b.ext[:len(b.ext)-len(b.extraV)]
		return skipNoKey, nil
	}
	return -1, nil
}

func (c *crec) set(slot int, r ref) { c.off[slot], c.n[slot] = r.off, r.n }

// firstWordOr3 returns v cut after its first word when that word is three
// characters long, so "408 Request Timeout" yields "408".
func firstWordOr3(v []byte) []byte {
	if len(v) > 3 && v[3] == ' ' {
		return v[:3]
	}
	return v
}

// scanHeaders collects the first occurrence of each wanted header.
func (b *builder) scanHeaders(hs *headerScanner) {
	for {
		h, ok := hs.next()
		if !ok {
			return
		}
		if k := classifyHeader(h.name); k != hNone {
			if b.hdr[k] == nil {
				b.hdr[k] = h.value
			}
		}
		for j, name := range b.cfg.extra {
			if b.extraV[j] == nil && headerIs(h.name, name) {
				b.extraV[j] = h.value
			}
		}
	}
}

// scanEscaped reads the start line and the wanted headers of a message in
// its JSON-escaped form, without decoding the whole message: lines end at
// the \n escape. The values it keeps are decoded. It returns false for
// what it leaves to the plain scanner: \u escapes and folded lines.
func (b *builder) scanEscaped(raw []byte) (first []byte, ok bool) {
	b.hdr = [nHdr][]byte{}
	for i := range b.extraV {
		b.extraV[i] = nil
	}
	pos := 0
	for n := 0; pos < len(raw); n++ {
		start, end, next, lastR := pos, len(raw), len(raw), -1
		for p := pos; ; {
			if p = nextBackslash(raw, p); p < 0 {
				break
			}
			if p+1 >= len(raw) {
				return nil, false
			}
			if c := raw[p+1]; c == 'n' {
				end, next = p, p+2
				if lastR >= start && lastR == p-2 {
					end = lastR
				}
				break
			} else if c == 'u' {
				return nil, false
			} else if c == 'r' {
				lastR = p
			}
			p += 2
		}
		line := raw[start:end]
		pos = next
		if n == 0 {
			first = line
			continue
		}
		if len(line) == 0 {
			break // the blank line before the body
		}
		if line[0] == ' ' || line[0] == '\t' || (len(line) > 1 && line[0] == '\\' && line[1] == 't') {
			return nil, false
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := trimSpaceRight(line[:colon])
		if k := classifyHeader(name); k != hNone && b.hdr[k] == nil {
			b.hdr[k] = line[colon+1:]
		}
		for j, x := range b.cfg.extra {
			if b.extraV[j] == nil && headerIs(name, x) {
				b.extraV[j] = line[colon+1:]
			}
		}
	}
	first = b.decodeValues(raw, first)
	for k := range b.hdr {
		b.hdr[k] = b.decode(b.hdr[k])
	}
	for j := range b.extraV {
		b.extraV[j] = b.decode(b.extraV[j])
	}
	return first, true
}

// decodeValues starts decoding escaped values taken from raw and decodes
// v. Decoded text is never longer than raw, so the buffer does not move
// while later values fill it.
func (b *builder) decodeValues(raw, v []byte) []byte {
	if cap(b.hbuf) < len(raw) {
		b.hbuf = make([]byte, 0, len(raw))
	}
	b.hbuf = b.hbuf[:0]
	return b.decode(v)
}

// decode unescapes a value of the message being read, see decodeValues.
func (b *builder) decode(v []byte) []byte {
	if bytes.IndexByte(v, '\\') < 0 {
		return v
	}
	at := len(b.hbuf)
	out, err := unescape(b.hbuf, v)
	if err != nil {
		return nil
	}
	b.hbuf = out
	return out[at:]
}

// onlyKeyNeeded reports whether the record's fields give everything the
// message could, except the X-Genesys-Call-ID: the siptraces API shape.
func (b *builder) onlyKeyNeeded(w []byte) bool {
	f := &b.fs
	if len(b.cfg.extra) > 0 || f[fKey].kind == kStr {
		return false
	}
	for _, fi := range [...]field{fConv, fCallID, fCSeq, fVia1Branch} {
		if len(b.value(w, f[fi])) == 0 {
			return false
		}
	}
	for _, fi := range [...]field{fFromUser, fToUser, fRURIUser, fPIDUser} {
		if f[fi].kind != kStr {
			return false
		}
	}
	return f[fMethod].kind == kStr && len(b.value(w, f[fMethod])) > 0
}

// findKeyEscaped finds the X-Genesys-Call-ID header, spelled canonically,
// among the headers of a JSON-escaped message and returns its raw value.
// False means "not found this way": the caller scans line by line.
func findKeyEscaped(raw []byte) ([]byte, bool) {
	const name = "X-Genesys-Call-ID"
	i := bytes.Index(raw, []byte(name))
	// At a line start: after a \n escape that is not an escaped backslash.
	if i < 2 || raw[i-1] != 'n' || raw[i-2] != '\\' || (i >= 3 && raw[i-3] == '\\') {
		return nil, false
	}
	// In the header section: no blank line (\n\r\n or \n\n) before it.
	for p := 0; ; p += 2 {
		if p = nextBackslash(raw[:i], p); p < 0 || p+1 >= i {
			break
		}
		if raw[p+1] == 'n' && p+3 < i && raw[p+2] == '\\' &&
			(raw[p+3] == 'n' || (raw[p+3] == 'r' && p+5 < i && raw[p+4] == '\\' && raw[p+5] == 'n')) {
			return nil, false
		}
	}
	j := i + len(name)
	for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t') {
		j++
	}
	if j >= len(raw) || raw[j] != ':' {
		return nil, false
	}
	j++
	end := len(raw)
	for p := j; ; p += 2 {
		if p = nextBackslash(raw, p); p < 0 || p+1 >= len(raw) {
			break
		}
		if c := raw[p+1]; c == 'r' || c == 'n' {
			end = p
			break
		} else if c == 'u' {
			return nil, false
		}
	}
	// A folded value continues on the next line: leave it to the scanner.
	if rest := raw[end:]; bytes.HasPrefix(rest, []byte(`\r\n `)) || bytes.HasPrefix(rest, []byte(`\r\n\t`)) ||
		bytes.HasPrefix(rest, []byte(`\n `)) || bytes.HasPrefix(rest, []byte(`\n\t`)) {
		return nil, false
	}
	return raw[j:end], true
}

// validEscapes reports whether every escape in the JSON string content raw
// is one unescape accepts.
func validEscapes(raw []byte) bool {
	for p := 0; ; p += 2 {
		if p = nextBackslash(raw, p); p < 0 {
			return true
		}
		if p+1 >= len(raw) {
			return false
		}
		switch raw[p+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		case 'u':
			if hex4(raw[p:]) < 0 {
				return false
			}
			p += 4
		default:
			return false
		}
	}
}

// nextBackslash returns the offset of the first backslash at or after p, or
// -1. Escapes in messages are a few dozen bytes apart, too close for
// IndexByte's start-up cost to pay off; this looks at eight bytes a step.
func nextBackslash(b []byte, p int) int {
	for ; p+8 <= len(b); p += 8 {
		v := binary.LittleEndian.Uint64(b[p:]) ^ swarBack
		if m := (v - swarLo) &^ v & swarHi; m != 0 {
			return p + bits.TrailingZeros64(m)>>3
		}
	}
	for ; p < len(b); p++ {
		if b[p] == '\\' {
			return p
		}
	}
	return -1
}

// parseIP reads an IPv4 or IPv6 address (brackets allowed) into 16 bytes.
// The flag is 1 for IPv4, 2 for IPv6 (shifted by the caller for dst).
func parseIP(v []byte) ([16]byte, uint8, bool) {
	var a [16]byte
	if len(v) == 0 {
		return a, 0, false
	}
	if v4, ok := parseIPv4(v); ok {
		copy(a[12:], v4[:])
		a[10], a[11] = 0xff, 0xff
		return a, flSrc4, true
	}
	if v[0] == '[' && v[len(v)-1] == ']' {
		v = v[1 : len(v)-1]
	}
	ip, err := netip.ParseAddr(string(v))
	if err != nil {
		return a, 0, false
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		copy(a[12:], ip.AsSlice())
		a[10], a[11] = 0xff, 0xff
		return a, flSrc4, true
	}
	return ip.As16(), flSrc6, true
}

func parseIPv4(v []byte) ([4]byte, bool) {
	var a [4]byte
	part, digits, oct := 0, 0, 0
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && oct == 0 { // leading zero
				return a, false
			}
			oct = oct*10 + int(c-'0')
			digits++
			if oct > 255 {
				return a, false
			}
		case c == '.' && digits > 0 && part < 3:
			a[part] = byte(oct)
			part++
			digits, oct = 0, 0
		default:
			return a, false
		}
	}
	if part != 3 || digits == 0 {
		return a, false
	}
	a[3] = byte(oct)
	return a, true
}

func parsePort(v []byte) uint16 {
	if len(v) == 0 || len(v) > 5 {
		return 0
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0
	}
	return uint16(n)
}
