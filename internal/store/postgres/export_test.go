package postgres

// Contended returns how many statements were run again after losing a
// deadlock or serialization race.
func (s *Store) Contended() int64 { return s.contended.Load() }
