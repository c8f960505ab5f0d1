package models

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"
)

// Date is a calendar date without a time zone, written YYYY-MM-DD. PostgreSQL
// stores it as date, SQLite as text; both scan into it.
type Date string

func (d Date) Value() (driver.Value, error) { return string(d), nil }

func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d = Date(v.Format(time.DateOnly))
	case string:
		*d = Date(v)
	case []byte:
		*d = Date(v)
	default:
		return fmt.Errorf("models.Date: cannot scan %T", src)
	}
	return nil
}

// StringList is a list of short codes stored as a JSON array in a text column,
// which both databases handle alike.
type StringList []string

func (l StringList) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	return string(b), err
}

func (l *StringList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("models.StringList: cannot scan %T", src)
	}
	return json.Unmarshal(b, (*[]string)(l))
}
