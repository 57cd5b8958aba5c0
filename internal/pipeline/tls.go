package pipeline

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/decode"
	"github.com/genesys-sip/genesys-sip/internal/pcapng"
	"github.com/genesys-sip/genesys-sip/internal/source"
	"github.com/genesys-sip/genesys-sip/internal/tlsdec"
)

// tlsState decrypts SIP over TLS with the key log and gives Wireshark one
// of two things: with InjectSecrets, the original packets plus a Decryption
// Secrets Block before the first packet each connection's keys decrypt
// (mode a); otherwise the decrypted SIP as exported PDUs next to the
// encrypted packets, redacted and annotated (mode b).
type tlsState struct {
	p        *processor
	keys     *tlsdec.KeyLog
	iface    int // sink interface of the decrypted PDUs, -1 until needed
	secrets  []pendingSecret
	conns    []*TLSHandler
	matching bool // the matching pass runs: no secrets, no statistics
}

type pendingSecret struct {
	seq   uint64 // write before this frame
	lines []byte
}

func newTLSState(p *processor) *tlsState {
	return &tlsState{p: p, keys: p.cfg.TLSKeys, iface: -1}
}

// handler attaches a decryptor to every TCP connection that starts like
// TLS; outside the matching pass it also collects the connection for the
// summary and, with InjectSecrets, queues its key-log lines as a
// Decryption Secrets Block before the frame that first needed them.
func (t *tlsState) handler(f decode.Flow, first []byte) decode.StreamHandler {
	if !tlsdec.Detect(first) {
		return nil
	}
	h := NewTLSHandler(t.keys, f, first)
	if t.matching {
		return h
	}
	t.conns = append(t.conns, h)
	if t.p.cfg.InjectSecrets {
		injected := false
		h.afterFeed = func(h *TLSHandler) {
			if injected {
				return
			}
			if lines := h.conn.KeyLogLines(); len(lines) > 0 {
				injected = true
				t.secrets = append(t.secrets, pendingSecret{seq: t.p.seq, lines: lines})
			}
		}
	}
	return h
}

// decrypted turns a decrypted message into the PDU its comments go on
// (mode b); in mode a it returns nil and comments stay on the frame.
func (t *tlsState) decrypted(m *decode.Message, index int, h *held) *pdu {
	t.p.r.stats.Decrypted++
	if t.p.cfg.InjectSecrets {
		return nil
	}
	payload := append(t.p.scratch[:0], m.Data...)
	if red := t.p.cfg.Redactor; red != nil && red.Message(payload) > 0 {
		t.p.r.stats.Redacted++
	}
	t.p.scratch = payload
	d := &pdu{index: index}
	d.data = pcapng.AppendExportedPDU(nil, "sip", m.Src, m.Dst, pcapng.PortTCP, payload)
	d.ci = gopacket.CaptureInfo{Timestamp: h.ci.Timestamp, CaptureLength: len(d.data), Length: len(d.data)}
	h.pdus = append(h.pdus, d)
	return d
}

// writePDU writes a decrypted message on its own interface.
func (t *tlsState) writePDU(d *pdu) error {
	sink := t.p.r.sink
	if t.iface < 0 {
		id, err := sink.AddInterface(source.Interface{
			LinkType:    pcapng.LinkTypeUpperPDU,
			Name:        "SIP over TLS (decrypted)",
			Description: "SIP messages genesys-sip decrypted from TLS with the key log",
		})
		if err != nil {
			return err
		}
		t.iface = id
	}
	d.ci.InterfaceIndex = t.iface
	var opts *pcapgo.NgPacketOptions
	if len(d.comments) > 0 {
		opts = &pcapgo.NgPacketOptions{Comments: d.comments}
	}
	return sink.WritePacket(d.ci, d.data, opts)
}

// writeSecrets writes the secrets due before frame seq (mode a).
func (t *tlsState) writeSecrets(seq uint64) error {
	if t == nil {
		return nil
	}
	n := 0
	for _, s := range t.secrets {
		if s.seq > seq {
			break
		}
		if err := t.p.r.sink.WriteTLSSecrets(s.lines); err != nil {
			return err
		}
		n++
	}
	t.secrets = t.secrets[n:]
	return nil
}

// summary totals the connections seen in the replay or capture.
func (t *tlsState) summary() (conns, decrypted, undecryptable int, problem string) {
	if t == nil {
		return
	}
	for _, h := range t.conns {
		st := h.conn.Stats()
		conns++
		decrypted += st.Decrypted
		undecryptable += st.Undecryptable()
		if problem == "" && st.Problem != "" {
			problem = st.Problem
		}
	}
	return
}

// TLSHandler is the decode.StreamHandler of one TLS connection: it feeds
// the in-order TCP payload of each direction to a tlsdec.Conn and returns
// the plaintext for SIP framing.
type TLSHandler struct {
	conn   *tlsdec.Conn
	client decode.Flow
	out    []byte
	// afterFeed, when set, runs after each Feed (secret injection).
	afterFeed func(*TLSHandler)
}

// NewTLSHandler returns a handler for a connection whose first payload is
// first, seen on flow f: a ClientHello comes from the client, anything else
// (a capture that starts at the ServerHello) from the server.
func NewTLSHandler(kl *tlsdec.KeyLog, f decode.Flow, first []byte) *TLSHandler {
	h := &TLSHandler{conn: tlsdec.NewConn(kl), client: f}
	if len(first) > 5 && first[5] != 1 {
		h.client = f.Reverse()
	}
	return h
}

// TLSStreamHandler attaches a TLSHandler to every TCP connection that
// starts like TLS.
func TLSStreamHandler(kl *tlsdec.KeyLog) decode.StreamHandlerFunc {
	return func(f decode.Flow, first []byte) decode.StreamHandler {
		if !tlsdec.Detect(first) {
			return nil
		}
		return NewTLSHandler(kl, f, first)
	}
}

// Conn returns the connection's decryptor.
func (h *TLSHandler) Conn() *tlsdec.Conn { return h.conn }

func (h *TLSHandler) dir(f decode.Flow) tlsdec.Direction {
	if f == h.client {
		return tlsdec.ClientToServer
	}
	return tlsdec.ServerToClient
}

// Feed decrypts the records the payload completes and returns their
// plaintext for SIP framing.
func (h *TLSHandler) Feed(f decode.Flow, payload, out []byte) ([]byte, error) {
	h.out = out
	err := h.conn.Feed(h.dir(f), 0, payload, h.emit)
	out, h.out = h.out, nil
	if h.afterFeed != nil {
		h.afterFeed(h)
	}
	return out, err
}

func (h *TLSHandler) emit(_ tlsdec.Direction, _ uint64, plaintext []byte) {
	h.out = append(h.out, plaintext...)
}

// Gap tells the decryptor bytes of a direction were lost.
func (h *TLSHandler) Gap(f decode.Flow) { h.conn.Lost(h.dir(f), -1) }

// Close gives up on records still waiting for keys.
func (h *TLSHandler) Close() { h.conn.Flush(func(tlsdec.Direction, uint64, []byte) {}) }
