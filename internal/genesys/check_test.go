package genesys

import (
	"strings"
	"testing"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/genesys/fakegenesys"
)

func TestCheck(t *testing.T) {
	now := time.Now().UTC()
	tests := []struct {
		name    string
		opts    fakegenesys.Options
		secret  string
		down    bool
		filter  string
		records bool
		want    []string // "ok"/"FAIL"/"SKIP" per step
	}{
		{"all good", fakegenesys.Options{}, "", false, "+1555*", true, []string{"ok", "ok", "ok", "ok", "ok"}},
		{"no records for filter", fakegenesys.Options{}, "", false, "+1999*", true, []string{"ok", "ok", "ok", "ok", "FAIL"}},
		{"wrong secret", fakegenesys.Options{}, "nope-nope", false, "", true, []string{"ok", "FAIL", "SKIP", "SKIP", "SKIP"}},
		{"no permission", fakegenesys.Options{Permissions: []string{}}, "", false, "", true, []string{"ok", "ok", "ok", "FAIL", "SKIP"}},
		{"login down", fakegenesys.Options{}, "", true, "", true, []string{"FAIL", "SKIP", "SKIP", "SKIP", "SKIP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakegenesys.New(tt.opts)
			defer f.Close()
			if err := f.AddRecord([]byte(homer(now.Add(-10*time.Minute), "c1", "1 INVITE", "INVITE", "+15551234"))); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(f, nil)
			cfg.RetryBudget = 200 * time.Millisecond
			if tt.secret != "" {
				cfg.Credentials.ClientSecret = tt.secret
			}
			if tt.down {
				f.Close()
			}
			c := newClient(t, cfg)
			res, err := c.Check(ctxT(t), tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range res.Steps {
				switch {
				case s.Skipped:
					got = append(got, "SKIP")
				case s.OK:
					got = append(got, "ok")
				default:
					got = append(got, "FAIL")
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("steps = %v, want %v\n%+v", got, tt.want, res.Steps)
			}
			if res.OK() != (tt.name == "all good") {
				t.Fatalf("OK() = %v", res.OK())
			}
			var b strings.Builder
			if _, err := res.WriteTo(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, want := range []string{"INFO rather than DEBUG", "72 hours", "destination (To) or caller (From)"} {
				if !strings.Contains(out, want) {
					t.Fatalf("advice lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, f.ClientSecret()) || (tt.secret != "" && strings.Contains(out, tt.secret)) {
				t.Fatal("secret in check output")
			}
			if tt.name == "no permission" && !strings.Contains(out, "telephony:pcap:view") {
				t.Fatalf("permission not named:\n%s", out)
			}
		})
	}
	f := fakegenesys.New(fakegenesys.Options{})
	defer f.Close()
	c := newClient(t, testConfig(f, nil))
	if _, err := c.Check(ctxT(t), "a*b"); err == nil {
		t.Fatal("bad filter accepted")
	}
}
