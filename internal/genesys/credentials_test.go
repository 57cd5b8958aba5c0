package genesys

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testSecret = "s3cr3t-VALUE-xyz"

func writeFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadCredentials(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	bothEnv := env(map[string]string{EnvClientID: "env-id", EnvClientSecret: "env-secret"})
	tests := []struct {
		name       string
		env        func(string) string
		file       string
		mode       os.FileMode
		wantID     string
		wantSecret string
		wantErr    string
		wantValid  bool
	}{
		{"env", bothEnv, "", 0, "env-id", "env-secret", "", true},
		{"env id only", env(map[string]string{EnvClientID: "env-id"}), "", 0, "env-id", "", "", false},
		{"nothing", env(nil), "", 0, "", "", "", false},
		{"file wins over env", bothEnv, "client_id=file-id\nclient_secret=" + testSecret + "\n", 0o600, "file-id", testSecret, "", true},
		{"file comments quotes crlf", nil, "# x\r\n\r\nCLIENT_ID = \"file-id\"\r\nexport GENESYS_CLIENT_SECRET='" + testSecret + "'\r\n", 0o400, "file-id", testSecret, "", true},
		{"json file", nil, `{"client_id":"file-id","client_secret":"` + testSecret + `"}`, 0o600, "file-id", testSecret, "", true},
		{"group readable", bothEnv, "client_id=a\nclient_secret=b\n", 0o640, "", "", "chmod 600", false},
		{"world readable", bothEnv, "client_id=a\nclient_secret=b\n", 0o604, "", "", "chmod 600", false},
		{"file missing secret", nil, "client_id=a\n", 0o600, "", "", "no client secret", false},
		{"unknown key", nil, "client_id=a\npassword=" + testSecret + "\n", 0o600, "", "", "line 2: unknown key", false},
		{"no equals", nil, testSecret + "\n", 0o600, "", "", "line 1: expected key=value", false},
		{"bad json", nil, `{"client_id":`, 0o600, "", "", "not valid JSON", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.mode != 0 {
				file = writeFile(t, tt.file, tt.mode)
			}
			c, err := LoadCredentials(tt.env, file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), testSecret) {
					t.Fatalf("error leaks the secret: %v", err)
				}
				if tt.wantErr == "chmod 600" && !strings.Contains(err.Error(), "chmod 600 "+file) {
					t.Fatalf("error does not name the file: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ClientID != tt.wantID || c.ClientSecret != tt.wantSecret {
				t.Fatalf("got %q/%q", c.ClientID, c.ClientSecret)
			}
			if (c.Validate() == nil) != tt.wantValid {
				t.Fatalf("Validate = %v", c.Validate())
			}
		})
	}
}

func TestLoadCredentialsMissingFile(t *testing.T) {
	_, err := LoadCredentials(nil, filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err = %v", err)
	}
	_, err = LoadCredentials(nil, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("dir: err = %v", err)
	}
}

func TestCredentialsFillAndValidate(t *testing.T) {
	c := Credentials{ClientID: "env-id", Source: "environment"}.Fill("gui-id", "gui-secret")
	if c.ClientID != "env-id" || c.ClientSecret != "gui-secret" {
		t.Fatalf("Fill = %+v", c)
	}
	if err := (Credentials{}).Validate(); !errors.Is(err, ErrNoCredentials) || !strings.Contains(err.Error(), EnvClientSecret) {
		t.Fatalf("Validate = %v", err)
	}
	if c := (Credentials{}).Fill("", "x"); c.Source != "arguments" {
		t.Fatalf("source = %q", c.Source)
	}
}

func TestCredentialsRedaction(t *testing.T) {
	c := Credentials{ClientID: "id-1", ClientSecret: testSecret, Source: "environment"}
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("creds", "c", c)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("creds", "c", c)
	js, _ := json.Marshal(c)
	cfg := Config{Credentials: c}
	outs := []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q", c, c, c, c, c),
		fmt.Sprintf("%v %+v", cfg, cfg), fmt.Sprintf("%v", &cfg), logs.String(), string(js),
	}
	for _, o := range outs {
		if strings.Contains(o, testSecret) {
			t.Fatalf("secret printed: %s", o)
		}
	}
	if !strings.Contains(outs[0], "id-1") || !strings.Contains(outs[0], redacted) {
		t.Fatalf("String = %s", outs[0])
	}
}
