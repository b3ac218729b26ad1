package siteconfig

import (
	"errors"
	"fmt"
	"time"

	"github.com/influxdata/telegraf/config"
	commontls "github.com/influxdata/telegraf/plugins/common/tls"

	"github.com/qliksense-license/qliksense-license/plugins/common/forecast"
	"github.com/qliksense-license/qliksense-license/plugins/common/history"
)

// ForecastConfig is [inputs.qliksense_license.forecast]: when to buy more licenses, from
// the history already in InfluxDB (the plugin's qlik_sense_license points, or Butler's).
type ForecastConfig struct {
	// Enabled: the plugin reports qlik_sense_license_forecast.
	Enabled bool `toml:"enabled"`
	// URL of the InfluxDB that holds the history (its v1 /query endpoint: InfluxDB 1.8,
	// and 2.x or 3.x through their compatibility API).
	URL string `toml:"url"`
	// Database and RetentionPolicy of the history (2.x: a DBRP mapping's names; 3.x: the
	// database).
	Database        string `toml:"database"`
	RetentionPolicy string `toml:"retention_policy"`
	// Username and Password (1.8, or 2.x with the token as password), or Token (2.x, 3.x):
	// secrets, "${ENV}" or "@{store:key}".
	Username config.Secret `toml:"username"`
	Password config.Secret `toml:"password"`
	Token    config.Secret `toml:"token"`
	// Measurement of the history (default qlik_sense_license).
	Measurement string `toml:"measurement"`
	// SiteTag is the tag that names the site in the history (default "site"; "" for
	// Butler's points, which have none); Tags more filters, e.g. butler_instance.
	SiteTag *string           `toml:"site_tag"`
	Tags    map[string]string `toml:"tags"`
	// Timeout of the query (default 30s).
	Timeout config.Duration `toml:"timeout"`
	// LookbackDays of history read (default 180; 28 to 3650; 400 or more lets the
	// forecast follow a yearly rhythm).
	LookbackDays int `toml:"lookback_days"`
	// MarginPercent of the pool to keep free (default 10), LeadTimeDays a purchase takes
	// (default 30), HorizonDays seats_to_buy looks ahead (default 365), MinHistoryDays
	// below which no forecast is made (default 28; at least 14: fewer days have too few day
	// pairs for a slope).
	MarginPercent  *float64 `toml:"margin_percent"`
	LeadTimeDays   *int     `toml:"lead_time_days"`
	HorizonDays    int      `toml:"horizon_days"`
	MinHistoryDays int      `toml:"min_history_days"`
	// Refresh: the plugin reads the history again after this long, and reports the last
	// forecast in between (default "24h"; 1m to 7 days).
	Refresh config.Duration `toml:"refresh"`
	// Telegraf's client TLS settings for an https URL, as for QRS (see ClientTLS).
	commontls.ClientConfig
}

// ForecastSettings is the validated forecast configuration.
type ForecastSettings struct {
	Enabled bool
	Params  forecast.Params
	Refresh time.Duration
	// Query selects the site's history (Now is set at each read).
	Query history.Query

	cfg *ForecastConfig
}

// ForecastSettings validates [inputs.qliksense_license.forecast] (absent: off).
func (c *Config) ForecastSettings() (*ForecastSettings, error) {
	fc := c.Forecast
	if fc == nil {
		return &ForecastSettings{Params: forecast.DefaultParams, Refresh: 24 * time.Hour}, nil
	}
	s := &ForecastSettings{Enabled: fc.Enabled, Params: forecast.DefaultParams, Refresh: 24 * time.Hour, cfg: fc}
	if fc.Enabled || fc.URL != "" { // the forecast command reads it also when the plugin does not
		if _, err := checkURL("forecast.url", fc.URL, "http(s)://HOST:PORT of the InfluxDB that holds the history", forecastCredentials, "http", "https"); err != nil {
			return nil, err
		}
	}
	if fc.Enabled {
		if fc.Database == "" {
			return nil, errors.New("forecast.database is required with forecast.enabled (the database of the qlik_sense_license history)")
		}
	}
	between := func(key string, v, lo, hi int) error {
		if v < lo || v > hi {
			return fmt.Errorf("forecast.%s = %d: expected %d to %d", key, v, lo, hi)
		}
		return nil
	}
	days := 180
	if fc.LookbackDays != 0 {
		days = fc.LookbackDays
	}
	if err := between("lookback_days", days, 28, 3650); err != nil {
		return nil, err
	}
	p := &s.Params
	if fc.MarginPercent != nil {
		if m := *fc.MarginPercent; m < 0 || m > 90 {
			return nil, fmt.Errorf("forecast.margin_percent = %g: expected 0 to 90", m)
		}
		p.MarginPercent = *fc.MarginPercent
	}
	if fc.LeadTimeDays != nil {
		if err := between("lead_time_days", *fc.LeadTimeDays, 0, 730); err != nil {
			return nil, err
		}
		p.LeadTimeDays = *fc.LeadTimeDays
	}
	if fc.HorizonDays != 0 {
		if err := between("horizon_days", fc.HorizonDays, 1, 1825); err != nil {
			return nil, err
		}
		p.HorizonDays = fc.HorizonDays
	}
	if fc.MinHistoryDays != 0 {
		if err := between("min_history_days", fc.MinHistoryDays, 14, days); err != nil {
			return nil, err
		}
		p.MinHistoryDays = fc.MinHistoryDays
	}
	if days < p.MinHistoryDays {
		return nil, fmt.Errorf("forecast.lookback_days = %d: expected at least min_history_days (%d)", days, p.MinHistoryDays)
	}
	if r := time.Duration(fc.Refresh); r != 0 {
		if r < time.Minute || r > 7*24*time.Hour {
			return nil, fmt.Errorf("forecast.refresh = %q: expected a duration from 1m to 168h", r)
		}
		s.Refresh = r
	}
	if t := time.Duration(fc.Timeout); t != 0 && (t < time.Second || t > 5*time.Minute) {
		return nil, fmt.Errorf("forecast.timeout = %q: expected a duration from 1s to 5m", t)
	}
	if _, err := ClientTLS(fc.ClientConfig); err != nil {
		return nil, fmt.Errorf("forecast: %w", err)
	}
	siteTag := "site"
	if fc.SiteTag != nil {
		siteTag = *fc.SiteTag
	}
	s.Query = history.Query{Measurement: fc.Measurement, SiteTag: siteTag, Site: c.Site, Tags: fc.Tags, Days: days}
	return s, nil
}

// HistoryClient builds the client of the history, reading its secrets now: build it for a
// read, and drop it after.
func (s *ForecastSettings) HistoryClient() (*history.Client, error) {
	fc := s.cfg
	if fc == nil {
		return nil, errors.New("no [inputs.qliksense_license.forecast] table: it says where the history is (url, database)")
	}
	tlsCfg, err := ClientTLS(fc.ClientConfig)
	if err != nil {
		return nil, fmt.Errorf("forecast: %w", err)
	}
	c := &history.Client{URL: fc.URL, Database: fc.Database, RetentionPolicy: fc.RetentionPolicy, TLS: tlsCfg,
		Timeout: time.Duration(fc.Timeout)}
	for _, sec := range []struct {
		key string
		s   *config.Secret
		dst *string
	}{{"username", &fc.Username, &c.Username}, {"password", &fc.Password, &c.Password}, {"token", &fc.Token, &c.Token}} {
		if sec.s.Empty() {
			continue
		}
		buf, err := sec.s.Get()
		if err != nil {
			return nil, fmt.Errorf("reading forecast.%s: %w", sec.key, err)
		}
		*sec.dst = buf.String()
		buf.Destroy()
	}
	return c, nil
}
