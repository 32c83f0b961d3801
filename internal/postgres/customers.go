package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
)

const (
	sqlCreateCustomer = `WITH c AS (
    INSERT INTO customers (name, email) VALUES ($2, $3)
    RETURNING id, name, email, created_at, updated_at
), l AS (
    INSERT INTO customer_users (customer_id, user_id) SELECT c.id, $1 FROM c
)
SELECT id, name, email, created_at, updated_at FROM c`

	sqlCustomer = `SELECT c.id, c.name, c.email, c.created_at, c.updated_at
FROM customers c JOIN customer_users cu ON cu.customer_id = c.id
WHERE c.id = $2 AND cu.user_id = $1`

	sqlUpdateCustomer = `UPDATE customers c SET
    name = CASE WHEN $3 THEN $4 ELSE c.name END,
    email = CASE WHEN $5 THEN $6 ELSE c.email END,
    updated_at = now()
WHERE c.id = $2 AND EXISTS (SELECT 1 FROM customer_users cu WHERE cu.customer_id = c.id AND cu.user_id = $1)
RETURNING c.id, c.name, c.email, c.created_at, c.updated_at`

	// Links and unlinks of one customer take its row lock first (NO KEY
	// UPDATE, which does not block payment inserts' foreign-key checks), so
	// they are serialized; the statement after the lock takes a fresh
	// snapshot (READ COMMITTED) and sees every link change committed before.
	sqlLockCustomer = `SELECT 1 FROM customers WHERE id = $1 FOR NO KEY UPDATE`

	sqlLink = `WITH auth AS (
    SELECT 1 FROM customer_users WHERE customer_id = $2 AND user_id = $1
), target AS (
    SELECT id FROM users WHERE id = $3
), ins AS (
    INSERT INTO customer_users (customer_id, user_id)
    SELECT $2, target.id FROM target WHERE EXISTS (SELECT 1 FROM auth)
    ON CONFLICT DO NOTHING
)
SELECT EXISTS (SELECT 1 FROM auth), EXISTS (SELECT 1 FROM target)`

	sqlLinkByEmail = `WITH auth AS (
    SELECT 1 FROM customer_users WHERE customer_id = $2 AND user_id = $1
), target AS (
    SELECT id FROM users WHERE lower(email) = lower($3)
), ins AS (
    INSERT INTO customer_users (customer_id, user_id)
    SELECT $2, target.id FROM target WHERE EXISTS (SELECT 1 FROM auth)
    ON CONFLICT DO NOTHING
)
SELECT EXISTS (SELECT 1 FROM auth), EXISTS (SELECT 1 FROM target)`

	sqlUnlink = `WITH auth AS (
    SELECT 1 FROM customer_users WHERE customer_id = $2 AND user_id = $1
), target AS (
    SELECT 1 FROM users WHERE id = $3
), linked AS (
    SELECT 1 FROM customer_users WHERE customer_id = $2 AND user_id = $3
), n AS (
    SELECT count(*) AS n FROM customer_users WHERE customer_id = $2
), del AS (
    DELETE FROM customer_users
    WHERE customer_id = $2 AND user_id = $3 AND EXISTS (SELECT 1 FROM auth) AND (SELECT n FROM n) > 1
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM auth), EXISTS (SELECT 1 FROM target), EXISTS (SELECT 1 FROM linked), EXISTS (SELECT 1 FROM del)`
)

func scanCustomer(row pgx.Row, c *domain.Customer) error {
	return row.Scan(&c.ID, &c.Name, &c.Email, &c.CreatedAt, &c.UpdatedAt)
}

// CreateCustomer implements command.CustomerStore.
func (s *Store) CreateCustomer(ctx context.Context, userID string, nc command.NewCustomer) (domain.Customer, command.Commit, error) {
	var out domain.Customer
	c, err := s.write(ctx, "create customer", func(b *pgx.Batch) {
		b.Queue(sqlCreateCustomer, userID, nc.Name, nc.Email)
	}, func(br pgx.BatchResults) error {
		return scanCustomer(br.QueryRow(), &out)
	})
	if err != nil {
		return domain.Customer{}, command.Commit{}, translate(err, "create customer")
	}
	return out, c, nil
}

// Customer implements command.CustomerStore.
func (s *Store) Customer(ctx context.Context, userID, customerID string) (domain.Customer, error) {
	var out domain.Customer
	err := scanCustomer(s.pool.QueryRow(ctx, sqlCustomer, userID, customerID), &out)
	if isNoRows(err) {
		return domain.Customer{}, command.ErrCustomerNotFound
	}
	if err != nil {
		return domain.Customer{}, translate(err, "customer")
	}
	return out, nil
}

// UpdateCustomer implements command.CustomerStore.
func (s *Store) UpdateCustomer(ctx context.Context, userID, customerID string, u command.CustomerUpdate) (domain.Customer, command.Commit, error) {
	var out domain.Customer
	found := false
	c, err := s.write(ctx, "update customer", func(b *pgx.Batch) {
		b.Queue(sqlUpdateCustomer, userID, customerID, u.SetName, u.Name, u.SetEmail, u.Email)
	}, func(br pgx.BatchResults) error {
		err := scanCustomer(br.QueryRow(), &out)
		if isNoRows(err) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return domain.Customer{}, command.Commit{}, translate(err, "update customer")
	}
	if !found {
		return domain.Customer{}, command.Commit{}, command.ErrCustomerNotFound
	}
	return out, c, nil
}

// Link implements command.CustomerStore.
func (s *Store) Link(ctx context.Context, userID, customerID, targetUserID string) (command.Commit, error) {
	return s.link(ctx, "link", sqlLink, userID, customerID, targetUserID)
}

// LinkByEmail implements command.CustomerStore.
func (s *Store) LinkByEmail(ctx context.Context, userID, customerID, email string) (command.Commit, error) {
	return s.link(ctx, "link by email", sqlLinkByEmail, userID, customerID, email)
}

func (s *Store) link(ctx context.Context, what, sql, userID, customerID, target string) (command.Commit, error) {
	var authorized, targetExists bool
	c, err := s.write(ctx, what, func(b *pgx.Batch) {
		b.Queue(sqlLockCustomer, customerID)
		b.Queue(sql, userID, customerID, target)
	}, func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return err
		}
		return br.QueryRow().Scan(&authorized, &targetExists)
	})
	switch {
	case err != nil:
		return command.Commit{}, translate(err, what)
	case !authorized:
		return command.Commit{}, command.ErrCustomerNotFound
	case !targetExists:
		return command.Commit{}, command.ErrUserNotFound
	}
	return c, nil
}

// Unlink implements command.CustomerStore.
func (s *Store) Unlink(ctx context.Context, userID, customerID, targetUserID string) (command.Commit, error) {
	var authorized, targetExists, linked, deleted bool
	c, err := s.write(ctx, "unlink", func(b *pgx.Batch) {
		b.Queue(sqlLockCustomer, customerID)
		b.Queue(sqlUnlink, userID, customerID, targetUserID)
	}, func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return err
		}
		return br.QueryRow().Scan(&authorized, &targetExists, &linked, &deleted)
	})
	switch {
	case err != nil:
		return command.Commit{}, translate(err, "unlink")
	case !authorized:
		return command.Commit{}, command.ErrCustomerNotFound
	case !targetExists:
		return command.Commit{}, command.ErrUserNotFound
	case linked && !deleted:
		return command.Commit{}, command.ErrLastLink
	}
	return c, nil
}
