package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/wildcat-payments/wildcat/internal/processing"
)

// CodeNotProcessed is the decline code of a charge or refund the simulator
// refused because its key is burnt: an earlier look-up found nothing under
// it and closed it. That refusal is final and proves nothing moved under
// the key — nor ever will — which is exactly what a decline means, so
// retrying is pointless and failing the payment is safe. It happens when a
// late attempt (a slow job beside the one that gave up and looked up)
// arrives after the look-up.
const CodeNotProcessed = "not_processed"

// entry is the part of the simulator's record the adapter reads.
type entry struct {
	Status   string `json:"status"`
	ID       string `json:"id"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// apiError is the simulator's error body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// classify turns the answer to a charge or refund into a receipt or an
// error, as processing.Provider documents:
//
//	201/200                       the receipt
//	402                           *Decline with the simulator's code
//	409 key_burnt                 *Decline not_processed (see CodeNotProcessed)
//	400                           *Decline invalid_request: the request can never succeed
//	429, 503                      *Transient, Unknown false: documented as not processed
//	anything else (500, 502, 504) *Transient, Unknown true: money may have moved
func classify(res response) (processing.Receipt, error) {
	switch res.status {
	case http.StatusOK, http.StatusCreated:
		rec, err := receipt(res.body)
		if err != nil {
			return processing.Receipt{}, &processing.Transient{Code: "bad_response", Unknown: true, Err: err}
		}
		if rec.Declined { // a 2xx always carries a movement; be safe if not
			return processing.Receipt{}, &processing.Decline{Code: rec.DeclineCode, Message: "declined"}
		}
		return rec, nil
	case http.StatusPaymentRequired:
		e := errorOf(res.body)
		if e.Code == "" {
			e.Code = "declined"
		}
		return processing.Receipt{}, &processing.Decline{Code: e.Code, Message: e.Message}
	case http.StatusBadRequest:
		return processing.Receipt{}, &processing.Decline{Code: "invalid_request", Message: errorOf(res.body).Message}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		code := "rate_limited"
		if res.status == http.StatusServiceUnavailable {
			code = "http_503"
		}
		return processing.Receipt{}, &processing.Transient{Code: code, RetryAfter: retryAfter(res.header.Get("Retry-After")),
			Err: fmt.Errorf("sim: HTTP %d: %s", res.status, errorOf(res.body).Message)}
	}
	e := errorOf(res.body)
	if res.status == http.StatusConflict && e.Code == "key_burnt" {
		return processing.Receipt{}, &processing.Decline{Code: CodeNotProcessed, Message: "the provider closed this key after a look-up found nothing under it"}
	}
	return processing.Receipt{}, &processing.Transient{Code: "http_" + strconv.Itoa(res.status), Unknown: true,
		Err: fmt.Errorf("sim: HTTP %d: %s %s", res.status, e.Code, e.Message)}
}

// receipt decodes a recorded movement or decline.
func receipt(body []byte) (processing.Receipt, error) {
	var e entry
	if err := json.Unmarshal(body, &e); err != nil {
		return processing.Receipt{}, fmt.Errorf("sim: decode record: %w", err)
	}
	switch e.Status {
	case "succeeded":
		if e.ID == "" {
			return processing.Receipt{}, errors.New("sim: decode record: a movement without an id")
		}
		return processing.Receipt{Reference: e.ID, Amount: e.Amount, Currency: e.Currency}, nil
	case "declined":
		return processing.Receipt{Amount: e.Amount, Currency: e.Currency, Declined: true, DeclineCode: e.Code}, nil
	}
	return processing.Receipt{}, fmt.Errorf("sim: decode record: unknown status %q", e.Status)
}

func errorOf(body []byte) apiError {
	var e apiError
	_ = json.Unmarshal(body, &e)
	return e
}

// transportError classifies a call that got no answer. Only a request
// that certainly never reached the simulator — refused, or never fully
// written — is Unknown false; a timeout, reset or EOF after sending may
// have moved money.
func transportError(err error, sent bool) *processing.Transient {
	err = fmt.Errorf("sim: %w", err)
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return &processing.Transient{Code: "connection_refused", Err: err}
	case !sent && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()):
		return &processing.Transient{Code: "timeout", Err: err}
	case !sent:
		return &processing.Transient{Code: "connection", Err: err}
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return &processing.Transient{Code: "timeout", Unknown: true, Err: err}
	case errors.Is(err, context.Canceled):
		return &processing.Transient{Code: "canceled", Unknown: true, Err: err}
	}
	return &processing.Transient{Code: "connection", Unknown: true, Err: err}
}

// retryAfter parses Retry-After: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
