package qliksense_license

import "time"

// SetNow fixes the plugin's clock (tests compare against an emulator with a fixed clock).
func (q *QlikSenseLicense) SetNow(now func() time.Time) { q.now = now }

// SetTenantClient replaces the Qlik Cloud client Init built (tests read an in-memory
// tenant through it).
func (q *QlikSenseLicense) SetTenantClient(c TenantClient) { q.source = &tenantSource{q: q, c: c} }

// TenantClient is what a tenant's gather reads.
type TenantClient = tenantClient
