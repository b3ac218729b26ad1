package qrs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Typed fields and objects on top of the scanner: a string or a boolean member, and the
// members of an object by name.

// typeError consumes the mismatched value (so a syntax error in it wins, as in
// encoding/json) and reports what was expected.
func (d *jsonScanner) typeError(field, want string, c byte) error {
	if err := d.skip(1); err != nil || kind(c) == "" {
		return err
	}
	return fmt.Errorf("field %q: expected %s, got %s", field, want, kind(c))
}

// setString decodes a string field; null leaves it as it is.
func (d *jsonScanner) setString(field string, dst *string) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	switch c {
	case '"':
		s, err := d.stringValue()
		if err != nil {
			return fmt.Errorf("field %q: %w", field, err)
		}
		*dst = s
		return nil
	case 'n':
		_, err := d.literal()
		return err
	default:
		return d.typeError(field, "a string", c)
	}
}

// setBool decodes a boolean field; null leaves it as it is.
func (d *jsonScanner) setBool(field string, dst *bool) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c != 't' && c != 'f' && c != 'n' {
		return d.typeError(field, "true or false", c)
	}
	lit, err := d.literal()
	if err != nil {
		return err
	}
	switch lit {
	case "true":
		*dst = true
	case "false":
		*dst = false
	}
	return nil
}

// object reads the members of an object. lookup maps each key (unquoted, and valid only
// during the call) to a field index or -1; member then consumes the value for it.
func (d *jsonScanner) object(lookup func(key []byte) int, member func(field int) error) error {
	if err := d.expect('{', "looking for beginning of object"); err != nil {
		return err
	}
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c == '}' {
		d.pos++
		return nil
	}
	for {
		if c != '"' {
			return d.syntax("invalid character %q looking for beginning of object key string", c)
		}
		inner, raw, plain, err := d.str()
		if err != nil {
			return err
		}
		var field int
		if plain {
			field = lookup(inner) // before the next read moves the buffer under it
		} else {
			var key string
			if err := json.Unmarshal(raw, &key); err != nil {
				return err
			}
			field = lookup([]byte(key))
		}
		if err := d.expect(':', "after object key"); err != nil {
			return err
		}
		if err := member(field); err != nil {
			return err
		}
		if c, err = d.peek(); err != nil {
			return err
		}
		d.pos++
		switch c {
		case ',':
		case '}':
			return nil
		default:
			d.pos--
			return d.syntax("invalid character %q after object key:value pair", c)
		}
		if c, err = d.peek(); err != nil {
			return err
		}
	}
}

// fieldIndex finds the declared name a key stands for: an exact match first, then a
// case-insensitive one, as encoding/json does. -1: not declared.
func fieldIndex(key []byte, names []string) int {
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	ascii := true
	for _, c := range key {
		ascii = ascii && c < utf8.RuneSelf
	}
	for i, n := range names {
		// Folding keeps the length of ASCII text; only other runes (ſ, K) change it.
		if (!ascii || len(key) == len(n)) && bytes.EqualFold(key, []byte(n)) {
			return i
		}
	}
	return -1
}
