package importer

import (
	_ "embed"
	"strings"
)

// A copy of the server's list (investors/data), which a test keeps
// identical: the format validator must accept exactly what the server
// accepts, and the server's list is not exported.
//
//go:embed data/iso3166-alpha2.txt
var isoCountriesData string

var isoCountries = codeSet(isoCountriesData)

// codeSet parses whitespace-separated codes; lines starting with # are
// comments.
func codeSet(data string) map[string]bool {
	set := map[string]bool{}
	for line := range strings.Lines(data) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, c := range strings.Fields(line) {
			set[c] = true
		}
	}
	return set
}
