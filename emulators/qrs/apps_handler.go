package emulator

import (
	"net/http"
	"strings"
)

// The app and app object endpoints: filters over their fields, lists, counts.

type appRow struct {
	a *App
	u *User
}

type objectRow struct {
	o *AppObject
	u *User
	a *App
}

func ownerFields[R any](owner func(R) *User) map[string]field[R] {
	get := func(f func(*User) any) func(R) []any {
		return func(r R) []any {
			if u := owner(r); u != nil {
				return one(f(u))
			}
			return nil
		}
	}
	return map[string]field[R]{
		"owner.id":            {kGUID, get(func(u *User) any { return u.ID })},
		"owner.userid":        {kString, get(func(u *User) any { return u.UserID })},
		"owner.userdirectory": {kString, get(func(u *User) any { return u.UserDirectory })},
		"owner.name":          {kString, get(func(u *User) any { return u.Name })},
	}
}

var appFields = func() map[string]field[appRow] {
	f := ownerFields(func(r appRow) *User { return r.u })
	for k, v := range map[string]field[appRow]{
		"id":                 {kGUID, func(r appRow) []any { return one(r.a.ID) }},
		"name":               {kString, func(r appRow) []any { return one(r.a.Name) }},
		"createddate":        {kTime, func(r appRow) []any { return one(r.a.Created) }},
		"modifieddate":       {kTime, func(r appRow) []any { return one(r.a.Modified) }},
		"modifiedbyusername": {kString, func(r appRow) []any { return one(r.a.ModifiedBy) }},
		"published":          {kBool, func(r appRow) []any { return one(r.a.Published) }},
		"publishtime":        {kTime, func(r appRow) []any { return one(timeOrSentinel(r.a.PublishTime)) }},
		"stream.name": {kString, func(r appRow) []any {
			if !r.a.Published {
				return nil
			}
			return one(r.a.Stream)
		}},
	} {
		f[k] = v
	}
	return f
}()

var objectFields = func() map[string]field[objectRow] {
	f := ownerFields(func(r objectRow) *User { return r.u })
	for k, v := range map[string]field[objectRow]{
		"id":                 {kGUID, func(r objectRow) []any { return one(r.o.ID) }},
		"name":               {kString, func(r objectRow) []any { return one(r.o.Name) }},
		"objecttype":         {kString, func(r objectRow) []any { return one(r.o.ObjectType) }},
		"createddate":        {kTime, func(r objectRow) []any { return one(r.o.Created) }},
		"modifieddate":       {kTime, func(r objectRow) []any { return one(r.o.Modified) }},
		"modifiedbyusername": {kString, func(r objectRow) []any { return one(r.o.ModifiedBy) }},
		"published":          {kBool, func(r objectRow) []any { return one(r.o.Published) }},
		"approved":           {kBool, func(r objectRow) []any { return one(r.o.Approved) }},
		"app.id": {kGUID, func(r objectRow) []any {
			if r.a == nil {
				return nil
			}
			return one(r.a.ID)
		}},
	} {
		f[k] = v
	}
	return f
}()

func (h *handler) apps(method string, segs []string, filter, orderby string, priv *[]string) response {
	objects := len(segs) > 0 && segs[0] == "object"
	if objects {
		segs = segs[1:]
	}
	what, _, ok := sub(method, segs)
	if !ok || method != http.MethodGet || what == "id" {
		return notFound()
	}
	s := h.site
	s.mu.RLock()
	defer s.mu.RUnlock()
	user := func(id string) *User { return s.userIdx[strings.ToLower(id)] }
	if objects {
		return collection[objectRow, wireAppObjectCondensed, wireAppObject]{
			fields: objectFields,
			condensed: func(r objectRow) wireAppObjectCondensed {
				o := r.o
				return wireAppObjectCondensed{ID: o.ID, Name: o.Name, EngineObjectID: o.ID, EngineObjectType: o.ObjectType,
					ObjectType: o.ObjectType, PublishTime: wireTime(timeOrSentinel(o.PublishTime)), Published: o.Published, Privileges: privileges(priv)}
			},
			full: func(r objectRow) wireAppObject { return s.wireAppObject(r.o, priv) },
			all: func() []objectRow {
				rows := make([]objectRow, len(s.objects))
				for i, o := range s.objects {
					rows[i] = objectRow{o: o, u: user(o.OwnerRef), a: s.appIdx[strings.ToLower(o.AppRef)]}
				}
				return rows
			},
		}.list(what, filter, orderby)
	}
	return collection[appRow, *wireAppCondensed, wireApp]{
		fields:    appFields,
		condensed: func(r appRow) *wireAppCondensed { return s.wireAppCondensed(r.a, priv) },
		full:      func(r appRow) wireApp { return s.wireApp(r.a, priv) },
		all: func() []appRow {
			rows := make([]appRow, len(s.apps))
			for i, a := range s.apps {
				rows[i] = appRow{a: a, u: user(a.OwnerRef)}
			}
			return rows
		},
	}.list(what, filter, orderby)
}
