// Package redact keeps secrets that hide in URLs out of logs, errors and metrics: the user
// name and password of "http://user:password@host", and the values of a query string
// ("?token=…"). Configured URLs are checked to hold neither (siteconfig), and printed
// through URL wherever they may still hold one: in the error that refuses them, and in
// the errors of HTTP clients, which quote the URL of the request (*url.Error).
package redact

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Mask replaces what is hidden.
const Mask = "xxxxx"

// URL is raw with its user information (user name and password alike: a token may sit in
// either), the values of its query string (their names stay) and its fragment masked. It works on any text,
// also one that does not parse as a URL, so that an error refusing a malformed URL can
// still show what it refuses.
func URL(raw string) string {
	p := split(raw)
	var b strings.Builder
	b.WriteString(p.scheme)
	if p.hasUser {
		b.WriteString(Mask + "@")
	}
	b.WriteString(p.host + p.path)
	if p.hasQuery {
		b.WriteByte('?')
		for i, kv := range strings.Split(p.query, "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			if k, _, named := strings.Cut(kv, "="); named {
				b.WriteString(k + "=" + Mask)
			} else {
				b.WriteString(Mask) // a bare value may be a token itself
			}
		}
	}
	if p.fragment != "" {
		b.WriteString("#" + Mask)
	}
	return b.String()
}

// HasCredentials reports whether raw carries a user name or password ("user:pw@host"),
// also without a scheme, which url.Parse would take for a scheme and an opaque part.
func HasCredentials(raw string) bool { return split(raw).hasUser }

type parts struct {
	scheme, host, path, query, fragment string
	hasUser, hasQuery                   bool
}

// split cuts raw as RFC 3986 does, without unescaping or refusing anything — but for the
// user information, which ends at the last "@" of the text: a password may hold "/", "?"
// or "#" that a user did not escape, and no part of it may show. (A URL whose path or
// query holds a bare "@" is taken for one with credentials: masked too much, never too
// little.)
func split(raw string) parts {
	var p parts
	rest := raw
	if i := strings.Index(rest, "://"); i >= 0 && isScheme(rest[:i]) {
		p.scheme, rest = rest[:i+3], rest[i+3:]
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		p.hasUser, rest = true, rest[i+1:]
	}
	rest, p.fragment, _ = strings.Cut(rest, "#")
	rest, p.query, p.hasQuery = strings.Cut(rest, "?")
	p.host = rest
	if i := strings.Index(rest, "/"); i >= 0 {
		p.host, p.path = rest[:i], rest[i:]
	}
	return p
}

// isScheme reports whether s is a scheme as RFC 3986 has it: a letter, then letters,
// digits, "+", "-" or ".". Anything else before a "://" belongs to the rest (a password
// that holds "://" in a URL without a scheme: "user:pa://ss@host").
func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// Error returns err with the URL of an HTTP client's *url.Error anywhere in its chain
// passed through URL in its message (net/http masks a password there, but neither the
// user name nor the query string). The chain stays: errors.Is and errors.As still see
// through it.
func Error(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) || ue.URL == "" {
		return err
	}
	safe := URL(ue.URL)
	if safe == ue.URL {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), strconv.Quote(ue.URL), strconv.Quote(safe))
	msg = strings.ReplaceAll(msg, ue.URL, safe)
	return &redacted{err: err, msg: msg}
}

type redacted struct {
	err error
	msg string
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }
