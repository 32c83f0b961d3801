package commandhttp

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/httpapi"
)

// The integration routes (SPEC §10, docs/integrations.md): API keys and
// webhook endpoints of a customer, for its linked users.

// UserNames names the executor of a payment (command.Executors).
type UserNames interface {
	Of(ctx context.Context, p domain.Payment) domain.Executor
}

// keyActor tells the use cases that the request is made with an API key.
func keyActor(c *gin.Context) {
	if p := httpapi.Caller(c); p.IsKey() {
		c.Request = c.Request.WithContext(command.WithKeyActor(c.Request.Context(),
			command.KeyActor{ID: p.KeyID, Name: p.KeyName, CustomerID: p.CustomerID}))
	}
	c.Next()
}

// caller is the executor of what the request creates.
func (h *handler) caller(c *gin.Context) domain.Executor {
	p := httpapi.Caller(c)
	if p.IsKey() {
		return domain.Executor{Type: domain.ExecutorAPIKey, ID: p.KeyID, Name: p.KeyName}
	}
	return h.executorOfUser(c, p.UserID)
}

func (h *handler) executorOfUser(c *gin.Context, userID string) domain.Executor {
	if h.users == nil {
		return domain.Executor{Type: domain.ExecutorUser, ID: userID}
	}
	return h.users.Of(c.Request.Context(), domain.Payment{UserID: userID})
}

// executor is the executor of an existing payment.
func (h *handler) executor(c *gin.Context, p domain.Payment) domain.Executor {
	if p.APIKeyID == nil {
		return h.executorOfUser(c, p.UserID)
	}
	if k := httpapi.Caller(c); k.KeyID == *p.APIKeyID {
		return domain.Executor{Type: domain.ExecutorAPIKey, ID: k.KeyID, Name: k.KeyName}
	}
	if h.users == nil {
		return domain.Executor{Type: domain.ExecutorAPIKey, ID: *p.APIKeyID}
	}
	return h.users.Of(c.Request.Context(), p)
}

// currentKey answers who the calling API key is. Authenticating it was the
// use it records.
func currentKey(c *gin.Context) {
	p := httpapi.Caller(c)
	if !p.IsKey() {
		httpapi.WriteError(c, domain.Errorf(domain.ENOTFOUND, "This request is not made with an API key."))
		return
	}
	scopes := p.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	render(c, http.StatusOK, gin.H{"id": p.KeyID, "customer_id": p.CustomerID, "name": p.KeyName, "scopes": scopes})
}

func (h *handler) registerIntegrations(g *gin.RouterGroup, in *command.Integrations) {
	i := &integrationsHandler{in: in}
	g.POST("/customers/:id/api-keys", i.createKey)
	g.GET("/customers/:id/api-keys", i.listKeys)
	g.DELETE("/customers/:id/api-keys/:key_id", i.revokeKey)
	g.POST("/customers/:id/webhook-endpoints", i.createEndpoint)
	g.GET("/customers/:id/webhook-endpoints", i.listEndpoints)
	g.GET("/customers/:id/webhook-endpoints/:endpoint_id", i.getEndpoint)
	g.PATCH("/customers/:id/webhook-endpoints/:endpoint_id", i.updateEndpoint)
	g.DELETE("/customers/:id/webhook-endpoints/:endpoint_id", i.deleteEndpoint)
	g.GET("/customers/:id/webhook-endpoints/:endpoint_id/deliveries", i.listDeliveries)
	g.POST("/customers/:id/webhook-endpoints/:endpoint_id/deliveries/:delivery_id/redeliver", i.redeliver)
}

type integrationsHandler struct {
	in *command.Integrations
}

type apiKeyJSON struct {
	ID         string   `json:"id"`
	CustomerID string   `json:"customer_id"`
	Name       string   `json:"name"`
	Prefix     string   `json:"prefix"`
	Scopes     []string `json:"scopes"`
	CreatedBy  string   `json:"created_by"`
	CreatedAt  string   `json:"created_at"`
	LastUsedAt *string  `json:"last_used_at"`
	RevokedAt  *string  `json:"revoked_at"`
}

type createdKeyJSON struct {
	apiKeyJSON
	Secret string `json:"secret"`
}

func apiKeyOf(k command.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, CustomerID: k.CustomerID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes,
		CreatedBy: k.CreatedBy, CreatedAt: ts(k.CreatedAt), LastUsedAt: tsp(k.LastUsedAt), RevokedAt: tsp(k.RevokedAt)}
}

func tsp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := ts(*t)
	return &s
}

type endpointJSON struct {
	ID                  string   `json:"id"`
	CustomerID          string   `json:"customer_id"`
	URL                 string   `json:"url"`
	Description         string   `json:"description"`
	Events              []string `json:"events"`
	Enabled             bool     `json:"enabled"`
	DisabledReason      *string  `json:"disabled_reason"`
	ConsecutiveFailures int      `json:"consecutive_failures"`
	CreatedAt           string   `json:"created_at"`
	UpdatedAt           string   `json:"updated_at"`
}

type createdEndpointJSON struct {
	endpointJSON
	Secret string `json:"secret"`
}

func endpointOf(e command.WebhookEndpoint) endpointJSON {
	return endpointJSON{ID: e.ID, CustomerID: e.CustomerID, URL: e.URL, Description: e.Description, Events: e.Events,
		Enabled: e.Enabled, DisabledReason: e.DisabledReason, ConsecutiveFailures: e.ConsecutiveFailures,
		CreatedAt: ts(e.CreatedAt), UpdatedAt: ts(e.UpdatedAt)}
}

type attemptJSON struct {
	Attempt      int     `json:"attempt"`
	StartedAt    string  `json:"started_at"`
	DurationMS   int     `json:"duration_ms"`
	StatusCode   *int    `json:"status_code"`
	Error        *string `json:"error"`
	ResponseBody string  `json:"response_body"`
}

type deliveryJSON struct {
	ID            string          `json:"id"`
	EndpointID    string          `json:"endpoint_id"`
	EventID       string          `json:"event_id"`
	EventType     string          `json:"event_type"`
	PaymentID     *string         `json:"payment_id"`
	Status        string          `json:"status"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt *string         `json:"next_attempt_at"`
	CreatedAt     string          `json:"created_at"`
	UpdatedAt     string          `json:"updated_at"`
	DeliveredAt   *string         `json:"delivered_at"`
	Payload       json.RawMessage `json:"payload"`
	Responses     []attemptJSON   `json:"responses"`
}

func deliveryOf(d command.WebhookDelivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, EventType: d.EventType, PaymentID: d.PaymentID,
		Status: d.Status, Attempts: d.Attempts, NextAttemptAt: tsp(d.NextAttemptAt), CreatedAt: ts(d.CreatedAt),
		UpdatedAt: ts(d.UpdatedAt), DeliveredAt: tsp(d.DeliveredAt), Payload: d.Payload, Responses: make([]attemptJSON, len(d.Responses))}
	for i, a := range d.Responses {
		out.Responses[i] = attemptJSON{Attempt: a.Attempt, StartedAt: ts(a.StartedAt), DurationMS: a.DurationMS,
			StatusCode: a.StatusCode, Error: a.Error, ResponseBody: a.ResponseBody}
	}
	return out
}

func (i *integrationsHandler) createKey(c *gin.Context) {
	var in command.APIKeyInput
	if err := decode(c, httpapi.MaxBody, &in); err != nil {
		httpapi.WriteError(c, err)
		return
	}
	k, commit, err := i.in.CreateAPIKey(c.Request.Context(), httpapi.UserID(c), c.Param("id"), in)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, commit)
	render(c, http.StatusCreated, createdKeyJSON{apiKeyJSON: apiKeyOf(k.APIKey), Secret: k.Secret})
}

func (i *integrationsHandler) listKeys(c *gin.Context) {
	ks, err := i.in.APIKeys(c.Request.Context(), httpapi.UserID(c), c.Param("id"))
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	out := make([]apiKeyJSON, len(ks))
	for j, k := range ks {
		out[j] = apiKeyOf(k)
	}
	render(c, http.StatusOK, gin.H{"data": out})
}

func (i *integrationsHandler) revokeKey(c *gin.Context) {
	commit, err := i.in.RevokeAPIKey(c.Request.Context(), httpapi.UserID(c), c.Param("id"), c.Param("key_id"))
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, commit)
	noContent(c)
}

func (i *integrationsHandler) createEndpoint(c *gin.Context) {
	var in command.WebhookEndpointInput
	if err := decode(c, httpapi.MaxBody, &in); err != nil {
		httpapi.WriteError(c, err)
		return
	}
	e, commit, err := i.in.CreateWebhookEndpoint(c.Request.Context(), httpapi.UserID(c), c.Param("id"), in)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, commit)
	render(c, http.StatusCreated, createdEndpointJSON{endpointJSON: endpointOf(e.WebhookEndpoint), Secret: e.Secret})
}

func (i *integrationsHandler) listEndpoints(c *gin.Context) {
	es, err := i.in.WebhookEndpoints(c.Request.Context(), httpapi.UserID(c), c.Param("id"))
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	out := make([]endpointJSON, len(es))
	for j, e := range es {
		out[j] = endpointOf(e)
	}
	render(c, http.StatusOK, gin.H{"data": out})
}

func (i *integrationsHandler) getEndpoint(c *gin.Context) {
	e, err := i.in.WebhookEndpoint(c.Request.Context(), httpapi.UserID(c), c.Param("id"), c.Param("endpoint_id"))
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	render(c, http.StatusOK, endpointOf(e))
}

func (i *integrationsHandler) updateEndpoint(c *gin.Context) {
	var in command.WebhookEndpointInput
	if err := decode(c, httpapi.MaxBody, &in); err != nil {
		httpapi.WriteError(c, err)
		return
	}
	e, commit, err := i.in.UpdateWebhookEndpoint(c.Request.Context(), httpapi.UserID(c), c.Param("id"), c.Param("endpoint_id"), in)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, commit)
	render(c, http.StatusOK, endpointOf(e))
}

func (i *integrationsHandler) deleteEndpoint(c *gin.Context) {
	commit, err := i.in.DeleteWebhookEndpoint(c.Request.Context(), httpapi.UserID(c), c.Param("id"), c.Param("endpoint_id"))
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, commit)
	noContent(c)
}

func (i *integrationsHandler) listDeliveries(c *gin.Context) {
	q := c.Request.URL.Query()
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			httpapi.WriteError(c, &domain.Error{Code: domain.EINVALID, Message: "limit must be an integer.",
				Fields: []domain.FieldError{{Field: "limit", Message: "must be an integer"}}})
			return
		}
		limit = n
	}
	page, err := i.in.WebhookDeliveries(c.Request.Context(), httpapi.UserID(c), c.Param("id"), c.Param("endpoint_id"), q.Get("cursor"), limit)
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	out := make([]deliveryJSON, len(page.Data))
	for j, d := range page.Data {
		out[j] = deliveryOf(d)
	}
	render(c, http.StatusOK, gin.H{"data": out, "next_cursor": page.NextCursor})
}

func (i *integrationsHandler) redeliver(c *gin.Context) {
	d, commit, err := i.in.Redeliver(c.Request.Context(), httpapi.UserID(c), c.Param("id"), c.Param("endpoint_id"), c.Param("delivery_id"))
	if err != nil {
		httpapi.WriteError(c, err)
		return
	}
	written(c, commit)
	render(c, http.StatusAccepted, deliveryOf(d))
}
