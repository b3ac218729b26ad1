package qliksense_license

import "time"

// SetNow fixes the plugin's clock (tests compare against an emulator with a fixed clock).
func (q *QlikSenseLicense) SetNow(now func() time.Time) { q.now = now }
