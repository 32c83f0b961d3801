// Routes and query keys of the integrations pages, shared by the pages and their tests.

/** integrationsPath is the route of a customer's API keys and webhooks. */
export const integrationsPath = (customerId: string) => `/customers/${encodeURIComponent(customerId)}/integrations`;

/** deliveriesPath is the route of a webhook endpoint's delivery log. */
export const deliveriesPath = (customerId: string, endpointId: string) =>
  `/customers/${encodeURIComponent(customerId)}/webhooks/${encodeURIComponent(endpointId)}`;

/** apiKeysKey is the query key of a customer's API keys. */
export const apiKeysKey = (customerId: string) => ['api-keys', customerId] as const;

/** webhookEndpointsKey is the query key of a customer's webhook endpoints (and, below it, of each one). */
export const webhookEndpointsKey = (customerId: string) => ['webhook-endpoints', customerId] as const;

/** deliveriesKey is the query key of a webhook endpoint's delivery log. */
export const deliveriesKey = (customerId: string, endpointId: string) => ['webhook-deliveries', customerId, endpointId] as const;
