package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
)

const (
	sqlInsertUser = `INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3)
RETURNING id, email, name, created_at`
	sqlCredentials = `SELECT id, password_hash FROM users WHERE lower(email) = lower($1)`
	sqlUser        = `SELECT id, email, name, created_at FROM users WHERE id = $1`
)

// CreateUser implements command.UserStore.
func (s *Store) CreateUser(ctx context.Context, u command.NewUser) (domain.User, command.Commit, error) {
	var out domain.User
	c, err := s.write(ctx, "create user", func(b *pgx.Batch) {
		b.Queue(sqlInsertUser, u.Email, u.Name, u.PasswordHash)
	}, func(br pgx.BatchResults) error {
		return br.QueryRow().Scan(&out.ID, &out.Email, &out.Name, &out.CreatedAt)
	})
	if err != nil {
		if pe, ok := pgError(err); ok && pe.Code == pgUniqueViolation && pe.ConstraintName == "users_email_lower_key" {
			return domain.User{}, command.Commit{}, command.ErrEmailTaken
		}
		return domain.User{}, command.Commit{}, translate(err, "create user")
	}
	return out, c, nil
}

// Credentials implements command.UserStore.
func (s *Store) Credentials(ctx context.Context, email string) (string, string, error) {
	var id, hash string
	err := s.pool.QueryRow(ctx, sqlCredentials, email).Scan(&id, &hash)
	if isNoRows(err) {
		return "", "", domain.Errorf(domain.ENOTFOUND, "No such user.")
	}
	if err != nil {
		return "", "", translate(err, "credentials")
	}
	return id, hash, nil
}

// User implements command.UserStore.
func (s *Store) User(ctx context.Context, id string) (domain.User, error) {
	var u domain.User
	err := s.pool.QueryRow(ctx, sqlUser, id).Scan(&u.ID, &u.Email, &u.Name, &u.CreatedAt)
	if isNoRows(err) {
		return domain.User{}, command.ErrUserNotFound
	}
	if err != nil {
		return domain.User{}, translate(err, "user")
	}
	return u, nil
}
