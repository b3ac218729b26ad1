package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/qliksense-license/qliksense-license/plugins/common/qrs"
)

// Whatever a user id holds, the client's quoting makes it one string literal that QRS's
// grammar (the emulator's parser) reads back unchanged: it can neither break nor extend a
// filter.
func FuzzQuoteRoundTrip(f *testing.F) {
	for _, s := range []string{"", "o'brien", `back\slash`, `trail\`, `\'`, "' or userId sw '", "Åsa", "a&b#c%d+e", "(x)", "\x00", "日本語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip("QRS ids are UTF-8")
		}
		filter := "userId eq " + qrs.Quote(s) + " and userDirectory eq 'X'"
		n, err := parseFilter(filter)
		if err != nil {
			t.Fatalf("%q: %v", filter, err)
		}
		if n.op != "and" || len(n.children) != 2 || n.children[0].term == nil || n.children[0].term.value.text != s {
			t.Fatalf("%q did not round-trip through %q", s, filter)
		}
	})
}

// The filter parser never panics, whatever it is sent.
func FuzzFilterParser(f *testing.F) {
	for _, s := range []string{"", "()", "name eq 'x'", "(a eq 'b') or c ne true", `x eq 'unterminated`, "a eq 'b' and (c eq 'd'", "lastUsed le '2024-05-01 00:00:00'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cf, err := compileFilter(s, userFields)
		if err == nil && cf != nil {
			cf.match(&User{UserID: "a", Tags: []Tag{{Name: "b"}}})
		}
	})
}

// X-Qlik-User parsing is lenient and never panics.
func FuzzQlikUser(f *testing.F) {
	for _, s := range []string{"UserDirectory=INTERNAL; UserId=sa_repository", "UserDirectory= Internal; UserId= sa_repository ", "userdirectory=x;userid=%C3%A5", ";;=", "UserId=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dir, id, ok := parseQlikUser(s)
		if ok && (dir == "" || id == "") {
			t.Fatalf("%q: accepted without a directory or id", s)
		}
	})
}

var fuzzKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

// A JWT is accepted only when it is signed by the proxy's key; anything else is refused
// without a panic, and the refusal never repeats the token.
func FuzzJWT(f *testing.F) {
	good, _ := SignJWT(fuzzKey, map[string]any{"userId": "a", "userDirectory": "B"})
	f.Add(good)
	f.Add("a.b.c")
	f.Add("")
	f.Add(good[:len(good)-2])
	f.Add(strings.Replace(good, ".", "x.", 1))
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := verifyJWT(token, &fuzzKey.PublicKey, "", now)
		if err != nil {
			if len(token) > 8 && strings.Contains(err.Error(), token) {
				t.Fatalf("the error repeats the token")
			}
			return
		}
		if token != good {
			// A different string may still carry the same signature only if it decodes to
			// the same signed bytes (base64 padding variants); its claims must be the signed ones.
			if claims["userId"] != "a" || claims["userDirectory"] != "B" {
				t.Fatalf("accepted a token with claims %v", claims)
			}
		}
	})
}
