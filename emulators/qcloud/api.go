package qcloudemu

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxLimit is the largest page (limit) the emulator serves; a larger limit is a 400.
const MaxLimit = 100

// MaxActionItems is the most items one actions call may carry.
const MaxActionItems = 100

func unescape(s string) (string, error) { return url.QueryUnescape(s) }

func origin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// nextHref is the absolute link to the next page, on the emulator's own origin.
func nextHref(r *http.Request, param, cursor string) *href {
	q := r.URL.Query()
	q.Set(param, cursor)
	return &href{Href: origin(r) + r.URL.Path + "?" + q.Encode()}
}

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte("next:" + s)) }

func decodeCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(b), "next:")
}

func limitOf(r *http.Request, def int) (int, *result) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit {
		res := errResult(http.StatusBadRequest, "HTTP-400", fmt.Sprintf("limit must be between 1 and %d", MaxLimit))
		return 0, &res
	}
	return n, nil
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// route carries a request out: it returns the function that applies it (for a late
// effect, called later) and gives the answer.
func (h *handler) route(r *http.Request) func() result {
	p := r.URL.Path
	if r.Method == http.MethodGet {
		switch p {
		case "/api/v1/licenses/overview":
			return h.overview
		case "/api/v1/licenses/status":
			return h.status
		case "/api/v1/licenses/settings":
			return h.settings
		case "/api/v1/licenses/assignments":
			return func() result { return h.assignments(r) }
		case "/api/v1/licenses/consumption":
			return func() result { return h.consumption(r) }
		case "/api/v1/users":
			return func() result { return h.users(r) }
		case "/api/v1/users/actions/count":
			return func() result {
				h.t.mu.Lock()
				defer h.t.mu.Unlock()
				return result{status: http.StatusOK, body: struct {
					Total int `json:"total"`
				}{len(h.t.users)}}
			}
		}
	}
	if verb, ok := strings.CutPrefix(p, "/api/v1/licenses/assignments/actions/"); ok && r.Method == http.MethodPost {
		return h.action(r, verb)
	}
	return func() result { return errResult(http.StatusNotFound, "HTTP-404", "Not found") }
}

func (h *handler) overview() result {
	t := h.t
	t.mu.Lock()
	defer t.mu.Unlock()
	overage := t.Overage
	o := wireOverview{
		LicenseKey: t.LicenseKey, LicenseNumber: t.LicenseNumber, Origin: "Internal", Parameters: []any{},
		Product: t.Product, SecondaryNumber: "0", Status: "Ok", Updated: ts(t.now()), Valid: t.Valid, Version: "emulated",
		Allotments: []wireAllotment{
			{Name: Professional, Units: t.Units[Professional], UnitsUsed: t.usedLocked(Professional), UsageClass: "assigned"},
			{Name: Analyzer, Units: t.Units[Analyzer], UnitsUsed: t.usedLocked(Analyzer), UsageClass: "assigned"},
			{Name: AnalyzerTime, Units: t.Units[AnalyzerTime], UnitsUsed: t.capacityUsedLocked(), UsageClass: "time", Overage: &overage},
		},
	}
	return result{status: http.StatusOK, body: o}
}

func (h *handler) status() result {
	t := h.t
	t.mu.Lock()
	defer t.mu.Unlock()
	return result{status: http.StatusOK, body: wireStatus{ExtensionStatus: "Unavailable", Origin: "Internal", Product: t.Product, Status: "Ok", Type: "Signed", Valid: t.Valid}}
}

func (h *handler) settings() result {
	t := h.t
	t.mu.Lock()
	defer t.mu.Unlock()
	return result{status: http.StatusOK, body: wireSettings{AutoAssignAnalyzer: t.AutoAssignAn, AutoAssignProfessional: t.AutoAssignPro}}
}

func badFilter(err error) result {
	return errResult(http.StatusBadRequest, "HTTP-400", "Invalid filter: "+err.Error())
}

func (h *handler) assignments(r *http.Request) result {
	q := r.URL.Query()
	limit, bad := limitOf(r, 20)
	if bad != nil {
		return *bad
	}
	var f node
	if s := q.Get("filter"); s != "" {
		var err error
		if f, err = parseFilter(s, []string{"subject", "type"}, []string{"eq"}); err != nil {
			return badFilter(err)
		}
	}
	after := int64(0)
	if c := q.Get("page"); c != "" {
		v, ok := decodeCursor(c)
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			return errResult(http.StatusBadRequest, "HTTP-400", "Invalid page cursor")
		}
		after = n
	}
	orphans := q.Get("orphans") == "true"
	t := h.t
	t.mu.Lock()
	defer t.mu.Unlock()
	out := wireList[wireAssignment]{Data: []wireAssignment{}}
	// the list is in seq order: start after the cursor
	first, _ := slices.BinarySearchFunc(t.assignments, after+1, func(a *Assignment, seq int64) int { return cmp.Compare(a.seq, seq) })
	for _, a := range t.assignments[first:] {
		if orphans && t.userBySubjectLocked(a.Subject) != nil {
			continue
		}
		if f != nil && !f.eval(func(attr string) []string {
			if attr == "subject" {
				return []string{a.Subject}
			}
			return []string{a.Type}
		}) {
			continue
		}
		if len(out.Data) == limit {
			out.Links.Next = nextHref(r, "page", encodeCursor(strconv.FormatInt(a.seq-1, 10)))
			break
		}
		out.Data = append(out.Data, wireAssignment{Created: ts(a.Created), Excess: a.Excess, Subject: a.Subject, Type: a.Type})
	}
	return result{status: http.StatusOK, body: out}
}

func (h *handler) consumption(r *http.Request) result {
	q := r.URL.Query()
	limit, bad := limitOf(r, 20)
	if bad != nil {
		return *bad
	}
	var f node
	if s := q.Get("filter"); s != "" {
		var err error
		if f, err = parseFilter(s, []string{"endTime"}, []string{"eq", "ge", "gt", "le", "lt"}); err != nil {
			return badFilter(err)
		}
	}
	after := int64(0)
	if c := q.Get("page"); c != "" {
		v, ok := decodeCursor(c)
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			return errResult(http.StatusBadRequest, "HTTP-400", "Invalid page cursor")
		}
		after = n
	}
	t := h.t
	t.mu.Lock()
	defer t.mu.Unlock()
	out := wireList[wireEvent]{Data: []wireEvent{}}
	first, _ := slices.BinarySearchFunc(t.events, after+1, func(e *Event, seq int64) int { return cmp.Compare(e.seq, seq) })
	for _, e := range t.events[first:] {
		end := ts(e.EndTime)
		if f != nil && !f.eval(func(string) []string { return []string{end} }) {
			continue
		}
		if len(out.Data) == limit {
			out.Links.Next = nextHref(r, "page", encodeCursor(strconv.FormatInt(e.seq-1, 10)))
			break
		}
		out.Data = append(out.Data, wireEvent{
			AllotmentID: e.AllotmentID, AppID: e.AppID, CapacityUsed: e.CapacityUsed, Duration: isoDuration(e.Duration),
			EndTime: end, ID: e.ID, LicenseUsage: e.LicenseUsage, MinutesUsed: e.MinutesUsed, SessionID: e.SessionID, UserID: e.UserID,
		})
	}
	return result{status: http.StatusOK, body: out}
}

func isoDuration(d time.Duration) string {
	return fmt.Sprintf("PT%dS", int(d/time.Second))
}

func (h *handler) users(r *http.Request) result {
	q := r.URL.Query()
	limit, bad := limitOf(r, 20)
	if bad != nil {
		return *bad
	}
	var f node
	if s := q.Get("filter"); s != "" {
		var err error
		f, err = parseFilter(s, []string{"id", "subject", "name", "email", "status", "assignedRoles.id", "assignedRoles.name",
			"assignedGroups.id", "assignedGroupsAssignedRoles.name"}, []string{"eq", "co"})
		if err != nil {
			res := errResult(http.StatusBadRequest, "USERS-1", "Invalid filter: "+err.Error())
			return res
		}
	}
	after := ""
	if c := q.Get("next"); c != "" {
		v, ok := decodeCursor(c)
		if !ok {
			return errResult(http.StatusBadRequest, "USERS-1", "Invalid next cursor")
		}
		after = v
	}
	t := h.t
	t.mu.Lock()
	defer t.mu.Unlock()
	self := origin(r) + r.URL.RequestURI()
	out := wireList[wireUser]{Data: []wireUser{}, Links: links{Self: &href{Href: self}}}
	for _, u := range t.users {
		if u.ID <= after || t.unlisted[u.Subject] {
			continue
		}
		if f != nil && !f.eval(func(attr string) []string { return t.userAttrLocked(u, attr) }) {
			continue
		}
		if len(out.Data) == limit {
			out.Links.Next = nextHref(r, "next", encodeCursor(out.Data[len(out.Data)-1].ID))
			break
		}
		out.Data = append(out.Data, t.wireUserLocked(r, u))
	}
	return result{status: http.StatusOK, body: out}
}

func (t *Tenant) userAttrLocked(u *User, attr string) []string {
	switch attr {
	case "id":
		return []string{u.ID}
	case "subject":
		return []string{u.Subject}
	case "name":
		return []string{u.Name}
	case "email":
		return []string{u.Email}
	case "status":
		return []string{u.Status}
	case "assignedroles.name", "assignedroles.id":
		return u.Roles
	case "assignedgroups.id":
		return u.Groups
	case "assignedgroupsassignedroles.name":
		var out []string
		for _, g := range u.Groups {
			if gr := t.groups[g]; gr != nil {
				out = append(out, gr.Roles...)
			}
		}
		return out
	}
	return nil
}

func roles(names []string) []wireRole {
	var out []wireRole
	for _, n := range names {
		level := "user"
		if strings.HasSuffix(n, "Admin") {
			level = "admin"
		}
		out = append(out, wireRole{ID: "role-" + strings.ToLower(n), Level: level, Name: n, Type: "default"})
	}
	return out
}

func (t *Tenant) wireUserLocked(r *http.Request, u *User) wireUser {
	w := wireUser{
		AssignedRoles: roles(u.Roles), CreatedAt: ts(u.Created), Email: u.Email, ID: u.ID, LastUpdatedAt: ts(u.Created),
		Name: u.Name, Status: u.Status, Subject: u.Subject, TenantID: t.ID,
		Links: &links{Self: &href{Href: origin(r) + "/api/v1/users/" + url.PathEscape(u.ID)}},
	}
	for _, g := range u.Groups {
		if gr := t.groups[g]; gr != nil {
			w.AssignedGroups = append(w.AssignedGroups, wireGroup{ID: gr.ID, Name: gr.Name, ProviderType: "idp", AssignedRoles: roles(gr.Roles)})
		}
	}
	return w
}

// action parses an actions call now and returns what carries it out.
func (h *handler) action(r *http.Request, verb string) func() result {
	if verb != "add" && verb != "delete" && verb != "update" {
		return func() result { return errResult(http.StatusNotFound, "HTTP-404", "Not found") }
	}
	var body map[string][]wireActionItem
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return func() result { return errResult(http.StatusBadRequest, "LICENSES-001", "Invalid request body") }
	}
	items, ok := body[verb]
	switch {
	case !ok || len(items) == 0:
		return func() result {
			return errResult(http.StatusBadRequest, "LICENSES-001", fmt.Sprintf("Invalid request body: %q needs at least one item", verb))
		}
	case len(items) > MaxActionItems:
		return func() result {
			return errResult(http.StatusBadRequest, "LICENSES-001", fmt.Sprintf("At most %d items per call", MaxActionItems))
		}
	}
	return func() result {
		t := h.t
		t.mu.Lock()
		defer t.mu.Unlock()
		out := wireList[wireItemStatus]{Data: []wireItemStatus{}}
		for _, it := range items {
			out.Data = append(out.Data, t.applyLocked(verb, it))
		}
		return result{status: http.StatusMultiStatus, body: struct {
			Data []wireItemStatus `json:"data"`
		}{out.Data}}
	}
}

func notFound(it wireActionItem) wireItemStatus {
	return wireItemStatus{Code: "LICENSES-016", Status: http.StatusNotFound, Subject: it.Subject, Type: it.Type, Title: "Assignment not found."}
}

func (t *Tenant) applyLocked(verb string, it wireActionItem) wireItemStatus {
	if it.Subject == "" {
		return wireItemStatus{Code: "LICENSES-001", Status: http.StatusBadRequest, Type: it.Type, Title: "Subject is required."}
	}
	switch verb {
	case "delete":
		i := t.findLocked(it.Type, it.Subject)
		if i < 0 || it.Type == "" {
			return notFound(it)
		}
		t.assignments = append(t.assignments[:i], t.assignments[i+1:]...)
		return wireItemStatus{Status: http.StatusOK, Subject: it.Subject, Type: it.Type}
	case "add":
		if it.Type != Professional && it.Type != Analyzer {
			return wireItemStatus{Code: "LICENSES-005", Status: http.StatusBadRequest, Subject: it.Subject, Type: it.Type, Title: "Invalid allotment type."}
		}
		if t.findLocked("", it.Subject) >= 0 {
			return wireItemStatus{Code: "LICENSES-012", Status: http.StatusConflict, Subject: it.Subject, Type: it.Type, Title: "Assignment already exists."}
		}
		if t.usedLocked(it.Type) >= t.Units[it.Type] {
			return wireItemStatus{Code: "LICENSES-011", Status: http.StatusForbidden, Subject: it.Subject, Type: it.Type,
				Title: "No available allotment error, No available allotment."}
		}
		t.seq++
		t.assignments = append(t.assignments, &Assignment{Type: it.Type, Subject: it.Subject, Created: t.now(), seq: t.seq})
		return wireItemStatus{Status: http.StatusCreated, Subject: it.Subject, Type: it.Type}
	}
	// update
	src := it.SourceSubject
	if src == "" {
		src = it.Subject
	}
	i := t.findLocked(it.SourceType, src)
	if i < 0 {
		s := notFound(it)
		s.SourceType, s.SourceSubject, s.Type = it.SourceType, it.SourceSubject, ""
		return s
	}
	a := t.assignments[i]
	target := it.Type
	if target == "" {
		target = a.Type
	}
	if target != Professional && target != Analyzer {
		return wireItemStatus{Code: "LICENSES-005", Status: http.StatusBadRequest, Subject: it.Subject, SourceType: it.SourceType, Title: "Invalid allotment type."}
	}
	if target != a.Type && t.usedLocked(target) >= t.Units[target] {
		return wireItemStatus{Code: "LICENSES-011", Status: http.StatusForbidden, Subject: it.Subject, SourceType: it.SourceType, Type: target,
			Title: "No available allotment error, No available allotment."}
	}
	status := http.StatusOK
	if it.Subject != a.Subject {
		status = http.StatusCreated
	}
	a.Type, a.Subject = target, it.Subject
	return wireItemStatus{Status: status, Subject: it.Subject, Type: target, SourceType: it.SourceType, SourceSubject: it.SourceSubject}
}
