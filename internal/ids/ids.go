// Package ids makes identifiers: a prefix that names the kind of thing, then
// lower-case base32.
package ids

import (
	"crypto/rand"
	"encoding/base32"

	"github.com/google/uuid"
)

var (
	encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	// sortable is Crockford's alphabet, in ASCII order, so that the strings
	// sort as the bytes they encode.
	sortable = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)
)

// Random returns n crypto-random bytes in lower-case base32.
func Random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return encoding.EncodeToString(b)
}

// New returns prefix + 128 random bits.
func New(prefix string) string { return prefix + Random(16) }

// Sorted returns prefix + a UUIDv7 + 48 random bits, which sort by creation
// time. The ids of stored rows use it: a unique index on random ids takes
// its inserts all over the tree, and at a million rows that made an import
// a third slower than at its start; time-ordered ids are inserted at the
// index's right edge. Within a process, ids of one millisecond sort in the
// order made too (the UUIDv7's sub-millisecond counter). The UUIDv7 has 62
// random bits; the 48 more keep the id hard to guess and its published
// length (36 characters) unchanged.
func Sorted(prefix string) string {
	b := make([]byte, 22)
	u := uuid.Must(uuid.NewV7())
	copy(b, u[:])
	_, _ = rand.Read(b[16:])
	return prefix + sortable.EncodeToString(b)
}
