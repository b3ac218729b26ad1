package qrs

import (
	"crypto/rand"
)

const xrfAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// XrfkeyLength is the length QRS requires for the anti-XSRF key.
const XrfkeyLength = 16

// NewXrfkey returns a fresh random key of 16 characters from [0-9A-Za-z], the only
// characters QRS allows in the Xrfkey parameter.
func NewXrfkey() string {
	var out [XrfkeyLength]byte
	var buf [32]byte
	n := 0
	for n < len(out) {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails on supported platforms
		for _, b := range buf {
			// 248 = 4*62: reject the top of the byte range so every character is equally likely.
			if b >= 248 {
				continue
			}
			out[n] = xrfAlphabet[int(b)%len(xrfAlphabet)]
			n++
			if n == len(out) {
				break
			}
		}
	}
	return string(out[:])
}
