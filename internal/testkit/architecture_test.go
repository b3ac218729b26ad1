package testkit_test

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/qliksense-license/qliksense-license/"

// The packages point downward: cmd → the plugin and the sidecar engine → policy and
// evaluation → the site's configuration → the QRS client. Neither binary's package
// imports the other's and nothing imports a command. Each rule lists what a package may
// import from this module (a prefix ending in "/" allows a tree).
func TestPackagesPointDownward(t *testing.T) {
	allowed := map[string][]string{
		"plugins/common/qrs":               {"internal/"},
		"plugins/common/qrs/emulator":      {},
		"plugins/common/siteconfig":        {"plugins/common/qrs"},
		"plugins/common/policy":            {"plugins/common/qrs", "plugins/common/siteconfig"},
		"plugins/common/evaluate":          {"plugins/common/qrs", "plugins/common/policy", "plugins/common/siteconfig"},
		"plugins/common/doctor":            {"plugins/common/qrs", "plugins/common/siteconfig"},
		"plugins/common/notice":            {"plugins/common/qrs", "internal/atomicfile"},
		"plugins/common/rightsize":         {"plugins/common/qrs", "plugins/common/policy", "plugins/common/evaluate", "plugins/common/siteconfig"},
		"plugins/inputs/qliksense_license": {"plugins/common/"},
		"release":                          {"plugins/common/", "internal/"},
		"release/butler":                   {},
		"cmd/qliksense-license":            {"plugins/inputs/qliksense_license"},
		"cmd/qliksense-license-release":    {"release", "release/butler", "plugins/common/"},
		"cmd/qrs-emulator":                 {"plugins/common/qrs/emulator"},
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	for pkg, ok := range allowed {
		p, err := build.ImportDir(filepath.Join(root, pkg), 0)
		require.NoError(t, err, pkg)
		for _, imp := range p.Imports {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			permitted := false
			for _, a := range ok {
				if dep == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(dep, a)) {
					permitted = true
				}
			}
			require.True(t, permitted, "%s imports %s: not downward", pkg, dep)
		}
	}
	// Every package of the module has a rule, but tools, tests and internal helpers.
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." {
			return err
		}
		switch name := d.Name(); {
		case strings.HasPrefix(name, "."), name == "testdata", name == "internal",
			rel == "bin", rel == "dist", rel == "results", rel == "tools", rel == "e2e":
			return filepath.SkipDir
		}
		if _, err := build.ImportDir(path, 0); err == nil {
			_, ruled := allowed[filepath.ToSlash(rel)]
			require.True(t, ruled, "package %s has no import rule in this test", rel)
		}
		return nil
	})
	require.NoError(t, err)
}
