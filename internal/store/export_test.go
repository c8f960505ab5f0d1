package store

import "gorm.io/gorm"

// GormDB gives this package's external tests the GORM handle, for schema
// checks; outside the store, GORM is not reachable.
func (s *Store) GormDB() *gorm.DB { return s.db }
