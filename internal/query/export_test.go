package query

import "time"

// SetClock replaces the scope cache's clock (tests only).
func SetClock(s *Service, now func() time.Time) { s.now = now }
