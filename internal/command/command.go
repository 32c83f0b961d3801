// Package command holds Wildcat's write use cases (docs/command-api.md): sign-up and
// login, customers and their user links, and payments with idempotency. It
// declares the interfaces it needs from the write model (Store), the
// password hasher, the token issuer and the rate limiters; adapters
// (internal/postgres, internal/auth) implement them and internal/commandhttp
// exposes the use cases over HTTP. It never imports a driver or a web
// framework.
package command

import (
	"context"
	"errors"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// Commit describes a committed write: LSN is the PostgreSQL WAL insert
// position read after the commit, so it is at or after the commit record of
// the write. It becomes the consistency token (domain.EncodeConsistencyToken).
type Commit struct {
	LSN uint64
}

// Token returns the consistency token of c.
func (c Commit) Token() string { return domain.EncodeConsistencyToken(c.LSN) }

// Store is everything the use cases need from the write model.
type Store interface {
	UserStore
	CustomerStore
	PaymentStore
	LifecycleStore
}

// NewUser is a user to insert; PasswordHash is already hashed.
type NewUser struct {
	Email        string
	Name         string
	PasswordHash string
}

// UserStore keeps users.
type UserStore interface {
	// CreateUser inserts u. An email already taken (compared
	// case-insensitively) is an ECONFLICT *domain.Error with Reason
	// ReasonEmailTaken.
	CreateUser(ctx context.Context, u NewUser) (domain.User, Commit, error)
	// Credentials returns the id and password hash of the user whose email
	// equals email case-insensitively; ENOTFOUND if there is none.
	Credentials(ctx context.Context, email string) (userID, passwordHash string, err error)
	// User returns the user with id; ENOTFOUND if there is none.
	User(ctx context.Context, id string) (domain.User, error)
}

// NewCustomer is a customer to create.
type NewCustomer struct {
	Name  string
	Email *string
}

// CustomerUpdate changes the fields that are set: Name when SetName, Email
// when SetEmail (a nil Email clears it).
type CustomerUpdate struct {
	SetName  bool
	Name     string
	SetEmail bool
	Email    *string
}

// CustomerStore keeps customers and links. Every method acting on an
// existing customer takes the calling user's id and answers ENOTFOUND unless
// that user is linked to the customer, exactly as if it did not exist.
type CustomerStore interface {
	// CreateCustomer inserts c and links userID to it, atomically.
	CreateCustomer(ctx context.Context, userID string, c NewCustomer) (domain.Customer, Commit, error)
	// Customer returns the customer.
	Customer(ctx context.Context, userID, customerID string) (domain.Customer, error)
	// UpdateCustomer applies u.
	UpdateCustomer(ctx context.Context, userID, customerID string, u CustomerUpdate) (domain.Customer, Commit, error)
	// Link links target to the customer; linking a linked user changes
	// nothing and succeeds. An unknown target is ENOTFOUND with Reason
	// ReasonUserNotFound.
	Link(ctx context.Context, userID, customerID, targetUserID string) (Commit, error)
	// LinkByEmail links the user with that email (case-insensitively);
	// unknown email is ENOTFOUND with Reason ReasonUserNotFound.
	LinkByEmail(ctx context.Context, userID, customerID, email string) (Commit, error)
	// Unlink removes target's link; removing a link that does not exist
	// changes nothing and succeeds. Removing the customer's last link is
	// ECONFLICT with Reason ReasonLastLink. Concurrent unlinks of one
	// customer are serialized, so together they can never remove the last
	// link either.
	Unlink(ctx context.Context, userID, customerID, targetUserID string) (Commit, error)
}

// NewPayment is one validated payment to insert. An empty PaymentRefID asks
// the store to generate one; a nil Date means the time of the insert.
type NewPayment struct {
	CustomerID   string
	PaymentRefID string
	Amount       int64
	Currency     string
	ThirdParty   string
	Description  string
	Date         *time.Time
}

// IdempotencyClaim asks CreatePayments to record an Idempotency-Key in the
// same transaction as the payments.
type IdempotencyClaim struct {
	Key         string
	RequestHash []byte
	TTL         time.Duration
}

// PaymentWrite is one atomic insert of payments by a user.
type PaymentWrite struct {
	UserID      string
	APIKeyID    string // the API key making the payments; "" for the user itself
	Payments    []NewPayment
	Idempotency *IdempotencyClaim // nil without an Idempotency-Key
}

// IdempotencyRecord is a stored Idempotency-Key with the response it
// produced: StatusCode and the payments as they were created.
type IdempotencyRecord struct {
	RequestHash []byte
	StatusCode  int
	Payments    []domain.Payment
	Expired     bool   // past its expiry but not yet cleaned up
	Commit      Commit // a position at or after the original commit
}

// PaymentStore keeps payments and Idempotency-Keys.
type PaymentStore interface {
	// CreatePayments inserts every payment of w in one transaction, only if
	// w.UserID is linked to every customer involved, together with the
	// Idempotency-Key claim if any, and returns them in input order.
	// Errors: *NotLinkedError (nothing written), *DuplicateRefError,
	// ErrIdempotencyKeyExists (the key is recorded already, or was recorded
	// concurrently), ErrLockTimeout (a concurrent transaction held a row
	// this one needed for too long).
	CreatePayments(ctx context.Context, w PaymentWrite) ([]domain.Payment, Commit, error)
	// IdempotencyRecord returns the stored key, expired or not; ENOTFOUND
	// if there is none.
	IdempotencyRecord(ctx context.Context, userID, key string) (IdempotencyRecord, error)
	// DeleteExpiredIdempotencyKey deletes the user's key if it has expired.
	DeleteExpiredIdempotencyKey(ctx context.Context, userID, key string) error
	// DeleteExpiredIdempotencyKeys deletes at most limit expired keys and
	// returns how many it deleted.
	DeleteExpiredIdempotencyKeys(ctx context.Context, limit int) (int, error)
}

// NotLinkedError reports the payments (by index into PaymentWrite.Payments)
// whose customer does not exist or is not linked to the user.
type NotLinkedError struct{ Indexes []int }

func (e *NotLinkedError) Error() string { return "command: customer not found or not linked" }

// DuplicateRefError reports payments whose payment_ref_id exists already;
// Indexes may be empty when the store cannot tell which.
type DuplicateRefError struct{ Indexes []int }

func (e *DuplicateRefError) Error() string { return "command: duplicate payment_ref_id" }

// Errors returned by PaymentStore.CreatePayments.
var (
	ErrIdempotencyKeyExists = errors.New("command: idempotency key exists")
	ErrLockTimeout          = errors.New("command: lock wait timed out")
)

// Stable reasons (the problem's `code`) of the errors the use cases return.
const (
	ReasonEmailTaken            = "email_taken"
	ReasonInvalidCredentials    = "invalid_credentials"
	ReasonRateLimited           = "rate_limited"
	ReasonUserNotFound          = "user_not_found"
	ReasonCustomerNotFound      = "customer_not_found"
	ReasonLastLink              = "last_link"
	ReasonDuplicatePaymentRefID = "duplicate_payment_ref_id"
	ReasonIdempotencyKeyReused  = "idempotency_key_reused"
	ReasonIdempotencyInProgress = "idempotency_in_progress"
	ReasonInvalidPayments       = "invalid_payments"
	ReasonBatchTooLarge         = "batch_too_large"
	ReasonRetry                 = "retry"
	ReasonDateInFuture          = "date_in_future"
	ReasonPasswordTooCommon     = "password_too_common"
)

// Errors of the customer and link use cases, also returned by stores.
var (
	// ErrCustomerNotFound answers every request about a customer the caller
	// is not linked to, whether or not it exists (docs/query-api.md, *Authentication and scope*).
	ErrCustomerNotFound = &domain.Error{Code: domain.ENOTFOUND, Reason: ReasonCustomerNotFound,
		Message: "No customer with this id is visible to you."}
	// ErrUserNotFound answers a link or unlink naming no user.
	ErrUserNotFound = &domain.Error{Code: domain.ENOTFOUND, Reason: ReasonUserNotFound, Message: "No such user."}
	// ErrLastLink refuses to remove a customer's last link.
	ErrLastLink = &domain.Error{Code: domain.ECONFLICT, Reason: ReasonLastLink,
		Message: "This is the customer's last linked user; link someone else first."}
	// ErrEmailTaken refuses a sign-up with a registered email.
	ErrEmailTaken = &domain.Error{Code: domain.ECONFLICT, Reason: ReasonEmailTaken,
		Message: "An account with this email exists already."}
)

// PasswordHasher hashes and checks passwords (argon2id or bcrypt).
type PasswordHasher interface {
	// Hash returns the encoded hash of password.
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded; an empty encoded
	// costs the same time as a real one and reports false.
	Verify(ctx context.Context, encoded, password string) (bool, error)
}

// TokenIssuer mints access tokens.
type TokenIssuer interface {
	// Issue returns a signed access token for userID.
	Issue(userID string) (string, error)
	// TTL returns the lifetime of issued tokens.
	TTL() time.Duration
}

// Limiter rations attempts per key.
type Limiter interface {
	// Take spends one attempt of key, or reports false and how long to wait.
	Take(key string) (ok bool, retryAfter time.Duration)
	// Refund gives back an attempt that should not count.
	Refund(key string)
}

// ClientMemory remembers which email + client address pairs logged in
// successfully, so that an account's throttle can let its owner through.
type ClientMemory interface {
	// Known reports whether key logged in successfully recently.
	Known(key string) bool
	// Remember records a successful login of key.
	Remember(key string)
}

// Limits are the rate limiters of the use cases; a nil limiter allows
// everything, a nil KnownClients knows no client.
type Limits struct {
	LoginPerClient Limiter      // failed logins per email + client address: blocks that pair only
	LoginPerEmail  Limiter      // failed logins per email from anywhere: the slower, global throttle
	KnownClients   ClientMemory // pairs that pass an exhausted LoginPerEmail
	LoginPerAddr   Limiter      // failed logins per client address, any email
	SignUpPerAddr  Limiter      // sign-ups per client address
	LinkPerUser    Limiter      // link-by-email requests per calling user
}

// Options configure a Service.
type Options struct {
	// IdempotencyTTL is how long an Idempotency-Key is remembered (≥ 24 h in
	// production).
	IdempotencyTTL time.Duration
	// MaxFutureDate is how far ahead of now a payment's date may lie (0:
	// 24 h); later dates are refused with 422 date_in_future.
	MaxFutureDate time.Duration
	Limits        Limits
}

// Service runs the write use cases. It is safe for concurrent use.
type Service struct {
	store  Store
	hasher PasswordHasher
	tokens TokenIssuer
	opts   Options
}

// New returns a Service. Zero options get defaults: a 24 h idempotency TTL.
func New(store Store, hasher PasswordHasher, tokens TokenIssuer, opts Options) *Service {
	if opts.IdempotencyTTL <= 0 {
		opts.IdempotencyTTL = 24 * time.Hour
	}
	if opts.MaxFutureDate <= 0 {
		opts.MaxFutureDate = 24 * time.Hour
	}
	return &Service{store: store, hasher: hasher, tokens: tokens, opts: opts}
}

// take spends an attempt of key on l; nil l always allows.
func take(l Limiter, key string) error {
	if l == nil {
		return nil
	}
	if ok, wait := l.Take(key); !ok {
		return &domain.Error{Code: domain.ERATELIMITED, Reason: ReasonRateLimited,
			Message: "Too many attempts; retry later.", RetryAfter: retryAfterSeconds(wait)}
	}
	return nil
}

func refund(l Limiter, key string) {
	if l != nil {
		l.Refund(key)
	}
}

func retryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}
