package qliksense_license

import (
	_ "embed"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/inputs"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
	"github.com/qliksense-license/qliksense-license/plugins/common/policy"
	"github.com/qliksense-license/qliksense-license/plugins/common/qcloud"
	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
	"github.com/qliksense-license/qliksense-license/plugins/common/rightsize"
	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

//go:embed sample.conf
var sampleConfig string

// PluginName is the plugin's name in [[inputs.NAME]].
const PluginName = siteconfig.PluginName

// QlikSenseLicense is the Telegraf input of one Qlik Sense site: its configuration (the
// site's table, shared with the release sidecar), the QRS client and the compiled release
// policy.
type QlikSenseLicense struct {
	siteconfig.Config

	Log telegraf.Logger `toml:"-"`

	client    *qrs.Client    // a site's
	tenant    *qcloud.Client // a tenant's
	source    source         // what Gather reads: the site, or the tenant
	policy    *policy.Policy
	now       func() time.Time
	rightsize *siteconfig.RightsizeSettings
	sized     *rightsize.Result // the last right-sizing pass, reported until Refresh passes
	sizedAt   time.Time
	forecast  *siteconfig.ForecastSettings
	// forecasts: the last forecast by license_type, reported until forecast.refresh passes.
	forecasts  map[string]forecast.Result
	forecastAt time.Time
}

// SampleConfig returns the documented configuration.
func (*QlikSenseLicense) SampleConfig() string { return sampleConfig }

// New returns a plugin with its defaults, as inputs.Add registers it.
func New() *QlikSenseLicense {
	return &QlikSenseLicense{Config: siteconfig.Defaults(), now: time.Now}
}

// LoadConfig reads a site's configuration file (siteconfig.Load: the shim's way, and
// strict). The returned plugin is not initialised yet.
func LoadConfig(path string) (*QlikSenseLicense, error) {
	q := New()
	if err := siteconfig.Load(path, &q.Config); err != nil {
		return nil, err
	}
	return q, nil
}

func init() {
	inputs.Add(PluginName, func() telegraf.Input { return New() })
}

// Init validates every setting, compiles the release policy and builds the client of the
// site (QRS) or the tenant (Qlik Cloud). It does not contact either.
func (q *QlikSenseLicense) Init() error {
	if err := q.Validate(); err != nil {
		return err
	}
	p, err := q.CompilePolicy()
	if err != nil {
		return err
	}
	q.policy = p
	rs, err := q.RightsizeSettings()
	if err != nil {
		return err
	}
	q.rightsize = rs
	if q.forecast, err = q.ForecastSettings(); err != nil {
		return err
	}
	var warn siteconfig.Warnf
	if q.Log != nil {
		warn = q.Log.Warnf
	}
	if q.now == nil {
		q.now = time.Now
	}
	if q.IsTenant() {
		client, err := q.NewTenantClient(warn)
		if err != nil {
			return err
		}
		q.tenant = client
		q.source = &tenantSource{q: q, c: client}
		return nil
	}
	client, err := q.NewClient(warn)
	if err != nil {
		return err
	}
	q.client = client
	q.source = siteSource{q: q}
	return nil
}

// TenantClient returns the Qlik Cloud client Init built for a tenant (nil for a site).
func (q *QlikSenseLicense) TenantClient() *qcloud.Client { return q.tenant }

// Client returns the QRS client built by Init (nil for a tenant).
func (q *QlikSenseLicense) Client() *qrs.Client { return q.client }

// Policy returns the compiled release policy, or nil when the table has none.
func (q *QlikSenseLicense) Policy() *policy.Policy { return q.policy }
