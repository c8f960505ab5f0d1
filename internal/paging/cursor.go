// Package paging encodes the opaque keyset cursors of paginated listings
// and cuts their pages.
package paging

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// prefix versions the format so that it can change later while old cursors
// are still rejected cleanly.
const prefix = "c1_"

// Encode returns the cursor that resumes a listing after the row with key.
func Encode(key int64) string {
	return prefix + base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(key, 10)))
}

// Decode returns the key of a cursor made by Encode.
func Decode(c string) (int64, bool) {
	rest, ok := strings.CutPrefix(c, prefix)
	if !ok {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return 0, false
	}
	key, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || key <= 0 || strconv.FormatInt(key, 10) != string(b) {
		return 0, false
	}
	return key, true
}

// Page cuts a page from rows fetched with a limit of limit+1, the extra row
// telling whether another page follows. It returns the page and the cursor
// after its last row, or nil on the last page.
func Page[T any](rows []T, limit int, key func(T) int64) ([]T, *string) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	next := Encode(key(rows[limit-1]))
	return rows, &next
}
