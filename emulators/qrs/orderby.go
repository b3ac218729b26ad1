package emulator

import (
	"fmt"
	"strings"
	"time"
)

// The orderby parameter: a field and a direction, compared as the field's kind says.

// orderSpec is a parsed orderby: properties with a direction.
type orderSpec[R any] struct {
	fields []field[R]
	desc   []bool
}

func parseOrderBy[R any](s string, fields map[string]field[R]) (*orderSpec[R], error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	o := &orderSpec[R]{}
	for _, part := range strings.Split(s, ",") {
		words := strings.Fields(part)
		if len(words) == 0 || len(words) > 2 {
			return nil, &parseError{msg: "Cannot parse the orderby expression: " + s}
		}
		f, ok := fields[strings.ToLower(words[0])]
		if !ok {
			return nil, &parseError{msg: fmt.Sprintf("Cannot parse the orderby expression: unknown property '%s'", words[0])}
		}
		desc := false
		if len(words) == 2 {
			switch strings.ToLower(words[1]) {
			case "asc":
			case "desc":
				desc = true
			default:
				return nil, &parseError{msg: "Cannot parse the orderby expression: " + s}
			}
		}
		o.fields = append(o.fields, f)
		o.desc = append(o.desc, desc)
	}
	return o, nil
}

func (o *orderSpec[R]) compare(a, b R) int {
	for i, f := range o.fields {
		c := compareValues(f.kind, first(f.get(a)), first(f.get(b)))
		if o.desc[i] {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func first(vs []any) any {
	if len(vs) == 0 {
		return nil
	}
	return vs[0]
}

func compareValues(k fieldKind, a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch k {
	case kString, kGUID:
		return strings.Compare(strings.ToLower(a.(string)), strings.ToLower(b.(string)))
	case kBool:
		switch {
		case a.(bool) == b.(bool):
			return 0
		case !a.(bool):
			return -1
		}
		return 1
	case kTime:
		return a.(time.Time).Compare(b.(time.Time))
	case kInt:
		x, y := a.(int64), b.(int64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}
