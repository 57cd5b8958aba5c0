package correlate

import (
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"
)

const tsharkCSV = `frame.number,frame.time_epoch,sip.Call-ID,sip.CSeq,sip.Method,sip.Status-Code,sip.Via.branch,ip.src,ip.dst,genesys.call_id,genesys.conversation_id
"1","1795600800.156179000","c1@h","1 INVITE","INVITE",,"z9hG4bK-1","203.0.113.10","198.51.100.20","gc-1",
"2","1795600800.181814000","c1@h,c1@h","1 INVITE,1 INVITE",,"100,180","z9hG4bK-1,z9hG4bK-1","198.51.100.20","203.0.113.10","gc-1,gc-1",
"3","1795600801.000000000","c2@h","1 OPTIONS","OPTIONS",,"z9hG4bK-9","203.0.113.10","198.51.100.20",,
`

// A Wireshark GUI export: quoted columns, local absolute time, custom
// columns titled by the header, the Info column for method and status.
const wiresharkCSV = "\ufeff" + `"No.","Time","Source","Destination","Protocol","Length","X-Genesys-Call-ID","CSeq","Info"
"1","2026-11-25 11:00:00.156179","203.0.113.10","198.51.100.20","SIP/SDP","1107","gc-1","1 INVITE","Request: INVITE sip:+15551234567@198.51.100.20:5060;user=phone |"
"2","2026-11-25 11:00:00.181814","198.51.100.20","203.0.113.10","SIP","496","gc-1","1 INVITE","Status: 100 Trying |"
`

func TestReadCSVTshark(t *testing.T) {
	w, rep, err := ReadCSV(strings.NewReader(tsharkCSV), "t.csv", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 4 || rep.TimeKind != "epoch" {
		t.Fatalf("%d messages, %+v", len(w), rep)
	}
	if got := w[0].Time; !got.Equal(time.Date(2026, 11, 25, 10, 0, 0, 156179000, time.UTC)) {
		t.Fatalf("time %s (epoch must parse exactly)", got)
	}
	if w[1].Status != 100 || w[2].Status != 180 || w[2].Index != 1 || w[2].Frame != 2 || string(w[2].Headers[0]) != "gc-1" {
		t.Fatalf("coalesced frame: %+v %+v", w[1], w[2])
	}
	if w[3].Headers[0] != nil || string(w[3].Method) != "OPTIONS" {
		t.Fatalf("row 3: %+v", w[3])
	}
}

func TestReadCSVWiresharkLocalTime(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin") // tzdata embedded below: never missing
	if err != nil {
		t.Fatal(err)
	}
	w, rep, err := ReadCSV(strings.NewReader(wiresharkCSV), "w.csv", CSVOptions{Location: berlin})
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 2 || rep.TimeKind != "absolute" || string(w[0].Method) != "INVITE" || w[1].Status != 100 {
		t.Fatalf("%+v %+v", w, rep)
	}
	if !w[0].Time.Equal(time.Date(2026, 11, 25, 10, 0, 0, 156179000, time.UTC)) {
		t.Fatalf("11:00 Berlin should be 10:00 UTC, got %s", w[0].Time)
	}
}

func TestCSVTimes(t *testing.T) {
	utc := time.Date(2026, 11, 25, 10, 0, 0, 156179000, time.UTC)
	for _, c := range []struct {
		in, col, kind string
		want          time.Time
	}{
		{"Nov 25, 2026 10:00:00.156179000 UTC", "frame.time", "absolute", utc},
		{"2026-11-25T10:00:00.156179Z", "time", "absolute", utc},
		{"2026-11-25 10:00:00.156179", "time", "absolute", utc},
		{"1795600800.156179", "frame.time_epoch", "epoch", utc},
		{"12.500000", "time", "relative", time.Unix(12, 500000000).UTC()},
	} {
		got, kind, err := parseCSVTime(c.in, c.col, time.UTC)
		if err != nil || kind != c.kind || !got.Equal(c.want) {
			t.Errorf("%q: %s %s %v", c.in, got, kind, err)
		}
	}
	if _, _, err := parseCSVTime("10:00:00.1", "time", time.UTC); err == nil {
		t.Error("time of day without a date accepted")
	}
}

func TestReadCSVErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "empty CSV file"},
		{"a,b\n1,2\n", "no time column"},
		{"frame.time_epoch,sip.CSeq\n1,1 INVITE\n", "no X-Genesys-Call-ID column"},
		{"frame.time_epoch,genesys.call_id\n1,x\n", "no CSeq column"},
		{"frame.time_epoch,sip.Call-ID,sip.CSeq\nnot-a-time,x,1 INVITE\n", "line 2: frame.time_epoch column"},
		{"frame.time_epoch,sip.Call-ID,sip.CSeq\n1795600800,x,garbage\n", "no SIP messages among 1 rows"},
	} {
		_, _, err := ReadCSV(strings.NewReader(c.in), "x.csv", CSVOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "x.csv: ") {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}

func TestCSVCorrelates(t *testing.T) {
	wire, recs := build("gc-1", "c1@h", "c1@h", 1, answeredCall())
	var b strings.Builder
	b.WriteString("frame.number,frame.time_epoch,sip.Call-ID,sip.CSeq,sip.Method,sip.Status-Code,sip.Via.branch,ip.src,genesys.call_id\n")
	for _, w := range wire {
		status := ""
		if w.Status != 0 {
			status = itoa(w.Status)
		}
		key := ""
		if w.Headers[0] != nil {
			key = string(w.Headers[0])
		}
		b.WriteString(strings.Join([]string{itoa(int(w.Frame)), epoch(w.Time), string(w.CallID),
			itoa(int(w.CSeqNum)) + " " + string(w.CSeqMethod), string(w.Method), status, string(w.Branch), w.Src.Addr().String(), key}, ",") + "\n")
	}
	rows, _, err := ReadCSV(strings.NewReader(b.String()), "c.csv", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := New(recs, Options{})
	for i := range rows {
		e.Observe(&rows[i])
	}
	res := e.Finish()
	if len(res.Matches) != len(wire) || res.Skew.Offset-offset > time.Millisecond || offset-res.Skew.Offset > time.Millisecond {
		t.Fatalf("%d matches, skew %s", len(res.Matches), res.Skew)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func epoch(t time.Time) string {
	ns := t.UnixNano()
	return strconv.FormatInt(ns/1e9, 10) + "." + strconv.FormatInt(ns%1e9+1e9, 10)[1:]
}
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte(tsharkCSV))
	f.Add([]byte(wiresharkCSV))
	f.Add([]byte("frame.time_epoch,sip.Call-ID,sip.CSeq,sip.Status-Code\n\"1\",\"a,b\",\"1 INVITE,2 BYE\",\"200,200\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, _, err := ReadCSV(strings.NewReader(string(data)), "f.csv", CSVOptions{})
		if err != nil {
			return
		}
		e := New(nil, Options{})
		for i := range rows {
			e.Observe(&rows[i])
		}
		e.Finish()
	})
}
