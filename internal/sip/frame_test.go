package sip

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestMessageLength(t *testing.T) {
	const hdr = "INVITE sip:a@b SIP/2.0\r\nCall-ID: c\r\n"
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr error
	}{
		{"with body", hdr + "Content-Length: 3\r\n\r\nabc", len(hdr) + 21 + 3, nil},
		{"two messages", hdr + "l: 3\r\n\r\nabc" + hdr + "\r\n", len(hdr) + 8 + 3, nil},
		{"compact upper", hdr + "L:3\r\n\r\nabcdef", len(hdr) + 7 + 3, nil},
		{"no Content-Length", hdr + "\r\nrest", len(hdr) + 2, nil},
		{"bare LF", "OPTIONS sip:a@b SIP/2.0\nl: 2\n\nok", 32, nil},
		{"folded value", hdr + "Content-Length:\r\n 2\r\n\r\nok", len(hdr) + 25, nil},
		{"same value twice", hdr + "l: 2\r\nContent-Length: 2\r\n\r\nok", len(hdr) + 29, nil},
		{"status line", "SIP/2.0 200 OK\r\nl: 0\r\n\r\n", 24, nil},
		{"status line without reason", "SIP/2.0 100\r\n\r\n", 15, nil},
		{"header named like l", hdr + "lx: 9\r\n\r\n", len(hdr) + 9, nil},
		{"body incomplete", hdr + "Content-Length: 10\r\n\r\nabc", 0, ErrIncomplete},
		{"headers incomplete", hdr + "Content-Length: 10\r\n", 0, ErrIncomplete},
		{"start line incomplete", "INVITE sip:a@b SIP/2.", 0, ErrIncomplete},
		{"short method", "INV", 0, ErrIncomplete},
		{"short status", "SIP/2.0 2", 0, ErrIncomplete},
		{"empty", "", 0, ErrIncomplete},
		{"HTTP response", "HTTP/1.1 200 OK\r\n\r\n", 0, ErrNotSIP},
		{"HTTP request", "GET / HTTP/1.1\r\n\r\n", 0, ErrNotSIP},
		{"keep-alive first", "\r\n" + hdr + "\r\n", 0, ErrNotSIP},
		{"binary", "\x80\x08\x00\x01", 0, ErrNotSIP},
		{"bad status", "SIP/2.0 2x0 OK\r\n\r\n", 0, ErrNotSIP},
		// An unusable Content-Length frames as 0, as tshark does: the
		// message ends at the empty line and Parse flags it.
		{"negative", hdr + "Content-Length: -1\r\n\r\nv=0\r\n", len(hdr) + 22, nil},
		{"empty value", hdr + "Content-Length:\r\n\r\n", len(hdr) + 19, nil},
		{"inner space", hdr + "Content-Length: 1 2\r\n\r\n", len(hdr) + 23, nil},
		{"letters", hdr + "Content-Length: bad\r\n\r\n" + hdr, len(hdr) + 23, nil},
		{"conflicting", hdr + "Content-Length: 13\r\nContent-Length: 5\r\n\r\nabcde", len(hdr) + 41, nil},
		{"bad then good", hdr + "l: x\r\nl: 5\r\n\r\nabcde", len(hdr) + 14, nil},
		{"header line without colon", hdr + "NoColon\r\nl: 2\r\n\r\nok", len(hdr) + 17 + 2, nil},
		{"huge", hdr + "Content-Length: 99999999999999999999\r\n\r\n", 0, ErrTooLong},
		{"over MaxMessage", hdr + "Content-Length: 1048577\r\n\r\n", 0, ErrTooLong},
		{"endless headers", hdr + strings.Repeat("X: y\r\n", MaxMessage/6+1), 0, ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := MessageLength([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) || n != tt.want {
				t.Errorf("MessageLength = %d, %v; want %d, %v", n, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestMessageLengthTorture(t *testing.T) {
	// Every torture message with a Content-Length that fits frames to the
	// same length Parse finds, as the TCP decoder relies on.
	var m Message
	for _, name := range []string{"wsinv", "intmeth", "esc01", "longreq", "mpart01", "unreason", "noreason", "dblreq"} {
		b := loadTorture(t, name)
		if err := Parse(b, &m); err != nil {
			t.Fatal(err)
		}
		n, err := MessageLength(b)
		if err != nil || n != len(m.Raw) {
			t.Errorf("%s: MessageLength = %d, %v; Parse took %d bytes", name, n, err, len(m.Raw))
		}
		for _, k := range []int{0, 1, n / 2, n - 1} {
			if _, err := MessageLength(b[:k]); !errors.Is(err, ErrIncomplete) {
				t.Errorf("%s: MessageLength(first %d of %d bytes) = %v, want ErrIncomplete", name, k, n, err)
			}
		}
	}
	for name, want := range map[string]error{"clerr": ErrIncomplete, "trws": ErrNotSIP, "badvers": ErrNotSIP} {
		if _, err := MessageLength(loadTorture(t, name)); !errors.Is(err, want) {
			t.Errorf("%s: MessageLength error %v, want %v", name, err, want)
		}
	}
	// ncl and mcl01 have an unusable Content-Length: on a stream they
	// end at the empty line, and Parse of that frame flags them, with an
	// empty body.
	for _, name := range []string{"ncl", "mcl01"} {
		b := loadTorture(t, name)
		n, err := MessageLength(b)
		if err != nil || n != bytes.Index(b, []byte("\r\n\r\n"))+4 {
			t.Errorf("%s: MessageLength = %d, %v; want the end of the headers", name, n, err)
			continue
		}
		if err := Parse(b[:n], &m); err != nil || m.Malformed == "" || len(m.Body) != 0 {
			t.Errorf("%s: Parse(framed) = %v, Malformed %q, %d body bytes", name, err, m.Malformed, len(m.Body))
		}
	}
}

func TestIsStartLine(t *testing.T) {
	tests := []struct {
		in          string
		ok, decided bool
	}{
		{"INVITE sip:a@b SIP/2.0\r\n", true, true},
		{"!interesting-Method0123456789_*+`.%indeed'~ sip:x SIP/2.0\r\n", true, true},
		{"invite sip:a@b sip/2.0\n", true, true},
		{"SIP/2.0 200 OK\r\n", true, true},
		{"SIP/2.0 100\r\n", true, true},
		{"SIP/2.0 100\n", true, true},
		{"SIP/2.0 20", false, false},
		{"INVITE sip:a@b SIP/2.0", false, false},
		{"INVITE", false, false},
		{"", false, false},
		{"SIP/2.0 2000 OK\r\n", false, true},
		{"INVITE sip:a@b HTTP/1.1\r\n", false, true},
		{"INVITE sip:a@b SIP/2.0  \r\n", false, true},
		{"\r\nINVITE sip:a@b SIP/2.0\r\n", false, true},
		{"INVITE\tsip:a@b SIP/2.0\r\n", false, true},
		{strings.Repeat("A", maxStartLine), false, true},
		{"INVITE " + strings.Repeat("a", maxStartLine+2), false, true},
	}
	for _, tt := range tests {
		ok, decided := IsStartLine([]byte(tt.in))
		if ok != tt.ok || decided != tt.decided {
			t.Errorf("IsStartLine(%.30q) = %v, %v; want %v, %v", tt.in, ok, decided, tt.ok, tt.decided)
		}
	}
}

func TestIsTokenChar(t *testing.T) {
	const token = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
	for c := 0; c < 256; c++ {
		if want := strings.IndexByte(token, byte(c)) >= 0; isTokenChar(byte(c)) != want {
			t.Errorf("isTokenChar(%q) = %v", rune(c), !want)
		}
	}
}

func TestKeepAliveLength(t *testing.T) {
	for in, want := range map[string]int{"": 0, "\r\n\r\n": 4, "\r\n\r\nINVITE": 4, "\n": 1, "INVITE": 0, " \r\n": 0} {
		if got := KeepAliveLength([]byte(in)); got != want {
			t.Errorf("KeepAliveLength(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestMessageLengthZeroAlloc(t *testing.T) {
	b := loadTorture(t, "wsinv")
	n := testing.AllocsPerRun(100, func() {
		if _, err := MessageLength(b); err != nil {
			t.Fatal(err)
		}
		if _, err := MessageLength(b[:len(b)-1]); err != ErrIncomplete {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}
