package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/genesys-sip/genesys-sip/dissector"
)

// wiresharkDirs are the personal folders Wireshark reads extcaps and Lua
// plugins from.
type wiresharkDirs struct {
	Tshark     string // the tshark asked, empty if none was found
	Version    string // e.g. "4.0.17"
	Extcap     string
	LuaPlugins string
	Guessed    bool // no Wireshark found: folders follow the current convention
}

func installFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "tshark", Usage: "tshark to ask for Wireshark's folders (default: tshark on PATH or in the usual install location)"},
		&cli.StringFlag{Name: "extcap-dir", Usage: "install the extcap here instead of Wireshark's personal extcap folder"},
		&cli.StringFlag{Name: "plugins-dir", Usage: "install the Lua dissector here instead of Wireshark's personal Lua plugin folder"},
	}
}

// installCommand is `genesys-sip install`.
func installCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "install",
		Usage: "install this binary as Wireshark's \"Genesys SIP\" interface, and the Lua dissector",
		Description: "Copies the binary into the personal extcap folder of the Wireshark found\n" +
			"(4.0: ~/.config/wireshark/extcap; 4.2 and later: ~/.local/lib/wireshark/extcap;\n" +
			"Windows: %APPDATA%\\Wireshark\\extcap) and genesys.lua into the personal Lua plugin folder.",
		Flags: installFlags(),
		Action: func(c *cli.Context) error {
			dirs, err := findWiresharkDirs(c)
			if err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("install: cannot locate this binary: %w", err)
			}
			bin := filepath.Join(dirs.Extcap, extcapFileName())
			if err := copyFile(self, bin, 0o755); err != nil {
				return fmt.Errorf("install: %w", err)
			}
			lua := filepath.Join(dirs.LuaPlugins, dissector.FileName)
			if err := writeFileAtomic(lua, dissector.Lua(), 0o644); err != nil {
				return fmt.Errorf("install: %w", err)
			}
			describeWireshark(e.stdout, dirs)
			fmt.Fprintf(e.stdout, "extcap:    %s\n", bin)
			fmt.Fprintf(e.stdout, "dissector: %s\n", lua)
			fmt.Fprintf(e.stdout, "Restart Wireshark, or run `tshark -D`: the interface \"%s\" is listed.\n", ifaceDisplay)
			return nil
		},
	}
}

// uninstallCommand is `genesys-sip uninstall`.
func uninstallCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "uninstall",
		Usage: "remove what `genesys-sip install` installed",
		Flags: installFlags(),
		Action: func(c *cli.Context) error {
			dirs, err := findWiresharkDirs(c)
			if err != nil {
				return err
			}
			removed := 0
			for _, p := range []string{filepath.Join(dirs.Extcap, extcapFileName()), filepath.Join(dirs.LuaPlugins, dissector.FileName)} {
				switch err := os.Remove(p); {
				case err == nil:
					fmt.Fprintf(e.stdout, "removed %s\n", p)
					removed++
				case errors.Is(err, os.ErrNotExist):
					fmt.Fprintf(e.stdout, "not installed: %s\n", p)
				default:
					return fmt.Errorf("uninstall: %w", err)
				}
			}
			if removed == 0 {
				fmt.Fprintln(e.stdout, "nothing to remove")
			}
			return nil
		},
	}
}

func describeWireshark(w io.Writer, d wiresharkDirs) {
	if d.Guessed {
		fmt.Fprintln(w, "Wireshark not found (no tshark); installed into the folders Wireshark 4.2 and later use.")
		return
	}
	fmt.Fprintf(w, "Wireshark %s (%s)\n", d.Version, d.Tshark)
}

func extcapFileName() string {
	if runtime.GOOS == "windows" {
		return "genesys-sip.exe"
	}
	return "genesys-sip"
}

// findWiresharkDirs asks tshark where its personal folders are (`tshark -G
// folders`), and falls back on the folder conventions of its version.
func findWiresharkDirs(c *cli.Context) (wiresharkDirs, error) {
	var d wiresharkDirs
	home, err := os.UserHomeDir()
	if err != nil {
		return d, fmt.Errorf("install: no home folder: %w", err)
	}
	d.Tshark = c.String("tshark")
	if d.Tshark == "" {
		d.Tshark = lookTshark()
	}
	folders := map[string]string{}
	if d.Tshark != "" {
		d.Version, folders, err = askTshark(d.Tshark)
		if err != nil {
			return d, fmt.Errorf("install: %w", err)
		}
	} else {
		d.Guessed = true
	}
	d.Extcap = folders["Personal Extcap path"]
	if d.Extcap == "" {
		d.Extcap = defaultExtcapDir(home, d.Version)
	}
	d.LuaPlugins = folders["Personal Lua Plugins"]
	if d.LuaPlugins == "" {
		d.LuaPlugins = defaultLuaDir(home)
	}
	if v := c.String("extcap-dir"); v != "" {
		d.Extcap = v
	}
	if v := c.String("plugins-dir"); v != "" {
		d.LuaPlugins = v
	}
	return d, nil
}

func lookTshark() string {
	if p, err := exec.LookPath("tshark"); err == nil {
		return p
	}
	var candidates []string
	switch runtime.GOOS {
	case "windows":
		candidates = []string{filepath.Join(os.Getenv("ProgramFiles"), "Wireshark", "tshark.exe")}
	case "darwin":
		candidates = []string{"/Applications/Wireshark.app/Contents/MacOS/tshark"}
	}
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

var tsharkVersion = regexp.MustCompile(`\(Wireshark\) (\d+\.\d+(?:\.\d+)?)`)

// askTshark returns tshark's version and its `-G folders` table.
func askTshark(tshark string) (string, map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tshark, "--version").Output()
	if err != nil {
		return "", nil, fmt.Errorf("%s --version: %w", tshark, err)
	}
	m := tsharkVersion.FindSubmatch(out)
	if m == nil {
		return "", nil, fmt.Errorf("%s --version: no Wireshark version in its output", tshark)
	}
	out, err = exec.CommandContext(ctx, tshark, "-G", "folders").Output()
	if err != nil {
		return "", nil, fmt.Errorf("%s -G folders: %w", tshark, err)
	}
	folders := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			folders[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return string(m[1]), folders, nil
}

// defaultExtcapDir is the personal extcap folder by version: Wireshark 4.0
// and older read ~/.config/wireshark/extcap, 4.1 and later
// ~/.local/lib/wireshark/extcap; Windows always %APPDATA%\Wireshark\extcap.
func defaultExtcapDir(home, ver string) string {
	if runtime.GOOS == "windows" {
		return filepath.Join(appData(home), "Wireshark", "extcap")
	}
	if ver != "" && versionBefore(ver, 4, 1) {
		cfg := os.Getenv("XDG_CONFIG_HOME")
		if cfg == "" {
			cfg = filepath.Join(home, ".config")
		}
		return filepath.Join(cfg, "wireshark", "extcap")
	}
	return filepath.Join(home, ".local", "lib", "wireshark", "extcap")
}

func defaultLuaDir(home string) string {
	if runtime.GOOS == "windows" {
		return filepath.Join(appData(home), "Wireshark", "plugins")
	}
	return filepath.Join(home, ".local", "lib", "wireshark", "plugins")
}

func appData(home string) string {
	if v := os.Getenv("APPDATA"); v != "" {
		return v
	}
	return filepath.Join(home, "AppData", "Roaming")
}

// versionBefore reports whether "maj.min[.patch]" is older than major.minor.
func versionBefore(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma < major || (ma == major && mi < minor)
}

// copyFile copies src to dst atomically (temp file + rename), creating dst's
// folder. Copying a file onto itself is a no-op.
func copyFile(src, dst string, mode os.FileMode) error {
	if same, _ := sameFile(src, dst); same {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeFileAtomic(dst, data, mode)
}

func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}

func writeFileAtomic(dst string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
