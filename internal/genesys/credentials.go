package genesys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
)

// Environment variables read by LoadCredentials.
const (
	EnvClientID     = "GENESYS_CLIENT_ID"
	EnvClientSecret = "GENESYS_CLIENT_SECRET"
)

// maxCredentialsFile bounds what LoadCredentials reads: a credentials file is
// a few hundred bytes; anything larger is the wrong file.
const maxCredentialsFile = 64 << 10

// Credentials are an OAuth client-credentials grant. The secret is never
// printed: String, GoString, LogValue and MarshalJSON redact it.
type Credentials struct {
	ClientID     string
	ClientSecret string
	// Source says where the credentials came from, for messages
	// ("environment", "file /path", "arguments").
	Source string
}

const redacted = "[REDACTED]"

// String describes the credentials without the secret.
func (c Credentials) String() string {
	s := redacted
	if c.ClientSecret == "" {
		s = "(none)"
	}
	return fmt.Sprintf("client_id=%s client_secret=%s source=%s", c.ClientID, s, c.Source)
}

// GoString is String, so %#v does not print the secret either.
func (c Credentials) GoString() string { return "genesys.Credentials{" + c.String() + "}" }

// LogValue makes slog print the credentials without the secret.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("client_id", c.ClientID),
		slog.Bool("client_secret_set", c.ClientSecret != ""),
		slog.String("source", c.Source))
}

// MarshalJSON encodes the credentials without the secret.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"client_id": c.ClientID, "client_secret_set": c.ClientSecret != "", "source": c.Source})
}

// Fill returns c with empty fields taken from id and secret: the CLI or GUI
// arguments, which have the lowest precedence.
func (c Credentials) Fill(id, secret string) Credentials {
	if c.ClientID == "" {
		c.ClientID = strings.TrimSpace(id)
	}
	if c.ClientSecret == "" {
		c.ClientSecret = strings.TrimSpace(secret)
	}
	if c.Source == "" && (c.ClientID != "" || c.ClientSecret != "") {
		c.Source = "arguments"
	}
	return c
}

// ErrNoCredentials reports that no client id or secret was found.
var ErrNoCredentials = errors.New("genesys: no credentials")

// Validate reports a missing client id or secret, saying where to put them.
func (c Credentials) Validate() error {
	switch {
	case c.ClientID == "" && c.ClientSecret == "":
		return fmt.Errorf("%w: set %s and %s, or use a credentials file (--genesys-credentials-file)",
			ErrNoCredentials, EnvClientID, EnvClientSecret)
	case c.ClientID == "":
		return fmt.Errorf("%w: client secret found (%s) but no client id: set %s or --genesys-client-id",
			ErrNoCredentials, c.Source, EnvClientID)
	case c.ClientSecret == "":
		return fmt.Errorf("%w: client id found (%s) but no client secret: set %s or use a credentials file",
			ErrNoCredentials, c.Source, EnvClientSecret)
	}
	return nil
}

// LoadCredentials finds the OAuth client credentials. Precedence: an
// explicit credentials file (file != "") wins over the environment
// (GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET, read through env). The GUI
// password argument is the last resort: the caller adds it with Fill and then
// calls Validate. LoadCredentials itself fails only on a bad file; missing
// values are reported by Validate.
//
// The credentials file is either lines of key=value
//
//	# Genesys Cloud OAuth client (client credentials grant)
//	client_id=0a1b2c3d-…
//	client_secret=…
//
// or a JSON object {"client_id":"…","client_secret":"…"}. Blank lines and
// lines starting with # are ignored; keys are case-insensitive and may also be
// spelled GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET. The file is refused if
// its group or others have any permission: run chmod 600 FILE.
func LoadCredentials(env func(string) string, file string) (Credentials, error) {
	if file != "" {
		return loadCredentialsFile(file)
	}
	if env == nil {
		env = os.Getenv
	}
	c := Credentials{
		ClientID:     strings.TrimSpace(env(EnvClientID)),
		ClientSecret: strings.TrimSpace(env(EnvClientSecret)),
	}
	if c.ClientID != "" || c.ClientSecret != "" {
		c.Source = "environment"
	}
	return c, nil
}

func loadCredentialsFile(file string) (Credentials, error) {
	f, err := os.Open(file)
	if err != nil {
		return Credentials{}, fmt.Errorf("genesys: credentials file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Credentials{}, fmt.Errorf("genesys: credentials file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return Credentials{}, fmt.Errorf("genesys: credentials file %s is not a regular file", file)
	}
	// Windows has no Unix permission bits; its ACLs are out of scope.
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return Credentials{}, fmt.Errorf("genesys: credentials file %s is readable by group or others (mode %04o): run chmod 600 %s",
			file, st.Mode().Perm(), file)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxCredentialsFile+1))
	if err != nil {
		return Credentials{}, fmt.Errorf("genesys: credentials file %s: %w", file, err)
	}
	if len(data) > maxCredentialsFile {
		return Credentials{}, fmt.Errorf("genesys: credentials file %s is larger than %d bytes", file, maxCredentialsFile)
	}
	c, err := ParseCredentials(data)
	if err != nil {
		return Credentials{}, fmt.Errorf("genesys: credentials file %s: %w", file, err)
	}
	c.Source = "file " + file
	if err := c.Validate(); err != nil {
		return Credentials{}, err
	}
	return c, nil
}

// ParseCredentials parses the content of a credentials file (the format is
// described at LoadCredentials). Errors name the line but never echo a value.
func ParseCredentials(data []byte) (Credentials, error) {
	trimmed := bytes.TrimSpace(data)
	if bytes.HasPrefix(trimmed, []byte("{")) {
		var v map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &v); err != nil {
			return Credentials{}, errors.New("not valid JSON (expected {\"client_id\":…,\"client_secret\":…})")
		}
		var c Credentials
		for k, raw := range v {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return Credentials{}, fmt.Errorf("JSON key %q is not a string", k)
			}
			switch normKey(k) {
			case "client_id":
				c.ClientID = strings.TrimSpace(s)
			case "client_secret":
				c.ClientSecret = strings.TrimSpace(s)
			}
		}
		return c, nil
	}
	var c Credentials
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if i == 0 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Credentials{}, fmt.Errorf("line %d: expected key=value", i+1)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		switch normKey(k) {
		case "client_id":
			c.ClientID = v
		case "client_secret":
			c.ClientSecret = v
		default:
			return Credentials{}, fmt.Errorf("line %d: unknown key (want client_id or client_secret)", i+1)
		}
	}
	return c, nil
}

func normKey(k string) string {
	k = strings.ToLower(strings.TrimSpace(k))
	k = strings.TrimPrefix(k, "export ")
	k = strings.TrimSpace(strings.TrimPrefix(k, "genesys_"))
	return strings.ReplaceAll(k, "-", "_")
}
