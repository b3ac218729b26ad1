package emulator

// Authentication and QRS's request rules: the xrfkey check, query syntax, the acting user
// from X-Qlik-User (certificates), a header or a JWT (virtual proxies).

import (
	"cmp"
	"crypto/rsa"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
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
