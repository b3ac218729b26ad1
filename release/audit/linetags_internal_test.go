package audit

import (
	"testing"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/write"
	"github.com/influxdata/telegraf/plugins/parsers/influx"
	"github.com/stretchr/testify/require"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Every delivered record is valid line protocol, whatever its tags hold: a holder whose
// name ends in a backslash (a Qlik Cloud subject is any string) or a tag left empty
// would otherwise make InfluxDB reject the whole
// batch, which the spool sends again at every delivery, never getting past it.
func TestDeliveredOutcomeIsValidLineProtocol(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	d := &deliverer{tags: map[string]string{"env": "prod"}}
	for _, o := range []Outcome{
		{Time: now, Site: "tenant", Type: qrs.Analyzer, User: `auth0|x\`, Result: Released, Reason: "inactive", AllocationID: `auth0|x\`, RunID: "r1"},
		{Time: now, Site: "tenant", Type: qrs.Professional, User: "", Result: Failed, Reason: "answer_lost", AllocationID: "anna", RunID: "r1"},
	} {
		line := write.PointToLineProtocol(d.point(auditRecord{Outcome: &o}), time.Nanosecond)
		p := &influx.Parser{}
		require.NoError(t, p.Init())
		ms, err := p.Parse([]byte(line))
		require.NoError(t, err, line)
		require.Len(t, ms, 1)
		require.Equal(t, o.AllocationID, ms[0].Fields()["allocation_id"], "the field keeps the id whole")
		require.Equal(t, "prod", ms[0].Tags()["env"])
		require.Equal(t, string(o.Type.LicenseType()), ms[0].Tags()["license_type"])
	}
}
