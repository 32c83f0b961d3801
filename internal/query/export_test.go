package query

import "time"

// SetClock replaces the scope cache's clock (tests only).
func SetClock(s *Service, now func() time.Time) { s.now = now }

// SetKeyClock replaces the key cache's clock (tests only).
func SetKeyClock(a *KeyAuthenticator, now func() time.Time) { a.now = now }
