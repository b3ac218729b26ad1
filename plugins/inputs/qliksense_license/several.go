package qliksense_license

import (
	"fmt"
	"sync"

	"github.com/influxdata/telegraf"

	"github.com/qliksense-license/qliksense-license/plugins/common/siteconfig"
)

// Several is the plugin of every [[inputs.qliksense_license]] table of one file — Qlik
// Sense sites and Qlik Cloud tenants side by side — run by one execd block: Init and
// Gather go to each. One table behaves exactly as the plugin alone.
type Several struct {
	Plugins []*QlikSenseLicense
	Log     telegraf.Logger `toml:"-"`
}

// LoadConfigs reads every table of a file (siteconfig.LoadAll: as strict as LoadConfig).
// The plugins are not initialised yet.
func LoadConfigs(path string) (*Several, error) {
	cs, err := siteconfig.LoadAll(path)
	if err != nil {
		return nil, err
	}
	s := &Several{}
	for _, c := range cs {
		q := New()
		q.Config = *c
		s.Plugins = append(s.Plugins, q)
	}
	return s, nil
}

// SampleConfig returns the documented configuration.
func (*Several) SampleConfig() string { return sampleConfig }

// Init initialises each plugin (an error names the table's site when the file has
// several) and checks that the tables name different sites.
func (s *Several) Init() error {
	for i, q := range s.Plugins {
		if s.Log != nil {
			q.Log = s.Log
		}
		if err := q.Init(); err != nil {
			if len(s.Plugins) > 1 {
				return fmt.Errorf("table %d (site %q): %w", i+1, q.Site, err)
			}
			return err
		}
	}
	return s.Distinct()
}

// Distinct checks that the tables, validated, name different sites: the site tag, the
// lock and the audit log are per site.
func (s *Several) Distinct() error {
	cs := make([]*siteconfig.Config, 0, len(s.Plugins))
	for _, q := range s.Plugins {
		cs = append(cs, &q.Config)
	}
	return siteconfig.Distinct(cs)
}

// Gather gathers every site and tenant at the same time.
func (s *Several) Gather(acc telegraf.Accumulator) error {
	var wg sync.WaitGroup
	for _, q := range s.Plugins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.Gather(acc); err != nil {
				acc.AddError(err)
			}
		}()
	}
	wg.Wait()
	return nil
}
