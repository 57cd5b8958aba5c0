package sip

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// captureSIP returns the UDP and TCP payloads of a capture file that start
// with a SIP start line, read with pcapgo (no tshark needed): fuzz seeds.
// IP fragments are skipped; TCP payloads may hold part of a message or
// several.
func captureSIP(t testing.TB, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	magic, err := r.Peek(4)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var (
		src  source
		link layers.LinkType
	)
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		src, link = ng, ng.LinkType()
	} else {
		pr, err := pcapgo.NewReader(r)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		src, link = pr, pr.LinkType()
	}
	if link == layers.LinkTypeIPv4 {
		link = layers.LinkTypeRaw
	}
	var out [][]byte
	for {
		data, _, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		p := gopacket.NewPacket(data, link, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		fragment := false
		for _, l := range p.Layers() {
			var payload []byte
			switch l := l.(type) {
			case *layers.IPv4:
				fragment = fragment || l.Flags&layers.IPv4MoreFragments != 0 || l.FragOffset != 0
			case *layers.IPv6Fragment:
				fragment = true
			case *layers.UDP:
				payload = l.Payload
			case *layers.TCP:
				payload = l.Payload
			}
			if ok, _ := IsStartLine(payload); ok && !fragment {
				out = append(out, payload)
			}
		}
	}
}

func TestCaptureSeedsParse(t *testing.T) {
	n, parsed := 0, 0
	var m Message
	for _, path := range testenv.CaptureFiles(t) {
		for _, p := range captureSIP(t, path) {
			n++
			if Parse(p, &m) == nil {
				parsed++
			}
		}
	}
	t.Logf("%d SIP payloads, %d parse as one whole message", n, parsed)
	if n < 300 {
		t.Errorf("only %d SIP payloads found in the corpus", n)
	}
}

// TestCapturesAgainstTshark parses every SIP message that tshark finds in
// a UDP datagram of the shared corpus (reassembled from IP fragments where
// needed) and compares the identity with tshark's fields.
func TestCapturesAgainstTshark(t *testing.T) {
	if testing.Short() && !testenv.InCI() {
		t.Skip("runs tshark on every capture; skipped with -short")
	}
	tshark := testenv.Tool(t, "tshark")
	// Messages Parse accepts as malformed, by file and frame, where tshark
	// notes "Invalid content_length"; every other message must be
	// well-formed. (No message of the corpus is rejected.)
	malformed := map[string]string{
		"zeek__sip_invalid-content-length.pcap/1": "bad Content-Length",
		"zeek__sip_invalid-content-length.pcap/2": "bad Content-Length",
	}
	// Files where Parse knows more than tshark, and why.
	viaBranchOnlyHere := map[string]string{
		"heplify__sip_ipv6_udp_full-call.pcap": "Via sent-by is an IPv6 address without brackets; " +
			"tshark drops the branch, Parse takes the parameters after the last ';'",
	}
	fields := []string{"frame.number", "udp.payload", "sip.Method", "sip.Status-Code", "sip.Call-ID",
		"sip.CSeq.seq", "sip.CSeq.method", "sip.Via.branch", "sip.from.tag", "sip.to.tag"}
	total := 0
	var m Message
	for _, path := range testenv.CaptureFiles(t) {
		file := filepath.Base(path)
		args := []string{"-r", path, "-Y", "sip && udp && !icmp && !icmpv6", "-T", "fields",
			"-E", "separator=/t", "-E", "occurrence=f"}
		for _, f := range fields {
			args = append(args, "-e", f)
		}
		out, err := exec.Command(tshark, args...).Output()
		if err != nil {
			t.Fatalf("tshark %s: %v", file, err)
		}
		for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			if line == "" {
				continue
			}
			f := strings.Split(line, "\t")
			if len(f) != len(fields) {
				t.Fatalf("%s: tshark line has %d fields: %q", file, len(f), line)
			}
			payload, err := hex.DecodeString(strings.ReplaceAll(f[1], ":", ""))
			if err != nil {
				t.Fatalf("%s frame %s: %v", file, f[0], err)
			}
			total++
			key := file + "/" + f[0]
			err = Parse(payload, &m)
			if err != nil {
				t.Errorf("%s: %v", key, err)
				continue
			}
			if m.Malformed != malformed[key] {
				t.Errorf("%s: Malformed %q, want %q", key, m.Malformed, malformed[key])
			}
			status := ""
			if m.StatusCode != 0 {
				status = strconv.Itoa(m.StatusCode)
			}
			got := []string{string(m.Method), status, string(m.CallID), strconv.FormatUint(uint64(m.CSeq), 10),
				string(m.CSeqMethod), string(m.Branch), string(m.FromTag), string(m.ToTag)}
			for i := range got {
				got[i] = tsharkField(got[i])
			}
			want := f[2:]
			if _, ok := viaBranchOnlyHere[file]; ok && want[5] == "" && len(m.Branch) > 0 {
				want[5] = string(m.Branch)
			}
			if strings.Join(got, "\t") != strings.Join(want, "\t") {
				t.Errorf("%s:\n got %q\nwant %q (tshark)", key, got, want)
			}
		}
	}
	t.Logf("%d UDP SIP messages compared with tshark", total)
	if total < 300 {
		t.Errorf("only %d messages compared", total)
	}
}

// tsharkField renders s as tshark prints a string field with -T fields:
// C escapes for backslash and control characters, U+FFFD for each byte
// that is not UTF-8. (Some captures have binary junk in To tags.)
func tsharkField(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\a', r == '\b', r == '\f', r == '\n', r == '\r', r == '\t', r == '\v':
			b.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
		default:
			b.WriteRune(r)
		}
		s = s[n:]
	}
	return b.String()
}

// TestMessageLengthStreams frames every TCP stream of the corpus that
// carries plain SIP with MessageLength and checks that the messages it
// delimits parse and that their number matches tshark's count.
func TestMessageLengthStreams(t *testing.T) {
	if testing.Short() && !testenv.InCI() {
		t.Skip("runs tshark on TCP captures; skipped with -short")
	}
	tshark := testenv.Tool(t, "tshark")
	dir := testenv.Captures(t)
	for _, tc := range []struct {
		file   string
		decode []string
	}{
		{"heplify__sip_ipv4_tcp_full-call.pcap", nil},
		{"heplify__sip_ipv4_tcp_retrans_linux-sll.pcap", nil},
		{"heplify__sip_ipv4_tcp_fragmented_port6060-segmented.pcap", []string{"-d", "tcp.port==6060,sip"}},
		{"suricata-verify__sip-body-large_tcp-64k-invite_null-loopback.pcap", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			args := append([]string{"-r", path}, tc.decode...)
			out, err := exec.Command(tshark, append(args, "-Y", "sip && tcp", "-T", "fields",
				"-E", "occurrence=a", "-e", "tcp.stream", "-e", "sip.CSeq.method")...).Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			want := map[string]int{}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if stream, methods, ok := strings.Cut(line, "\t"); ok {
					want[stream] += strings.Count(methods, ",") + 1
				}
			}
			if len(want) == 0 {
				t.Fatal("tshark found no SIP over TCP")
			}
			streams := make([]string, 0, len(want))
			for stream := range want {
				streams = append(streams, stream)
			}
			followed := followTCP(t, tshark, path, streams)
			var m Message
			for stream, n := range want {
				got := 0
				for _, dir := range followed[stream] {
					for len(dir) > 0 {
						dir = dir[KeepAliveLength(dir):]
						if len(dir) == 0 {
							break
						}
						l, err := MessageLength(dir)
						if err != nil {
							t.Fatalf("stream %s: MessageLength after %d messages: %v (%d bytes left)", stream, got, err, len(dir))
						}
						if err := Parse(dir[:l], &m); err != nil {
							t.Errorf("stream %s message %d: %v", stream, got, err)
						} else if len(m.Raw) != l {
							t.Errorf("stream %s message %d: Parse took %d of %d bytes", stream, got, len(m.Raw), l)
						}
						dir = dir[l:]
						got++
					}
				}
				if got != n {
					t.Errorf("stream %s: framed %d messages, tshark %d", stream, got, n)
				}
			}
		})
	}
}

// followTCP returns the two directions of the given TCP streams,
// reassembled by tshark in one run ("-z follow,tcp,raw,N" per stream; the
// second direction's lines are indented).
func followTCP(t *testing.T, tshark, path string, streams []string) map[string][2][]byte {
	t.Helper()
	args := []string{"-r", path, "-q"}
	for _, s := range streams {
		args = append(args, "-z", "follow,tcp,raw,"+s)
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark follow: %v", err)
	}
	res := map[string][2][]byte{}
	var cur string
	var dirs [2][]byte
	for _, line := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(line, "Filter: tcp.stream eq "); ok {
			if cur != "" {
				res[cur] = dirs
			}
			cur, dirs = s, [2][]byte{}
			continue
		}
		d := 0
		if strings.HasPrefix(line, "\t") {
			d, line = 1, line[1:]
		}
		b, err := hex.DecodeString(line)
		if err != nil || len(line) == 0 || cur == "" {
			continue // header and separator lines
		}
		dirs[d] = append(dirs[d], b...)
	}
	if cur != "" {
		res[cur] = dirs
	}
	return res
}
