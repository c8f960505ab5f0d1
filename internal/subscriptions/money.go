package subscriptions

import (
	"math/big"
	"regexp"
	"strings"
)

// minorUnits lists the ISO 4217 currencies whose minor unit is not the
// hundredth; every other currency has two decimals.
var minorUnits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// Digits returns the number of decimals of the currency's minor unit.
func Digits(currency string) int {
	if d, ok := minorUnits[currency]; ok {
		return d
	}
	return 2
}

var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	decimalRE  = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
)

// maxIntegerDigits is what numeric(20,4) holds before the point.
const maxIntegerDigits = 16

// ValidCurrency reports whether c is written as an ISO 4217 code.
func ValidCurrency(c string) bool { return currencyRE.MatchString(c) }

// ParseAmount reads a positive decimal with at most the currency's minor-unit
// digits, and returns it written with exactly that many. It is exact: the
// value goes through math/big, never through a float.
func ParseAmount(s, currency string) (*big.Rat, string, string) {
	if !decimalRE.MatchString(s) {
		return nil, "", "must be a decimal string such as 50000.00"
	}
	whole, frac, _ := strings.Cut(s, ".")
	digits := Digits(currency)
	if len(frac) > digits {
		return nil, "", "has more decimals than the currency's minor unit"
	}
	if len(strings.TrimLeft(whole, "0")) > maxIntegerDigits {
		return nil, "", "has more than 16 digits before the decimal point"
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() <= 0 {
		return nil, "", "must be greater than zero"
	}
	return r, r.FloatString(digits), ""
}

// canonical rewrites a stored amount (PostgreSQL answers numeric(20,4) with
// four decimals) with the currency's minor-unit digits.
func canonical(stored, currency string) string {
	r, ok := new(big.Rat).SetString(stored)
	if !ok {
		return stored
	}
	return r.FloatString(Digits(currency))
}
