package genesys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Advice returns the tracing guidance Check returns with every result.
func Advice() []string {
	return []string{
		"Enable SIP tracing with a filter on the destination (To) or caller (From) number, not for the whole trunk.",
		"Use trace level INFO rather than DEBUG: DEBUG adds load and volume that correlation does not need.",
		"Keep trace retention at 72 hours or less: traces contain phone numbers.",
		"Traces reach the API a few minutes after the call; poll every 60 s or more.",
	}
}

// CheckStep is one line of a Check: what was tested and the outcome.
type CheckStep struct {
	Name    string
	OK      bool
	Skipped bool   // not tested because an earlier step failed
	Detail  string // outcome or error, never a secret
}

// CheckResult is the outcome of Check, printed by the CLI.
type CheckResult struct {
	LoginURL, APIURL string
	Filter           string // the destination pattern checked
	Steps            []CheckStep
	Records          int // records matching the filter in the last hour
	Advice           []string
}

// OK reports whether every step passed.
func (r CheckResult) OK() bool {
	for _, s := range r.Steps {
		if !s.OK {
			return false
		}
	}
	return len(r.Steps) > 0
}

// WriteTo prints the result, one step per line, then the advice.
func (r CheckResult) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "Genesys Cloud check (login %s, API %s)\n", r.LoginURL, r.APIURL)
	for _, s := range r.Steps {
		mark := "FAIL"
		switch {
		case s.Skipped:
			mark = "SKIP"
		case s.OK:
			mark = " ok "
		}
		fmt.Fprintf(&b, "[%s] %s", mark, s.Name)
		if s.Detail != "" {
			fmt.Fprintf(&b, ": %s", s.Detail)
		}
		b.WriteByte('\n')
	}
	b.WriteString("Advice:\n")
	for _, a := range r.Advice {
		fmt.Fprintf(&b, "  - %s\n", a)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// Check tests, in order: the login host is reachable and accepts the
// credentials (a token), the API host is reachable, the client has
// telephony:pcap:view (a siptraces search over the last hour), and whether
// records matching filter (a destination pattern, see Query.Destination)
// exist in that hour. It returns an error for an invalid filter, and when
// ctx ends before the check is complete: then the error ("check:
// interrupted while waiting for login.mypurecloud.com (OAuth token; attempt
// 3, …)") says what it was waiting for, and the result holds the steps done.
// Every other failure is a step of the result. The result carries the
// tracing advice.
func (c *Client) Check(ctx context.Context, filter string) (CheckResult, error) {
	if _, err := ParsePattern(filter); err != nil {
		return CheckResult{}, err
	}
	res := CheckResult{LoginURL: c.loginURL, APIURL: c.apiURL, Filter: filter, Advice: Advice()}
	add := func(name string, ok bool, detail string) {
		res.Steps = append(res.Steps, CheckStep{Name: name, OK: ok, Detail: detail})
	}
	skip := func(names ...string) {
		for _, n := range names {
			res.Steps = append(res.Steps, CheckStep{Name: n, Skipped: true, Detail: "not tested"})
		}
	}
	const (
		stepLogin  = "login host reachable"
		stepCreds  = "client credentials accepted"
		stepAPI    = "API host reachable"
		stepPerm   = "permission " + PermissionView
		stepRecord = "records in the last hour"
	)
	interrupted := func(err error) error {
		var ie *InterruptedError
		if errors.As(err, &ie) {
			return fmt.Errorf("check: %w", err)
		}
		return fmt.Errorf("check: interrupted: %w", err)
	}
	_, err := c.token(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		return res, interrupted(err)
	case err == nil:
		add(stepLogin, true, c.loginURL)
		add(stepCreds, true, "token issued for client id "+c.cfg.Credentials.ClientID)
	case errors.Is(err, ErrUnreachable) || errors.Is(err, ErrServer):
		add(stepLogin, false, err.Error())
		skip(stepCreds, stepAPI, stepPerm, stepRecord)
		return res, nil
	default:
		add(stepLogin, true, c.loginURL)
		add(stepCreds, false, err.Error())
		skip(stepAPI, stepPerm, stepRecord)
		return res, nil
	}
	now := c.cfg.Now()
	recs, err := c.Search(ctx, Query{Start: now.Add(-time.Hour), End: now, Destination: filter})
	switch {
	case err != nil && ctx.Err() != nil:
		return res, interrupted(err)
	case err == nil:
		add(stepAPI, true, c.apiURL)
		add(stepPerm, true, "siptraces search allowed")
	case errors.Is(err, ErrUnreachable):
		add(stepAPI, false, err.Error())
		skip(stepPerm, stepRecord)
		return res, nil
	case errors.Is(err, ErrForbidden):
		add(stepAPI, true, c.apiURL)
		add(stepPerm, false, err.Error())
		skip(stepRecord)
		return res, nil
	default:
		add(stepAPI, true, c.apiURL)
		add(stepPerm, false, "siptraces search failed: "+err.Error())
		skip(stepRecord)
		return res, nil
	}
	res.Records = len(recs)
	what := "filter " + filter
	if filter == "" {
		what = "no filter"
	}
	if len(recs) == 0 {
		add(stepRecord, false, fmt.Sprintf("none (%s); is SIP tracing enabled on the trunk, and was there a call? Traces lag by minutes", what))
	} else {
		add(stepRecord, true, fmt.Sprintf("%d (%s)", len(recs), what))
	}
	return res, nil
}
