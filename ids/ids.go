// Package ids makes random identifiers: a prefix that names the kind of thing,
// then lower-case base32 of crypto-random bytes.
package ids

import (
	"crypto/rand"
	"encoding/base32"
)

var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Random returns n crypto-random bytes in lower-case base32.
func Random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return encoding.EncodeToString(b)
}

// New returns prefix + 128 random bits.
func New(prefix string) string { return prefix + Random(16) }
