package commandtest

import (
	"context"
	"encoding/json"
	"slices"
	"sort"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
)

// visiblePayment returns the payment if userID may see it. Callers hold mu.
func (m *MemStore) visiblePayment(userID, paymentID string) (domain.Payment, bool) {
	p, ok := m.payments[paymentID]
	return p, ok && m.linked(p.CustomerID, userID)
}

func (m *MemStore) move(userID, paymentID string, from domain.Status, failureCode string, refused error,
	apply func(p *domain.Payment)) (domain.Payment, command.Commit, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.visiblePayment(userID, paymentID)
	if !ok {
		return domain.Payment{}, command.Commit{}, command.ErrPaymentNotFound
	}
	if p.Status != from || (failureCode != "" && (p.FailureCode == nil || *p.FailureCode != failureCode)) {
		return domain.Payment{}, command.Commit{}, refused
	}
	apply(&p)
	p.UpdatedAt = m.now()
	m.payments[paymentID] = p
	return p, m.commit(), nil
}

// CancelPayment implements command.LifecycleStore.
func (m *MemStore) CancelPayment(_ context.Context, userID, paymentID string) (domain.Payment, command.Commit, error) {
	return m.move(userID, paymentID, domain.StatusPending, "", command.ErrNotCancelable, func(p *domain.Payment) {
		p.Status = domain.StatusCanceled
	})
}

// RetryPayment implements command.LifecycleStore.
func (m *MemStore) RetryPayment(_ context.Context, userID, paymentID string) (domain.Payment, command.Commit, error) {
	return m.move(userID, paymentID, domain.StatusFailed, domain.FailureRetriesExhausted, command.ErrNotRetryable, func(p *domain.Payment) {
		p.Status, p.FailureCode, p.FailureMessage, p.ProcessedAt = domain.StatusPending, nil, nil, nil
	})
}

// CreateRefund implements command.LifecycleStore.
func (m *MemStore) CreateRefund(_ context.Context, w command.RefundWrite) (domain.Refund, command.Commit, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.visiblePayment(w.UserID, w.PaymentID)
	if !ok {
		return domain.Refund{}, command.Commit{}, command.ErrPaymentNotFound
	}
	if w.Idempotency != nil {
		if _, taken := m.responses[[2]string{w.UserID, w.Idempotency.Key}]; taken {
			return domain.Refund{}, command.Commit{}, command.ErrIdempotencyKeyExists
		}
	}
	if p.Status != domain.StatusSucceeded {
		return domain.Refund{}, command.Commit{}, command.ErrNotRefundable
	}
	var taken int64
	for _, r := range m.refunds[p.ID] {
		if r.Status != domain.RefundFailed {
			taken += r.Amount
		}
	}
	amount := p.Amount - taken
	if w.Amount != nil {
		amount = *w.Amount
	}
	if amount <= 0 || taken+amount > p.Amount {
		return domain.Refund{}, command.Commit{}, command.ErrRefundExceedsAmount
	}
	now := m.now()
	r := domain.Refund{ID: newUUID(), PaymentID: p.ID, Amount: amount, Currency: p.Currency, Reason: w.Reason,
		Status: domain.RefundPending, CreatedAt: now, UpdatedAt: now}
	m.refunds[p.ID] = append(m.refunds[p.ID], r)
	c := m.commit()
	if w.Idempotency != nil {
		body, _ := json.Marshal(r)
		m.responses[[2]string{w.UserID, w.Idempotency.Key}] = command.StoredResponse{
			RequestHash: w.Idempotency.RequestHash, StatusCode: 201, Body: body, Commit: c}
	}
	return r, c, nil
}

// StoredResponse implements command.LifecycleStore.
func (m *MemStore) StoredResponse(_ context.Context, userID, key string) (command.StoredResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.responses[[2]string{userID, key}]
	if !ok {
		return rec, domain.Errorf(domain.ENOTFOUND, "No such idempotency key.")
	}
	return rec, nil
}

// DeadLetters implements command.LifecycleStore.
func (m *MemStore) DeadLetters(_ context.Context, userID string, customerIDs []string, afterID string, limit int) ([]domain.Payment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []domain.Payment
	for _, p := range m.payments {
		if p.FailureCode == nil || *p.FailureCode != domain.FailureRetriesExhausted || !m.linked(p.CustomerID, userID) ||
			p.ID <= afterID || (len(customerIDs) > 0 && !slices.Contains(customerIDs, p.CustomerID)) {
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Settle sets a payment's processing state, as the processor would (tests).
func (m *MemStore) Settle(paymentID string, status domain.Status, failureCode string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.payments[paymentID]
	p.Status = status
	if failureCode != "" {
		p.FailureCode = &failureCode
	}
	now := m.now()
	if status.Final() {
		p.ProcessedAt = &now
	}
	m.payments[paymentID] = p
}

// PaymentCustomer implements command.LifecycleStore.
func (m *MemStore) PaymentCustomer(_ context.Context, paymentID string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.payments[paymentID]
	if !ok {
		return "", command.ErrPaymentNotFound
	}
	return p.CustomerID, nil
}
