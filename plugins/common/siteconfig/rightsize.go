package siteconfig

import (
	"fmt"
	"time"

	"github.com/influxdata/telegraf/config"
)

// RightsizeConfig is [inputs.qliksense_license.rightsize]: professional holders who only
// consume, shown by the plugin and the sidecar's rightsize command and, on request, moved
// to analyzer access by the sidecar.
type RightsizeConfig struct {
	// Enabled: the plugin reports qlik_sense_license_rightsizing.
	Enabled bool `toml:"enabled"`
	// LookbackDays: authoring within this many days keeps professional access (default 90;
	// 7 to 3650).
	LookbackDays int `toml:"lookback_days"`
	// Refresh: the plugin reads the authoring evidence again after this long, and reports
	// the last result in between (default "6h"; 1m to 7 days).
	Refresh config.Duration `toml:"refresh"`
	// MoveToAnalyzer: sidecar runs give candidates analyzer access, then release their
	// professional allocation. Default false.
	MoveToAnalyzer bool `toml:"move_to_analyzer"`
	// DryRun: report the moves, change nothing (default true).
	DryRun *bool `toml:"dry_run"`
	// MaxMovesPerRun caps the moves of one run (default 10; 1 to 10000).
	MaxMovesPerRun int `toml:"max_moves_per_run"`
}

// RightsizeSettings is the validated right-sizing settings.
type RightsizeSettings struct {
	Enabled        bool
	LookbackDays   int
	Refresh        time.Duration
	MoveToAnalyzer bool
	DryRun         bool
	MaxMovesPerRun int
}

// RightsizeSettings validates [inputs.qliksense_license.rightsize] (absent: defaults,
// reporting off).
func (c *Config) RightsizeSettings() (*RightsizeSettings, error) {
	r := RightsizeSettings{LookbackDays: 90, Refresh: 6 * time.Hour, DryRun: true, MaxMovesPerRun: 10}
	rc := c.Rightsize
	if rc == nil {
		return &r, nil
	}
	r.Enabled, r.MoveToAnalyzer = rc.Enabled, rc.MoveToAnalyzer
	if rc.LookbackDays != 0 {
		r.LookbackDays = rc.LookbackDays
	}
	if r.LookbackDays < 7 || r.LookbackDays > 3650 {
		return nil, fmt.Errorf("rightsize.lookback_days = %d: expected 7 to 3650", rc.LookbackDays)
	}
	if rc.Refresh != 0 {
		r.Refresh = time.Duration(rc.Refresh)
	}
	if r.Refresh < time.Minute || r.Refresh > 7*24*time.Hour {
		return nil, fmt.Errorf("rightsize.refresh = %q: expected a duration from 1m to 168h", r.Refresh)
	}
	if rc.DryRun != nil {
		r.DryRun = *rc.DryRun
	}
	if rc.MaxMovesPerRun != 0 {
		r.MaxMovesPerRun = rc.MaxMovesPerRun
	}
	if r.MaxMovesPerRun < 1 || r.MaxMovesPerRun > 10000 {
		return nil, fmt.Errorf("rightsize.max_moves_per_run = %d: expected 1 to 10000", rc.MaxMovesPerRun)
	}
	return &r, nil
}
