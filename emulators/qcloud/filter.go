package qcloudemu

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// A SCIM filter (RFC 7644) of the subset the licenses and users APIs take: comparisons
// `attr op value` with eq, co, ge, gt, le, lt; `and`, `or`, `not` and parentheses. String
// values are JSON strings (quotes and backslashes escaped, \uXXXX); a bare value (a time)
// runs to the next space or parenthesis. The users API compares case-insensitively.

type node interface {
	eval(get func(attr string) []string) bool
}

type cmpNode struct{ attr, op, value string }
type andNode struct{ l, r node }
type orNode struct{ l, r node }
type notNode struct{ n node }

func (n andNode) eval(g func(string) []string) bool { return n.l.eval(g) && n.r.eval(g) }
func (n orNode) eval(g func(string) []string) bool  { return n.l.eval(g) || n.r.eval(g) }
func (n notNode) eval(g func(string) []string) bool { return !n.n.eval(g) }

func (n cmpNode) eval(g func(string) []string) bool {
	for _, v := range g(strings.ToLower(n.attr)) {
		if compare(v, n.op, n.value) {
			return true
		}
	}
	return false
}

func compare(have, op, want string) bool {
	switch op {
	case "eq":
		return strings.EqualFold(have, want)
	case "co":
		return strings.Contains(strings.ToLower(have), strings.ToLower(want))
	}
	ht, err1 := time.Parse(time.RFC3339Nano, have)
	wt, err2 := time.Parse(time.RFC3339Nano, want)
	if err1 != nil || err2 != nil {
		return false
	}
	switch op {
	case "ge":
		return !ht.Before(wt)
	case "gt":
		return ht.After(wt)
	case "le":
		return !ht.After(wt)
	case "lt":
		return ht.Before(wt)
	}
	return false
}

type filterParser struct {
	s     string
	pos   int
	attrs map[string]bool // allowed attributes (lower case)
	ops   map[string]bool
}

// parseFilter parses s, allowing only the listed attributes and operators.
func parseFilter(s string, attrs, ops []string) (node, error) {
	p := &filterParser{s: s, attrs: map[string]bool{}, ops: map[string]bool{}}
	for _, a := range attrs {
		p.attrs[strings.ToLower(a)] = true
	}
	for _, o := range ops {
		p.ops[o] = true
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("unexpected %q at %d", p.rest(), p.pos)
	}
	return n, nil
}

func (p *filterParser) rest() string {
	r := p.s[p.pos:]
	if len(r) > 20 {
		r = r[:20]
	}
	return r
}

func (p *filterParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *filterParser) word() string {
	p.space()
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] != ' ' && p.s[p.pos] != '(' && p.s[p.pos] != ')' && p.s[p.pos] != '"' {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *filterParser) keyword(k string) bool {
	save := p.pos
	if strings.EqualFold(p.word(), k) {
		return true
	}
	p.pos = save
	return false
}

func (p *filterParser) or() (node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *filterParser) and() (node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *filterParser) unary() (node, error) {
	if p.keyword("not") {
		n, err := p.unary()
		return notNode{n}, err
	}
	p.space()
	if p.pos < len(p.s) && p.s[p.pos] == '(' {
		p.pos++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos >= len(p.s) || p.s[p.pos] != ')' {
			return nil, fmt.Errorf("missing ) at %d", p.pos)
		}
		p.pos++
		return n, nil
	}
	attr := p.word()
	if !p.attrs[strings.ToLower(attr)] {
		return nil, fmt.Errorf("attribute %q cannot be filtered on", attr)
	}
	op := strings.ToLower(p.word())
	if !p.ops[op] {
		return nil, fmt.Errorf("operator %q is not supported for %s", op, attr)
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	return cmpNode{attr: attr, op: op, value: v}, nil
}

func (p *filterParser) value() (string, error) {
	p.space()
	if p.pos >= len(p.s) {
		return "", fmt.Errorf("missing value at %d", p.pos)
	}
	if p.s[p.pos] != '"' {
		if w := p.word(); w != "" {
			return w, nil
		}
		return "", fmt.Errorf("missing value at %d", p.pos)
	}
	start := p.pos
	p.pos++
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case '\\':
			p.pos += 2
			continue
		case '"':
			p.pos++
			var v string
			if err := json.Unmarshal([]byte(p.s[start:p.pos]), &v); err != nil {
				return "", fmt.Errorf("bad string %s: %v", p.s[start:p.pos], err)
			}
			return v, nil
		}
		p.pos++
	}
	return "", fmt.Errorf("unterminated string at %d", start)
}

// Matches evaluates a SCIM filter the way the emulator's users API does (eq and co
// case-insensitive; ge, gt, le, lt on RFC 3339 times) against an object's attribute values
// (keys in lower case): for tests of a client's quoting.
func Matches(filter string, values map[string][]string) (bool, error) {
	attrs := make([]string, 0, len(values))
	for k := range values {
		attrs = append(attrs, k)
	}
	n, err := parseFilter(filter, attrs, []string{"eq", "co", "ge", "gt", "le", "lt"})
	if err != nil {
		return false, err
	}
	return n.eval(func(a string) []string { return values[a] }), nil
}
