package qrs

import (
	"encoding/json"
	"fmt"
	"io"
)

// allocationReader decodes a JSON array of allocations from a stream, one row at a time.
//
// It exists for speed: an allocation list is nearly all of what a gather reads (60 MB for a
// 100 000-user site), and encoding/json decodes it at about 130 MB/s a core, which made the
// gather CPU-bound behind the transfer itself. This reader binds the Allocation type to a
// jsonScanner (jsonscan.go): each byte is scanned once (strings eight bytes at a time),
// keys are matched against the declared names, what is not declared is skipped without
// building anything, and plain strings (no escapes, valid UTF-8) become Go strings
// directly. Its result is meant to be exactly encoding/json's: the same values for the
// same input, an error where encoding/json has one (FuzzAllocationReader checks this on
// arbitrary input). The rare cases, escaped or invalid-UTF-8 strings and keys that match only
// case-insensitively, are handed to encoding/json's own rules rather than reimplemented.
type allocationReader struct {
	jsonScanner

	spareUser   *UserCondensed    // allocated with the current row, for its user reference
	directories map[string]string // user directory names seen: a site has a handful
}

func newAllocationReader(r io.Reader, size int) *allocationReader {
	return &allocationReader{jsonScanner: jsonScanner{r: r, buf: make([]byte, size)}}
}

// setDirectory decodes a user directory name. A site has a handful of them, repeated in
// every row: each distinct name is kept once rather than once per row.
func (d *allocationReader) setDirectory(field string, dst *string) error {
	if c, err := d.peek(); err != nil || c != '"' {
		return d.setString(field, dst)
	}
	inner, raw, plain, err := d.str()
	if err != nil {
		return fmt.Errorf("field %q: %w", field, err)
	}
	if !plain {
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("field %q: %w", field, err)
		}
		return nil
	}
	if s, ok := d.directories[string(inner)]; ok {
		*dst = s
		return nil
	}
	s := string(inner)
	if d.directories == nil {
		d.directories = map[string]string{}
	}
	if len(d.directories) < 256 {
		d.directories[s] = s
	}
	*dst = s
	return nil
}

// setTime decodes a date-time field with Time.UnmarshalJSON, as encoding/json does.
func (d *allocationReader) setTime(field string, dst *Time) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	var raw []byte
	switch c {
	case '"':
		if _, raw, _, err = d.str(); err != nil {
			return err
		}
	case 'n':
		if _, err := d.literal(); err != nil {
			return err
		}
		raw = []byte("null")
	default:
		return d.typeError(field, "a date-time string", c)
	}
	if err := dst.UnmarshalJSON(raw); err != nil {
		return fmt.Errorf("field %q: %w", field, err)
	}
	return nil
}

// The fields the reader decodes, named; the names slices map each to its JSON key.
const (
	allocID = iota
	allocCreatedDate
	allocUser
	allocLastUsed
	allocExcess
	allocQuarantined
	allocQuarantineEnd
	allocDeletedUserID
	allocDeletedUserDirectory
)

const (
	userID = iota
	userUserID
	userUserDirectory
)

var (
	allocationNames = []string{
		allocID: "id", allocCreatedDate: "createdDate", allocUser: "user", allocLastUsed: "lastUsed",
		allocExcess: "excess", allocQuarantined: "quarantined", allocQuarantineEnd: "quarantineEnd",
		allocDeletedUserID: "deletedUserId", allocDeletedUserDirectory: "deletedUserDirectory",
	}
	userNames = []string{userID: "id", userUserID: "userId", userUserDirectory: "userDirectory"}
)

// allocation decodes one element of the list into a; null leaves it zero.
func (d *allocationReader) allocation(a *Allocation) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	switch c {
	case '{':
	case 'n':
		_, err := d.literal()
		return err
	default:
		return d.typeError("", "an object", c)
	}
	lookup := func(key []byte) int { return fieldIndex(key, allocationNames) }
	return d.object(lookup, func(field int) error {
		switch field {
		case allocID:
			return d.setString("id", &a.ID)
		case allocCreatedDate:
			return d.setTime("createdDate", &a.CreatedDate)
		case allocUser:
			return d.user(&a.User)
		case allocLastUsed:
			return d.setTime("lastUsed", &a.LastUsed)
		case allocExcess:
			return d.setBool("excess", &a.Excess)
		case allocQuarantined:
			return d.setBool("quarantined", &a.Quarantined)
		case allocQuarantineEnd:
			return d.setTime("quarantineEnd", &a.QuarantineEnd)
		case allocDeletedUserID:
			return d.setString("deletedUserId", &a.DeletedUserID)
		case allocDeletedUserDirectory:
			return d.setDirectory("deletedUserDirectory", &a.DeletedUserDirectory)
		default:
			return d.skip(1)
		}
	})
}

// user decodes the allocation's user reference: null clears it, an object fills it
// (into the one already there, as encoding/json does for a repeated key).
func (d *allocationReader) user(dst **UserCondensed) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	switch c {
	case 'n':
		if _, err := d.literal(); err != nil {
			return err
		}
		*dst = nil
		return nil
	case '{':
	default:
		return d.typeError("user", "an object", c)
	}
	if *dst == nil {
		*dst, d.spareUser = d.spareUser, nil
		if *dst == nil { // a second user object in the same row
			*dst = new(UserCondensed)
		}
	}
	u := *dst
	lookup := func(key []byte) int { return fieldIndex(key, userNames) }
	return d.object(lookup, func(field int) error {
		switch field {
		case userID:
			return d.setString("user.id", &u.ID)
		case userUserID:
			return d.setString("user.userId", &u.UserID)
		case userUserDirectory:
			return d.setDirectory("user.userDirectory", &u.UserDirectory)
		default:
			return d.skip(2)
		}
	})
}

// list reads the array, calling fn for each element as soon as it is complete. An error
// from fn stops the reading and is returned as fnErr, as it is; err is about the body.
// What follows the closing bracket is not read, as with encoding/json's Decoder.
func (d *allocationReader) list(fn func(*Allocation) error) (fnErr, err error) {
	c, err := d.peek()
	if err != nil {
		return nil, fmt.Errorf("decoding response: %w", err)
	}
	if c != '[' {
		if kind(c) == "" {
			return nil, fmt.Errorf("decoding response: %w", d.syntax("invalid character %q looking for beginning of value", c))
		}
		return nil, fmt.Errorf("decoding response: expected a JSON array, got %s", kind(c))
	}
	d.pos++
	if c, err = d.peek(); err != nil {
		return nil, fmt.Errorf("decoding element 0: %w", err)
	}
	if c == ']' {
		return nil, nil
	}
	for i := 0; ; i++ {
		// The row and its user reference in one allocation: that is most of the garbage.
		row := new(struct {
			a Allocation
			u UserCondensed
		})
		a := &row.a
		d.spareUser = &row.u
		if err := d.allocation(a); err != nil {
			return nil, fmt.Errorf("decoding element %d: %w", i, err)
		}
		if err := fn(a); err != nil {
			return err, nil
		}
		if c, err = d.peek(); err != nil {
			return nil, fmt.Errorf("decoding end of array: %w", err)
		}
		d.pos++
		switch c {
		case ',':
		case ']':
			return nil, nil
		default:
			d.pos--
			return nil, fmt.Errorf("decoding element %d: %w", i+1, d.syntax("invalid character %q after array element", c))
		}
	}
}
