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
	const need = "missing columns: "
	for _, c := range []struct{ in, want string }{
		{"", "x.csv: empty CSV file"},
		{"\n\n\n", "x.csv: only whitespace, no CSV header"},
		{" \t \r\n\n", "x.csv: only whitespace, no CSV header"},
		{"a,b\n1,2\n", need + "a time (Time, frame.time, frame.time_epoch, frame.time_relative or frame.time_utc); " +
			"a call identity (a column titled with a correlation header such as X-Genesys-Call-ID, genesys.call_id, genesys.conversation_id, or sip.Call-ID); " +
			"the CSeq (sip.CSeq, or sip.CSeq.seq and sip.CSeq.method); " +
			`the method and status (sip.Method and sip.Status-Code, or Wireshark's Info column); found "a", "b"`},
		{"frame.time_epoch,sip.CSeq,sip.Method\n1,1 INVITE,INVITE\n", need + "a call identity (a column titled with a correlation header such as X-Genesys-Call-ID"},
		{"frame.time_epoch,genesys.call_id,sip.Status-Code\n1,x,200\n", need + "the CSeq (sip.CSeq, or sip.CSeq.seq and sip.CSeq.method); found"},
		{"frame.time_epoch,genesys.call_id,sip.CSeq.seq,sip.Method\n1,x,1,INVITE\n", need + "the CSeq (sip.CSeq, or sip.CSeq.seq and sip.CSeq.method); found"},
		{"frame.time_epoch,sip.Call-ID,sip.CSeq\n1795600800,x,1 INVITE\n", need + `the method and status (sip.Method and sip.Status-Code, or Wireshark's Info column); found "frame.time_epoch", "sip.Call-ID", "sip.CSeq"`},
		{"frame.time_epoch,sip.Call-ID,sip.CSeq,sip.Method\n", "x.csv: no SIP messages among 0 rows"},
		{"frame.time_epoch,sip.Call-ID,sip.CSeq,sip.Method\nnot-a-time,x,1 INVITE,INVITE\n",
			`x.csv: no SIP messages among 1 rows (1 rows without a usable time; first: line 2: frame.time_epoch column: "not-a-time" is not a time Wireshark writes`},
		{"frame.time_epoch,sip.Call-ID,sip.CSeq,sip.Method\n1795600800,x,garbage,INVITE\n", "x.csv: no SIP messages among 1 rows (rows need a CSeq and a method or status)"},
		{"frame.time_epoch,sip.Call-ID,sip.CSeq,sip.Method\n\"a\"b,\"x\n", "x.csv: no SIP messages among 1 rows"},
	} {
		_, _, err := ReadCSV(strings.NewReader(c.in), "x.csv", CSVOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "x.csv: ") {
			t.Errorf("%q: %v\nwant %q", c.in, err, c.want)
		}
	}
}

// TestReadCSVBadInputs covers exports that are odd or not CSV text: a BOM
// is accepted; rows with times that cannot be used are counted and the
// first reported; other encodings and binary files are named.
func TestReadCSVBadInputs(t *testing.T) {
	const head = "frame.number,frame.time_epoch,sip.Call-ID,sip.CSeq,sip.Method,sip.Status-Code,genesys.call_id\n"
	const absHead = "frame.number,Time,sip.Call-ID,sip.CSeq,sip.Method,sip.Status-Code,genesys.call_id\n"
	row := func(frame, ts string) string { return frame + "," + ts + ",c1@h,1 INVITE,INVITE,,gc-1\n" }
	utc := time.Date(2026, 11, 25, 10, 0, 0, 156179000, time.UTC)
	le16 := func(s string, bom bool) string {
		var b strings.Builder
		if bom {
			b.WriteString("\xff\xfe")
		}
		for _, c := range s {
			b.WriteString(string(rune(c)) + "\x00")
		}
		return b.String()
	}
	pcap := "\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + strings.Repeat("\x00", 8) + "\x00\x00\x04\x00\x01\x00\x00\x00"
	for _, c := range []struct {
		name, in string
		err      string      // failure: the error contains it
		sip      int         // success: messages read
		bad      int         // rows skipped for their time
		first    string      // FirstBadTime contains it
		times    []time.Time // the messages' times, when checked
	}{
		{name: "bom and quoted titles", in: "\ufeff" + `"No.","Time","CSeq","X-Genesys-Call-ID","Info"` + "\n" +
			`"7","2026-11-25 10:00:00.156179","1 INVITE","gc-1","Request: INVITE sip:a@b"` + "\n", sip: 1, times: []time.Time{utc}},
		{name: "bad time among good", in: head + row("1", "1795600800.156179") + row("2", "yesterday") + row("3", "1795600800.156179"),
			sip: 2, bad: 1, first: `line 3: frame.time_epoch column: "yesterday" is not a time Wireshark writes`},
		{name: "years 1700 and 9999", in: absHead + row("1", "1700-01-01 00:00:00") + row("2", "9999-12-31T23:59:59Z") + row("3", "2026-11-25T10:00:00.156179Z"),
			sip: 1, bad: 2, first: `line 2: Time column: "1700-01-01 00:00:00" is out of range (absolute and epoch times must be after 1970-01-01 and before 2262-04-12)`},
		{name: "epoch past 2262", in: head + row("1", "999999999999.5") + row("2", "1795600800.156179"),
			sip: 1, bad: 1, first: `"999999999999.5" is out of range`},
		{name: "only bad times", in: absHead + row("1", "1700-01-01 00:00:00") + row("2", "9999-12-31 00:00:00"),
			err: `x.csv: no SIP messages among 2 rows (2 rows without a usable time; first: line 2: Time column: "1700-01-01 00:00:00" is out of range`},
		{name: "mixed time zones", in: absHead + row("1", "2026-11-25T10:00:00.156179Z") + row("2", "2026-11-25T11:00:00.156179+01:00") +
			row("3", `"Nov 25, 2026 10:00:00.156179000 UTC"`) + row("4", "2026-11-25T02:00:00.156179-08:00"),
			sip: 4, times: []time.Time{utc, utc, utc, utc}},
		{name: "relative among absolute", in: absHead + row("1", "2026-11-25 10:00:00.156179") + row("2", "12.5"),
			sip: 1, bad: 1, first: `line 3: Time column: "12.5" is a relative time among absolute ones`},
		{name: "relative with negative", in: "No.,frame.time_relative,sip.Call-ID,sip.CSeq,sip.Method\n1,0.000000,c,1 INVITE,INVITE\n2,-0.25,c,2 BYE,BYE\n",
			sip: 2, times: []time.Time{time.Unix(0, 0).UTC(), time.Unix(0, -250e6).UTC()}},
		{name: "utf-16le bom", in: le16(head+row("1", "1795600800.1"), true), err: "x.csv: UTF-16LE text: a CSV file must be UTF-8 (convert it, e.g. iconv -f UTF-16LE -t UTF-8)"},
		{name: "utf-16le", in: le16(head+row("1", "1795600800.1"), false), err: "x.csv: UTF-16LE text: a CSV file must be UTF-8"},
		{name: "utf-16be bom", in: "\xfe\xff\x00f\x00r", err: "x.csv: UTF-16BE text"},
		{name: "pcap", in: pcap, err: "x.csv: looks like a pcap capture, not a CSV file"},
		{name: "gzip", in: "\x1f\x8b\x08\x00\x00\x00\x00\x00", err: "x.csv: gzip-compressed: decompress the CSV file first (gunzip)"},
		{name: "binary", in: "\x7fELF\x02\x01\x01\x00", err: "x.csv: binary data, not a CSV file (expected UTF-8 text)"},
		{name: "json given as csv", in: `{"data":[]}` + "\n", err: `x.csv: missing columns: a time`},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, rep, err := ReadCSV(strings.NewReader(c.in), "x.csv", CSVOptions{})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || strings.Count(err.Error(), "x.csv") != 1 {
					t.Fatalf("error %v\nwant %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(w) != c.sip || rep.BadTimes != c.bad || !strings.Contains(rep.FirstBadTime, c.first) || (c.bad == 0) != (rep.FirstBadTime == "") {
				t.Fatalf("%d messages, %d bad times (first %q); want %d, %d (%q)", len(w), rep.BadTimes, rep.FirstBadTime, c.sip, c.bad, c.first)
			}
			for i, want := range c.times {
				if !w[i].Time.Equal(want) {
					t.Errorf("message %d: time %v, want %v", i, w[i].Time, want)
				}
			}
		})
	}
	// The BOM does not hide the first title.
	_, rep, err := ReadCSV(strings.NewReader(wiresharkCSV), "w.csv", CSVOptions{})
	if err != nil || rep.Columns["frame"] != "No." {
		t.Errorf("columns %v, %v", rep.Columns, err)
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
