// Package commandtest holds test doubles for the command use cases: an
// in-memory Store with the semantics of the PostgreSQL one, and the
// contract suite every command.Store must pass.
package commandtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
)

// MemStore is an in-memory command.Store. One mutex makes every method
// atomic. It is safe for concurrent use.
type MemStore struct {
	mu        sync.Mutex
	lsn       uint64
	users     map[string]memUser
	customers map[string]domain.Customer
	links     map[string]map[string]time.Time // customer → user → linked at
	payments  map[string]domain.Payment
	refs      map[[2]string]bool // (customer id, payment_ref_id)
	keys      map[[2]string]memKey
	refunds   map[string][]domain.Refund // payment id → its refunds
	responses map[[2]string]command.StoredResponse
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

type memUser struct {
	domain.User
	hash string
}

type memKey struct {
	hash     []byte
	payments []domain.Payment
	expires  time.Time
}

var _ command.Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{users: map[string]memUser{}, customers: map[string]domain.Customer{},
		links: map[string]map[string]time.Time{}, payments: map[string]domain.Payment{}, refs: map[[2]string]bool{},
		keys: map[[2]string]memKey{}, refunds: map[string][]domain.Refund{}, responses: map[[2]string]command.StoredResponse{},
		Now: time.Now}
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (m *MemStore) now() time.Time { return m.Now().UTC().Truncate(time.Microsecond) }

func (m *MemStore) commit() command.Commit {
	m.lsn += 100
	return command.Commit{LSN: m.lsn}
}

// CreateUser implements command.UserStore.
func (m *MemStore) CreateUser(_ context.Context, u command.NewUser) (domain.User, command.Commit, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.users {
		if strings.EqualFold(x.Email, u.Email) {
			return domain.User{}, command.Commit{}, command.ErrEmailTaken
		}
	}
	out := domain.User{ID: newUUID(), Email: u.Email, Name: u.Name, CreatedAt: m.now()}
	m.users[out.ID] = memUser{User: out, hash: u.PasswordHash}
	return out, m.commit(), nil
}

// Credentials implements command.UserStore.
func (m *MemStore) Credentials(_ context.Context, email string) (string, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.users {
		if strings.EqualFold(x.Email, email) {
			return x.ID, x.hash, nil
		}
	}
	return "", "", domain.Errorf(domain.ENOTFOUND, "No such user.")
}

// User implements command.UserStore.
func (m *MemStore) User(_ context.Context, id string) (domain.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.users[id]; ok {
		return u.User, nil
	}
	return domain.User{}, command.ErrUserNotFound
}

func (m *MemStore) linked(customerID, userID string) bool {
	_, ok := m.links[customerID][userID]
	return ok
}

// CreateCustomer implements command.CustomerStore.
func (m *MemStore) CreateCustomer(_ context.Context, userID string, c command.NewCustomer) (domain.Customer, command.Commit, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[userID]; !ok {
		return domain.Customer{}, command.Commit{}, domain.Errorf(domain.ENOTFOUND, "A referenced resource does not exist.")
	}
	now := m.now()
	out := domain.Customer{ID: newUUID(), Name: c.Name, Email: c.Email, CreatedAt: now, UpdatedAt: now}
	m.customers[out.ID] = out
	m.links[out.ID] = map[string]time.Time{userID: now}
	return out, m.commit(), nil
}

// Customer implements command.CustomerStore.
func (m *MemStore) Customer(_ context.Context, userID, customerID string) (domain.Customer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.linked(customerID, userID) {
		return domain.Customer{}, command.ErrCustomerNotFound
	}
	return m.customers[customerID], nil
}

// UpdateCustomer implements command.CustomerStore.
func (m *MemStore) UpdateCustomer(_ context.Context, userID, customerID string, u command.CustomerUpdate) (domain.Customer, command.Commit, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.linked(customerID, userID) {
		return domain.Customer{}, command.Commit{}, command.ErrCustomerNotFound
	}
	c := m.customers[customerID]
	if u.SetName {
		c.Name = u.Name
	}
	if u.SetEmail {
		c.Email = u.Email
	}
	c.UpdatedAt = m.now()
	m.customers[customerID] = c
	return c, m.commit(), nil
}

// Link implements command.CustomerStore.
func (m *MemStore) Link(_ context.Context, userID, customerID, target string) (command.Commit, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.link(userID, customerID, target)
}

func (m *MemStore) link(userID, customerID, target string) (command.Commit, error) {
	if !m.linked(customerID, userID) {
		return command.Commit{}, command.ErrCustomerNotFound
	}
	if _, ok := m.users[target]; !ok {
		return command.Commit{}, command.ErrUserNotFound
	}
	if !m.linked(customerID, target) {
		m.links[customerID][target] = m.now()
	}
	return m.commit(), nil
}

// LinkByEmail implements command.CustomerStore.
func (m *MemStore) LinkByEmail(_ context.Context, userID, customerID, email string) (command.Commit, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	target := ""
	for _, u := range m.users {
		if strings.EqualFold(u.Email, email) {
			target = u.ID
		}
	}
	if target == "" && m.linked(customerID, userID) {
		return command.Commit{}, command.ErrUserNotFound
	}
	return m.link(userID, customerID, target)
}

// Unlink implements command.CustomerStore.
func (m *MemStore) Unlink(_ context.Context, userID, customerID, target string) (command.Commit, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.linked(customerID, userID) {
		return command.Commit{}, command.ErrCustomerNotFound
	}
	if _, ok := m.users[target]; !ok {
		return command.Commit{}, command.ErrUserNotFound
	}
	if m.linked(customerID, target) {
		if len(m.links[customerID]) <= 1 {
			return command.Commit{}, command.ErrLastLink
		}
		delete(m.links[customerID], target)
	}
	return m.commit(), nil
}

// CreatePayments implements command.PaymentStore.
func (m *MemStore) CreatePayments(_ context.Context, w command.PaymentWrite) ([]domain.Payment, command.Commit, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(w.Payments) == 0 {
		return nil, command.Commit{}, domain.Errorf(domain.EINVALID, "No payments to create.")
	}
	notLinked := &command.NotLinkedError{}
	for i, p := range w.Payments {
		if !m.linked(p.CustomerID, w.UserID) {
			notLinked.Indexes = append(notLinked.Indexes, i)
		}
	}
	if len(notLinked.Indexes) > 0 {
		return nil, command.Commit{}, notLinked
	}
	dup := &command.DuplicateRefError{}
	for i, p := range w.Payments {
		if p.PaymentRefID != "" && m.refs[[2]string{p.CustomerID, p.PaymentRefID}] {
			dup.Indexes = append(dup.Indexes, i)
		}
	}
	if len(dup.Indexes) > 0 {
		return nil, command.Commit{}, dup
	}
	if w.Idempotency != nil {
		if _, ok := m.keys[[2]string{w.UserID, w.Idempotency.Key}]; ok {
			return nil, command.Commit{}, command.ErrIdempotencyKeyExists
		}
	}
	now := m.now()
	out := make([]domain.Payment, len(w.Payments))
	for i, p := range w.Payments {
		ref := p.PaymentRefID
		if ref == "" {
			ref = newUUID()
		}
		date := now
		if p.Date != nil {
			date = *p.Date
		}
		out[i] = domain.Payment{ID: newUUID(), PaymentRefID: ref, CustomerID: p.CustomerID, UserID: w.UserID, Amount: p.Amount,
			Currency: p.Currency, ThirdParty: p.ThirdParty, Description: p.Description, Status: domain.StatusPending, Date: date,
			CreatedAt: now, UpdatedAt: now}
	}
	for _, p := range out {
		m.payments[p.ID] = p
		m.refs[[2]string{p.CustomerID, p.PaymentRefID}] = true
	}
	if w.Idempotency != nil {
		m.keys[[2]string{w.UserID, w.Idempotency.Key}] = memKey{hash: w.Idempotency.RequestHash,
			payments: append([]domain.Payment(nil), out...), expires: m.Now().Add(w.Idempotency.TTL)}
	}
	return out, m.commit(), nil
}

// IdempotencyRecord implements command.PaymentStore.
func (m *MemStore) IdempotencyRecord(_ context.Context, userID, key string) (command.IdempotencyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[[2]string{userID, key}]
	if !ok {
		return command.IdempotencyRecord{}, domain.Errorf(domain.ENOTFOUND, "No such idempotency key.")
	}
	return command.IdempotencyRecord{RequestHash: k.hash, StatusCode: 201, Payments: append([]domain.Payment(nil), k.payments...),
		Expired: !m.Now().Before(k.expires), Commit: command.Commit{LSN: m.lsn}}, nil
}

// DeleteExpiredIdempotencyKey implements command.PaymentStore.
func (m *MemStore) DeleteExpiredIdempotencyKey(_ context.Context, userID, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.keys[[2]string{userID, key}]; ok && !m.Now().Before(k.expires) {
		delete(m.keys, [2]string{userID, key})
	}
	return nil
}

// DeleteExpiredIdempotencyKeys implements command.PaymentStore.
func (m *MemStore) DeleteExpiredIdempotencyKeys(_ context.Context, limit int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var expired [][2]string
	for id, k := range m.keys {
		if !m.Now().Before(k.expires) {
			expired = append(expired, id)
		}
	}
	sort.Slice(expired, func(i, j int) bool { return m.keys[expired[i]].expires.Before(m.keys[expired[j]].expires) })
	if len(expired) > limit {
		expired = expired[:limit]
	}
	for _, id := range expired {
		delete(m.keys, id)
	}
	return len(expired), nil
}

// PaymentCount returns the number of stored payments.
func (m *MemStore) PaymentCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.payments)
}
