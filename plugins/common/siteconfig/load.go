package siteconfig

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load reads a site's configuration file into c (which holds Defaults) the way Telegraf's
// execd shim reads a plugin file — environment variables expanded with the shim's escaping,
// BurntSushi TOML — and refuses what the shim would silently ignore: a second
// [[inputs.qliksense_license]] table (the shim runs only the first), any other table, and
// unknown keys anywhere, so that a mistyped setting never falls back to its default. Both
// binaries load their configuration with it; c is not validated yet (Validate).
func Load(path string, c *Config) error {
	n := 0
	_, err := load(path, func() *Config {
		n++
		if n == 1 {
			return c
		}
		return &Config{}
	})
	if err == nil && n > 1 {
		return fmt.Errorf("%s: %d [[inputs.%s]] tables: one file is one site (the release sidecar and the plugin binary take every table of a file; this reader takes one)", path, n, PluginName)
	}
	return err
}

// LoadAll reads a file that may hold several [[inputs.qliksense_license]] tables — sites
// and Qlik Cloud tenants side by side — each decoded over Defaults, as strictly as Load.
// The tables are not validated yet (Validate each, then Distinct).
func LoadAll(path string) ([]*Config, error) {
	var out []*Config
	_, err := load(path, func() *Config {
		c := Defaults()
		out = append(out, &c)
		return &c
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Distinct checks that validated tables of one file name different sites: the site tag,
// the lock and the audit log are per site.
func Distinct(cs []*Config) error {
	seen := map[string]int{}
	for i, c := range cs {
		if j, ok := seen[c.Site]; ok {
			return fmt.Errorf("tables %d and %d are both site %q: give each its own site", j+1, i+1, c.Site)
		}
		seen[c.Site] = i
	}
	return nil
}

// load decodes every [[inputs.qliksense_license]] table of the file into a Config that
// next gives, and returns how many there were.
func load(path string, next func() *Config) (int, error) {
	if path == "" {
		return 0, errors.New("no configuration file given")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading configuration: %w", err)
	}
	text := os.Expand(string(raw), func(k string) string { return envEscaper.Replace(os.Getenv(k)) })
	var doc struct {
		Inputs map[string][]toml.Primitive `toml:"inputs"`
	}
	md, err := toml.Decode(text, &doc)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	tables := doc.Inputs[PluginName]
	if len(tables) == 0 {
		return 0, fmt.Errorf("%s: no [[inputs.%s]] table", path, PluginName)
	}
	for name := range doc.Inputs {
		if name != PluginName {
			return 0, fmt.Errorf("%s: unexpected [[inputs.%s]]: this file holds only [[inputs.%s]]", path, name, PluginName)
		}
	}
	for _, t := range tables {
		if err := md.PrimitiveDecode(t, next()); err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	var unknown []string
	for _, k := range md.Undecoded() {
		unknown = append(unknown, k.String())
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return 0, fmt.Errorf("%s: unknown setting(s) %s", path, strings.Join(slices.Compact(unknown), ", "))
	}
	return len(tables), nil
}

// envEscaper escapes substituted values as the shim does (they land in TOML strings).
var envEscaper = strings.NewReplacer(`"`, `\"`, `\`, `\\`)
