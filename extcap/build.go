package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/genesys-sip/genesys-sip/internal/alert"
	"github.com/genesys-sip/genesys-sip/internal/pipeline"
	"github.com/genesys-sip/genesys-sip/internal/redact"
	"github.com/genesys-sip/genesys-sip/internal/source/live"
	"github.com/genesys-sip/genesys-sip/internal/tlsdec"
	"github.com/genesys-sip/genesys-sip/internal/trace"
)

// envRedactKey names the environment variable holding the redaction key.
const envRedactKey = "GENESYS_SIP_REDACT_KEY"

// setup is what a capture run needs besides the pipeline configuration.
type setup struct {
	cfg      pipeline.Config
	warnings []string
	closers  []func()
	refresh  func() // the toolbar's Refresh traces button; nil: disabled
}

func (s *setup) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

func (s *setup) warn(format string, args ...any) {
	s.warnings = append(s.warnings, fmt.Sprintf(format, args...))
}

// buildSetup turns the capture options into a pipeline configuration. A
// problem with an input the capture can do without (a bad trace file, a
// key log with bad lines) is a warning in extcap mode, where packets must
// still stream, and an error on the command line; a bad option value is
// always an error.
func buildSetup(ctx context.Context, o *captureOptions, log *slog.Logger, cliMode bool) (*setup, error) {
	s := &setup{}
	s.cfg = pipeline.Config{
		ReplayFile:         o.ReplayFile,
		Speed:              o.ReplaySpeed,
		Loops:              o.ReplayLoop,
		Rebase:             o.ReplayRebase,
		Filter:             o.CaptureFilter,
		Live:               &live.Config{Device: o.Device, Filter: o.CaptureFilter},
		Application:        "genesys-sip " + version,
		Log:                log,
		CorrelationHeaders: o.CorrelationHeaders,
		ClockOffset:        o.ClockOffset,
	}
	optional := func(err error) error {
		if cliMode {
			return err
		}
		s.warn("%v", err)
		log.Warn("continuing without it", "err", err)
		return nil
	}

	if o.InjectSecrets {
		if o.Redact {
			return s, errors.New("--inject-secrets is refused while redaction is on: the keys would let anyone decrypt the SIP you redacted; set --redact false explicitly to inject them")
		}
		if o.TLSKeylog == "" && o.TLSRSAKey == "" {
			return s, errors.New("--inject-secrets needs --tls-keylog (the secrets to inject)")
		}
	}

	if o.Redact {
		red, err := newRedactor(o)
		if err != nil {
			return s, err
		}
		s.cfg.Redactor = red
		if o.RedactKeep >= 4 {
			s.warn("--redact-keep-digits %d keeps %d digits of every number readable", o.RedactKeep, o.RedactKeep)
		}
	} else if o.RedactCallIDs {
		return s, errors.New("--redact-call-ids needs redaction on (--redact true)")
	}

	if o.AlertCodesText != "" {
		codes := o.AlertCodes
		s.cfg.Alerts = &codes
	}
	if o.AlertWebhook != "" {
		hook, err := alert.NewWebhook(o.AlertWebhook, log, alert.WebhookOptions{})
		if err != nil {
			return s, err
		}
		s.cfg.Webhook = hook
		s.closers = append(s.closers, func() {
			c, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			hook.Close(c)
			sent, failed, dropped := hook.Stats()
			log.Info("alert webhook", "sent", sent, "failed", failed, "dropped", dropped)
		})
	}

	if o.TLSKeylog != "" || o.TLSRSAKey != "" {
		kl, err := loadKeys(ctx, o, log, s)
		if err != nil {
			if err := optional(err); err != nil {
				return s, err
			}
		} else {
			s.cfg.TLSKeys = kl
			s.cfg.InjectSecrets = o.InjectSecrets
		}
	}

	if o.TraceFile != "" {
		ix, rep, err := trace.LoadFile(ctx, o.TraceFile, trace.Options{CorrelationHeaders: o.CorrelationHeaders})
		switch {
		case err != nil:
			if err := optional(fmt.Errorf("trace file: %w; packets are not annotated", err)); err != nil {
				return s, err
			}
		default:
			s.cfg.Trace = ix
			s.closers = append(s.closers, func() { ix.Close() })
			log.Info("trace records loaded", "file", o.TraceFile, "report", rep.String())
			if n := rep.SkippedTotal(); n > 0 {
				s.warn("trace file %s", rep.String()) // the report starts with the file's name
			}
		}
	}
	if err := setupGenesys(ctx, o, log, cliMode, s); err != nil {
		if err := optional(err); err != nil {
			return s, err
		}
	}
	return s, nil
}

// newRedactor builds the redactor the options describe. The key comes from
// --redact-key, else GENESYS_SIP_REDACT_KEY, else it is random for the run.
func newRedactor(o *captureOptions) (*redact.Redactor, error) {
	key := []byte(o.RedactKey)
	if len(key) == 0 {
		key = []byte(os.Getenv(envRedactKey))
	}
	red, err := redact.New(redact.Config{
		Key:           key,
		KeepDigits:    o.RedactKeep,
		Headers:       o.RedactHeaders,
		RedactCallIDs: o.RedactCallIDs,
		// The configured correlation headers are keys, not numbers:
		// a "x-genesys-*" family must not redact a custom one.
		CallIDHeaders: callIDHeaders(o.CorrelationHeaders),
	})
	if err != nil {
		return nil, fmt.Errorf("redaction: %w", err)
	}
	return red, nil
}

// loadKeys reads the TLS key log (followed while capturing live) and the
// RSA server key.
func loadKeys(ctx context.Context, o *captureOptions, log *slog.Logger, s *setup) (*tlsdec.KeyLog, error) {
	kl := tlsdec.NewKeyLog(0)
	if o.TLSKeylog != "" {
		f, err := os.Open(o.TLSKeylog)
		if err != nil {
			return nil, fmt.Errorf("--tls-keylog %s: %w", o.TLSKeylog, unwrapPath(err))
		}
		_, err = kl.Read(f)
		f.Close()
		var bad *tlsdec.BadLinesError
		switch {
		case errors.As(err, &bad):
			s.warn("--tls-keylog %s: %v", o.TLSKeylog, err)
		case err != nil:
			return nil, fmt.Errorf("--tls-keylog %s: %w", o.TLSKeylog, err)
		}
		if o.ReplayFile == "" {
			// Live: pick up keys of connections made after the start.
			go kl.Follow(ctx, o.TLSKeylog, 200*time.Millisecond, func(err error) {
				log.Warn("following the TLS key log", "err", err)
			})
		}
	}
	if o.TLSRSAKey != "" {
		pem, err := os.ReadFile(o.TLSRSAKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-rsa-key %s: %w", o.TLSRSAKey, unwrapPath(err))
		}
		if err := kl.AddRSAKey(pem); err != nil {
			return nil, fmt.Errorf("--tls-rsa-key %s: %w", o.TLSRSAKey, err)
		}
	}
	log.Info("TLS keys loaded", "keys", kl.Stats())
	return kl, nil
}

// callIDHeaders returns the headers redaction treats as correlation keys:
// Call-ID and the configured correlation headers (nil: the defaults).
func callIDHeaders(correlation []string) []string {
	if len(correlation) == 0 {
		return nil
	}
	return append([]string{"Call-ID"}, correlation...)
}
