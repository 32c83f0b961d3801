package commandhttp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
)

// The payment lifecycle's routes (SPEC §9, docs/processing.md).

func (h *handler) cancelPayment(c *gin.Context) {
	p, commit, err := h.svc.CancelPayment(c.Request.Context(), httpapi.UserID(c), c.Param("id"))
	h.renderPayment(c, p, commit, err)
}

func (h *handler) retryPayment(c *gin.Context) {
	p, commit, err := h.svc.RetryPayment(c.Request.Context(), httpapi.UserID(c), c.Param("id"))
	h.renderPayment(c, p, commit, err)
}

func (h *handler) renderPayment(c *gin.Context, p domain.Payment, commit command.Commit, err error) {
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, commit)
	render(c, http.StatusOK, paymentOf(p, h.executor(c, p)))
}

func (h *handler) createRefund(c *gin.Context) {
	key, err := idempotencyKey(c)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	var in command.RefundInput
	if c.Request.ContentLength != 0 { // an empty body refunds the rest
		if err := decode(c, httpapi.MaxBody, &in); err != nil {
			httpapi.WriteError(c, err)
			return
		}
	}
	res, err := h.svc.CreateRefund(c.Request.Context(), httpapi.UserID(c), c.Param("id"), key, in)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, res.Commit)
	r := res.Refund
	if res.Replayed {
		if err := json.Unmarshal(res.Body, &r); err != nil {
			httpapi.WriteError(c, fmt.Errorf("commandhttp: replay refund: %w", err))
			return
		}
		c.Header(HeaderIdempotentReplay, "true")
	}
	render(c, res.StatusCode, refundOf(r))
}

func (h *handler) deadLetters(c *gin.Context) {
	q := c.Request.URL.Query()
	var v domain.Validation
	for name := range q {
		if name != "customer_id" && name != "cursor" && name != "limit" {
			v.Add(name, "is not a parameter of this endpoint (customer_id, cursor, limit)")
		}
	}
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			v.Add("limit", "must be an integer")
		}
		limit = n
		if n == 0 {
			limit = -1 // an explicit 0 is out of range
		}
	}
	if err := v.Err(); err != nil {
		httpapi.WriteError(c, err)
		return
	}
	page, err := h.svc.DeadLetters(c.Request.Context(), httpapi.UserID(c), q["customer_id"], q.Get("cursor"), limit)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	out := deadLettersJSON{Data: make([]PaymentJSON, len(page.Data)), NextCursor: page.NextCursor, HasMore: page.HasMore}
	for i, p := range page.Data {
		out.Data[i] = paymentOf(p, h.executor(c, p))
	}
	render(c, http.StatusOK, out)
}
