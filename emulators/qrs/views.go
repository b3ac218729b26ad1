package emulator

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// privilegeList is what ?privileges=true adds to each entity. The real action names are
// not documented (qrs-api.md §3.5); these are the ones the QMC shows.
var privilegeList = []string{"create", "read", "update", "delete"}

// privileges is the privileges array of an entity: the acting user's rights when the
// request asked for them (?privileges=true), else null.
func privileges(rights *[]string) *[]string {
	if rights == nil {
		return nil
	}
	p := append([]string(nil), (*rights)...)
	return &p
}

// SetRights limits what the acting user (DIRECTORY\id, as X-Qlik-User or a proxy names
// it) may do: the privileges it is shown, and DELETE, refused with 403 without "delete".
// Without a call a user has every right in privilegeList, as sa_repository does.
func (s *Site) SetRights(user string, rights []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rights == nil {
		s.rights = map[string][]string{}
	}
	s.rights[strings.ToLower(user)] = append([]string(nil), rights...)
}

// rightsOf returns the acting user's rights.
func (s *Site) rightsOf(user string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r, ok := s.rights[strings.ToLower(user)]; ok {
		return r
	}
	return privilegeList
}

func (s *Site) wireUserCondensed(u *User, priv *[]string) *wireUserCondensed {
	if u == nil {
		return nil
	}
	return &wireUserCondensed{
		ID:                         u.ID,
		UserID:                     u.UserID,
		UserDirectory:              u.UserDirectory,
		UserDirectoryConnectorName: u.UserDirectory,
		Name:                       u.Name,
		Privileges:                 privileges(priv),
	}
}

// lastUsedOnWire is what QRS writes as lastUsed: the sentinel for a never-used allocation,
// or its createdDate when the site is configured that way.
func (s *Site) lastUsedOnWire(a *Allocation) time.Time {
	if a.LastUsed.IsZero() && s.behaviour.NeverUsedAsCreated {
		return a.Created
	}
	return a.LastUsed
}

func (s *Site) wireAllocation(a *Allocation, priv *[]string) wireAllocation {
	w := wireAllocation{
		ID:                   a.ID,
		CreatedDate:          wireTime(a.Created),
		ModifiedDate:         wireTime(a.Modified),
		ModifiedByUserName:   a.ModifiedBy,
		User:                 s.wireUserCondensed(s.userIdx[strings.ToLower(a.UserRef)], priv),
		LastUsed:             wireTime(s.lastUsedOnWire(a)),
		Quarantined:          a.Quarantined,
		QuarantineEnd:        wireTime(a.QuarantineEnd),
		DeletedUserID:        a.DeletedUserID,
		DeletedUserDirectory: a.DeletedUserDirectory,
		Privileges:           privileges(priv),
		SchemaPath:           a.Kind.schemaPath(),
	}
	if a.Kind != KindUser {
		excess := a.Excess
		w.Excess = &excess
	}
	return w
}

func (s *Site) wireUser(u *User, priv *[]string) wireUser {
	w := wireUser{
		ID:                         u.ID,
		CreatedDate:                wireTime(u.Created),
		ModifiedDate:               wireTime(u.Modified),
		ModifiedByUserName:         u.ModifiedBy,
		CustomProperties:           []wireCustomPropertyValue{},
		UserID:                     u.UserID,
		UserDirectory:              u.UserDirectory,
		UserDirectoryConnectorName: u.UserDirectory,
		Name:                       u.Name,
		Roles:                      append([]string{}, u.Roles...),
		Attributes:                 []wireUserAttribute{},
		Inactive:                   u.Inactive,
		RemovedExternally:          u.RemovedExternally,
		Blacklisted:                u.Blacklisted,
		DeleteProhibited:           u.DeleteProhibited,
		Tags:                       []wireTag{},
		Favorites:                  []string{},
		Privileges:                 privileges(priv),
		SchemaPath:                 "User",
	}
	for _, a := range u.Attributes {
		w.Attributes = append(w.Attributes, wireUserAttribute{
			ID: a.ID, CreatedDate: wireTime(u.Created), ModifiedDate: wireTime(u.Modified), ModifiedByUserName: u.ModifiedBy,
			AttributeType: a.Type, AttributeValue: a.Value, ExternalID: a.ExternalID, SchemaPath: "UserAttribute",
		})
	}
	for _, t := range u.Tags {
		w.Tags = append(w.Tags, wireTag{ID: t.ID, Name: t.Name, Privileges: privileges(priv)})
	}
	for _, cp := range u.CustomProperties {
		choices := cp.ChoiceValues
		if choices == nil {
			choices = []string{}
		}
		w.CustomProperties = append(w.CustomProperties, wireCustomPropertyValue{
			ID:                 cp.ID,
			CreatedDate:        wireTime(u.Created),
			ModifiedDate:       wireTime(u.Modified),
			ModifiedByUserName: u.ModifiedBy,
			Value:              cp.Value,
			Definition: wireCustomPropertyDefinition{
				ID: cp.DefinitionID, Name: cp.Name, ValueType: "Text", ChoiceValues: choices, Privileges: privileges(priv),
			},
			SchemaPath: "CustomPropertyValue",
		})
	}
	return w
}

func (s *Site) wireLicense(priv *[]string) wireLicense {
	l := s.license
	var details strings.Builder
	fmt.Fprintf(&details, "isBlackListed: False\nLicense Number: %s\nValid From: %s\n", l.Serial, "0001-01-01  12:00:00 AM")
	if !l.ValidTo.IsZero() {
		fmt.Fprintf(&details, "Valid To: %s\n", l.ValidTo.UTC().Format("2006-01-02  03:04:05 PM"))
	}
	for _, name := range []string{"professional", "analyzer", "analyzer_time"} {
		if n, ok := l.Allotments[name]; ok {
			fmt.Fprintf(&details, "Allotment %s:%d;\n", name, n)
		}
	}
	expired := l.IsExpired || (!l.ValidTo.IsZero() && s.Now().After(l.ValidTo))
	reason := ""
	if expired {
		reason = "License has expired"
	}
	return wireLicense{
		ID:                 l.ID,
		CreatedDate:        wireTime(l.Created),
		ModifiedDate:       wireTime(l.Created),
		ModifiedByUserName: `INTERNAL\sa_repository`,
		Serial:             l.Serial,
		Key:                "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCJ9.emulated.license",
		KeyDetails:         strings.TrimSuffix(details.String(), "\n"),
		Name:               l.Name,
		Organization:       l.Organization,
		Product:            2,
		NumberOfCores:      -1,
		IsExpired:          expired,
		ExpiredReason:      reason,
		IsSubscription:     l.Subscription,
		Updated:            wireTime(l.Created),
		Privileges:         privileges(priv),
		SchemaPath:         "License",
	}
}

// Overview computes GET /qrs/license/accesstypeoverview from the site's state. The real
// formulas are not documented (qrs-api.md §2.3); the emulator's are:
//
//	allocated   = allocations of the type that are not quarantined
//	quarantined = quarantined allocations of the type
//	excess      = allocations flagged excess
//	used        = allocations used within Behaviour.UsedWindow (an "active session")
//	available   = max(0, total − allocated − quarantined)
//
// For user passes each count is multiplied by the token cost; login passes cost
// ceil(used passes × cost) tokens; availableTokens = max(0, totalTokens − user-pass tokens
// allocated and quarantined − login tokens assigned). Analyzer capacity sums its groups.
func (s *Site) overview() wireOverview {
	now := s.Now()
	type counts struct{ allocated, quarantined, excess, used int }
	count := func(k Kind) counts {
		var c counts
		for _, a := range s.allocs[k] {
			switch {
			case a.Quarantined:
				c.quarantined++
			default:
				c.allocated++
			}
			if a.Excess {
				c.excess++
			}
			if !a.LastUsed.IsZero() && now.Sub(a.LastUsed) < s.behaviour.UsedWindow {
				c.used++
			}
		}
		return c
	}
	details := func(k Kind, total int, enabled bool) wireDetails {
		d := wireDetails{Enabled: enabled, SchemaPath: "AccessTypeOverview.Details"}
		if !enabled {
			return d
		}
		c := count(k)
		d.Total, d.Allocated, d.Quarantined, d.Excess, d.Used = total, c.allocated, c.quarantined, c.excess, c.used
		d.Available = max(0, total-c.allocated-c.quarantined)
		return d
	}
	o := wireOverview{
		TokensEnabled:      s.tokenModel,
		ProfessionalAccess: details(KindProfessional, s.ProfessionalTotal, !s.tokenModel),
		AnalyzerAccess:     details(KindAnalyzer, s.AnalyzerTotal, !s.tokenModel),
		UserAccess: wireUserAccessDetails{
			Enabled: s.tokenModel, TokenCost: s.UserTokenCost, SchemaPath: "AccessTypeOverview.UserAccessDetails",
		},
		LoginAccess: wireLoginAccessDetails{
			Enabled: s.tokenModel, TokenCost: s.LoginTokenCost, SchemaPath: "AccessTypeOverview.LoginAccessDetails",
		},
		AnalyzerTimeAccess: wireAnalyzerTimeDetails{
			Enabled: s.capacityEnabled, SchemaPath: "AccessTypeOverview.AnalyzerTimeAccessDetails",
		},
		SchemaPath: "AccessTypeOverview",
	}
	if s.tokenModel {
		c := count(KindUser)
		cost := s.UserTokenCost
		o.UserAccess.AllocatedTokens = int(math.Round(float64(c.allocated) * cost))
		o.UserAccess.QuarantinedTokens = int(math.Round(float64(c.quarantined) * cost))
		o.UserAccess.UsedTokens = int(math.Round(float64(c.used) * cost))
		for _, g := range s.logins {
			o.LoginAccess.AllocatedTokens += g.AssignedTokens
			o.LoginAccess.UsedTokens += int(math.Ceil(float64(g.Used) * s.LoginTokenCost))
		}
		o.TotalTokens = s.TotalTokens
		o.AvailableTokens = max(0, s.TotalTokens-o.UserAccess.AllocatedTokens-o.UserAccess.QuarantinedTokens-o.LoginAccess.AllocatedTokens)
	}
	if s.capacityEnabled {
		for _, g := range s.groups {
			o.AnalyzerTimeAccess.AllocatedMinutes += g.AssignedMinutes
			o.AnalyzerTimeAccess.UsedMinutes += g.UsedMinutes
		}
	}
	return o
}

func (s *Site) wireLoginGroup(g LoginGroup, priv *[]string) wireLoginAccessType {
	assigned := int(math.Round(float64(g.AssignedTokens) / s.LoginTokenCost))
	return wireLoginAccessType{
		ID: g.ID, CreatedDate: wireTime(g.Created), ModifiedDate: wireTime(g.Created),
		ModifiedByUserName: `INTERNAL\sa_repository`, Name: g.Name,
		UsedAccessTypes: g.Used, RemainingAccessTypes: max(0, assigned-g.Used), AssignedAccessTypes: assigned,
		AssignedTokens: g.AssignedTokens, Privileges: privileges(priv), SchemaPath: "License.LoginAccessType",
	}
}

func (s *Site) wireCapacityGroup(g CapacityGroup, priv *[]string) wireAnalyzerTimeAccessType {
	return wireAnalyzerTimeAccessType{
		ID: g.ID, CreatedDate: wireTime(g.Created), ModifiedDate: wireTime(g.Created),
		ModifiedByUserName: `INTERNAL\sa_repository`, Name: g.Name,
		UsedMinutes: g.UsedMinutes, RemainingMinutes: max(0, g.AssignedMinutes-g.UsedMinutes),
		AssignedMinutes: g.AssignedMinutes, AssignedUnits: g.AssignedMinutes / 6,
		Privileges: privileges(priv), SchemaPath: "License.AnalyzerTimeAccessType",
	}
}

func wireAboutBody() wireAbout {
	return wireAbout{
		BuildVersion: "31.56.2.0", BuildDate: "10/24/2025 09:43:09 AM", DatabaseProvider: "Devart.Data.PostgreSql",
		NodeType: 1, SharedPersistence: true, SchemaPath: "About",
	}
}
