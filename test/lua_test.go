package e2e

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/genesys-sip/genesys-sip/internal/pcapng"
	"github.com/genesys-sip/genesys-sip/internal/source"
	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// luaCapture holds one SIP message per frame, each spelling the Genesys
// headers a different way real equipment does.
func luaCapture(t *testing.T) string {
	t.Helper()
	msgs := []string{
		sipRequest("INVITE", "c1", 1, "X-Genesys-Call-ID: 8d2f4c1e-0001"),                                     // 1 canonical
		sipRequest("INVITE", "c2", 1, "x-genesys-call-id   :  8d2f4c1e-0002"),                                 // 2 lower case, blanks before colon
		sipRequest("INVITE", "c3", 1, "X-GENESYS-CALL-ID: 8d2f4c1e-0003", "X-Genesys-Call-ID: 8d2f4c1e-0004"), // 3 repeated
		sipRequest("INVITE", "c4", 1, "X-Genesys-Call-ID:\r\n 8d2f4c1e-0005"),                                 // 4 folded value
		sipRequest("INVITE", "c5", 1, "x-inin-cnv: 7a1b0c3d-conv"),                                            // 5 conversation id only
		sipRequest("INVITE", "c6", 1, "X-Genesys-Call-ID-Not: nope", "X-Other: 8d2f4c1e-0006"),                // 6 look-alikes: nothing
		sipRequest("INVITE", "c7", 1, "X-Genesys-Call-ID:\t8d2f4c1e-0007 ", "X-Inin-Cnv: 7a1b0c3d-both"),      // 7 tab, trailing blank, both
	}
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var pkts []testPacket
	for i, m := range msgs {
		pkts = append(pkts, testPacket{ts: start.Add(time.Duration(i) * time.Millisecond), data: sipUDP(t, "203.0.113.10", "198.51.100.20", 5060, 5060, m)})
	}
	p := filepath.Join(t.TempDir(), "lua.pcap")
	writePcap(t, p, false, layers.LinkTypeEthernet, pkts)
	return p
}

func TestLuaDissectorFields(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	in := luaCapture(t)
	lua := filepath.Join(repoRoot(), "dissector", "genesys.lua")
	h := &home{dir: t.TempDir()} // no installed plugins: only -X lua_script
	fields := h.run(t, 30*time.Second, tshark, "-r", in, "-X", "lua_script:"+lua, "-T", "fields",
		"-e", "frame.number", "-e", "genesys.call_id", "-e", "genesys.conversation_id")
	if fields.err != nil {
		t.Fatalf("tshark: %v\n%s", fields.err, fields.stderr)
	}
	if strings.Contains(fields.stderr, "Lua") {
		t.Fatalf("Lua error: %s", fields.stderr)
	}
	want := []string{
		"1\t8d2f4c1e-0001\t",
		"2\t8d2f4c1e-0002\t",
		"3\t8d2f4c1e-0003,8d2f4c1e-0004\t",
		"4\t8d2f4c1e-0005\t",
		"5\t\t7a1b0c3d-conv",
		"6\t\t",
		"7\t8d2f4c1e-0007\t7a1b0c3d-both",
	}
	got := strings.Split(strings.TrimRight(fields.stdout, "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("fields:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for filter, frame := range map[string]string{
		`genesys.call_id == "8d2f4c1e-0002"`:         "2",
		`genesys.call_id == "8d2f4c1e-0004"`:         "3",
		`genesys.conversation_id == "7a1b0c3d-conv"`: "5",
	} {
		r := h.run(t, 30*time.Second, tshark, "-r", in, "-X", "lua_script:"+lua, "-Y", filter, "-T", "fields", "-e", "frame.number")
		if strings.TrimSpace(r.stdout) != frame {
			t.Errorf("-Y '%s' gave frames %q, want %s (%s)", filter, r.stdout, frame, r.stderr)
		}
	}
}

// TestLuaDissectorInstalled checks the installed plugin is loaded without
// -X, and works on a message reassembled from TCP segments.
func TestLuaDissectorInstalled(t *testing.T) {
	h := installHome(t)
	in := filepath.Join(testenv.Captures(t), "heplify__sip_ipv4_tcp_fragmented_port6060-segmented.pcap")
	r := h.run(t, 60*time.Second, h.tshark, "-r", in, "-d", "tcp.port==6060,sip", "-Y", "genesys", "-T", "fields", "-e", "frame.number")
	if r.err != nil || strings.Contains(r.stderr, "Lua") {
		t.Fatalf("tshark with installed plugin: %v\n%s", r.err, r.stderr)
	}
	// That capture has no Genesys headers: the protocol must be known (no
	// filter error) and match nothing.
	if strings.TrimSpace(r.stdout) != "" {
		t.Fatalf("unexpected genesys frames: %s", r.stdout)
	}
	r = h.run(t, 30*time.Second, h.tshark, "-G", "fields")
	if !strings.Contains(r.stdout, "genesys.call_id") {
		t.Fatal("installed plugin not loaded: genesys.call_id unknown to tshark")
	}
}

// TestLuaDissectorOnLua52And54 runs the dissector under the plain Lua 5.2
// (Wireshark 4.0) and Lua 5.4 (Wireshark 4.4 and later) interpreters with a
// stub of Wireshark's API, so both language versions are exercised even
// though only one Wireshark is installed.
func TestLuaDissectorOnLua52And54(t *testing.T) {
	for _, lua := range []string{"lua5.2", "lua5.4"} {
		bin := testenv.Tool(t, lua)
		h := &home{dir: t.TempDir()}
		r := h.run(t, 30*time.Second, bin, filepath.Join(repoRoot(), "test", "lua", "harness.lua"), filepath.Join(repoRoot(), "dissector", "genesys.lua"))
		if r.err != nil || !strings.HasPrefix(r.stdout, "ok Lua") {
			t.Fatalf("%s: %v\n%s%s", lua, r.err, r.stdout, r.stderr)
		}
	}
}

// TestLuaCommentFields checks the genesys.trace.* fields tshark gets from
// annotation comments, and genesys.genesys_only on the Genesys Cloud
// interface.
func TestLuaCommentFields(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	start := time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC)
	msg := sipRequest("INVITE", "c1", 1, "X-Genesys-Call-ID: 8d2f4c1e-1")
	wire := sipUDP(t, "203.0.113.10", "198.51.100.20", 5060, 5060, msg)
	pdu := pcapng.AppendExportedPDU(nil, "sip", netip.MustParseAddrPort("198.51.100.20:5060"),
		netip.MustParseAddrPort("203.0.113.10:5060"), pcapng.PortUDP, []byte(msg))
	p := filepath.Join(t.TempDir(), "comments.pcapng")
	writeCommented(t, p, []commented{
		{ts: start, iface: 0, data: wire, comments: []string{
			`genesys: call=8d2f4c1e-1 conv=c-1 event="408 Request Timeout" method=INVITE cseq="1 INVITE" dir=out node=edge-1 t=2026-11-25T10:05:01.123456Z skew=-850ms key=x-genesys-call-id`,
			`genesys-alert: status=408 event="408 Request Timeout"`}},
		{ts: start.Add(time.Second), iface: 1, data: pdu, comments: []string{
			`genesys: call=8d2f4c1e-1 event=BYE method=BYE cseq="2 BYE" t=2026-11-25T10:05:02Z skew=+2.333s`}},
	})
	lua := "lua_script:" + filepath.Join(repoRoot(), "dissector", "genesys.lua")
	h := &home{dir: t.TempDir()}
	r := h.run(t, 30*time.Second, tshark, "-r", p, "-X", lua, "-T", "fields", "-E", "separator=|",
		"-e", "genesys.trace.status", "-e", "genesys.trace.event", "-e", "genesys.trace.key", "-e", "genesys.trace.skew",
		"-e", "genesys.trace.time", "-e", "genesys.genesys_only", "-e", "genesys.alert.status", "-e", "genesys.call_id")
	if r.err != nil || strings.Contains(r.stderr, "Lua") {
		t.Fatalf("tshark: %v\n%s", r.err, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("output:\n%s", r.stdout)
	}
	for _, want := range []string{"408|408 Request Timeout|x-genesys-call-id|-0.85|", "2026 10:05:01.123456000 UTC||408|8d2f4c1e-1"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("frame 1 %q lacks %q", lines[0], want)
		}
	}
	if !strings.Contains(lines[1], "|BYE||2.333|") || !strings.Contains(lines[1], "|1|") {
		t.Errorf("frame 2 (Genesys-only) %q", lines[1])
	}
	for filter, want := range map[string]string{
		"genesys.trace.status == 408":                        "1",
		"genesys.genesys_only":                               "2",
		`frame.comment contains "408"`:                       "1",
		`genesys.trace.call_id == "8d2f4c1e-1"`:              "1,2",
		"genesys.trace.skew > 1":                             "2",
		"_ws.expert.severity == warning && genesys.alert":    "1",
		`genesys.trace.time >= "2026-11-25 10:05:02" && sip`: "2",
	} {
		r := h.run(t, 30*time.Second, tshark, "-r", p, "-X", lua, "-Y", filter, "-T", "fields", "-e", "frame.number")
		if got := strings.Join(strings.Fields(r.stdout), ","); got != want {
			t.Errorf("-Y '%s': frames %q, want %s %s", filter, got, want, r.stderr)
		}
	}
}

type commented struct {
	ts       time.Time
	iface    int
	data     []byte
	comments []string
}

// writeCommented writes a wire interface (Ethernet) and a Genesys Cloud
// interface (exported PDUs) with commented packets.
func writeCommented(t *testing.T, path string, pkts []commented) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := pcapng.NewSink(f, pcapng.Options{Application: "test"}, source.Interface{LinkType: layers.LinkTypeEthernet, Name: "eth0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddInterface(source.Interface{LinkType: pcapng.LinkTypeUpperPDU, Name: "Genesys Cloud"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: len(p.data), InterfaceIndex: p.iface}
		if err := s.WritePacket(ci, p.data, &pcapgo.NgPacketOptions{Comments: p.comments}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
}
