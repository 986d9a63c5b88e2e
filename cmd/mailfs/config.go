package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/pflag"

	"mailfs/imapback"
)

// The config file: ~/.config/mailfs/config.toml ($XDG_CONFIG_HOME,
// --config). Its keys are the mount flags' names, so one list says what
// each means (mailfs help mount) and the values parse as the flags do:
//
//	cache-size = "512MiB"            # mount-wide: cache-size, names
//	timeout = "20s"                  # any per-account key here is every account's default
//	[accounts.work]
//	url = "imaps://alice@imap.example.com"
//	password-command = "pass show mail/work"
//	watch = ["INBOX", "Support"]
//
// BurntSushi/toml parses it: it is the most used Go TOML library, keeps to
// TOML 1.0, and reports the line of a syntax error. Keys are checked here
// against the flags, not by struct tags, so a typo is named with its
// table (accounts.work.conections) in one line.

// accountKeys may be set per account, or at the top as every account's
// default; mountKeys only at the top.
var (
	accountKeys = []string{"read-only", "connections", "delete", "timeout", "poll-interval", "watch", "password-command"}
	ownKeys     = []string{"url", "auth", "token-command"} // per account only
	mountKeys   = []string{"cache-size", "disk-cache", "cache-dir", "names"}
)

// accountConfig is one account of the file, its values as flag strings.
type accountConfig struct {
	name   string
	url    string
	auth   string // plain, xoauth2, oauthbearer
	token  string // token-command
	values map[string]string
	// searches are the account's own named searches ([accounts.NAME.searches]).
	searches map[string]string
}

type config struct {
	path     string
	mount    map[string]string // mount-wide keys
	searches map[string]string // [searches]: named searches of every .search
	accounts []accountConfig   // in name order
}

// configPath is --config, else $XDG_CONFIG_HOME/mailfs/config.toml, else
// ~/.config/mailfs/config.toml.
func configPath(flag string) string {
	if flag != "" {
		return flag
	}
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "mailfs", "config.toml")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".config", "mailfs", "config.toml")
}

// loadConfig reads and checks the file: every error names the file and
// the key (or line) and is an exit 2.
func loadConfig(path string) (*config, error) {
	var raw map[string]any
	if _, err := toml.DecodeFile(path, &raw); err != nil {
		var pe toml.ParseError
		switch {
		case errors.As(err, &pe):
			return nil, fail(exitUsage, "%s:%d: %s", path, pe.Position.Line, pe.Message)
		case errors.Is(err, os.ErrNotExist):
			return nil, fail(exitUsage, "no config file %s (write one, see README: Config file; or give a URL)", path)
		}
		return nil, fail(exitUsage, "%s: %v", path, err)
	}
	c := &config{path: path, mount: map[string]string{}, searches: map[string]string{}}
	bad := func(key, format string, args ...any) error {
		return fail(exitUsage, "%s: %s: %s", path, key, fmt.Sprintf(format, args...))
	}
	defaults := map[string]string{}
	var accounts map[string]any
	for key, v := range raw {
		switch {
		case key == "searches":
			if err := readSearches(v, key, c.searches, bad); err != nil {
				return nil, err
			}
		case key == "accounts":
			t, ok := v.(map[string]any)
			if !ok {
				return nil, bad(key, "must be a table of accounts ([accounts.NAME])")
			}
			accounts = t
		case contains(mountKeys, key), contains(accountKeys, key):
			s, err := flagString(v)
			if err == nil {
				err = checkValue(key, v, s)
			}
			if err != nil {
				return nil, bad(key, "%v", err)
			}
			if contains(mountKeys, key) {
				c.mount[key] = s
			} else {
				defaults[key] = s
			}
		case contains(ownKeys, key):
			return nil, bad(key, "belongs in an [accounts.NAME] table")
		default:
			return nil, bad(key, "unknown key (known: %s, [searches] and [accounts.NAME])", strings.Join(append(append([]string{}, mountKeys...), accountKeys...), ", "))
		}
	}
	if len(accounts) == 0 {
		return nil, fail(exitUsage, "%s: no accounts: add an [accounts.NAME] table with a url", path)
	}
	names := make([]string, 0, len(accounts))
	for n := range accounts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		key := "accounts." + name
		if name == "" || name[0] == '.' || strings.ContainsAny(name, "/\x00") {
			return nil, bad(key, "an account name is a directory name: no leading dot, no /")
		}
		t, ok := accounts[name].(map[string]any)
		if !ok {
			return nil, bad(key, "must be a table")
		}
		a := accountConfig{name: name, auth: "plain", values: map[string]string{}, searches: map[string]string{}}
		for k, v := range defaults {
			a.values[k] = v
		}
		for k, v := range t {
			if k == "searches" {
				if err := readSearches(v, key+"."+k, a.searches, bad); err != nil {
					return nil, err
				}
				continue
			}
			s, err := flagString(v)
			if err != nil {
				return nil, bad(key+"."+k, "%v", err)
			}
			switch {
			case k == "url":
				a.url = s
			case k == "auth":
				a.auth = s
			case k == "token-command":
				a.token = s
			case contains(accountKeys, k):
				if err := checkValue(k, v, s); err != nil {
					return nil, bad(key+"."+k, "%v", err)
				}
				a.values[k] = s
			case contains(mountKeys, k):
				return nil, bad(key+"."+k, "is mount-wide: set it at the top of the file")
			default:
				return nil, bad(key+"."+k, "unknown key (known: %s and [%s.searches])", strings.Join(append(append([]string{}, ownKeys...), accountKeys...), ", "), key)
			}
		}
		if a.url == "" {
			return nil, bad(key+".url", "missing: every account needs imaps://user@host")
		}
		if _, err := imapback.ParseURL(a.url); err != nil {
			return nil, bad(key+".url", "%v", err)
		}
		switch a.auth {
		case "plain":
			if a.token != "" {
				return nil, bad(key+".token-command", "is for auth = \"xoauth2\" or \"oauthbearer\"")
			}
		case "xoauth2", "oauthbearer":
			if a.token == "" {
				return nil, bad(key+".token-command", "missing: auth = %q needs a command that prints an access token", a.auth)
			}
			if _, ok := a.values["password-command"]; ok {
				return nil, bad(key+".password-command", "not used with auth = %q (the token comes from token-command)", a.auth)
			}
		default:
			return nil, bad(key+".auth", "%q: want plain, xoauth2 or oauthbearer", a.auth)
		}
		for _, k := range []string{"password-command"} {
			if cmd, ok := a.values[k]; ok {
				if err := commandExists(cmd); err != nil {
					return nil, bad(key+"."+k, "%v", err)
				}
			}
		}
		if a.token != "" {
			if err := commandExists(a.token); err != nil {
				return nil, bad(key+".token-command", "%v", err)
			}
		}
		c.accounts = append(c.accounts, a)
	}
	return c, nil
}

// readSearches reads a [searches] table (name = "query") into into.
func readSearches(v any, key string, into map[string]string, bad func(key, format string, args ...any) error) error {
	t, ok := v.(map[string]any)
	if !ok {
		return bad(key, "must be a table of name = \"query\"")
	}
	for name, q := range t {
		query, ok := q.(string)
		if !ok {
			return bad(key+"."+name, "a query is a string")
		}
		if err := checkSearch(name, query); err != nil {
			return bad(key, "%v", err)
		}
		into[name] = query
	}
	return nil
}

// flagString turns a TOML value into the string its flag parses.
func flagString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", fmt.Errorf("want a list of strings")
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("unsupported value %v", v)
}

// checkValue parses a key's value as its flag does, so that a mistake
// is reported where it was written (the top, or an account's table)
// rather than where it is used, and worded for the file: what the value
// should look like, not the flag's syntax.
func checkValue(key string, v any, s string) error {
	set, f := newMountFlags("mount")
	if fl := set.Lookup(key); fl != nil && fl.Value.Type() == "string" {
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%v is not a string: write it in quotes, such as %s = %q", v, key, fmt.Sprint(v))
		}
	}
	if setFlag(set, key, s) == nil {
		if !contains(alone, key) {
			return nil
		}
		// The value parses; whether it is one mailfs takes (a size, a
		// range, one of some words) is said by the mount's own checks,
		// all on defaults but this key's.
		if err := f.parse(); err != nil {
			return errors.New(fileWording(strings.TrimPrefix(err.Error(), "--"+key+" ")))
		}
		return nil
	}
	shown := fmt.Sprint(v)
	if _, ok := v.(string); ok {
		shown = strconv.Quote(s)
	}
	switch set.Lookup(key).Value.Type() {
	case "duration":
		return fmt.Errorf("%s is not a duration: write a string with a unit, such as %s = \"20s\"", shown, key)
	case "int":
		return fmt.Errorf("%s is not a whole number, such as %s = 3", shown, key)
	case "bool":
		return fmt.Errorf("%s is not true or false, such as %s = true", shown, key)
	}
	return fmt.Errorf("%s is not a valid value", shown)
}

// alone are the keys whose values the mount's checks judge on their own
// (watch is judged with connections: after every key is read).
var alone = []string{"cache-size", "disk-cache", "names", "connections", "timeout", "poll-interval", "delete"}

// fileWording rewords a command-line error for the config file: keys
// without their "--" (the file's keys are the flags' names).
func fileWording(msg string) string {
	return strings.ReplaceAll(strings.TrimPrefix(msg, "--"), " --", " ")
}

// commandExists checks that a shell command's program can be found, so
// a typo fails before anything is mounted.
func commandExists(cmd string) error {
	fields := strings.Fields(cmd)
	if len(fields) == 0 {
		return fmt.Errorf("empty command")
	}
	if _, err := exec.LookPath(fields[0]); err != nil {
		return fmt.Errorf("%q: program %s not found", cmd, fields[0])
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// setFlag sets a flag from its string form; a list replaces the default
// (pflag would append to a value set before).
func setFlag(set *pflag.FlagSet, name, value string) error {
	fl := set.Lookup(name)
	if fl == nil {
		return fmt.Errorf("unknown flag %s", name)
	}
	if sv, ok := fl.Value.(pflag.SliceValue); ok {
		var list []string
		for _, x := range strings.Split(value, ",") {
			if x = strings.TrimSpace(x); x != "" {
				list = append(list, x)
			}
		}
		return sv.Replace(list)
	}
	return set.Set(name, value)
}

// flagValue is a flag's value in the form setFlag takes.
func flagValue(fl *pflag.Flag) string {
	if sv, ok := fl.Value.(pflag.SliceValue); ok {
		return strings.Join(sv.GetSlice(), ",")
	}
	return fl.Value.String()
}

// accountFlags are one account's mount flags: the defaults, then the
// file's values, then what the command line set explicitly.
func (c *config) accountFlags(a accountConfig, cmdline *pflag.FlagSet) (*mountFlags, error) {
	set, f := newMountFlags("mount")
	for k, v := range c.mount {
		if err := setFlag(set, k, v); err != nil {
			return nil, fail(exitUsage, "%s: %s: %v", c.path, k, err)
		}
	}
	for k, v := range a.values {
		if err := setFlag(set, k, v); err != nil {
			return nil, fail(exitUsage, "%s: accounts.%s.%s: %v", c.path, a.name, k, err)
		}
	}
	var err error
	cmdline.Visit(func(fl *pflag.Flag) {
		// --search is mount-wide (see mountConfig), and a query may hold
		// the commas setFlag splits lists on.
		if err == nil && fl.Name != "search" && set.Lookup(fl.Name) != nil {
			err = setFlag(set, fl.Name, flagValue(fl))
		}
	})
	if err != nil {
		return nil, fail(exitUsage, "%v", err)
	}
	if err := f.parse(); err != nil {
		return nil, fail(exitUsage, "%s: accounts.%s: %s", c.path, a.name, fileWording(err.Error()))
	}
	return f, nil
}
