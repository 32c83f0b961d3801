package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// TestTranslateUnavailable: while PostgreSQL is down, starting up, in crash
// recovery or shutting down, writes fail with EUNAVAILABLE (503 with
// Retry-After), never an opaque internal error; request errors keep their
// codes.
func TestTranslateUnavailable(t *testing.T) {
	// A real connection refused: a port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, refused := pgconn.Connect(ctx, "postgres://wildcat:wildcat@"+addr+"/wildcat?sslmode=disable&connect_timeout=2")
	if refused == nil {
		t.Fatal("connect to a closed port succeeded")
	}
	pg := func(code, msg string) error {
		return fmt.Errorf("batch: %w", &pgconn.PgError{Severity: "FATAL", Code: code, Message: msg})
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"ConnectionRefused", refused, domain.EUNAVAILABLE},
		{"StartingUp", pg("57P03", "the database system is starting up"), domain.EUNAVAILABLE},
		{"NotYetAccepting", pg("57P03", "the database system is not yet accepting connections"), domain.EUNAVAILABLE},
		{"AdminShutdown", pg("57P01", "terminating connection due to administrator command"), domain.EUNAVAILABLE},
		{"CrashShutdown", pg("57P02", "terminating connection because of crash of another server process"), domain.EUNAVAILABLE},
		{"ConnectionFailure", pg("08006", "connection failure"), domain.EUNAVAILABLE},
		{"TooManyConnections", pg("53300", "sorry, too many clients already"), domain.EUNAVAILABLE},
		{"ReadOnlyInRecovery", pg("25006", "cannot execute INSERT in a read-only transaction"), domain.EUNAVAILABLE},
		{"ConnectionLost", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), domain.EUNAVAILABLE},
		{"UniqueViolation", pg("23505", "duplicate key"), domain.ECONFLICT},
		{"UndefinedTable", pg("42P01", "relation does not exist"), domain.EINTERNAL},
		{"Other", errors.New("boom"), domain.EINTERNAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := translate(tc.err, "create payments")
			if code := domain.ErrorCode(got); code != tc.want {
				t.Fatalf("code %q, want %q (%v)", code, tc.want, got)
			}
			var e *domain.Error
			if tc.want == domain.EUNAVAILABLE && (!errors.As(got, &e) || e.RetryAfter < 1) {
				t.Errorf("no Retry-After on %v", got)
			}
		})
	}
}
