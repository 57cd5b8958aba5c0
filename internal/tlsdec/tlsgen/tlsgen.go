// Package tlsgen generates SIP-over-TLS test captures: a real TLS exchange
// between Go's crypto/tls client and server over loopback TCP, recorded as
// Ethernet/IP/TCP frames with the key log that decrypts them.
//
// The server's side of the connection is recorded (its reads are the
// client→server bytes, its writes the server→client bytes) and re-emitted
// as a synthetic TCP connection: three-way handshake, data segmented at a
// configurable MSS (so records span segments, and consecutive records of one
// side share segments), a pure ACK after each flight, FIN exchange; correct
// sequence and acknowledgement numbers and checksums; increasing
// timestamps. Addresses and timestamps are synthetic and deterministic; the
// TLS bytes are random per run.
//
// Cipher suite coverage. TLS 1.0–1.2: any suite Go implements, chosen with
// Config.CipherSuite (TLS_RSA_* included: Go allows them when configured
// explicitly). TLS 1.3: Go lets no one choose a 1.3 suite; its server
// picks TLS_AES_128_GCM_SHA256 unless the client's first offered suite is
// not AES-GCM. So Config.CipherSuite = TLS_CHACHA20_POLY1305_SHA256 is
// obtained by offering a ChaCha20 TLS 1.2 suite first, and
// TLS_AES_256_GCM_SHA384 cannot be produced with Go on both ends: use
// Config.ExternalClient with a client that offers only that suite (for
// example `openssl s_client -ciphersuites TLS_AES_256_GCM_SHA384`), which
// also allows KeyUpdate and other behaviour Go's client does not produce.
package tlsgen

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Message is one write by one side. Each side writes its messages in
// order; the other side reads a message fully before the script moves on,
// so a message is answered only after it arrived. A message of up to 16 KiB
// is one TLS record (Go writes one record per Write).
type Message struct {
	FromServer bool
	Data       []byte
}

// Config describes the connection to generate. The zero value of each
// field selects the documented default.
type Config struct {
	// Version is tls.VersionTLS10 … tls.VersionTLS13 (default TLS 1.3).
	Version uint16
	// CipherSuite selects the suite; see the package documentation for
	// what TLS 1.3 allows. 0 lets Go choose.
	CipherSuite uint16
	// Messages is the SIP exchange.
	Messages []Message
	// MSS is the largest TCP payload per segment (default 1460).
	MSS int
	// Client and Server are the synthetic endpoints (default
	// 192.0.2.10:50123 and 192.0.2.20:5061). IPv6 addresses give IPv6
	// frames; both must be of the same family.
	Client, Server netip.AddrPort
	// Start is the time of the first frame (default 2026-01-01T00:00:00Z);
	// Step the time between frames (default 1 ms).
	Start time.Time
	Step  time.Duration
	// ExternalClient, if set, replaces Go's client: it must connect to
	// addr, perform a TLS handshake (accepting any certificate) and send
	// the client messages of the script; the server answers them as
	// usual. The key log then comes from the Go server.
	ExternalClient func(ctx context.Context, addr string) error
	// HelloRetry makes a TLS 1.3 server answer the first ClientHello with
	// a HelloRetryRequest (it accepts only P-384, for which Go's client
	// sends no key share up front).
	HelloRetry bool
	// Timeout bounds the exchange (default 20 s).
	Timeout time.Duration
}

// Packet is one Ethernet frame.
type Packet struct {
	Time time.Time
	Data []byte
}

// Capture is a generated exchange.
type Capture struct {
	Packets      []Packet
	KeyLog       []byte // NSS key-log lines (SSLKEYLOGFILE format)
	Version      uint16 // negotiated
	CipherSuite  uint16 // negotiated
	ServerKeyPEM []byte // the server's private key (PKCS #8 PEM), for TLS_RSA_* suites
	Client       netip.AddrPort
	Server       netip.AddrPort
}

// WritePcap writes the capture as a pcap file (Ethernet link type).
func (c *Capture) WritePcap(w io.Writer) error {
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	for _, p := range c.Packets {
		ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: len(p.Data)}
		if err := pw.WritePacket(ci, p.Data); err != nil {
			return err
		}
	}
	return nil
}

// WritePcapng writes the capture as a pcapng file (one Ethernet interface).
func (c *Capture) WritePcapng(w io.Writer) error {
	nw, err := pcapgo.NewNgWriter(w, layers.LinkTypeEthernet)
	if err != nil {
		return err
	}
	for _, p := range c.Packets {
		ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: len(p.Data)}
		if err := nw.WritePacket(ci, p.Data); err != nil {
			return err
		}
	}
	return nw.Flush()
}

// Generate runs the exchange described by cfg and records it.
func Generate(cfg Config) (*Capture, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	cert, keyPEM, err := selfSigned(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("tlsgen: %w", err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()

	var rec recorder
	var kl lockedBuffer
	srvCfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS10,
		MaxVersion:   cfg.Version,
		KeyLogWriter: &kl,
	}
	if cfg.Version < tls.VersionTLS13 && cfg.CipherSuite != 0 {
		srvCfg.CipherSuites = []uint16{cfg.CipherSuite}
	}
	if cfg.HelloRetry {
		srvCfg.CurvePreferences = []tls.CurveID{tls.CurveP384}
	}
	var state tls.ConnectionState
	srvErr := make(chan error, 1)
	go func() {
		srvErr <- serve(ctx, ln, srvCfg, cfg.Messages, cfg.ExternalClient == nil, &rec, &state)
	}()
	var cliErr error
	if cfg.ExternalClient != nil {
		cliErr = cfg.ExternalClient(ctx, ln.Addr().String())
	} else {
		cliErr = runClient(ctx, ln.Addr().String(), clientConfig(cfg), cfg.Messages)
	}
	if cliErr != nil {
		cancel()
		<-srvErr
		return nil, fmt.Errorf("tlsgen: client: %w", cliErr)
	}
	if err := <-srvErr; err != nil {
		return nil, fmt.Errorf("tlsgen: server: %w", err)
	}
	if cfg.CipherSuite != 0 && state.CipherSuite != cfg.CipherSuite {
		return nil, fmt.Errorf("tlsgen: negotiated %s, not the requested %s",
			tls.CipherSuiteName(state.CipherSuite), tls.CipherSuiteName(cfg.CipherSuite))
	}
	return &Capture{
		Packets:      frames(cfg, rec.chunks),
		KeyLog:       kl.Bytes(),
		Version:      state.Version,
		CipherSuite:  state.CipherSuite,
		ServerKeyPEM: keyPEM,
		Client:       cfg.Client,
		Server:       cfg.Server,
	}, nil
}

func (cfg *Config) defaults() error {
	if cfg.Version == 0 {
		cfg.Version = tls.VersionTLS13
	}
	if cfg.Version < tls.VersionTLS10 || cfg.Version > tls.VersionTLS13 {
		return fmt.Errorf("tlsgen: unsupported version %#04x", cfg.Version)
	}
	if cfg.Version == tls.VersionTLS13 {
		switch cfg.CipherSuite {
		case 0, tls.TLS_AES_128_GCM_SHA256, tls.TLS_CHACHA20_POLY1305_SHA256:
		case tls.TLS_AES_256_GCM_SHA384:
			if cfg.ExternalClient == nil {
				return errors.New("tlsgen: Go's client cannot force TLS_AES_256_GCM_SHA384; use ExternalClient")
			}
		default:
			return fmt.Errorf("tlsgen: %s is not a TLS 1.3 suite", tls.CipherSuiteName(cfg.CipherSuite))
		}
	}
	if cfg.MSS <= 0 {
		cfg.MSS = 1460
	}
	if !cfg.Client.IsValid() {
		cfg.Client = netip.MustParseAddrPort("192.0.2.10:50123")
	}
	if !cfg.Server.IsValid() {
		cfg.Server = netip.MustParseAddrPort("192.0.2.20:5061")
	}
	if cfg.Client.Addr().Is4() != cfg.Server.Addr().Is4() {
		return errors.New("tlsgen: client and server addresses of different families")
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Step <= 0 {
		cfg.Step = time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	return nil
}

// clientConfig builds Go's client configuration for cfg.
func clientConfig(cfg Config) *tls.Config {
	c := &tls.Config{
		InsecureSkipVerify: true, // self-signed test certificate
		ServerName:         "tlsgen.invalid",
		MinVersion:         cfg.Version,
		MaxVersion:         cfg.Version,
	}
	switch {
	case cfg.Version < tls.VersionTLS13 && cfg.CipherSuite != 0:
		c.CipherSuites = []uint16{cfg.CipherSuite}
	case cfg.CipherSuite == tls.TLS_CHACHA20_POLY1305_SHA256:
		// Go's server prefers ChaCha20 when the client's first known
		// suite is not AES-GCM; TLS 1.2 suites count (and are unused).
		c.MinVersion = tls.VersionTLS12
		c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
	}
	return c
}

// selfSigned returns a fresh certificate for the suite's key exchange:
// ECDSA P-256 for ECDHE_ECDSA and TLS 1.3, RSA-2048 otherwise.
func selfSigned(cfg Config) (tls.Certificate, []byte, error) {
	var key any
	var err error
	name := tls.CipherSuiteName(cfg.CipherSuite)
	if cfg.Version == tls.VersionTLS13 || strings.Contains(name, "_ECDSA_") {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("tlsgen: key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tlsgen.invalid"},
		DNSNames:     []string{"tlsgen.invalid"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	signer := key.(crypto.Signer)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("tlsgen: certificate: %w", err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("tlsgen: key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, keyPEM, nil
}

// serve accepts one connection and plays the server's side of the script.
// With waitClose it waits for the client's close_notify before closing.
func serve(ctx context.Context, ln net.Listener, cfg *tls.Config, msgs []Message, waitClose bool, rec *recorder, state *tls.ConnectionState) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	raw, err := ln.Accept()
	if err != nil {
		return err
	}
	defer raw.Close()
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	conn := tls.Server(&recConn{Conn: raw, rec: rec}, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return err
	}
	*state = conn.ConnectionState()
	if err := play(conn, msgs, true); err != nil {
		return err
	}
	if waitClose {
		if _, err := io.Copy(io.Discard, conn); err != nil {
			return err
		}
	}
	// A client that already went away makes this fail; the bytes are
	// recorded all the same.
	_ = conn.Close()
	return nil
}

// runClient plays the client's side of the script with Go's client.
func runClient(ctx context.Context, addr string, cfg *tls.Config, msgs []Message) error {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer raw.Close()
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return err
	}
	if err := play(conn, msgs, false); err != nil {
		return err
	}
	// Half-close (close_notify and FIN), then read the server's
	// close_notify, so that neither side resets the connection.
	if err := conn.CloseWrite(); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, conn); err != nil {
		return err
	}
	return conn.Close()
}

// play writes this side's messages and reads the other side's.
func play(conn *tls.Conn, msgs []Message, server bool) error {
	for i, m := range msgs {
		if m.FromServer == server {
			if _, err := conn.Write(m.Data); err != nil {
				return fmt.Errorf("message %d: %w", i, err)
			}
			continue
		}
		buf := make([]byte, len(m.Data))
		if _, err := io.ReadFull(conn, buf); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		if !bytes.Equal(buf, m.Data) {
			return fmt.Errorf("message %d: received bytes differ from those sent", i)
		}
	}
	return nil
}

// lockedBuffer is a concurrency-safe key-log sink.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// chunk is a run of bytes in one direction, in wire order.
type chunk struct {
	fromServer bool
	data       []byte
}

// recorder keeps the server's reads and writes in order; consecutive
// chunks of one direction are merged into one flight.
type recorder struct {
	mu     sync.Mutex
	chunks []chunk
}

func (r *recorder) add(fromServer bool, b []byte) {
	if len(b) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.chunks); n > 0 && r.chunks[n-1].fromServer == fromServer {
		r.chunks[n-1].data = append(r.chunks[n-1].data, b...)
		return
	}
	r.chunks = append(r.chunks, chunk{fromServer: fromServer, data: bytes.Clone(b)})
}

// recConn records the server's raw TCP traffic.
type recConn struct {
	net.Conn
	rec *recorder
}

func (c *recConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.rec.add(false, b[:n])
	return n, err
}

func (c *recConn) Write(b []byte) (int, error) {
	c.rec.add(true, b)
	return c.Conn.Write(b)
}

// Synthetic TCP parameters.
const (
	clientISN = 1_000_000
	serverISN = 2_000_000
	window    = 65535
)

// frames turns the recorded flights into an Ethernet/IP/TCP conversation.
func frames(cfg Config, chunks []chunk) []Packet {
	b := builder{cfg: cfg}
	seq := [2]uint32{clientISN, serverISN} // next sequence number per side (0 client, 1 server)
	b.add(0, seq[0], 0, layers.TCP{SYN: true}, nil)
	seq[0]++
	b.add(1, seq[1], seq[0], layers.TCP{SYN: true, ACK: true}, nil)
	seq[1]++
	b.add(0, seq[0], seq[1], layers.TCP{ACK: true}, nil)
	for _, ch := range chunks {
		s := 0
		if ch.fromServer {
			s = 1
		}
		data := ch.data
		for len(data) > 0 {
			n := min(cfg.MSS, len(data))
			b.add(s, seq[s], seq[1-s], layers.TCP{ACK: true, PSH: n == len(data)}, data[:n])
			seq[s] += uint32(n)
			data = data[n:]
		}
		b.add(1-s, seq[1-s], seq[s], layers.TCP{ACK: true}, nil)
	}
	b.add(0, seq[0], seq[1], layers.TCP{FIN: true, ACK: true}, nil)
	seq[0]++
	b.add(1, seq[1], seq[0], layers.TCP{FIN: true, ACK: true}, nil)
	seq[1]++
	b.add(0, seq[0], seq[1], layers.TCP{ACK: true}, nil)
	return b.pkts
}

type builder struct {
	cfg  Config
	pkts []Packet
	ipID [2]uint16
}

// add serializes one segment from side s (0 client, 1 server).
func (b *builder) add(s int, seq, ack uint32, tcp layers.TCP, payload []byte) {
	mac := [2]net.HardwareAddr{{0x02, 0, 0, 0, 0, 0x01}, {0x02, 0, 0, 0, 0, 0x02}}
	ep := [2]netip.AddrPort{b.cfg.Client, b.cfg.Server}
	src, dst := ep[s], ep[1-s]
	tcp.SrcPort, tcp.DstPort = layers.TCPPort(src.Port()), layers.TCPPort(dst.Port())
	tcp.Seq, tcp.Window = seq, window
	if tcp.ACK {
		tcp.Ack = ack
	}
	if tcp.SYN {
		mss := uint16(min(b.cfg.MSS, 65495))
		tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{byte(mss >> 8), byte(mss)}}}
	}
	eth := &layers.Ethernet{SrcMAC: mac[s], DstMAC: mac[1-s]}
	var nl gopacket.SerializableLayer
	if src.Addr().Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		b.ipID[s]++
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: b.ipID[s], Flags: layers.IPv4DontFragment,
			Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		nl = ip
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		nl = ip
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	// Serializing well-formed layers into a fresh buffer cannot fail.
	_ = gopacket.SerializeLayers(buf, opts, eth, nl, &tcp, gopacket.Payload(payload))
	t := b.cfg.Start.Add(time.Duration(len(b.pkts)) * b.cfg.Step)
	b.pkts = append(b.pkts, Packet{Time: t, Data: bytes.Clone(buf.Bytes())})
}
