package command

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// LifecycleStore keeps what users do to a payment after creating it (SPEC
// §9): cancel, re-drive a dead letter, refund, list dead letters. Every
// method answers ENOTFOUND (ErrPaymentNotFound) for a payment the user is
// not linked to, exactly as if it did not exist.
type LifecycleStore interface {
	// CancelPayment moves a pending payment to canceled. A payment past
	// pending is ErrNotCancelable.
	CancelPayment(ctx context.Context, userID, paymentID string) (domain.Payment, Commit, error)
	// RetryPayment re-drives a dead letter: back to pending with a new
	// processing job, in one transaction. Anything else is ErrNotRetryable.
	RetryPayment(ctx context.Context, userID, paymentID string) (domain.Payment, Commit, error)
	// CreateRefund inserts a pending refund with its job and the
	// Idempotency-Key claim, if any. Errors: ErrNotRefundable,
	// ErrRefundExceedsAmount, ErrIdempotencyKeyExists.
	CreateRefund(ctx context.Context, w RefundWrite) (domain.Refund, Commit, error)
	// StoredResponse returns the response recorded with an Idempotency-Key
	// by CreateRefund; ENOTFOUND if there is none.
	StoredResponse(ctx context.Context, userID, key string) (StoredResponse, error)
	// DeadLetters lists the user's customers' dead letters (failed with
	// retries_exhausted) in id order after afterID, at most limit, limited
	// to customerIDs when not empty.
	DeadLetters(ctx context.Context, userID string, customerIDs []string, afterID string, limit int) ([]domain.Payment, error)
	// PaymentCustomer returns the customer of a payment (ENOTFOUND if there
	// is no such payment), to keep an API key to its customer.
	PaymentCustomer(ctx context.Context, paymentID string) (string, error)
}

// keyMayAct refuses, as not found, a payment of another customer than the
// request's API key's (when the request is made with a key). A payment's
// customer never changes, so checking before the write is enough.
func (s *Service) keyMayAct(ctx context.Context, paymentID string) error {
	k, ok := KeyActorFrom(ctx)
	if !ok {
		return nil
	}
	c, err := s.store.PaymentCustomer(ctx, paymentID)
	if domain.ErrorCode(err) == domain.ENOTFOUND || (err == nil && !strings.EqualFold(c, k.CustomerID)) {
		return ErrPaymentNotFound
	}
	return err
}

// RefundWrite is one refund to create. A nil Amount refunds whatever is not
// refunded yet.
type RefundWrite struct {
	UserID      string
	PaymentID   string
	Amount      *int64
	Reason      string
	Idempotency *IdempotencyClaim
}

// StoredResponse is a response recorded with an Idempotency-Key.
type StoredResponse struct {
	RequestHash []byte
	StatusCode  int
	Body        []byte
	Expired     bool
	Commit      Commit
}

// Reasons of the lifecycle's errors.
const (
	ReasonPaymentNotFound      = "payment_not_found"
	ReasonNotCancelable        = "not_cancelable"
	ReasonNotRetryable         = "not_retryable"
	ReasonNotRefundable        = "not_refundable"
	ReasonRefundExceedsAmount  = "refund_exceeds_amount"
	endpointRefund             = "POST /v1/payments/{id}/refunds"
	maxDeadLetterPage          = 500
	defaultDeadLetterPageLimit = 50
)

// Errors of the lifecycle use cases, also returned by stores.
var (
	ErrPaymentNotFound = &domain.Error{Code: domain.ENOTFOUND, Reason: ReasonPaymentNotFound,
		Message: "No payment with this id is visible to you."}
	ErrNotCancelable = &domain.Error{Code: domain.ECONFLICT, Reason: ReasonNotCancelable,
		Message: "Only a pending payment can be canceled; this one is being processed or is settled."}
	ErrNotRetryable = &domain.Error{Code: domain.ECONFLICT, Reason: ReasonNotRetryable,
		Message: "Only a dead letter (failed with retries_exhausted) can be retried."}
	ErrNotRefundable = &domain.Error{Code: domain.ECONFLICT, Reason: ReasonNotRefundable,
		Message: "Only a succeeded payment can be refunded."}
	ErrRefundExceedsAmount = &domain.Error{Code: domain.ECONFLICT, Reason: ReasonRefundExceedsAmount,
		Message: "The refunds of a payment cannot exceed its amount; less (or nothing) is left to refund."}
)

// RefundInput is the body of a refund request.
type RefundInput struct {
	Amount *int64  `json:"amount"`
	Reason *string `json:"reason"`
}

// RefundResult is the outcome of a refund request.
type RefundResult struct {
	Refund     domain.Refund
	Body       []byte // the replayed body, when Replayed
	Commit     Commit
	StatusCode int
	Replayed   bool
}

// CancelPayment cancels a pending payment.
func (s *Service) CancelPayment(ctx context.Context, userID, paymentID string) (domain.Payment, Commit, error) {
	if !domain.IsUUID(paymentID) {
		return domain.Payment{}, Commit{}, ErrPaymentNotFound
	}
	if err := s.keyMayAct(ctx, paymentID); err != nil {
		return domain.Payment{}, Commit{}, err
	}
	return s.store.CancelPayment(ctx, userID, paymentID)
}

// RetryPayment re-drives a dead letter.
func (s *Service) RetryPayment(ctx context.Context, userID, paymentID string) (domain.Payment, Commit, error) {
	if !domain.IsUUID(paymentID) {
		return domain.Payment{}, Commit{}, ErrPaymentNotFound
	}
	if err := s.keyMayAct(ctx, paymentID); err != nil {
		return domain.Payment{}, Commit{}, err
	}
	return s.store.RetryPayment(ctx, userID, paymentID)
}

// CreateRefund validates and creates a refund of a succeeded payment. A
// non-empty key is the Idempotency-Key, with the semantics of the payment
// endpoints.
func (s *Service) CreateRefund(ctx context.Context, userID, paymentID, key string, in RefundInput) (RefundResult, error) {
	if !domain.IsUUID(paymentID) {
		return RefundResult{}, ErrPaymentNotFound
	}
	if key != "" {
		if err := ValidateIdempotencyKey(key); err != nil {
			return RefundResult{}, err
		}
	}
	if err := s.keyMayAct(ctx, paymentID); err != nil {
		return RefundResult{}, err
	}
	key = idempotencyScope(ctx, key)
	var v domain.Validation
	w := RefundWrite{UserID: userID, PaymentID: paymentID, Amount: in.Amount}
	if in.Amount != nil {
		domain.ValidateAmount(&v, "amount", *in.Amount)
	}
	if in.Reason != nil {
		domain.ValidateMultilineText(&v, "reason", *in.Reason, 0, domain.MaxReasonLen)
		w.Reason = *in.Reason
	}
	if err := v.Err(); err != nil {
		return RefundResult{}, err
	}
	var hash []byte
	if key != "" {
		h := sha256.New()
		h.Write([]byte("wildcat-idempotency-v1\x00" + endpointRefund + "\x00" + paymentID + "\x00"))
		_ = json.NewEncoder(h).Encode(in)
		hash = h.Sum(nil)
		w.Idempotency = &IdempotencyClaim{Key: key, RequestHash: hash, TTL: s.opts.IdempotencyTTL}
	}
	for attempt := 1; ; attempt++ {
		r, c, err := s.store.CreateRefund(ctx, w)
		if err == nil {
			return RefundResult{Refund: r, Commit: c, StatusCode: http.StatusCreated}, nil
		}
		if key == "" || !errors.Is(err, ErrIdempotencyKeyExists) {
			return RefundResult{}, err
		}
		rec, lerr := s.store.StoredResponse(ctx, userID, key)
		switch {
		case domain.ErrorCode(lerr) == domain.ENOTFOUND: // the holder rolled back: try again
		case lerr != nil:
			return RefundResult{}, fmt.Errorf("command: idempotency record: %w", lerr)
		case rec.Expired:
			if err := s.store.DeleteExpiredIdempotencyKey(ctx, userID, key); err != nil {
				return RefundResult{}, fmt.Errorf("command: delete expired idempotency key: %w", err)
			}
		case !bytes.Equal(rec.RequestHash, hash) || rec.Body == nil:
			return RefundResult{}, errIdempotencyKeyReused
		default:
			return RefundResult{Body: rec.Body, Commit: rec.Commit, StatusCode: rec.StatusCode, Replayed: true}, nil
		}
		if attempt == 3 {
			return RefundResult{}, errIdempotencyInProgress
		}
	}
}

// DeadLetterPage is one page of dead letters.
type DeadLetterPage struct {
	Data       []domain.Payment `json:"data"`
	NextCursor *string          `json:"next_cursor"`
	HasMore    bool             `json:"has_more"`
}

// DeadLetters lists the dead letters of the caller's customers (all, or
// those in customerIDs). The cursor is the id of the last payment of the
// previous page.
func (s *Service) DeadLetters(ctx context.Context, userID string, customerIDs []string, cursor string, limit int) (DeadLetterPage, error) {
	var v domain.Validation
	for _, id := range customerIDs {
		if !domain.IsUUID(id) {
			v.Add("customer_id", "must be a UUID")
			break
		}
	}
	if cursor != "" && !domain.IsUUID(cursor) {
		v.Add("cursor", "must be a next_cursor of an earlier page")
	}
	if limit == 0 {
		limit = defaultDeadLetterPageLimit
	}
	if limit < 1 || limit > maxDeadLetterPage {
		v.Add("limit", "must be 1 to %d", maxDeadLetterPage)
	}
	if err := v.Err(); err != nil {
		return DeadLetterPage{}, err
	}
	if k, ok := KeyActorFrom(ctx); ok {
		// A key sees its customer's dead letters, whatever its creator's
		// links, and nothing of others.
		if len(customerIDs) > 0 && !slices.ContainsFunc(customerIDs, func(id string) bool { return strings.EqualFold(id, k.CustomerID) }) {
			return DeadLetterPage{Data: []domain.Payment{}}, nil
		}
		customerIDs = []string{k.CustomerID}
	}
	ps, err := s.store.DeadLetters(ctx, userID, customerIDs, cursor, limit+1)
	if err != nil {
		return DeadLetterPage{}, err
	}
	page := DeadLetterPage{Data: ps}
	if len(ps) > limit {
		page.Data, page.HasMore = ps[:limit], true
		next := ps[limit-1].ID
		page.NextCursor = &next
	}
	if page.Data == nil {
		page.Data = []domain.Payment{}
	}
	return page, nil
}
