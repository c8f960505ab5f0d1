// Package ids makes identifiers: a prefix that names the kind of thing, then
// lower-case base32.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
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

// Sorted returns prefix + the time in milliseconds + 128 random bits, which
// sort by creation time. The ids of stored rows use it: a unique index on
// random ids takes its inserts all over the tree, and at a million rows
// that made an import a third slower than at its start; time-ordered ids
// are inserted at the index's right edge. They are as unguessable as New's.
func Sorted(prefix string) string {
	b := make([]byte, 22)
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return prefix + sortable.EncodeToString(b)
}
