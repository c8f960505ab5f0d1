package rows

import (
	_ "embed"
	"strings"
)

var (
	//go:embed data/iso3166-alpha2.txt
	isoCountriesData string
	//go:embed data/risk-rated-countries.txt
	riskRatedData string

	isoCountries = codeSet(isoCountriesData)
	riskRated    = codeSet(riskRatedData)
)

// codeSet parses a list of whitespace-separated codes; lines starting with #
// are comments.
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

// RiskRated reports whether the country (an ISO 3166-1 alpha-2 code) has a
// risk rating; investors living elsewhere are flagged for review.
func RiskRated(country string) bool { return riskRated[country] }
