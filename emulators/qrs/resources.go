package emulator

// The collections: allocations, users and login/capacity groups, each by id or through
// the one list pipeline QRS applies to all (filter, orderby, count / condensed / full).

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

var guidPath = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// sub classifies what follows a collection path: "" (condensed list), "full", "count" or an id.
func sub(method string, segs []string) (kind, id string, ok bool) {
	switch {
	case len(segs) == 0 && method == http.MethodGet:
		return "list", "", true
	case len(segs) == 1 && segs[0] == "full" && method == http.MethodGet:
		return "full", "", true
	case len(segs) == 1 && segs[0] == "count" && method == http.MethodGet:
		return "count", "", true
	case len(segs) == 1 && (method == http.MethodGet || method == http.MethodDelete):
		return "id", segs[0], true
	}
	return "", "", false
}

// collection is the list pipeline every QRS collection shares: filter, then orderby, then
// the count, the condensed list or the full list. R is the row the filter reads, C and F
// the condensed and full wire forms.
type collection[R, C, F any] struct {
	fields    map[string]field[R]
	condensed func(R) C
	full      func(R) F
	all       func() []R
	// byID, when set, finds one row by id: a filter that is only `id eq … or id eq …` is
	// answered from the index, as a database would, instead of a scan (rows then come in
	// id order, which QRS does not promise either way without orderby).
	byID func(id string) (R, bool)
}

// list answers what ("count", "list" or "full"); the caller holds the site's lock for as
// long as the rows and the wire forms read the site.
func (c collection[R, C, F]) list(what, filter, orderby string) response {
	cf, err := compileFilter(filter, c.fields)
	if err != nil {
		return badRequest(err)
	}
	order, err := parseOrderBy(orderby, c.fields)
	if err != nil {
		return badRequest(err)
	}
	var rows []R
	if cf != nil && cf.op == "in" && cf.path == "id" && c.byID != nil {
		ids := slices.Sorted(maps.Keys(cf.set))
		for _, id := range ids {
			if r, ok := c.byID(id); ok {
				rows = append(rows, r)
			}
		}
	} else {
		rows = c.all()
		if cf != nil {
			rows = slices.DeleteFunc(rows, func(r R) bool { return !cf.match(r) })
		}
	}
	if order != nil {
		slices.SortStableFunc(rows, order.compare)
	}
	switch what {
	case "count":
		return jsonBody(wireCount{Value: len(rows)})
	case "list":
		return jsonList(mapRows(rows, c.condensed))
	}
	return jsonList(mapRows(rows, c.full))
}

func mapRows[R, T any](rows []R, f func(R) T) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}

func invalidID(id string) response {
	return response{status: http.StatusBadRequest, text: "Invalid id: " + id}
}

func (h *handler) allocations(k Kind, method string, segs []string, filter, orderby string, priv *[]string, canDelete bool) response {
	what, id, ok := sub(method, segs)
	if !ok {
		return notFound()
	}
	s := h.site
	if what == "id" && !guidPath.MatchString(id) {
		return invalidID(id)
	}
	if what == "id" && method == http.MethodDelete {
		if !canDelete {
			return response{status: http.StatusForbidden, text: forbiddenMessage}
		}
		if s.Release(k, id) == NotFound {
			return notFound()
		}
		return response{status: http.StatusNoContent}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	if what == "id" {
		a := s.findLocked(k, id)
		if a == nil {
			return notFound()
		}
		return jsonBody(s.wireAllocation(a, priv))
	}
	row := func(a *Allocation) allocRow { return allocRow{a: a, u: s.userIdx[strings.ToLower(a.UserRef)], s: s} }
	return collection[allocRow, wireCondensed, wireAllocation]{
		fields:    allocFields,
		condensed: func(r allocRow) wireCondensed { return wireCondensed{ID: r.a.ID, Privileges: privileges(priv)} },
		full:      func(r allocRow) wireAllocation { return s.wireAllocation(r.a, priv) },
		all: func() []allocRow {
			rows := make([]allocRow, 0, len(s.allocs[k]))
			for _, a := range s.allocs[k] {
				rows = append(rows, row(a))
			}
			return rows
		},
		byID: func(id string) (allocRow, bool) {
			a := s.findLocked(k, id)
			if a == nil {
				return allocRow{}, false
			}
			return row(a), true
		},
	}.list(what, filter, orderby)
}

func (h *handler) users(method string, segs []string, filter, orderby string, priv *[]string) response {
	what, id, ok := sub(method, segs)
	if !ok || method != http.MethodGet {
		return notFound()
	}
	s := h.site
	if what == "id" && !guidPath.MatchString(id) {
		return invalidID(id)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if what == "id" {
		u := s.userIdx[strings.ToLower(id)]
		if u == nil {
			return notFound()
		}
		return jsonBody(s.wireUser(u, priv))
	}
	return collection[*User, *wireUserCondensed, wireUser]{
		fields:    userFields,
		condensed: func(u *User) *wireUserCondensed { return s.wireUserCondensed(u, priv) },
		full:      func(u *User) wireUser { return s.wireUser(u, priv) },
		all:       func() []*User { return slices.Clone(s.users) },
		byID: func(id string) (*User, bool) {
			u := s.userIdx[id]
			return u, u != nil
		},
	}.list(what, filter, orderby)
}

func (h *handler) groups(name, method string, segs []string, filter, orderby string, priv *[]string) response {
	what, id, ok := sub(method, segs)
	if !ok || method != http.MethodGet {
		return notFound()
	}
	s := h.site
	s.mu.RLock()
	defer s.mu.RUnlock()
	var rows []groupRow
	if name == "loginaccesstype" {
		for _, g := range s.logins {
			rows = append(rows, groupRow{g.ID, g.Name, g.Created, s.wireLoginGroup(g, priv)})
		}
	} else {
		for _, g := range s.groups {
			rows = append(rows, groupRow{g.ID, g.Name, g.Created, s.wireCapacityGroup(g, priv)})
		}
	}
	if what == "id" {
		for _, r := range rows {
			if strings.EqualFold(r.id, id) {
				return jsonBody(r.wire)
			}
		}
		return notFound()
	}
	return collection[groupRow, wireNamedCondensed, any]{
		fields: groupFields,
		condensed: func(r groupRow) wireNamedCondensed {
			return wireNamedCondensed{ID: r.id, Privileges: privileges(priv), Name: r.name}
		},
		full: func(r groupRow) any { return r.wire },
		all:  func() []groupRow { return rows },
	}.list(what, filter, orderby)
}
