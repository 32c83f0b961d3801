package command

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// PaymentResult is the outcome of a payment request.
type PaymentResult struct {
	Payments   []domain.Payment
	Commit     Commit
	StatusCode int  // HTTP status of the response: 201, or the replayed one
	Replayed   bool // the stored result of an earlier request with the same Idempotency-Key
}

// BatchInput is a decoded batch.
type BatchInput struct {
	Items []BatchItem
}

// BatchItem is one item of a batch: its decoded fields, or the errors that
// kept it from being decoded (named relative to the item, e.g. "amount"),
// which are reported together with the validation errors of other items.
type BatchItem struct {
	Payment      PaymentInput
	DecodeErrors []domain.FieldError
}

// MaxIdempotencyKeyLen is the longest accepted Idempotency-Key.
const MaxIdempotencyKeyLen = 255

// ValidateIdempotencyKey checks an Idempotency-Key header value: 1–255
// printable ASCII characters.
func ValidateIdempotencyKey(key string) error {
	ok := len(key) >= 1 && len(key) <= MaxIdempotencyKeyLen
	for i := 0; ok && i < len(key); i++ {
		ok = key[i] >= 0x20 && key[i] < 0x7f
	}
	if !ok {
		return &domain.Error{Code: domain.EINVALID, Message: "Idempotency-Key must be 1 to 255 printable ASCII characters.",
			Fields: []domain.FieldError{{Field: "Idempotency-Key", Message: "must be 1 to 255 printable ASCII characters"}}}
	}
	return nil
}

// Endpoints named in request hashes, so one key cannot be reused across
// the single and the batch endpoint.
const (
	endpointPayment = "POST /v1/payments"
	endpointBatch   = "POST /v1/payments/batch"
)

// CreatePayment validates and creates one payment on behalf of its
// customer, which the caller must be linked to. A non-empty key is the
// Idempotency-Key (docs/command-api.md, *Idempotency*).
func (s *Service) CreatePayment(ctx context.Context, userID, key string, in PaymentInput) (PaymentResult, error) {
	if key != "" {
		if err := ValidateIdempotencyKey(key); err != nil {
			return PaymentResult{}, err
		}
	}
	var v domain.Validation
	p := in.Validate(&v, "")
	if err := v.Err(); err != nil {
		return PaymentResult{}, err
	}
	if f, bad := s.futureDate(p, ""); bad {
		return PaymentResult{}, &domain.Error{Code: domain.EUNPROCESSABLE, Reason: ReasonDateInFuture,
			Message: "date: " + f.Message + "; nothing was written.", Fields: []domain.FieldError{f}}
	}
	return s.createPayments(ctx, userID, key, endpointPayment, []NewPayment{p}, func(int) string { return "" })
}

// CreatePayments validates every item of a batch and creates them all in
// one transaction, or nothing: any invalid item makes the whole batch
// unprocessable, naming every bad item by index.
func (s *Service) CreatePayments(ctx context.Context, userID, key string, in BatchInput) (PaymentResult, error) {
	if key != "" {
		if err := ValidateIdempotencyKey(key); err != nil {
			return PaymentResult{}, err
		}
	}
	n := len(in.Items)
	if err := CheckBatchSize(n); err != nil {
		return PaymentResult{}, err
	}
	var fields []domain.FieldError
	if n == 0 {
		fields = append(fields, domain.FieldError{Field: "payments", Message: fmt.Sprintf("must hold 1 to %d payments", domain.MaxBatchSize)})
	}
	items := make([]NewPayment, n)
	firstRef := make(map[string]int)
	for i, item := range in.Items {
		prefix := itemPrefix(i)
		if len(item.DecodeErrors) > 0 {
			for _, f := range item.DecodeErrors {
				name := strings.TrimSuffix(prefix+f.Field, ".")
				fields = append(fields, domain.FieldError{Field: name, Message: f.Message})
			}
			continue
		}
		var v domain.Validation
		items[i] = item.Payment.Validate(&v, prefix)
		fields = append(fields, v.Fields()...)
		if f, bad := s.futureDate(items[i], prefix); bad {
			fields = append(fields, f)
		}
		// payment_ref_id is unique per customer: the same reference for
		// two customers is no duplicate.
		if ref := items[i].PaymentRefID; ref != "" && domain.IsUUID(ref) {
			ref = items[i].CustomerID + "/" + ref
			if j, dup := firstRef[ref]; dup {
				fields = append(fields, domain.FieldError{Field: prefix + "payment_ref_id",
					Message: fmt.Sprintf("duplicates %spayment_ref_id", itemPrefix(j))})
			} else {
				firstRef[ref] = i
			}
		}
	}
	if len(fields) > 0 {
		return PaymentResult{}, &domain.Error{Code: domain.EUNPROCESSABLE, Reason: ReasonInvalidPayments,
			Message: fmt.Sprintf("The batch has %d invalid field(s); nothing was written.", len(fields)), Fields: fields}
	}
	return s.createPayments(ctx, userID, key, endpointBatch, items, itemPrefix)
}

// futureDate reports a payment dated further ahead than MaxFutureDate: a
// typo in the year, or a clock far off, would otherwise sort above every
// payment made today.
func (s *Service) futureDate(p NewPayment, prefix string) (domain.FieldError, bool) {
	if p.Date == nil || !p.Date.After(time.Now().Add(s.opts.MaxFutureDate)) {
		return domain.FieldError{}, false
	}
	return domain.FieldError{Field: prefix + "date",
		Message: fmt.Sprintf("must not be more than %s in the future", s.opts.MaxFutureDate)}, true
}

// CheckBatchSize refuses a batch of more than domain.MaxBatchSize payments.
func CheckBatchSize(n int) error {
	if n <= domain.MaxBatchSize {
		return nil
	}
	return &domain.Error{Code: domain.EUNPROCESSABLE, Reason: ReasonBatchTooLarge,
		Message: fmt.Sprintf("A batch holds at most %d payments; this one has %d.", domain.MaxBatchSize, n),
		Fields:  []domain.FieldError{{Field: "payments", Message: fmt.Sprintf("must hold 1 to %d payments", domain.MaxBatchSize)}}}
}

func itemPrefix(i int) string { return fmt.Sprintf("payments[%d].", i) }

// createPayments writes items with the optional idempotency key and
// resolves key collisions into a replay, a mismatch or a retry answer.
func (s *Service) createPayments(ctx context.Context, userID, key, endpoint string, items []NewPayment, prefix func(int) string) (PaymentResult, error) {
	w := PaymentWrite{UserID: userID, Payments: items}
	if k, ok := KeyActorFrom(ctx); ok {
		if other := otherCustomers(items, k.CustomerID); len(other) > 0 {
			return PaymentResult{}, paymentError(&NotLinkedError{Indexes: other}, prefix)
		}
		w.APIKeyID = k.ID
		key = idempotencyScope(ctx, key)
	}
	var hash []byte
	if key != "" {
		hash = requestHash(endpoint, items)
		w.Idempotency = &IdempotencyClaim{Key: key, RequestHash: hash, TTL: s.opts.IdempotencyTTL}
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		ps, commit, err := s.store.CreatePayments(ctx, w)
		if err == nil {
			return PaymentResult{Payments: ps, Commit: commit, StatusCode: http.StatusCreated}, nil
		}
		var dup *DuplicateRefError
		if key == "" || !(errors.Is(err, ErrIdempotencyKeyExists) || errors.As(err, &dup) || errors.Is(err, ErrLockTimeout)) {
			return PaymentResult{}, paymentError(err, prefix)
		}
		if errors.Is(err, ErrLockTimeout) {
			return PaymentResult{}, errIdempotencyInProgress
		}
		// The key, or a payment_ref_id, exists: an earlier request with this
		// key may have created it.
		rec, lerr := s.store.IdempotencyRecord(ctx, userID, key)
		switch {
		case domain.ErrorCode(lerr) == domain.ENOTFOUND:
			if dup != nil {
				return PaymentResult{}, paymentError(err, prefix)
			}
			// The holder of the key rolled back, or it expired and was
			// cleaned up in between: try again.
		case lerr != nil:
			return PaymentResult{}, fmt.Errorf("command: idempotency record: %w", lerr)
		case rec.Expired:
			if err := s.store.DeleteExpiredIdempotencyKey(ctx, userID, key); err != nil {
				return PaymentResult{}, fmt.Errorf("command: delete expired idempotency key: %w", err)
			}
		case !bytes.Equal(rec.RequestHash, hash):
			return PaymentResult{}, errIdempotencyKeyReused
		default:
			return PaymentResult{Payments: rec.Payments, Commit: rec.Commit, StatusCode: rec.StatusCode, Replayed: true}, nil
		}
		if attempt == attempts {
			return PaymentResult{}, errIdempotencyInProgress
		}
	}
}

var (
	errIdempotencyKeyReused = &domain.Error{Code: domain.EUNPROCESSABLE, Reason: ReasonIdempotencyKeyReused,
		Message: "This Idempotency-Key was used with a different request; use a new key for a new request."}
	errIdempotencyInProgress = &domain.Error{Code: domain.ECONFLICT, Reason: ReasonIdempotencyInProgress,
		Message: "A request with this Idempotency-Key is still in progress; retry shortly.", RetryAfter: 1}
)

// paymentError turns store errors into answers naming the offending items.
func paymentError(err error, prefix func(int) string) error {
	var notLinked *NotLinkedError
	var dup *DuplicateRefError
	switch {
	case errors.As(err, &notLinked):
		e := *ErrCustomerNotFound
		for _, i := range notLinked.Indexes {
			e.Fields = append(e.Fields, domain.FieldError{Field: prefix(i) + "customer_id", Message: "no customer with this id is visible to you"})
		}
		return &e
	case errors.As(err, &dup):
		e := &domain.Error{Code: domain.ECONFLICT, Reason: ReasonDuplicatePaymentRefID,
			Message: "A payment with this payment_ref_id exists already; nothing was written."}
		for _, i := range dup.Indexes {
			e.Fields = append(e.Fields, domain.FieldError{Field: prefix(i) + "payment_ref_id", Message: "exists already"})
		}
		return e
	case errors.Is(err, ErrLockTimeout):
		return &domain.Error{Code: domain.ECONFLICT, Reason: ReasonRetry,
			Message: "A concurrent request held a resource this one needs; retry.", RetryAfter: 1}
	}
	return fmt.Errorf("command: create payments: %w", err)
}

// requestHash identifies a request for idempotency: the endpoint and the
// normalized payments, so formatting differences in the JSON (spacing, key
// order, upper-case UUIDs, time zones) do not count as a different request.
func requestHash(endpoint string, items []NewPayment) []byte {
	h := sha256.New()
	h.Write([]byte("wildcat-idempotency-v1\x00" + endpoint + "\x00"))
	_ = json.NewEncoder(h).Encode(items) // NewPayment always encodes
	return h.Sum(nil)
}

// DeleteExpiredIdempotencyKeys deletes expired Idempotency-Keys in batches
// of batchSize until none is left, and returns how many it deleted.
func (s *Service) DeleteExpiredIdempotencyKeys(ctx context.Context, batchSize int) (int, error) {
	total := 0
	for {
		n, err := s.store.DeleteExpiredIdempotencyKeys(ctx, batchSize)
		total += n
		if err != nil {
			return total, fmt.Errorf("command: delete expired idempotency keys: %w", err)
		}
		if n < batchSize {
			return total, nil
		}
	}
}

// otherCustomers lists the items not for customerID: an API key acts only
// for its customer, and others are as unknown to it as an unlinked customer
// is to a user.
func otherCustomers(items []NewPayment, customerID string) []int {
	var other []int
	for i, p := range items {
		if !strings.EqualFold(p.CustomerID, customerID) {
			other = append(other, i)
		}
	}
	return other
}
