// Package docs_test keeps the documentation in step with the repository: README.md is the
// front door (short, linking every page of docs/), every relative link and #anchor of
// README.md and docs/*.md resolves, every key the configuration loader accepts is in
// docs/configuration.md, and the README's configuration examples load.
package docs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

const root = "../.."

// pages are the documentation files the links are checked in: README.md, docs/*.md and
// the plugin's README (the metrics reference, where Telegraf's plugins keep theirs).
func pages(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, docs)
	return append([]string{filepath.Join(root, "README.md"), filepath.Join(root, "plugins", "inputs", "qliksense_license", "README.md")}, docs...)
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// prose returns the lines of a Markdown text outside fenced code blocks, with inline code
// spans blanked (a link or heading inside code is no link or heading).
func prose(text string) []string {
	var out []string
	fence := ""
	for _, ln := range strings.Split(text, "\n") {
		trimmed := strings.TrimLeft(ln, " ")
		if fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")) {
			fence = trimmed[:3]
			out = append(out, "")
			continue
		}
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			out = append(out, "")
			continue
		}
		out = append(out, ln)
	}
	return out
}

var (
	inlineCode = regexp.MustCompile("`[^`]*`")
	link       = regexp.MustCompile(`!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^()\s]*)\)`)
	heading    = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
)

// slug is GitHub's anchor of a heading: the rendered text in lower case, every character
// that is not a letter, a digit, a space, '-' or '_' dropped, spaces turned into '-'.
func slug(text string) string {
	text = link.ReplaceAllString(text, "$1") // a link in a heading anchors on its text
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// anchors lists the anchors of a Markdown file's headings, a repeated one numbered -1, -2 …
// as GitHub does.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, ln := range prose(text) {
		m := heading.FindStringSubmatch(ln)
		if m == nil {
			continue
		}
		s := slug(m[2])
		if n := seen[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

func TestSlugFollowsGitHub(t *testing.T) {
	require.Equal(t, "releasing-unused-allocations-qliksense-license-release", slug("Releasing unused allocations: `qliksense-license-release`"))
	require.Equal(t, "when-to-buy-more-licenses-inputsqliksense_licenseforecast", slug("When to buy more licenses: `[inputs.qliksense_license.forecast]`"))
	require.Equal(t, "the-sidecars-measurements", slug("The sidecar's measurements"))
	require.Equal(t, "try-it-make-demo-make-ci", slug("Try it: `make demo`, `make ci`"))
	got := anchors("# A\n## B\n```\n# not a heading\n```\n## B\n### B\n")
	require.Equal(t, map[string]bool{"a": true, "b": true, "b-1": true, "b-2": true}, got)
}

// links returns the targets of a file's Markdown links and images (inline code and code
// blocks excluded), with the line each is on.
func links(text string) map[string][]int {
	out := map[string][]int{}
	for i, ln := range prose(text) {
		ln = inlineCode.ReplaceAllString(ln, "``")
		for _, m := range link.FindAllStringSubmatch(ln, -1) {
			out[m[2]] = append(out[m[2]], i+1)
		}
	}
	return out
}

// Every relative link of README.md, docs/*.md and the plugin's README names a file or
// folder of the repository, and every #anchor a heading of the Markdown file it points into.
func TestLinksResolve(t *testing.T) {
	checked := 0
	for _, page := range pages(t) {
		text := read(t, page)
		for target, lines := range links(text) {
			where := fmt.Sprintf("%s:%v: %s", page, lines, target)
			if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			require.NotEmpty(t, target, where)
			path, anchor, _ := strings.Cut(target, "#")
			file := page
			if path != "" {
				require.False(t, filepath.IsAbs(path), "%s: a link must be relative", where)
				file = filepath.Join(filepath.Dir(page), filepath.FromSlash(path))
				rel, err := filepath.Rel(root, file)
				require.NoError(t, err)
				require.False(t, strings.HasPrefix(rel, ".."), "%s: leaves the repository", where)
				_, err = os.Stat(file)
				require.NoError(t, err, "%s: no such file", where)
			}
			if anchor != "" {
				require.True(t, strings.HasSuffix(file, ".md"), "%s: an anchor into a file that is not Markdown", where)
				require.True(t, anchors(read(t, file))[anchor], "%s: no heading of %s has the anchor #%s", where, file, anchor)
			}
			checked++
		}
	}
	require.Greater(t, checked, 50, "the links were found")
}

// The README is the front door: short, and linking every page of docs/.
func TestReadmeIsAFrontDoor(t *testing.T) {
	readme := read(t, filepath.Join(root, "README.md"))
	lines := strings.Count(readme, "\n")
	require.LessOrEqual(t, lines, 250, "README.md has %d lines: move the detail to a page of docs/", lines)
	linked := links(readme)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	for _, page := range docs {
		name := "docs/" + filepath.Base(page)
		require.Contains(t, linked, name, "README.md links no %s", name)
		first := strings.SplitN(read(t, page), "\n", 4)
		require.True(t, strings.HasPrefix(first[0], "# "), "%s starts with its title", name)
		require.True(t, len(first) > 2 && first[1] == "" && first[2] != "", "%s: the title is followed by a line saying what the page covers", name)
		titles := 0
		for _, ln := range prose(read(t, page)) {
			if strings.HasPrefix(ln, "# ") {
				titles++
			}
		}
		require.Equal(t, 1, titles, "%s has one title: its other headings are ## and below", name)
	}
	require.Contains(t, readme, "make demo")
	require.Contains(t, readme, "make ci")
	require.Contains(t, linked, "docs/images/report.png")
}

// key is one configuration key: its table ("" for [[inputs.qliksense_license]] itself,
// "release.mail" for [inputs.qliksense_license.release.mail]) and its name.
type key struct{ table, name string }

// keys walks a configuration struct by reflection as the TOML decoder does: a field's
// toml tag is its key, an embedded struct without a tag adds its keys to the table (the
// policy, Telegraf's TLS settings), and a struct (or pointer to one) is a table of its own.
func keys(t reflect.Type, table string) []key {
	var out []key
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == "-" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && tag == "" && ft.Kind() == reflect.Struct {
			out = append(out, keys(ft, table)...)
			continue
		}
		if tag == "" {
			continue
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() != "time" && !strings.HasSuffix(ft.PkgPath(), "telegraf/config") {
			sub := tag
			if table != "" {
				sub = table + "." + tag
			}
			out = append(out, keys(ft, sub)...)
			continue
		}
		out = append(out, key{table, tag})
	}
	return out
}

// sections splits a Markdown file at its "## " headings.
func sections(text string) map[string]string {
	out := map[string]string{}
	current := ""
	for _, ln := range strings.Split(text, "\n") {
		if strings.HasPrefix(ln, "## ") {
			current = ln
		}
		out[current] += ln + "\n"
	}
	return out
}

// Every key the loader accepts is documented in docs/configuration.md, in the section of
// its table (a section whose heading names the table); a sub-table's key on a line that
// names the sub-table ("`mail` table: `host`, `port`").
func TestEveryConfigurationKeyIsDocumented(t *testing.T) {
	all := keys(reflect.TypeOf(siteconfig.Config{}), "")
	require.Greater(t, len(all), 80, "the keys were found")
	has := map[key]bool{}
	for _, k := range all {
		has[k] = true
	}
	for _, k := range []key{{"", "server"}, {"", "tls_enable"}, {"release", "dry_run"}, {"release.analyzer", "notice_days"},
		{"release.protect", "roles"}, {"release.mail", "tls_ca"}, {"release.output", "tags"}, {"forecast", "site_tag"}, {"report", "chart_days"}, {"rightsize", "max_moves_per_run"}} {
		require.True(t, has[k], "the walk finds %v", k)
	}
	secs := sections(read(t, filepath.Join(root, "docs", "configuration.md")))
	section := func(table string) string {
		name := "`[[inputs.qliksense_license]]`"
		if table != "" {
			top, _, _ := strings.Cut(table, ".")
			name = "`[inputs.qliksense_license." + top + "]`"
		}
		for h, body := range secs {
			if strings.HasPrefix(h, "## ") && strings.Contains(h, name) {
				return body
			}
		}
		t.Fatalf("docs/configuration.md has no section whose heading names %s", name)
		return ""
	}
	for _, k := range all {
		body := section(k.table)
		require.Contains(t, body, "`"+k.name+"`", "docs/configuration.md documents key %q of table %q", k.name, k.table)
		if _, sub, ok := strings.Cut(k.table, "."); ok { // a sub-table's keys: on a line that names it
			found := false
			for _, ln := range strings.Split(body, "\n") {
				named := strings.Contains(ln, "`"+k.name+"`")
				for _, part := range strings.Split(sub, ".") {
					named = named && strings.Contains(ln, "`"+part+"`")
				}
				found = found || named
			}
			require.True(t, found, "docs/configuration.md documents key %q of table %q on a line naming the table", k.name, k.table)
		}
	}
}

// The README's configuration examples are what the loader takes: each toml block holding
// an [[inputs.qliksense_license]] table loads strictly and validates; the release table
// shown alone loads under the site's table; the execd block is telegraf.conf.example's.
func TestReadmeConfigurationsLoad(t *testing.T) {
	readme := read(t, filepath.Join(root, "README.md"))
	blocks := regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllStringSubmatch(readme, -1)
	var site string
	loaded := 0
	for _, b := range blocks {
		text := b[1]
		switch {
		case strings.Contains(text, "[[inputs.execd]]"):
			require.Equal(t, settings(read(t, filepath.Join(root, "telegraf.conf.example"))), settings(text), "the README's execd block is telegraf.conf.example's")
			continue
		case strings.HasPrefix(strings.TrimSpace(text), "[inputs.qliksense_license.release]"):
			require.NotEmpty(t, site, "the release example follows a site's table")
			text = site + text
		case strings.Contains(text, "server = "):
			site = text
		}
		t.Setenv("QLIK_API_KEY", "a-key")
		path := filepath.Join(t.TempDir(), "site.conf")
		require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
		cs, err := siteconfig.LoadAll(path)
		require.NoError(t, err, text)
		require.Len(t, cs, 1)
		require.NoError(t, cs[0].Validate(), text)
		if strings.Contains(text, "[inputs.qliksense_license.release]") {
			require.NotNil(t, cs[0].Release, text)
			require.True(t, cs[0].Release.Analyzer.Enabled, text)
		}
		loaded++
	}
	require.Equal(t, 3, loaded, "a site, a tenant and a release table")
}

// settings are a TOML text's lines without comments, blank lines and indentation.
func settings(text string) []string {
	var out []string
	for _, ln := range strings.Split(text, "\n") {
		ln = strings.TrimSpace(ln)
		if ln != "" && !strings.HasPrefix(ln, "#") {
			out = append(out, ln)
		}
	}
	return out
}
