package postgres

import (
	"github.com/pressly/goose/v3/lock"
)

// mustLocker returns goose's PostgreSQL session locker; it only fails on
// invalid options, which are constants here.
func mustLocker() lock.SessionLocker {
	l, err := lock.NewPostgresSessionLocker()
	if err != nil {
		panic("postgres: goose locker: " + err.Error())
	}
	return l
}
