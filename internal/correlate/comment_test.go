package correlate

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/trace"
)

func TestAppendTimeMatchesLayout(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000000Z"
	rng := rand.New(rand.NewPCG(1, 2))
	times := []time.Time{
		time.Date(2026, 11, 25, 10, 5, 1, 123456789, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 23, 59, 59, 999999999, time.FixedZone("x", -5*3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 1000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for range 10000 {
		times = append(times, time.Unix(0, rng.Int64N(1<<62)).In(time.FixedZone("y", 3600)))
	}
	for _, tm := range times {
		if got, want := string(AppendTime(nil, tm)), tm.UTC().Format(layout); got != want {
			t.Fatalf("AppendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// TestCommentWarnMalformed: a pair whose wire message is malformed SIP says
// warn=malformed; with a Call-ID-only match both go into the one warn=
// pair, malformed first, the Call-ID warning unchanged.
func TestCommentWarnMalformed(t *testing.T) {
	r := &Record{Record: trace.Record{Method: "INVITE", CSeqNum: 1, CSeqMethod: "INVITE"}}
	const base = `genesys: event=INVITE method=INVITE cseq="1 INVITE"`
	tests := []struct {
		name      string
		m         Match
		malformed bool
		want      string
	}{
		{"header match", Match{Record: r, Key: KeyHeader, Header: "X-Genesys-Call-ID"}, false,
			base + " key=x-genesys-call-id"},
		{"header match, malformed", Match{Record: r, Key: KeyHeader, Header: "X-Genesys-Call-ID"}, true,
			base + " key=x-genesys-call-id warn=malformed"},
		{"Call-ID only", Match{Record: r, Key: KeyCallID}, false,
			base + ` key=call-id warn="matched on Call-ID only; a proxy may have rewritten it"`},
		{"Call-ID only, malformed", Match{Record: r, Key: KeyCallID}, true,
			base + ` key=call-id warn="malformed; matched on Call-ID only; a proxy may have rewritten it"`},
		{"by order, malformed", Match{Record: r, Key: KeyConversation, Order: true}, true,
			base + " key=x-inin-cnv match=order warn=malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Formatter
			if got := string(f.AppendWire(nil, &tt.m, tt.malformed)); got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
			if !tt.malformed {
				if got := string(f.Append(nil, &tt.m)); got != tt.want {
					t.Errorf("Append differs from AppendWire(false):\n got %s\nwant %s", got, tt.want)
				}
			}
		})
	}
	var f Formatter
	m := Match{Record: r, Key: KeyCallID}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = f.AppendWire(buf[:0], &m, true) }); n != 0 {
		t.Errorf("%v allocations per comment, want 0", n)
	}
}
