package emulator

import (
	"time"
)

// allocRow is an allocation joined with its user, as filters and orderby see it.
type allocRow struct {
	a *Allocation
	u *User // nil for a deleted user's allocation
	s *Site
}

func one(v any) []any { return []any{v} }

func userField(get func(*User) any) func(allocRow) []any {
	return func(r allocRow) []any {
		if r.u == nil {
			return nil
		}
		return one(get(r.u))
	}
}

func timeOrSentinel(t time.Time) time.Time {
	if t.IsZero() {
		return noDate
	}
	return t
}

// allocFields are the filterable properties of /qrs/license/<kind>accesstype.
var allocFields = map[string]field[allocRow]{
	"id":                              {kGUID, func(r allocRow) []any { return one(r.a.ID) }},
	"createddate":                     {kTime, func(r allocRow) []any { return one(r.a.Created) }},
	"modifieddate":                    {kTime, func(r allocRow) []any { return one(r.a.Modified) }},
	"modifiedbyusername":              {kString, func(r allocRow) []any { return one(r.a.ModifiedBy) }},
	"lastused":                        {kTime, func(r allocRow) []any { return one(timeOrSentinel(r.s.lastUsedOnWire(r.a))) }},
	"excess":                          {kBool, func(r allocRow) []any { return one(r.a.Excess) }},
	"quarantined":                     {kBool, func(r allocRow) []any { return one(r.a.Quarantined) }},
	"quarantineend":                   {kTime, func(r allocRow) []any { return one(timeOrSentinel(r.a.QuarantineEnd)) }},
	"deleteduserid":                   {kString, func(r allocRow) []any { return one(r.a.DeletedUserID) }},
	"deleteduserdirectory":            {kString, func(r allocRow) []any { return one(r.a.DeletedUserDirectory) }},
	"user.id":                         {kGUID, userField(func(u *User) any { return u.ID })},
	"user.userid":                     {kString, userField(func(u *User) any { return u.UserID })},
	"user.userdirectory":              {kString, userField(func(u *User) any { return u.UserDirectory })},
	"user.userdirectoryconnectorname": {kString, userField(func(u *User) any { return u.UserDirectory })},
	"user.name":                       {kString, userField(func(u *User) any { return u.Name })},
}

// userFields are the filterable properties of /qrs/user.
var userFields = map[string]field[*User]{
	"id":                         {kGUID, func(u *User) []any { return one(u.ID) }},
	"createddate":                {kTime, func(u *User) []any { return one(u.Created) }},
	"modifieddate":               {kTime, func(u *User) []any { return one(u.Modified) }},
	"modifiedbyusername":         {kString, func(u *User) []any { return one(u.ModifiedBy) }},
	"userid":                     {kString, func(u *User) []any { return one(u.UserID) }},
	"userdirectory":              {kString, func(u *User) []any { return one(u.UserDirectory) }},
	"userdirectoryconnectorname": {kString, func(u *User) []any { return one(u.UserDirectory) }},
	"name":                       {kString, func(u *User) []any { return one(u.Name) }},
	"inactive":                   {kBool, func(u *User) []any { return one(u.Inactive) }},
	"removedexternally":          {kBool, func(u *User) []any { return one(u.RemovedExternally) }},
	"blacklisted":                {kBool, func(u *User) []any { return one(u.Blacklisted) }},
	"deleteprohibited":           {kBool, func(u *User) []any { return one(u.DeleteProhibited) }},
	"roles": {kString, func(u *User) []any {
		out := make([]any, len(u.Roles))
		for i, r := range u.Roles {
			out[i] = r
		}
		return out
	}},
	"tags.id":   {kGUID, func(u *User) []any { return tagValues(u, func(t Tag) string { return t.ID }) }},
	"tags.name": {kString, func(u *User) []any { return tagValues(u, func(t Tag) string { return t.Name }) }},
	"customproperties.value": {kString, func(u *User) []any {
		return cpValues(u, func(c CustomProperty) string { return c.Value })
	}},
	"customproperties.definition.name": {kString, func(u *User) []any {
		return cpValues(u, func(c CustomProperty) string { return c.Name })
	}},
}

func tagValues(u *User, get func(Tag) string) []any {
	out := make([]any, len(u.Tags))
	for i, t := range u.Tags {
		out[i] = get(t)
	}
	return out
}

func cpValues(u *User, get func(CustomProperty) string) []any {
	out := make([]any, len(u.CustomProperties))
	for i, c := range u.CustomProperties {
		out[i] = get(c)
	}
	return out
}

// groupRow is a login or capacity group, filterable by id and name, with its full wire
// form.
type groupRow struct {
	id, name string
	created  time.Time
	wire     any
}

var groupFields = map[string]field[groupRow]{
	"id":          {kGUID, func(g groupRow) []any { return one(g.id) }},
	"name":        {kString, func(g groupRow) []any { return one(g.name) }},
	"createddate": {kTime, func(g groupRow) []any { return one(g.created) }},
}
