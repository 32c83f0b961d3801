package command

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// notFoundCustomer replaces a bare ENOTFOUND of a store (no reason) with
// ErrCustomerNotFound; other errors pass through wrapped.
func notFoundCustomer(err error, what string) error {
	var e *domain.Error
	if errors.As(err, &e) && e.Code == domain.ENOTFOUND && e.Reason == "" {
		return ErrCustomerNotFound
	}
	return fmt.Errorf("command: %s: %w", what, err)
}

// CreateCustomer creates a customer linked to the caller.
func (s *Service) CreateCustomer(ctx context.Context, userID string, in CustomerInput) (domain.Customer, Commit, error) {
	var v domain.Validation
	var c NewCustomer
	if required(&v, "name", in.Name) {
		c.Name = strings.TrimSpace(*in.Name)
		domain.ValidateText(&v, "name", c.Name, 1, domain.MaxNameLen)
	}
	if in.Email != nil {
		e := domain.NormalizeEmail(*in.Email)
		domain.ValidateEmail(&v, "email", e)
		c.Email = &e
	}
	if err := v.Err(); err != nil {
		return domain.Customer{}, Commit{}, err
	}
	cu, commit, err := s.store.CreateCustomer(ctx, userID, c)
	if err != nil {
		return domain.Customer{}, Commit{}, fmt.Errorf("command: create customer: %w", err)
	}
	return cu, commit, nil
}

// Customer returns a customer the caller is linked to.
func (s *Service) Customer(ctx context.Context, userID, customerID string) (domain.Customer, error) {
	if !domain.IsUUID(customerID) {
		return domain.Customer{}, ErrCustomerNotFound
	}
	c, err := s.store.Customer(ctx, userID, strings.ToLower(customerID))
	if err != nil {
		return domain.Customer{}, notFoundCustomer(err, "customer")
	}
	return c, nil
}

// UpdateCustomer changes a customer's name and/or email.
func (s *Service) UpdateCustomer(ctx context.Context, userID, customerID string, in CustomerPatchInput) (domain.Customer, Commit, error) {
	if !domain.IsUUID(customerID) {
		return domain.Customer{}, Commit{}, ErrCustomerNotFound
	}
	var v domain.Validation
	var u CustomerUpdate
	if in.Name.Set {
		u.SetName = true
		if in.Name.Null {
			v.Add("name", "must be a string, not null")
		} else {
			u.Name = strings.TrimSpace(in.Name.Value)
			domain.ValidateText(&v, "name", u.Name, 1, domain.MaxNameLen)
		}
	}
	if in.Email.Set {
		u.SetEmail = true
		if !in.Email.Null {
			e := domain.NormalizeEmail(in.Email.Value)
			domain.ValidateEmail(&v, "email", e)
			u.Email = &e
		}
	}
	if !u.SetName && !u.SetEmail {
		v.Add("name", "at least one of name and email is required")
	}
	if err := v.Err(); err != nil {
		return domain.Customer{}, Commit{}, err
	}
	c, commit, err := s.store.UpdateCustomer(ctx, userID, strings.ToLower(customerID), u)
	if err != nil {
		return domain.Customer{}, Commit{}, notFoundCustomer(err, "update customer")
	}
	return c, commit, nil
}

// Link links targetUserID to the customer (idempotent).
func (s *Service) Link(ctx context.Context, userID, customerID, targetUserID string) (Commit, error) {
	if !domain.IsUUID(customerID) {
		return Commit{}, ErrCustomerNotFound
	}
	if !domain.IsUUID(targetUserID) {
		return Commit{}, ErrUserNotFound
	}
	c, err := s.store.Link(ctx, userID, strings.ToLower(customerID), strings.ToLower(targetUserID))
	if err != nil {
		return Commit{}, notFoundCustomer(err, "link")
	}
	return c, nil
}

// LinkByEmail links the user with the given email to the customer. It is
// rate limited per caller, since it reveals whether an email is registered.
func (s *Service) LinkByEmail(ctx context.Context, userID, customerID string, in LinkByEmailInput) (Commit, error) {
	if !domain.IsUUID(customerID) {
		return Commit{}, ErrCustomerNotFound
	}
	var v domain.Validation
	var email string
	if required(&v, "email", in.Email) {
		email = domain.NormalizeEmail(*in.Email)
		domain.ValidateEmail(&v, "email", email)
	}
	if err := v.Err(); err != nil {
		return Commit{}, err
	}
	if err := take(s.opts.Limits.LinkPerUser, userID); err != nil {
		return Commit{}, err
	}
	c, err := s.store.LinkByEmail(ctx, userID, strings.ToLower(customerID), email)
	if err != nil {
		return Commit{}, notFoundCustomer(err, "link by email")
	}
	return c, nil
}

// Unlink removes targetUserID's link to the customer (idempotent); the last
// link cannot be removed.
func (s *Service) Unlink(ctx context.Context, userID, customerID, targetUserID string) (Commit, error) {
	if !domain.IsUUID(customerID) {
		return Commit{}, ErrCustomerNotFound
	}
	if !domain.IsUUID(targetUserID) {
		return Commit{}, ErrUserNotFound
	}
	c, err := s.store.Unlink(ctx, userID, strings.ToLower(customerID), strings.ToLower(targetUserID))
	if err != nil {
		return Commit{}, notFoundCustomer(err, "unlink")
	}
	return c, nil
}
