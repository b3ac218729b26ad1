package emulator

// Routing: the routes the emulator serves, and the handler that authenticates a request,
// applies injected faults and dispatches it to a collection.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

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
		{http.MethodGet, "/app"},
		{http.MethodGet, "/app/full"},
		{http.MethodGet, "/app/count"},
		{http.MethodGet, "/app/object"},
		{http.MethodGet, "/app/object/full"},
		{http.MethodGet, "/app/object/count"},
		{http.MethodPost, "/license/analyzeraccesstype"},
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
	query, _ := url.QueryUnescape(r.URL.RawQuery)
	fault := h.faults.decide(r.Method, r.URL.Path, query)
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
	case FaultForbidden:
		textError(w, http.StatusForbidden, forbiddenMessage)
		return
	case FaultTooMany:
		w.Header().Set("Retry-After", strconv.Itoa(int(fault.retryAfter.Round(time.Second)/time.Second)))
		textError(w, http.StatusTooManyRequests, "Too Many Requests")
		return
	}

	var body []byte
	if r.Method == http.MethodPost {
		body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
	}
	if fault.kind == FaultGatewayTimeoutLate {
		method, q, rights := r.Method, r.URL.Query(), h.site.rightsOf(user)
		time.AfterFunc(fault.lateEffect, func() { h.route(method, rest, q, rights, body) })
		textError(w, http.StatusGatewayTimeout, "Gateway Timeout")
		return
	}
	if fault.kind == FaultSlow {
		select {
		case <-time.After(fault.lateEffect):
		case <-r.Context().Done():
			// The client gave up; QRS carries on and finishes the request all the same.
			method, q, rights := r.Method, r.URL.Query(), h.site.rightsOf(user)
			time.AfterFunc(fault.lateEffect-time.Since(start), func() { h.route(method, rest, q, rights, body) })
			return
		}
	}
	resp := h.route(r.Method, rest, r.URL.Query(), h.site.rightsOf(user), body)
	if fault.answerLag > 0 {
		select {
		case <-time.After(fault.answerLag):
		case <-r.Context().Done():
			return // carried out; the client is gone
		}
	}
	switch fault.kind {
	case FaultLoseAnswer:
		panic(http.ErrAbortHandler)
	case FaultBadGatewayAfter:
		textError(w, http.StatusBadGateway, "Bad Gateway")
		return
	case FaultGatewayTimeoutAfter:
		textError(w, http.StatusGatewayTimeout, "Gateway Timeout")
		return
	}
	if resp.body == nil {
		if resp.text != "" {
			textError(w, resp.status, resp.text)
		} else {
			w.WriteHeader(resp.status)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if resp.status != http.StatusOK {
		w.WriteHeader(resp.status)
	}
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

func (h *handler) route(method, rest string, q url.Values, rights []string, body []byte) response {
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	for i, s := range segs {
		if i < len(segs)-1 || !guidPath.MatchString(s) {
			segs[i] = strings.ToLower(s)
		}
	}
	var priv *[]string // the privileges arrays: the acting user's rights, when asked for
	if strings.EqualFold(q.Get("privileges"), "true") {
		priv = &rights
	}
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
	case len(segs) >= 1 && segs[0] == "app":
		return h.apps(method, segs[1:], filter, orderby, priv)
	case len(segs) == 2 && segs[0] == "license" && segs[1] == "analyzeraccesstype" && method == http.MethodPost:
		if !slices.Contains(rights, "create") {
			return response{status: http.StatusForbidden, text: forbiddenMessage}
		}
		return h.addAnalyzer(body, priv)
	case len(segs) >= 2 && segs[0] == "license":
		name := segs[1]
		for _, k := range allocationKinds {
			if name == k+"accesstype" {
				return h.allocations(Kind(k), method, segs[2:], filter, orderby, priv, slices.Contains(rights, "delete"))
			}
		}
		if name == "loginaccesstype" || name == "analyzertimeaccesstype" {
			return h.groups(name, method, segs[2:], filter, orderby, priv)
		}
	}
	return notFound()
}

// String describes a route for logs.
func (r Route) String() string { return fmt.Sprintf("%s /qrs%s", r.Method, r.Path) }
