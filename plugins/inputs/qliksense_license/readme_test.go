package qliksense_license_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/inputs/qliksense_license"
)

// The README documents every measurement, tag and field the plugin writes (read from the
// golden outputs, which the real plugin produced), and carries sample.conf verbatim.
func TestReadmeDocumentsEveryMetric(t *testing.T) {
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(b)
	cases, err := filepath.Glob("testdata/testcases/*/expected.out")
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, path := range cases {
		for _, m := range parseLines(t, path) {
			require.Contains(t, readme, "`"+m.Name()+"`", path)
			for _, tag := range m.TagList() {
				require.Contains(t, readme, "`"+tag.Key+"`", "tag %s of %s", tag.Key, m.Name())
			}
			for _, f := range m.FieldList() {
				if strings.HasPrefix(f.Key, "days_") && f.Key != "days_until_expiry" && f.Key != "days_since_last_use" {
					continue // bucket names follow inactivity_buckets
				}
				require.Contains(t, readme, "`"+f.Key+"`", "field %s of %s", f.Key, m.Name())
			}
		}
	}
	start := strings.Index(readme, "```toml @sample.conf\n")
	require.GreaterOrEqual(t, start, 0)
	rest := readme[start+len("```toml @sample.conf\n"):]
	require.Equal(t, qliksense_license.New().SampleConfig(), rest[:strings.Index(rest, "```")])
}
