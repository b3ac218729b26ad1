// Package architecture_test holds the module's import rules: the package list, top to
// bottom, is the way a configuration file goes to a DELETE, and a package's folder tells
// what it may import.
package architecture_test

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/qliksense-license/qliksense-license/"

// runtime is what internal/ offers to production code: small helpers with no knowledge of
// QRS or the sidecar. internal/testkit (the test scaffold: the emulator on TLS, a real
// SMTP server, goleak) is for tests, tools/ and e2e/ only; internal/qrsspec (the committed
// QRS specification subset) for the emulator's and the client's conformance tests.
var runtime = []string{"internal/atomicfile", "internal/ctxsleep", "internal/filelock", "internal/redact", "internal/stopping"}

// rules lists, for each package, what it may import from this module (a prefix ending in
// "/" allows a tree). From the top: the commands; the Telegraf plugin and the sidecar's
// orchestration; the sidecar's jobs (moves, notices, plan, the audit trail, reports); the
// site's configuration and the connection doctor; the rules (policy, evaluation,
// right-sizing, notice stages); the QRS client. Neither binary's package imports the
// other's, nothing imports a command, and the doctor is the commands' alone.
var rules = map[string][]string{
	"cmd/qliksense-license":         {"plugins/inputs/qliksense_license", "plugins/common/doctor"},
	"cmd/qliksense-license-release": {"release", "release/", "plugins/common/"},
	"cmd/qrs-emulator":              {"emulators/qrs", "emulators/emucmd"},
	"cmd/qlik-cloud-emulator":       {"emulators/qcloud", "emulators/emucmd"},
	"plugins/inputs/qliksense_license": {"plugins/common/siteconfig", "plugins/common/policy", "plugins/common/evaluate", "plugins/common/rightsize", "plugins/common/notice",
		"plugins/common/forecast", "plugins/common/qrs", "plugins/common/qcloud"},
	"release": {"release/moves", "release/notices", "release/plan", "release/audit", "release/ownerreport", "release/source", "release/source/qrssource", "release/source/cloudsource",
		"plugins/common/siteconfig", "plugins/common/policy", "plugins/common/notice", "plugins/common/qrs", "plugins/common/qcloud",
		"internal/atomicfile", "internal/ctxsleep", "internal/filelock", "internal/stopping"},
	// The license sources: the interface the engine stands on, and its two implementations
	// side by side (neither imports the other, nor the engine).
	"release/source":             {"release/plan", "release/audit", "plugins/common/policy", "plugins/common/qrs"},
	"release/source/qrssource":   {"release/source", "release/plan", "release/audit", "plugins/common/policy", "plugins/common/qrs"},
	"release/source/memsource":   {"release/source", "release/plan", "release/audit", "plugins/common/policy", "plugins/common/evaluate", "plugins/common/qrs"},
	"release/source/sourcetest":  {"release/source", "release/plan", "release/audit", "plugins/common/policy"},
	"release/source/cloudsource": {"release/source", "release/plan", "release/audit", "plugins/common/policy", "plugins/common/evaluate", "plugins/common/qcloud", "plugins/common/qrs", "internal/atomicfile"},
	"release/moves":              {"release/audit", "plugins/common/siteconfig", "plugins/common/policy", "plugins/common/rightsize", "plugins/common/qrs", "internal/atomicfile", "internal/stopping"},
	"release/notices": {"release/plan", "release/audit", "plugins/common/siteconfig", "plugins/common/policy", "plugins/common/evaluate",
		"plugins/common/notice", "plugins/common/qrs", "internal/ctxsleep", "internal/stopping"},
	"release/plan":   {"release/audit", "plugins/common/policy", "plugins/common/evaluate", "plugins/common/qrs"},
	"release/report": {"release/plan", "plugins/common/policy", "plugins/common/rightsize", "plugins/common/forecast", "plugins/common/qrs"},
	"release/ownerreport": {"release/report", "release/plan", "release/audit", "plugins/common/policy", "plugins/common/rightsize", "plugins/common/forecast",
		"plugins/common/qrs"},
	"release/audit":              {"plugins/common/siteconfig", "plugins/common/policy", "plugins/common/qrs", "internal/atomicfile", "internal/ctxsleep", "internal/filelock"},
	"release/butler":             {},
	"plugins/common/doctor":      {"plugins/common/siteconfig", "plugins/common/qrs", "plugins/common/qcloud"},
	"plugins/common/siteconfig":  {"plugins/common/policy", "plugins/common/history", "plugins/common/forecast", "plugins/common/qrs", "plugins/common/qcloud", "internal/redact"},
	"plugins/common/history":     {"plugins/common/forecast", "internal/redact"},
	"plugins/common/forecast":    {},
	"plugins/common/rightsize":   {"plugins/common/policy", "plugins/common/qrs"},
	"plugins/common/evaluate":    {"plugins/common/policy", "plugins/common/qrs", "plugins/common/qcloud"},
	"plugins/common/notice":      {"plugins/common/qrs", "internal/atomicfile"},
	"plugins/common/policy":      {"plugins/common/qrs"},
	"plugins/common/qrs":         {"internal/ctxsleep", "internal/redact"},
	"plugins/common/qcloud":      {"internal/ctxsleep"},
	"emulators/qrs":              {"emulators/internal/emukit"},
	"emulators/qcloud":           {"emulators/internal/emukit"},
	"internal/qrsspec":           {},
	"internal/qrsspec/gensubset": {"emulators/qrs", "internal/qrsspec"},
	"internal/atomicfile":        {},
	"internal/ctxsleep":          {},
	"internal/filelock":          {},
	"internal/redact":            {},
	"internal/stopping":          {},
	"internal/testkit":           {"plugins/common/qrs", "emulators/qrs", "plugins/common/siteconfig"},
	// internal/docs is tests only (the documentation against the code): it ships nothing.
	"internal/docs": {},
	// The emulators' shared mechanics (request log, fault queue and draw, listener settings,
	// test certificates) and their commands' shared flags and serving: neither knows QRS or
	// Qlik Cloud, so neither imports anything of ours.
	"emulators/internal/emukit": {},
	"emulators/emucmd":          {},
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	return root
}

func ours(imports []string) []string {
	var out []string
	for _, imp := range imports {
		if dep, ok := strings.CutPrefix(imp, module); ok {
			out = append(out, dep)
		}
	}
	return out
}

// Each package imports only what its rule allows; every package of the module has a rule
// (but tools/ and e2e/, which may use anything, the test scaffold included).
func TestPackagesPointDownward(t *testing.T) {
	root := moduleRoot(t)
	for pkg, ok := range rules {
		p, err := build.ImportDir(filepath.Join(root, pkg), 0)
		require.NoError(t, err, pkg)
		for _, dep := range ours(p.Imports) {
			permitted := false
			for _, a := range ok {
				if dep == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(dep, a)) {
					permitted = true
				}
			}
			require.True(t, permitted, "%s imports %s: not downward", pkg, dep)
		}
		if strings.HasPrefix(pkg, "internal/") && pkg != "internal/testkit" && !strings.HasPrefix(pkg, "internal/qrsspec") && len(p.GoFiles) > 0 {
			require.Contains(t, runtime, pkg, "%s is not a runtime helper production code may use", pkg)
		}
	}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." {
			return err
		}
		switch name := d.Name(); {
		case strings.HasPrefix(name, "."), name == "testdata", rel == "bin", rel == "dist", rel == "results", rel == "tools", rel == "e2e",
			rel == filepath.Join("internal", "architecture"):
			return filepath.SkipDir
		}
		if _, err := build.ImportDir(path, 0); err == nil {
			_, ruled := rules[filepath.ToSlash(rel)]
			require.True(t, ruled, "package %s has no import rule in this test", rel)
		}
		return nil
	})
	require.NoError(t, err)
}

// The shipped binaries hold no test code: neither the test scaffold nor the testing
// package is among their dependencies, however deep.
func TestBinariesHoldNoTestCode(t *testing.T) {
	root := moduleRoot(t)
	for _, cmd := range []string{"cmd/qliksense-license", "cmd/qliksense-license-release", "cmd/qrs-emulator"} {
		seen := map[string]bool{}
		var walk func(pkg string)
		walk = func(pkg string) {
			if seen[pkg] {
				return
			}
			seen[pkg] = true
			p, err := build.ImportDir(filepath.Join(root, pkg), 0)
			require.NoError(t, err, pkg)
			require.NotContains(t, p.Imports, "testing", "%s (in %s) imports testing", pkg, cmd)
			for _, dep := range ours(p.Imports) {
				require.NotEqual(t, "internal/testkit", dep, "%s (in %s) imports the test scaffold", pkg, cmd)
				walk(dep)
			}
		}
		walk(cmd)
		require.True(t, seen["plugins/common/qrs"] || seen["emulators/qrs"], "%s was walked down to the QRS client", cmd)
	}
}

// No file of production code is over 500 lines (node_exporter's one job per file): a
// file that grows past it holds two jobs.
func TestNoProductionFileOver500Lines(t *testing.T) {
	root := moduleRoot(t)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "bin" || name == "testdata" || name == "node_modules" || name == "results") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		require.LessOrEqual(t, strings.Count(string(b), "\n"), 500, "%s: over 500 lines; split it by job", rel)
		return nil
	})
	require.NoError(t, err)
}
