package emulator

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The text bodies a live QRS answers with (qrs-api.md §1.5).
const (
	xsrfMessage      = "XSRF prevention check failed. Possible XSRF discovered."
	forbiddenMessage = "Forbidden"
	missingParameter = "Missing parameter value(s)"
)

// VirtualProxy is a virtual proxy on the proxy listener: /<Prefix>/qrs/...
type VirtualProxy struct {
	Prefix string
	// Header authentication (static user directory): the header naming the user id.
	HeaderName    string
	UserDirectory string
	// JWT authentication: tokens signed by JWTKey; claim names default to userId and
	// userDirectory (QMC "JWT attribute for user ID / user directory").
	JWTKey             *rsa.PublicKey
	UserIDClaim        string
	UserDirectoryClaim string
	Audience           string
}

// Route is a method and path (as in the QRS specification, without /qrs) the emulator serves.
type Route struct {
	Method string
	Path   string
}

var allocationKinds = []string{"professional", "analyzer", "user"}

// Routes lists everything the emulator answers, in the specification's path syntax.
func Routes() []Route {
	r := []Route{
		{http.MethodGet, "/about"},
		{http.MethodGet, "/license"},
		{http.MethodGet, "/license/accesstypeoverview"},
		{http.MethodGet, "/user"},
		{http.MethodGet, "/user/full"},
		{http.MethodGet, "/user/count"},
		{http.MethodGet, "/user/{id}"},
	}
	for _, k := range allocationKinds {
		base := "/license/" + k + "accesstype"
		r = append(r, Route{http.MethodGet, base}, Route{http.MethodGet, base + "/full"},
			Route{http.MethodGet, base + "/count"}, Route{http.MethodGet, base + "/{id}"},
			Route{http.MethodDelete, base + "/{id}"})
	}
	for _, g := range []string{"loginaccesstype", "analyzertimeaccesstype"} {
		base := "/license/" + g
		r = append(r, Route{http.MethodGet, base}, Route{http.MethodGet, base + "/full"},
			Route{http.MethodGet, base + "/count"}, Route{http.MethodGet, base + "/{id}"})
	}
	return r
}

// handler serves one listener: the QRS port (certificate auth) or the proxy port.
type handler struct {
	site    *Site
	faults  *Faults
	log     *RequestLog
	proxies []VirtualProxy // nil on the QRS port
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (h *handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &statusWriter{ResponseWriter: rw}
	entry := LoggedRequest{Time: h.site.Now(), Wall: start, Method: r.Method, Path: r.URL.Path, Query: queryWithoutKey(r.URL.Query())}
	h.log.arrive(entry)
	h.faults.arrived(r.Method, r.URL.Path)
	defer func() {
		entry.Status, entry.Bytes, entry.Duration = w.status, w.bytes, time.Since(start)
		h.log.add(entry)
	}()

	rest, user, status, msg := h.authenticate(r)
	entry.User = user
	if status != 0 {
		textError(w, status, msg)
		return
	}
	if status, msg := checkXrfkey(r, h.site.behaviour.StrictXrfkey); status != 0 {
		textError(w, status, msg)
		return
	}
	if status, msg := checkQuery(r.URL.RawQuery); status != 0 {
		textError(w, status, msg)
		return
	}
	fault := h.faults.decide(r.Method, r.URL.Path)
	entry.Fault = fault.kind
	if fault.latency > 0 {
		select {
		case <-time.After(fault.latency):
		case <-r.Context().Done():
			return
		}
	}
	switch fault.kind {
	case FaultReset:
		panic(http.ErrAbortHandler)
	case FaultServerError:
		textError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	case FaultUnavailable:
		textError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	case FaultTooMany:
		w.Header().Set("Retry-After", strconv.Itoa(int(fault.retryAfter.Round(time.Second)/time.Second)))
		textError(w, http.StatusTooManyRequests, "Too Many Requests")
		return
	}

	resp := h.route(r.Method, rest, r.URL.Query())
	if fault.answerLag > 0 {
		select {
		case <-time.After(fault.answerLag):
		case <-r.Context().Done():
			return // carried out; the client is gone
		}
	}
	if fault.kind == FaultLoseAnswer {
		panic(http.ErrAbortHandler)
	}
	if resp.status != http.StatusOK || resp.body == nil {
		if resp.text != "" {
			textError(w, resp.status, resp.text)
		} else {
			w.WriteHeader(resp.status)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch fault.kind {
	case FaultTruncate, FaultMalformed:
		var buf bytes.Buffer
		_ = resp.body(&buf)
		body := buf.Bytes()
		if fault.kind == FaultMalformed {
			// What a misbehaving proxy or an error page in front of QRS looks like.
			body = []byte("<html><body><h1>Server Error</h1></body></html>")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body[:len(body)/2])
		w.Flush()
		panic(http.ErrAbortHandler)
	}
	var out io.Writer = w
	if fault.slowBody > 0 {
		out = &slowWriter{w: w, pause: fault.slowBody}
	}
	bw := bufio.NewWriterSize(out, 32<<10)
	if err := resp.body(bw); err == nil {
		_ = bw.Flush()
	}
}

// slowWriter pauses after every 4 KiB, for slow-body faults.
type slowWriter struct {
	w     *statusWriter
	pause time.Duration
}

func (s *slowWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), 4096)
		m, err := s.w.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		s.w.Flush()
		time.Sleep(s.pause)
		p = p[n:]
	}
	return written, nil
}

func textError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

func queryWithoutKey(q url.Values) string {
	for k := range q {
		if strings.EqualFold(k, "xrfkey") {
			delete(q, k)
		}
	}
	return q.Encode()
}

var xrfkeyPattern = regexp.MustCompile(`^[0-9A-Za-z]{16}$`)

// checkXrfkey applies QRS's anti-XSRF rule: the xrfkey query parameter (name matched
// case-insensitively) and the X-Qlik-Xrfkey header must both be there and be equal.
func checkXrfkey(r *http.Request, strict bool) (int, string) {
	var param string
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, "xrfkey") && len(v) > 0 {
			param = v[0]
		}
	}
	header := r.Header.Get("X-Qlik-Xrfkey")
	if param == "" || header == "" || param != header {
		return http.StatusForbidden, xsrfMessage
	}
	if strict && !xrfkeyPattern.MatchString(param) {
		return http.StatusForbidden, xsrfMessage
	}
	return 0, ""
}

// checkQuery answers 400 "Missing parameter value(s)" for a parameter without a value,
// which is what QRS says when an unencoded & splits a filter.
func checkQuery(raw string) (int, string) {
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		name, _, hasValue := strings.Cut(part, "=")
		known := slices.Contains([]string{"filter", "orderby", "privileges", "xrfkey"}, strings.ToLower(name))
		if !hasValue && !known {
			return http.StatusBadRequest, missingParameter
		}
	}
	return 0, ""
}

// authenticate resolves the acting user and returns the QRS path below /qrs.
func (h *handler) authenticate(r *http.Request) (rest, user string, status int, msg string) {
	p := r.URL.Path
	if h.proxies == nil {
		rest, ok := cutPrefixFold(p, "/qrs")
		if !ok {
			return "", "", http.StatusNotFound, "Not Found"
		}
		dir, id, present := parseQlikUser(r.Header.Get("X-Qlik-User"))
		if !present {
			if h.site.behaviour.StrictUser {
				return "", "", http.StatusForbidden, forbiddenMessage
			}
			dir, id = "INTERNAL", "sa_repository"
		}
		return rest, dir + `\` + id, 0, ""
	}
	segs := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 2)
	for _, vp := range h.proxies {
		if !strings.EqualFold(segs[0], vp.Prefix) || len(segs) < 2 {
			continue
		}
		rest, ok := cutPrefixFold("/"+segs[1], "/qrs")
		if !ok {
			return "", "", http.StatusNotFound, "Not Found"
		}
		if vp.JWTKey != nil {
			auth := r.Header.Get("Authorization")
			tok, ok := cutPrefixFold(auth, "Bearer ")
			if !ok || strings.TrimSpace(tok) == "" {
				return "", "", http.StatusUnauthorized, "Unauthorized"
			}
			claims, err := verifyJWT(strings.TrimSpace(tok), vp.JWTKey, vp.Audience, h.site.Now())
			if err != nil {
				return "", "", http.StatusUnauthorized, "Unauthorized: " + err.Error()
			}
			idClaim, dirClaim := cmp.Or(vp.UserIDClaim, "userId"), cmp.Or(vp.UserDirectoryClaim, "userDirectory")
			id, _ := claims[idClaim].(string)
			dir, _ := claims[dirClaim].(string)
			if id == "" || dir == "" {
				return "", "", http.StatusUnauthorized, "Unauthorized: token lacks " + idClaim + " or " + dirClaim
			}
			return rest, dir + `\` + id, 0, ""
		}
		id := strings.TrimSpace(r.Header.Get(vp.HeaderName))
		if id == "" {
			return "", "", http.StatusUnauthorized, "Unauthorized"
		}
		return rest, vp.UserDirectory + `\` + id, 0, ""
	}
	return "", "", http.StatusNotFound, "Not Found"
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	rest := s[len(prefix):]
	if rest != "" && rest[0] != '/' && prefix[len(prefix)-1] != ' ' {
		return "", false
	}
	return rest, true
}

// parseQlikUser reads "UserDirectory=DIR; UserId=ID" leniently: spaces, key case and
// URL-encoded values are all accepted, as QRS does.
func parseQlikUser(v string) (dir, id string, ok bool) {
	for _, part := range strings.Split(v, ";") {
		k, val, found := strings.Cut(part, "=")
		if !found {
			continue
		}
		val = strings.TrimSpace(val)
		if dec, err := url.QueryUnescape(val); err == nil {
			val = dec
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "userdirectory":
			dir = val
		case "userid":
			id = val
		}
	}
	return dir, id, dir != "" && id != ""
}

// response is what a route produced: a status with a text body, or a JSON body writer.
type response struct {
	status int
	text   string
	body   func(io.Writer) error
}

func notFound() response { return response{status: http.StatusNotFound, text: "Not Found"} }

func jsonBody(v any) response {
	return response{status: http.StatusOK, body: func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}}
}

// jsonList writes a JSON array element by element.
func jsonList[T any](items []T) response {
	return response{status: http.StatusOK, body: func(w io.Writer) error {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if _, err := io.WriteString(w, "["); err != nil {
			return err
		}
		for i := range items {
			buf.Reset()
			if err := enc.Encode(&items[i]); err != nil {
				return err
			}
			if i > 0 {
				if _, err := io.WriteString(w, ","); err != nil {
					return err
				}
			}
			if _, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "]")
		return err
	}}
}

func badRequest(err error) response {
	return response{status: http.StatusBadRequest, text: err.Error()}
}

var guidPath = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (h *handler) route(method, rest string, q url.Values) response {
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	for i, s := range segs {
		if i < len(segs)-1 || !guidPath.MatchString(s) {
			segs[i] = strings.ToLower(s)
		}
	}
	priv := strings.EqualFold(q.Get("privileges"), "true")
	filter, orderby := q.Get("filter"), q.Get("orderby")
	get := method == http.MethodGet
	switch {
	case len(segs) == 1 && segs[0] == "about" && get:
		return jsonBody(wireAboutBody())
	case len(segs) == 1 && segs[0] == "license" && get:
		h.site.mu.RLock()
		defer h.site.mu.RUnlock()
		return jsonBody(h.site.wireLicense(priv))
	case len(segs) == 2 && segs[0] == "license" && segs[1] == "accesstypeoverview" && get:
		h.site.mu.Lock()
		defer h.site.mu.Unlock()
		h.site.expireLocked()
		return jsonBody(h.site.overview())
	case len(segs) >= 1 && segs[0] == "user":
		return h.users(method, segs[1:], filter, orderby, priv)
	case len(segs) >= 2 && segs[0] == "license":
		name := segs[1]
		for _, k := range allocationKinds {
			if name == k+"accesstype" {
				return h.allocations(Kind(k), method, segs[2:], filter, orderby, priv)
			}
		}
		if name == "loginaccesstype" || name == "analyzertimeaccesstype" {
			return h.groups(name, method, segs[2:], filter, orderby, priv)
		}
	}
	return notFound()
}

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

func (h *handler) allocations(k Kind, method string, segs []string, filter, orderby string, priv bool) response {
	what, id, ok := sub(method, segs)
	if !ok {
		return notFound()
	}
	s := h.site
	if what == "id" {
		if !guidPath.MatchString(id) {
			return response{status: http.StatusBadRequest, text: "Invalid id: " + id}
		}
		if method == http.MethodDelete {
			if s.Release(k, id) == NotFound {
				return notFound()
			}
			return response{status: http.StatusNoContent}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.expireLocked()
		a := s.findLocked(k, id)
		if a == nil {
			return notFound()
		}
		return jsonBody(s.wireAllocation(a, priv))
	}
	cf, err := compileFilter(filter, allocFields)
	if err != nil {
		return badRequest(err)
	}
	order, err := parseOrderBy(orderby, allocFields)
	if err != nil {
		return badRequest(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	var rows []allocRow
	for _, a := range s.allocs[k] {
		r := allocRow{a: a, u: s.userIdx[strings.ToLower(a.UserRef)], s: s}
		if cf == nil || cf.match(r) {
			rows = append(rows, r)
		}
	}
	if order != nil {
		slices.SortStableFunc(rows, order.compare)
	}
	switch what {
	case "count":
		return jsonBody(wireCount{Value: len(rows)})
	case "list":
		out := make([]wireCondensed, len(rows))
		for i, r := range rows {
			out[i] = wireCondensed{ID: r.a.ID, Privileges: privileges(priv)}
		}
		return jsonList(out)
	}
	out := make([]wireAllocation, len(rows))
	for i, r := range rows {
		out[i] = s.wireAllocation(r.a, priv)
	}
	return jsonList(out)
}

func (h *handler) users(method string, segs []string, filter, orderby string, priv bool) response {
	what, id, ok := sub(method, segs)
	if !ok || method != http.MethodGet {
		return notFound()
	}
	s := h.site
	if what == "id" {
		if !guidPath.MatchString(id) {
			return response{status: http.StatusBadRequest, text: "Invalid id: " + id}
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		u := s.userIdx[strings.ToLower(id)]
		if u == nil {
			return notFound()
		}
		return jsonBody(s.wireUser(u, priv))
	}
	cf, err := compileFilter(filter, userFields)
	if err != nil {
		return badRequest(err)
	}
	order, err := parseOrderBy(orderby, userFields)
	if err != nil {
		return badRequest(err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var rows []*User
	for _, u := range s.users {
		if cf == nil || cf.match(u) {
			rows = append(rows, u)
		}
	}
	if order != nil {
		slices.SortStableFunc(rows, order.compare)
	}
	switch what {
	case "count":
		return jsonBody(wireCount{Value: len(rows)})
	case "list":
		out := make([]*wireUserCondensed, len(rows))
		for i, u := range rows {
			out[i] = s.wireUserCondensed(u, priv)
		}
		return jsonList(out)
	}
	out := make([]wireUser, len(rows))
	for i, u := range rows {
		out[i] = s.wireUser(u, priv)
	}
	return jsonList(out)
}

func (h *handler) groups(name, method string, segs []string, filter, orderby string, priv bool) response {
	what, id, ok := sub(method, segs)
	if !ok || method != http.MethodGet {
		return notFound()
	}
	cf, err := compileFilter(filter, groupFields)
	if err != nil {
		return badRequest(err)
	}
	order, err := parseOrderBy(orderby, groupFields)
	if err != nil {
		return badRequest(err)
	}
	s := h.site
	s.mu.RLock()
	defer s.mu.RUnlock()
	type item struct {
		row  groupRow
		wire any
	}
	var items []item
	if name == "loginaccesstype" {
		for _, g := range s.logins {
			items = append(items, item{groupRow{g.ID, g.Name, g.Created}, s.wireLoginGroup(g, priv)})
		}
	} else {
		for _, g := range s.groups {
			items = append(items, item{groupRow{g.ID, g.Name, g.Created}, s.wireCapacityGroup(g, priv)})
		}
	}
	if what == "id" {
		for _, it := range items {
			if strings.EqualFold(it.row.id, id) {
				return jsonBody(it.wire)
			}
		}
		return notFound()
	}
	items = slices.DeleteFunc(items, func(it item) bool { return cf != nil && !cf.match(it.row) })
	if order != nil {
		slices.SortStableFunc(items, func(a, b item) int { return order.compare(a.row, b.row) })
	}
	switch what {
	case "count":
		return jsonBody(wireCount{Value: len(items)})
	case "list":
		out := make([]wireNamedCondensed, len(items))
		for i, it := range items {
			out[i] = wireNamedCondensed{ID: it.row.id, Privileges: privileges(priv), Name: it.row.name}
		}
		return jsonList(out)
	}
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it.wire
	}
	return jsonList(out)
}

// String describes a route for logs.
func (r Route) String() string { return fmt.Sprintf("%s /qrs%s", r.Method, r.Path) }
