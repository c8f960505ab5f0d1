package apitest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/zestequity/zest-api/internal/testkit"
)

// Rows of random values never make the server fail: every batch answers 200,
// and each row is created, already exists or fails with a code.
func TestRandomRowsNeverFailTheServer(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		rng := rand.New(rand.NewPCG(7, 11))
		pieces := []string{"a", "Z", "0", " ", "\t", "\u0000", "\u001b", "\u007f", "é", "İ", "ß", "😀", "\u200b", "@", ".", "-", "\"", "\\", "/", "<", "%", "\ufffd"}
		randString := func() string {
			var sb strings.Builder
			for range rng.IntN(12) {
				sb.WriteString(pieces[rng.IntN(len(pieces))])
			}
			return sb.String()
		}
		randValue := func(field string) any {
			switch rng.IntN(8) {
			case 0:
				return nil
			case 1:
				return rng.IntN(1000)
			case 2:
				return []any{randString()}
			case 3:
				return map[string]any{"x": randString()}
			case 4:
				return rng.IntN(2) == 0
			}
			switch field {
			case "email":
				return randString() + "@" + randString() + ".io"
			case "dateOfBirth":
				return fmt.Sprintf("%04d-%02d-%02d", 1850+rng.IntN(200), rng.IntN(14), rng.IntN(33))
			case "countryOfResidence":
				return strings.ToUpper(randString())
			}
			return randString()
		}
		fields := []string{"partnerInvestorId", "email", "firstName", "lastName", "dateOfBirth", "countryOfResidence", "extra"}
		for batch := range 5 {
			var rows []string
			for range 60 {
				row := map[string]any{}
				for _, f := range fields {
					if rng.IntN(6) > 0 {
						row[f] = randValue(f)
					}
				}
				b, _ := json.Marshal(row)
				rows = append(rows, string(b))
			}
			res := e.importRawRows(t, rows...)
			for i, r := range res.Results {
				if r.Status == "failed" && (r.Error == nil || r.Error.Retryable) {
					t.Errorf("batch %d row %d (%s): %s", batch, i, rows[i], rawJSON(t, r))
				}
			}
		}
		checkPairs(t, e.api.DB)
	})
}
