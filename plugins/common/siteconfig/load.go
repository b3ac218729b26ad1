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
	if path == "" {
		return errors.New("no configuration file given")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading configuration: %w", err)
	}
	text := os.Expand(string(raw), func(k string) string { return envEscaper.Replace(os.Getenv(k)) })
	var doc struct {
		Inputs map[string][]toml.Primitive `toml:"inputs"`
	}
	md, err := toml.Decode(text, &doc)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tables := doc.Inputs[PluginName]
	switch {
	case len(tables) == 0:
		return fmt.Errorf("%s: no [[inputs.%s]] table", path, PluginName)
	case len(tables) > 1:
		return fmt.Errorf("%s: %d [[inputs.%s]] tables: one file is one site (run one execd block and one file per site)", path, len(tables), PluginName)
	}
	for name := range doc.Inputs {
		if name != PluginName {
			return fmt.Errorf("%s: unexpected [[inputs.%s]]: this file holds only [[inputs.%s]]", path, name, PluginName)
		}
	}
	if err := md.PrimitiveDecode(tables[0], c); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var unknown []string
	for _, k := range md.Undecoded() {
		unknown = append(unknown, k.String())
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("%s: unknown setting(s) %s", path, strings.Join(unknown, ", "))
	}
	return nil
}

// envEscaper escapes substituted values as the shim does (they land in TOML strings).
var envEscaper = strings.NewReplacer(`"`, `\"`, `\`, `\\`)
