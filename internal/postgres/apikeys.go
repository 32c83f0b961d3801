package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildcat-payments/wildcat/internal/command"
)

var _ command.IntegrationStore = (*Store)(nil)

// sqlLinked is true when user $1 is linked to customer $2.
const sqlLinked = `EXISTS (SELECT 1 FROM customer_users cu WHERE cu.customer_id = $2::uuid AND cu.user_id = $1::uuid)`

const (
	apiKeyColumns = `k.id, k.customer_id, k.name, k.prefix, k.scopes, k.created_by, k.created_at, u.last_used_at, k.revoked_at`

	sqlCreateAPIKey = `WITH k AS (
    INSERT INTO api_keys (customer_id, name, prefix, secret_hash, scopes, created_by)
    SELECT $2::uuid, $3, $4, $5, $6, $1::uuid WHERE ` + sqlLinked + `
    RETURNING *
)
SELECT ` + apiKeyColumns + ` FROM k LEFT JOIN api_key_usage u ON false`

	sqlAPIKeys = `SELECT ` + apiKeyColumns + ` FROM api_keys k LEFT JOIN api_key_usage u ON u.api_key_id = k.id
WHERE k.customer_id = $2::uuid AND ` + sqlLinked + `
ORDER BY k.id DESC`

	sqlRevokeAPIKey = `WITH auth AS (SELECT ` + sqlLinked + ` AS ok), upd AS (
    UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
    WHERE id = $3::uuid AND customer_id = $2::uuid AND (SELECT ok FROM auth)
    RETURNING id
)
SELECT (SELECT ok FROM auth), EXISTS (SELECT 1 FROM upd)`

	sqlAPIKeyByPrefix = `SELECT id, customer_id, name, secret_hash, scopes, created_by, revoked_at IS NOT NULL
FROM api_keys WHERE prefix = $1`

	sqlRecordAPIKeyUse = `INSERT INTO api_key_usage (api_key_id, last_used_at)
SELECT id, at FROM unnest($1::uuid[], $2::timestamptz[]) AS t(id, at)
WHERE EXISTS (SELECT 1 FROM api_keys WHERE api_keys.id = t.id)
ON CONFLICT (api_key_id) DO UPDATE SET last_used_at = greatest(api_key_usage.last_used_at, excluded.last_used_at)`
)

func scanAPIKey(row pgx.Row, k *command.APIKey) error {
	return row.Scan(&k.ID, &k.CustomerID, &k.Name, &k.Prefix, &k.Scopes, &k.CreatedBy, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt)
}

// CreateAPIKey implements command.APIKeyStore.
func (s *Store) CreateAPIKey(ctx context.Context, userID, customerID string, nk command.NewAPIKey) (command.APIKey, command.Commit, error) {
	var k command.APIKey
	found := false
	c, err := s.write(ctx, "create api key", func(b *pgx.Batch) {
		b.Queue(sqlCreateAPIKey, userID, customerID, nk.Name, nk.Prefix, nk.Hash, nk.Scopes)
	}, func(br pgx.BatchResults) error {
		err := scanAPIKey(br.QueryRow(), &k)
		if isNoRows(err) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return command.APIKey{}, command.Commit{}, translate(err, "create api key")
	}
	if !found {
		return command.APIKey{}, command.Commit{}, command.ErrCustomerNotFound
	}
	return k, c, nil
}

// APIKeys implements command.APIKeyStore.
func (s *Store) APIKeys(ctx context.Context, userID, customerID string) ([]command.APIKey, error) {
	if err := s.mustBeLinked(ctx, userID, customerID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, sqlAPIKeys, userID, customerID)
	if err != nil {
		return nil, translate(err, "api keys")
	}
	defer rows.Close()
	out := []command.APIKey{}
	for rows.Next() {
		var k command.APIKey
		if err := scanAPIKey(rows, &k); err != nil {
			return nil, translate(err, "api keys")
		}
		out = append(out, k)
	}
	return out, translate(rows.Err(), "api keys")
}

// mustBeLinked answers ErrCustomerNotFound unless userID is linked to
// customerID.
func (s *Store) mustBeLinked(ctx context.Context, userID, customerID string) error {
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT `+sqlLinked, userID, customerID).Scan(&ok); err != nil {
		return translate(err, "link check")
	}
	if !ok {
		return command.ErrCustomerNotFound
	}
	return nil
}

// RevokeAPIKey implements command.APIKeyStore.
func (s *Store) RevokeAPIKey(ctx context.Context, userID, customerID, keyID string) (command.Commit, error) {
	var linked, found bool
	c, err := s.write(ctx, "revoke api key", func(b *pgx.Batch) {
		b.Queue(sqlRevokeAPIKey, userID, customerID, keyID)
	}, func(br pgx.BatchResults) error {
		return br.QueryRow().Scan(&linked, &found)
	})
	switch {
	case err != nil:
		return command.Commit{}, translate(err, "revoke api key")
	case !linked:
		return command.Commit{}, command.ErrCustomerNotFound
	case !found:
		return command.Commit{}, command.ErrAPIKeyNotFound
	}
	return c, nil
}

// APIKeyByPrefix implements command.APIKeyStore.
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (command.StoredAPIKey, error) {
	var k command.StoredAPIKey
	err := s.pool.QueryRow(ctx, sqlAPIKeyByPrefix, prefix).Scan(&k.ID, &k.CustomerID, &k.Name, &k.Hash, &k.Scopes, &k.CreatedBy, &k.Revoked)
	if isNoRows(err) {
		return command.StoredAPIKey{}, command.ErrAPIKeyNotFound
	}
	if err != nil {
		return command.StoredAPIKey{}, translate(err, "api key")
	}
	return k, nil
}

// RecordAPIKeyUse implements command.APIKeyStore.
func (s *Store) RecordAPIKeyUse(ctx context.Context, uses map[string]time.Time) error {
	ids, ats := make([]string, 0, len(uses)), make([]time.Time, 0, len(uses))
	for id, at := range uses {
		ids, ats = append(ids, id), append(ats, at)
	}
	_, err := s.pool.Exec(ctx, sqlRecordAPIKeyUse, ids, ats)
	return translate(err, "record api key use")
}

// APIKeyName implements command.APIKeyStore.
func (s *Store) APIKeyName(ctx context.Context, id string) (string, error) {
	var name string
	err := s.pool.QueryRow(ctx, `SELECT name FROM api_keys WHERE id = $1::uuid`, id).Scan(&name)
	if isNoRows(err) {
		return "", command.ErrAPIKeyNotFound
	}
	return name, translate(err, "api key name")
}
