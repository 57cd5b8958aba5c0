package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genesys-sip/genesys-sip/internal/testenv"
)

// TestMessagesShowsMalformed: `messages` lists a message whose
// Content-Length is not a number (zeek's sip_invalid-content-length.pcap,
// which tshark shows as SIP with "Invalid content_length") and flags it:
// the jsonl key "malformed" is added for it, absent otherwise, and the
// text line ends in "malformed: <reason>". Before, both messages were
// skipped and counted as malformed on stderr.
func TestMessagesShowsMalformed(t *testing.T) {
	path := filepath.Join(testenv.Captures(t), "zeek__sip_invalid-content-length.pcap")
	code, out, stderr := runCLI(t, "messages", "--format", "jsonl", "--redact", "false", path)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d messages, want 2:\n%s", len(lines), out)
	}
	for i, want := range []string{"INVITE", "200"} {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatal(err)
		}
		event := m["method"]
		if m["status"].(float64) != 0 {
			event = "200"
		}
		if event != want || m["call_id"] != "a84b4c76e66710@10.0.0.1" || m["cseq"] != "1 INVITE" ||
			m["malformed"] != "bad Content-Length" {
			t.Errorf("message %d: %s", i+1, lines[i])
		}
	}

	code, out, _ = runCLI(t, "messages", "--redact", "false", path)
	if code != 0 || strings.Count(out, "  malformed: bad Content-Length\n") != 2 {
		t.Errorf("text output (exit %d):\n%s", code, out)
	}

	// A well-formed capture has no "malformed" key at all.
	code, out, _ = runCLI(t, "messages", "--format", "jsonl", "--redact", "false",
		filepath.Join(testenv.Captures(t), "heplify__sip_ipv6_udp_full-call.pcap"))
	if code != 0 || strings.Contains(out, `"malformed"`) || strings.Count(out, "\n") != 6 {
		t.Errorf("well-formed capture (exit %d):\n%s", code, out)
	}
}
