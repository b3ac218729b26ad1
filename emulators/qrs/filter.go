package emulator

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The QRS filter language, as documented ("Filtering") and as a live site behaves
// (qrs-api.md §3.1):
//
//	expr  := and ("or" and)*
//	and   := unary ("and" unary)*
//	unary := "(" expr ")" | term
//	term  := path op value
//	path  := name ("." name)*            case-insensitive, e.g. user.userDirectory, tags.name
//	op    := eq ne lt le gt ge sw ew so  case-insensitive
//	value := '…' with \ escaping the next character, or a bare word (GUID, true/false, number, enum)
//
// Strings compare case-insensitively; a collection path (tags.name) matches when any element
// does. Errors are the text bodies a live QRS sends with its 400s.

// parseError is a 400 with QRS's text body.
type parseError struct{ msg string }

func (e *parseError) Error() string { return e.msg }

func cannotParse(filter string) error {
	return &parseError{msg: "Cannot parse the expression: " + filter}
}

type tokKind int

const (
	tokWord tokKind = iota
	tokString
	tokOpen
	tokClose
)

type token struct {
	kind tokKind
	text string
}

func tokenize(filter string) ([]token, error) {
	var toks []token
	rs := []rune(filter)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(':
			toks = append(toks, token{kind: tokOpen})
			i++
		case r == ')':
			toks = append(toks, token{kind: tokClose})
			i++
		case r == '"':
			return nil, cannotParse(filter)
		case r == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(rs) {
				c := rs[i]
				if c == '\\' && i+1 < len(rs) {
					b.WriteRune(rs[i+1])
					i += 2
					continue
				}
				if c == '\'' {
					closed = true
					i++
					break
				}
				b.WriteRune(c)
				i++
			}
			if !closed {
				return nil, cannotParse(filter)
			}
			toks = append(toks, token{kind: tokString, text: b.String()})
		default:
			start := i
			for i < len(rs) && !unicode.IsSpace(rs[i]) && rs[i] != '(' && rs[i] != ')' && rs[i] != '\'' && rs[i] != '"' {
				i++
			}
			toks = append(toks, token{kind: tokWord, text: string(rs[start:i])})
		}
	}
	return toks, nil
}

// node is a parsed filter: an and/or of terms.
type node struct {
	op       string // "and", "or", or "" for a term
	children []*node
	term     *term
}

type term struct {
	path  string // lower-case
	op    string
	value token
}

type parser struct {
	filter string
	toks   []token
	pos    int
}

func parseFilter(filter string) (*node, error) {
	toks, err := tokenize(filter)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, nil
	}
	p := &parser{filter: filter, toks: toks}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, cannotParse(filter)
	}
	return n, nil
}

func (p *parser) peekWord(w string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == tokWord && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *parser) expr() (*node, error) { return p.binary("or", p.and) }
func (p *parser) and() (*node, error)  { return p.binary("and", p.unary) }

func (p *parser) binary(op string, next func() (*node, error)) (*node, error) {
	first, err := next()
	if err != nil {
		return nil, err
	}
	children := []*node{first}
	for p.peekWord(op) {
		p.pos++
		n, err := next()
		if err != nil {
			return nil, err
		}
		children = append(children, n)
	}
	if len(children) == 1 {
		return first, nil
	}
	return &node{op: op, children: children}, nil
}

func (p *parser) unary() (*node, error) {
	if p.pos >= len(p.toks) {
		return nil, cannotParse(p.filter)
	}
	if p.toks[p.pos].kind == tokOpen {
		p.pos++
		if p.pos < len(p.toks) && p.toks[p.pos].kind == tokClose {
			return nil, &parseError{msg: "Invalid expression"}
		}
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != tokClose {
			return nil, cannotParse(p.filter)
		}
		p.pos++
		return n, nil
	}
	if p.pos+3 > len(p.toks) {
		return nil, cannotParse(p.filter)
	}
	path, op, val := p.toks[p.pos], p.toks[p.pos+1], p.toks[p.pos+2]
	if path.kind != tokWord || op.kind != tokWord || (val.kind != tokWord && val.kind != tokString) {
		return nil, cannotParse(p.filter)
	}
	opName := strings.ToLower(op.text)
	switch opName {
	case "eq", "ne", "lt", "le", "gt", "ge", "sw", "ew", "so":
	default:
		return nil, cannotParse(p.filter)
	}
	p.pos += 3
	return &node{term: &term{path: strings.ToLower(path.text), op: opName, value: val}}, nil
}

// fieldKind is the type of a filterable property.
type fieldKind int

const (
	kString fieldKind = iota
	kGUID
	kBool
	kTime
	kInt
)

// field reads one property of a record; collections return several values.
type field[R any] struct {
	kind fieldKind
	get  func(R) []any
}

// compiled is a filter bound to the fields of one entity, with its literals converted.
type compiled[R any] struct {
	op       string
	children []*compiled[R]
	path     string
	f        field[R]
	cmp      string
	lit      any
	set      map[string]bool // op "in": an "or" of eq terms on one string or GUID property
}

func compileFilter[R any](filter string, fields map[string]field[R]) (*compiled[R], error) {
	n, err := parseFilter(filter)
	if err != nil || n == nil {
		return nil, err
	}
	return compileNode(filter, n, fields)
}

func compileNode[R any](filter string, n *node, fields map[string]field[R]) (*compiled[R], error) {
	if n.term == nil {
		c := &compiled[R]{op: n.op}
		for _, ch := range n.children {
			cc, err := compileNode(filter, ch, fields)
			if err != nil {
				return nil, err
			}
			c.children = append(c.children, cc)
		}
		return inSet(c), nil
	}
	t := n.term
	f, ok := fields[t.path]
	if !ok {
		return nil, &parseError{msg: fmt.Sprintf("Cannot parse the expression: unknown property '%s' in %s", t.path, filter)}
	}
	allowed := map[fieldKind]string{
		kString: "eq ne sw ew so", kGUID: "eq ne", kBool: "eq ne", kTime: "eq ne lt le gt ge", kInt: "eq ne lt le gt ge",
	}[f.kind]
	if !strings.Contains(allowed, t.op) {
		return nil, &parseError{msg: fmt.Sprintf("Cannot parse the expression: operator '%s' is not valid for '%s' in %s", t.op, t.path, filter)}
	}
	lit, err := convertLiteral(f.kind, t)
	if err != nil {
		return nil, &parseError{msg: fmt.Sprintf("Cannot parse the expression: %v in %s", err, filter)}
	}
	return &compiled[R]{path: t.path, f: f, cmp: t.op, lit: lit}, nil
}

// inSet turns `p eq a or p eq b …` on one string or GUID property into a set lookup: the
// same rows, found with one map lookup a value instead of one comparison a term (clients
// re-read batches of up to 40 ids this way).
func inSet[R any](c *compiled[R]) *compiled[R] {
	if c.op != "or" || len(c.children) < 2 {
		return c
	}
	first := c.children[0]
	set := map[string]bool{}
	for _, ch := range c.children {
		if ch.op != "" || ch.cmp != "eq" || ch.path != first.path || (ch.f.kind != kString && ch.f.kind != kGUID) {
			return c
		}
		set[ch.lit.(string)] = true
	}
	return &compiled[R]{op: "in", path: first.path, f: first.f, set: set}
}

// timeLayouts are the date formats real clients send (qrs-api.md §3.1); values without a
// zone are taken as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006/01/02 15:04:05",
	"2006-01-02",
	"2006/01/02",
}

func parseFilterTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("'%s' is not a valid DateTime", s)
}

func convertLiteral(k fieldKind, t *term) (any, error) {
	v := t.value.text
	switch k {
	case kBool:
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return nil, fmt.Errorf("'%s' is not a valid Boolean", v)
		}
		return b, nil
	case kTime:
		return parseFilterTime(v)
	case kInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("'%s' is not a valid Int", v)
		}
		return n, nil
	case kGUID:
		return strings.ToLower(v), nil
	default:
		if t.value.kind == tokWord {
			// A bare word is accepted for enums and GUIDs; for strings QRS wants quotes.
			return nil, errors.New("string values must be quoted")
		}
		return strings.ToLower(v), nil
	}
}

func (c *compiled[R]) match(r R) bool {
	switch c.op {
	case "and":
		for _, ch := range c.children {
			if !ch.match(r) {
				return false
			}
		}
		return true
	case "or":
		for _, ch := range c.children {
			if ch.match(r) {
				return true
			}
		}
		return false
	case "in":
		for _, v := range c.f.get(r) {
			if c.set[strings.ToLower(v.(string))] {
				return true
			}
		}
		return false
	}
	for _, v := range c.f.get(r) {
		if compare(c.f.kind, c.cmp, v, c.lit) {
			return true
		}
	}
	return false
}

func compare(k fieldKind, op string, v, lit any) bool {
	switch k {
	case kString, kGUID:
		s, l := strings.ToLower(v.(string)), lit.(string)
		switch op {
		case "eq":
			return s == l
		case "ne":
			return s != l
		case "sw":
			return strings.HasPrefix(s, l)
		case "ew":
			return strings.HasSuffix(s, l)
		case "so":
			return strings.Contains(s, l)
		}
	case kBool:
		return (v.(bool) == lit.(bool)) == (op == "eq")
	case kTime:
		return ordered(op, v.(time.Time).Compare(lit.(time.Time)))
	case kInt:
		a, b := v.(int64), lit.(int64)
		switch {
		case a < b:
			return ordered(op, -1)
		case a > b:
			return ordered(op, 1)
		}
		return ordered(op, 0)
	}
	return false
}

func ordered(op string, c int) bool {
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	}
	return false
}
