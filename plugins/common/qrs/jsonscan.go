package qrs

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// jsonScanner reads JSON from a stream through a buffer it refills and grows, byte by
// byte with no reflection: the tokenizer under allocationReader. Its errors read like
// encoding/json's (syntax errors carry the stream offset), because the reader's result
// must be encoding/json's for the same input.
type jsonScanner struct {
	r    io.Reader
	buf  []byte
	pos  int   // next unread byte in buf
	end  int   // end of the valid bytes in buf
	base int64 // offset in the stream of buf[0]
	err  error // the error that ended reading, io.EOF at the end of the body
}

// maxDepth is encoding/json's nesting limit, kept for the values the scanner skips.
const maxDepth = 10000

// syntaxError reports malformed JSON with the stream offset it was found at.
type syntaxError struct {
	msg    string
	offset int64
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s (at byte %d)", e.msg, e.offset) }

func (d *jsonScanner) syntax(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...), offset: d.base + int64(d.pos)}
}

// more reads further into the stream, keeping buf[keep:end] (and so anything the caller
// is still scanning); it moves those bytes to the front, so the caller must re-base its
// indexes by the returned shift. It reports false at the end of the body or on an error.
func (d *jsonScanner) more(keep int) (shift int, ok bool) {
	if d.err != nil {
		return 0, false
	}
	if keep > 0 {
		n := copy(d.buf, d.buf[keep:d.end])
		d.base += int64(keep)
		d.pos -= keep
		d.end = n
	}
	if d.end == len(d.buf) {
		grown := make([]byte, 2*len(d.buf))
		copy(grown, d.buf[:d.end])
		d.buf = grown
	}
	for {
		n, err := d.r.Read(d.buf[d.end:])
		d.end += n
		if err != nil {
			d.err = err
		}
		if n > 0 {
			return keep, true
		}
		if err != nil {
			return keep, false
		}
	}
}

// unexpectedEnd is the error for a body that stops inside a value.
func (d *jsonScanner) unexpectedEnd() error {
	if d.err != nil && d.err != io.EOF {
		return fmt.Errorf("reading body: %w", d.err)
	}
	return io.ErrUnexpectedEOF
}

// peek skips whitespace and returns the next byte without consuming it.
func (d *jsonScanner) peek() (byte, error) {
	for {
		for d.pos < d.end {
			switch c := d.buf[d.pos]; c {
			case ' ', '\t', '\n', '\r':
				d.pos++
			default:
				return c, nil
			}
		}
		if _, ok := d.more(d.pos); !ok {
			return 0, d.unexpectedEnd()
		}
	}
}

// expect consumes c after optional whitespace.
func (d *jsonScanner) expect(c byte, what string) error {
	got, err := d.peek()
	if err != nil {
		return err
	}
	if got != c {
		return d.syntax("invalid character %q %s", got, what)
	}
	d.pos++
	return nil
}

// literal consumes true, false or null, whichever starts at pos.
func (d *jsonScanner) literal() (string, error) {
	var want string
	switch d.buf[d.pos] {
	case 't':
		want = "true"
	case 'f':
		want = "false"
	case 'n':
		want = "null"
	default:
		return "", d.syntax("invalid character %q looking for beginning of value", d.buf[d.pos])
	}
	for d.end-d.pos < len(want) {
		if _, ok := d.more(d.pos); !ok {
			if !strings.HasPrefix(want, string(d.buf[d.pos:d.end])) {
				break
			}
			return "", d.unexpectedEnd()
		}
	}
	for i := 0; i < len(want); i++ {
		if d.pos+i >= d.end || d.buf[d.pos+i] != want[i] {
			d.pos += i
			if d.pos >= d.end {
				return "", d.unexpectedEnd()
			}
			return "", d.syntax("invalid character %q in literal %s (expecting %q)", d.buf[d.pos], want, want[i])
		}
	}
	d.pos += len(want)
	return want, nil
}

// str scans the string starting at pos (a '"'). It returns the bytes between the quotes,
// valid until the next read, and whether they can be used as they are: no escapes and
// valid UTF-8. Otherwise raw (quotes included) must be unquoted by encoding/json.
func (d *jsonScanner) str() (inner, raw []byte, plain bool, err error) {
	start := d.pos
	i := start + 1
	escaped, ascii := false, true
	for {
		i += plainRun(d.buf[i:d.end])
		if i >= d.end {
			shift, ok := d.more(start)
			start, i = start-shift, i-shift
			if !ok {
				d.pos = d.end
				return nil, nil, false, d.unexpectedEnd()
			}
			continue
		}
		{
			c := d.buf[i]
			switch {
			case c == '"':
				inner = d.buf[start+1 : i]
				raw = d.buf[start : i+1]
				d.pos = i + 1
				plain = !escaped && (ascii || utf8.Valid(inner))
				return inner, raw, plain, nil
			case c == '\\':
				escaped = true
				// The escape needs up to 5 more bytes; check it once they are here.
				for d.end-i < 6 {
					shift, ok := d.more(start)
					start, i = start-shift, i-shift
					if !ok {
						break
					}
				}
				if i+1 >= d.end {
					d.pos = d.end
					return nil, nil, false, d.unexpectedEnd()
				}
				switch d.buf[i+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					i += 2
				case 'u':
					for k := 2; k < 6; k++ {
						if i+k >= d.end {
							d.pos = d.end
							return nil, nil, false, d.unexpectedEnd()
						}
						if !isHex(d.buf[i+k]) {
							d.pos = i + k
							return nil, nil, false, d.syntax("invalid character %q in \\u hexadecimal character escape", d.buf[i+k])
						}
					}
					i += 6
				default:
					d.pos = i + 1
					return nil, nil, false, d.syntax("invalid character %q in string escape code", d.buf[i+1])
				}
			case c < 0x20:
				d.pos = i
				return nil, nil, false, d.syntax("invalid character %q in string literal", c)
			default: // the start of a multi-byte UTF-8 sequence
				ascii = false
				i++
			}
		}
	}
}

// plainRun is how many bytes at the start of b a string scan can pass over: no quote,
// backslash, control character or non-ASCII byte. It tests eight bytes at a time (the
// classic "has a zero byte" bit trick; only the first flagged byte is exact, which is the
// one it reports), then the tail byte by byte.
func plainRun(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		quote, backslash := w^(ones*'"'), w^(ones*'\\')
		special := w | // non-ASCII
			(w-ones*0x20)&^w | // control characters
			(quote-ones)&^quote |
			(backslash-ones)&^backslash
		if special &= highs; special != 0 {
			return i + bits.TrailingZeros64(special)/8
		}
	}
	for ; i < len(b) && !stringSpecial[b[i]]; i++ {
	}
	return i
}

// stringSpecial marks the bytes a string scan must look at: the end quote, escapes,
// control characters (invalid in JSON strings) and the start of multi-byte UTF-8.
var stringSpecial = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf
	}
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// stringValue decodes the string at pos into a Go string, as encoding/json would.
func (d *jsonScanner) stringValue() (string, error) {
	inner, raw, plain, err := d.str()
	if err != nil {
		return "", err
	}
	if plain {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// number consumes a JSON number (RFC 8259 grammar) starting at pos.
func (d *jsonScanner) number() error {
	i := d.pos
	at := func() (byte, bool) {
		for i >= d.end {
			shift, ok := d.more(d.pos)
			i -= shift
			if !ok {
				return 0, false
			}
		}
		return d.buf[i], true
	}
	digits := func() (int, error) {
		n := 0
		for {
			c, ok := at()
			if !ok && d.err != io.EOF {
				return n, d.unexpectedEnd()
			}
			if !ok || c < '0' || c > '9' {
				return n, nil
			}
			i++
			n++
		}
	}
	fail := func(what string) error {
		c, ok := at()
		d.pos = i
		if !ok {
			return d.unexpectedEnd()
		}
		return d.syntax("invalid character %q %s", c, what)
	}
	if c, _ := at(); c == '-' {
		i++
	}
	c, ok := at()
	switch {
	case ok && c == '0':
		i++
	case ok && '1' <= c && c <= '9':
		if _, err := digits(); err != nil {
			return err
		}
	default:
		return fail("in numeric literal")
	}
	if c, ok := at(); ok && c == '.' {
		i++
		if n, err := digits(); err != nil {
			return err
		} else if n == 0 {
			return fail("after decimal point in numeric literal")
		}
	}
	if c, ok := at(); ok && (c == 'e' || c == 'E') {
		i++
		if c, ok := at(); ok && (c == '+' || c == '-') {
			i++
		}
		if n, err := digits(); err != nil {
			return err
		} else if n == 0 {
			return fail("in exponent of numeric literal")
		}
	}
	d.pos = i
	return nil
}

// skip consumes one value of any type, checking its syntax.
func (d *jsonScanner) skip(depth int) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	switch {
	case c == '"':
		_, _, _, err := d.str()
		return err
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return d.syntax("exceeded max depth")
		}
		d.pos++
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		next, err := d.peek()
		if err != nil {
			return err
		}
		if next == closer {
			d.pos++
			return nil
		}
		for {
			if c == '{' {
				if next != '"' {
					return d.syntax("invalid character %q looking for beginning of object key string", next)
				}
				if _, _, _, err := d.str(); err != nil {
					return err
				}
				if err := d.expect(':', "after object key"); err != nil {
					return err
				}
			}
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			sep, err := d.peek()
			if err != nil {
				return err
			}
			d.pos++
			switch sep {
			case ',':
			case closer:
				return nil
			default:
				d.pos--
				return d.syntax("invalid character %q after %s", sep, map[byte]string{'}': "object key:value pair", ']': "array element"}[closer])
			}
			if next, err = d.peek(); err != nil {
				return err
			}
		}
	default:
		_, err := d.literal()
		return err
	}
}

// kind names the JSON type of the value starting with c, "" if no value starts with c.
func kind(c byte) string {
	switch {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "bool"
	case c == 'n':
		return "null"
	case c == '-' || '0' <= c && c <= '9':
		return "number"
	default:
		return ""
	}
}
