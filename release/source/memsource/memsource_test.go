package memsource_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/release/source"
	"github.com/qliksense-license/qliksense-license/release/source/memsource"
	"github.com/qliksense-license/qliksense-license/release/source/sourcetest"
)

// The in-memory source passes the conformance suite the real sources pass.
func TestConformance(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	var hs []memsource.Holder
	for _, id := range []string{"a", "b", "c", "d"} {
		hs = append(hs, memsource.Holder{Key: source.Key{Type: qrs.Professional, ID: id}, Created: now.AddDate(0, 0, -90)})
	}
	hs = append(hs, memsource.Holder{Key: source.Key{Type: qrs.Professional, ID: "used"}, Created: now.AddDate(0, 0, -90), LastUsed: now.Add(-time.Hour)})
	src := memsource.New(hs...)
	var next *memsource.Behaviour
	src.Script = func(int) memsource.Behaviour {
		if next == nil {
			return memsource.Done
		}
		b := *next
		next = nil
		return b
	}
	pol, err := policy.CompileTenant(&policy.Config{DryRun: new(bool), Professional: policy.TypeConfig{Enabled: true, InactiveDays: 30}})
	require.NoError(t, err)
	sourcetest.Run(t, sourcetest.Harness{Source: src, Policy: pol, Now: now, Present: src.Present, Requests: src.Requests,
		Fail: func(after bool) {
			b := memsource.FailBefore
			if after {
				b = memsource.FailAfter
			}
			next = &b
		}})
}
