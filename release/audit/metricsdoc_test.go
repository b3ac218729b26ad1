package audit

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// The metrics reference (docs/metrics.md) documents every measurement, tag and field a
// delivered record becomes: an outcome, a run summary and a reload, as deliver writes them.
func TestMetricsReferenceDocumentsEveryField(t *testing.T) {
	b, err := os.ReadFile("../../docs/metrics.md")
	require.NoError(t, err)
	doc := string(b)
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	d := &deliverer{tags: map[string]string{"env": "prod"}}
	records := []auditRecord{
		{Outcome: &Outcome{Time: now, Site: "production", Type: qrs.Analyzer, User: `CORP\anna`, Result: Released, Reason: "inactive", AllocationID: "a1", RunID: "r1"}},
		{Run: &Summary{Time: now, Site: "production", RunID: "r1", Kept: map[policy.Reason]int{policy.ReasonQuarantined: 1}, Errors: []string{"x"}}},
		{Reload: &ReloadStatus{Time: now, Site: "production", Success: false, Error: "release.schedule: bad"}},
	}
	for _, r := range records {
		p := d.point(r)
		require.NotNil(t, p)
		require.Contains(t, doc, "`"+p.Name()+"`", "measurement %s", p.Name())
		for _, tag := range p.TagList() {
			if tag.Key == "env" {
				require.Contains(t, doc, "`output.tags`", "tags of the output")
				continue
			}
			require.Contains(t, doc, "`"+tag.Key+"`", "tag %s of %s", tag.Key, p.Name())
		}
		for _, f := range p.FieldList() {
			key := f.Key
			if strings.HasPrefix(key, "kept_") {
				key = "kept_<reason>"
			}
			require.Contains(t, doc, "`"+key+"`", "field %s of %s", f.Key, p.Name())
		}
	}
}
