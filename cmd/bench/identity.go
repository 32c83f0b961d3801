package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// identityFile is where the bench identity lives, under BENCH_RUN_DIR.
const identityFile = "bench-identity.json"

// identity is the user every run acts as, and the customers it owns. It is
// kept across runs so that the payments seeded by one run (the batch
// scenario) are in the scope of the searches of the next.
type identity struct {
	Email     string   `json:"email"`
	Password  string   `json:"password"`
	UserID    string   `json:"user_id"`
	Customers []string `json:"customer_ids"`
}

func identityPath(runDir string) string { return filepath.Join(runDir, identityFile) }

// validate reports what makes a decoded identity unusable.
func (id identity) validate() error {
	if id.Email == "" || id.Password == "" {
		return errors.New("email or password missing")
	}
	if !domain.IsUUID(id.UserID) {
		return fmt.Errorf("user_id %q is not a UUID", id.UserID)
	}
	for _, c := range id.Customers {
		if !domain.IsUUID(c) {
			return fmt.Errorf("customer id %q is not a UUID", c)
		}
	}
	return nil
}

// readIdentity loads and validates the identity file. Any error (missing,
// unreadable, corrupt) means there is no usable identity.
func readIdentity(path string) (identity, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return identity{}, err
	}
	var id identity
	if err := json.Unmarshal(buf, &id); err != nil {
		return identity{}, fmt.Errorf("decode %s: %w", path, err)
	}
	if err := id.validate(); err != nil {
		return identity{}, fmt.Errorf("%s: %w", path, err)
	}
	return id, nil
}

// writeIdentity writes the identity file atomically (temp file + rename),
// readable by its owner only: it holds a password.
func writeIdentity(path string, id identity) error {
	buf, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return fmt.Errorf("encode identity: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write identity: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+identityFile+".*.tmp")
	if err != nil {
		return fmt.Errorf("write identity: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := writeClose(tmp, append(buf, '\n')); err != nil {
		return fmt.Errorf("write identity %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write identity: %w", err)
	}
	return nil
}

// writeClose sets mode 0600, writes buf, syncs and closes f.
func writeClose(f *os.File, buf []byte) error {
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(buf)
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// setupIdentity logs in as the stored bench identity, or creates a new one
// if there is none or its login is rejected (e.g. the database was reset),
// tops its customers up to BENCH_CUSTOMERS and prints which it did.
func (b *bench) setupIdentity(ctx context.Context) (identity, error) {
	path := identityPath(b.cfg.RunDir)
	id, reused, why, err := b.reuseOrCreate(ctx, path)
	if err != nil {
		return identity{}, err
	}
	added, err := b.topUpCustomers(ctx, path, &id)
	if err != nil {
		return identity{}, err
	}
	how := "reused"
	if !reused {
		how = "created"
	}
	line := fmt.Sprintf("bench identity: %s %s (user %s, %d customers", how, id.Email, id.UserID, len(id.Customers))
	if added > 0 && reused {
		line += fmt.Sprintf(", %d new", added)
	}
	line += ") in " + path
	if why != "" {
		line += " — " + why
	}
	fmt.Fprintln(b.out, line)
	return id, nil
}

// reuseOrCreate returns the stored identity, logged in, or a new one
// (written to path at once) and why the stored one was not used.
func (b *bench) reuseOrCreate(ctx context.Context, path string) (id identity, reused bool, why string, err error) {
	id, err = readIdentity(path)
	if err == nil {
		err = b.api.logIn(ctx, id.Email, id.Password)
		if err == nil {
			b.api.userID = id.UserID
			return id, true, "", nil
		}
		if !errors.Is(err, errLoginRejected) {
			// The stack is down or overloaded: keep the identity for next time.
			return identity{}, false, "", fmt.Errorf("log in as %s: %w", id.Email, err)
		}
		why = fmt.Sprintf("the stored identity no longer logs in (%v)", err)
	} else if errors.Is(err, os.ErrNotExist) {
		why = "no identity file yet"
	} else {
		why = fmt.Sprintf("ignored an unusable identity file (%v)", err)
	}
	id, err = b.createIdentity(ctx)
	if err != nil {
		return identity{}, false, "", err
	}
	if err := writeIdentity(path, id); err != nil {
		return identity{}, false, "", err
	}
	return id, false, why, nil
}

// createIdentity signs up a fresh user and logs in as it.
func (b *bench) createIdentity(ctx context.Context) (identity, error) {
	id := identity{Email: "bench-" + randHex(6) + "@example.com", Password: "bench-password-" + randHex(8)}
	var err error
	if id.UserID, err = b.api.signUp(ctx, id.Email, id.Password); err != nil {
		return identity{}, err
	}
	if err := b.api.logIn(ctx, id.Email, id.Password); err != nil {
		return identity{}, fmt.Errorf("log in as the new user %s: %w", id.Email, err)
	}
	b.api.userID = id.UserID
	return id, nil
}

// topUpCustomers creates the customers the identity lacks to reach
// BENCH_CUSTOMERS and rewrites the file if it created any.
func (b *bench) topUpCustomers(ctx context.Context, path string, id *identity) (int, error) {
	missing := b.cfg.Customers - len(id.Customers)
	if missing <= 0 {
		return 0, nil
	}
	ids, err := b.api.customers(ctx, len(id.Customers), missing)
	id.Customers = append(id.Customers, ids...)
	if len(ids) > 0 {
		// Keep the ones created even if a later one failed.
		err = errors.Join(err, writeIdentity(path, *id))
	}
	if err != nil {
		return 0, fmt.Errorf("top up the bench customers: %w", err)
	}
	return missing, nil
}
