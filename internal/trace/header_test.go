package trace

import "testing"

func TestHeaderValue(t *testing.T) {
	msg := "INVITE sip:+15550001@gc.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKb\r\n" +
		"i: compact-call-id\r\n" +
		"X-Genesys-Call-ID   :   spaced  \r\n" +
		"x-inin-cnv: first\r\n" +
		"X-ININ-CNV: second\r\n" +
		"Subject: folded\r\n" +
		"\tover two lines\r\n" +
		"Bare-LF: yes\n" +
		"NoColonLine\r\n" +
		"\r\n" +
		"X-Body: not a header\r\n"
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"Call-ID", "compact-call-id", true},
		{"CALL-ID", "compact-call-id", true},
		{"i", "compact-call-id", true},
		{"x-genesys-call-id", "spaced", true},
		{"X-ININ-CNV", "first", true},
		{"s", "folded over two lines", true},
		{"bare-lf", "yes", true},
		{"v", "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKb", true},
		{"X-Body", "", false},
		{"NoColonLine", "", false},
		{"", "", false},
		{"Missing", "", false},
	}
	for _, tc := range tests {
		got, ok := HeaderValue(msg, tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("HeaderValue(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := HeaderValue("", "Via"); ok {
		t.Error("empty message")
	}
}

func TestCanonicalHeader(t *testing.T) {
	for in, want := range map[string]string{
		"i": "call-id", "I": "call-id", " Call-ID ": "call-id", "f": "from", "t": "to", "v": "via",
		"m": "contact", "l": "content-length", "c": "content-type", "x": "session-expires",
		"z": "z", "X-Genesys-Call-ID": "x-genesys-call-id", "": "",
	} {
		if got := CanonicalHeader(in); got != want {
			t.Errorf("CanonicalHeader(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMessageParts(t *testing.T) {
	users := map[string]string{
		`"Bob" <sip:+1555@host;user=phone>;tag=x`: "+1555",
		`<sips:alice:pw@example.com>`:             "alice",
		`sip:bob@host`:                            "bob",
		`<tel:+15551234;phone-context=x>`:         "+15551234",
		`<sip:host.example>`:                      "",
		`garbage`:                                 "",
		`<http://x>`:                              "",
	}
	for in, want := range users {
		if got := string(uriUser([]byte(in))); got != want {
			t.Errorf("uriUser(%q) = %q, want %q", in, got, want)
		}
	}
	branches := map[string]string{
		"SIP/2.0/UDP h:5060;rport;branch=z9hG4bK1":              "z9hG4bK1",
		"SIP/2.0/UDP h ; Branch = z9hG4bK2 ;x":                  "z9hG4bK2",
		"SIP/2.0/UDP h;branch=z9hG4bK3, SIP/2.0/UDP g;branch=b": "z9hG4bK3",
		"SIP/2.0/UDP h;rport":                                   "",
		"SIP/2.0/UDP h, SIP/2.0/UDP g;branch=b":                 "",
	}
	for in, want := range branches {
		if got := string(viaBranch([]byte(in))); got != want {
			t.Errorf("viaBranch(%q) = %q, want %q", in, got, want)
		}
	}
	cseqs := []struct {
		in     string
		num    uint32
		method string
		ok     bool
	}{
		{"1 INVITE", 1, "INVITE", true},
		{" 4294967295  BYE ", 4294967295, "BYE", true},
		{"4294967296 BYE", 0, "", false},
		{"x INVITE", 0, "", false},
		{"7", 7, "", true},
		{"7 IN VITE", 0, "", false},
	}
	for _, tc := range cseqs {
		n, m, ok := parseCSeq([]byte(tc.in))
		if n != tc.num || string(m) != tc.method || ok != tc.ok {
			t.Errorf("parseCSeq(%q) = %d %q %v", tc.in, n, m, ok)
		}
	}
	starts := []struct {
		in             string
		method, reason string
		status         int
		ok             bool
	}{
		{"INVITE sip:a@b SIP/2.0", "INVITE", "", 0, true},
		{"SIP/2.0 183 Session Progress", "", "Session Progress", 183, true},
		{"SIP/2.0 200", "", "", 200, true},
		{"SIP/2.0 20 OK", "", "", 0, false},
		{"SIP/2.0 abc OK", "", "", 0, false},
		{"INVITE", "", "", 0, false},
		{"", "", "", 0, false},
	}
	for _, tc := range starts {
		sl, ok := parseStartLine([]byte(tc.in))
		if string(sl.method) != tc.method || string(sl.reason) != tc.reason || sl.status != tc.status || ok != tc.ok {
			t.Errorf("parseStartLine(%q) = %+v %v", tc.in, sl, ok)
		}
	}
}

func FuzzHeaderValue(f *testing.F) {
	f.Add("INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\nbody", "i")
	f.Add("SIP/2.0 200 OK\nX-A : 1\n\tmore\n", "x-a")
	f.Add("\r\n\r\n", "")
	f.Fuzz(func(t *testing.T, msg, name string) {
		v, ok := HeaderValue(msg, name)
		if !ok && v != "" {
			t.Fatalf("value %q without ok", v)
		}
		_, _ = parseStartLine([]byte(msg))
		_ = uriUser([]byte(msg))
		_ = viaBranch([]byte(msg))
		_, _, _ = parseCSeq([]byte(msg))
	})
}
