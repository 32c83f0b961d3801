// Wire types of the command and query APIs, named for the UI. Every shape comes from the OpenAPI
// documents (internal/httpapi/commandhttp/openapi.yaml, internal/httpapi/queryhttp/openapi.json)
// through the generated command.gen.ts and query.gen.ts (`npm run gen:api`); nothing here restates
// a field. Amounts are integer minor units.
import type { components as CommandComponents, operations as CommandOperations } from './command.gen';
import type { components as QueryComponents, operations as QueryOperations } from './query.gen';

type CommandSchemas = CommandComponents['schemas'];
type QuerySchemas = QueryComponents['schemas'];

// Command API.

/** SignUp is the body of POST /v1/users. */
export type SignUp = CommandSchemas['SignUp'];

/** Login is the body of POST /v1/auth/token. */
export type Login = CommandSchemas['Login'];

/** User is the signed-in person (GET /v1/me). */
export type User = CommandSchemas['User'];

/** TokenResponse is returned by POST /v1/auth/token. */
export type TokenResponse = CommandSchemas['Token'];

/** NewCustomer is the body of POST /v1/customers. */
export type NewCustomer = CommandSchemas['NewCustomer'];

/** CustomerPatch is the body of PATCH /v1/customers/{id}: absent fields stay, `email: null` removes it. */
export type CustomerPatch = CommandSchemas['CustomerPatch'];

/** Customer is a customer as written by the command API. */
export type Customer = CommandSchemas['Customer'];

/** LinkByEmail is the body of POST /v1/customers/{id}/users. */
export type LinkByEmail = CommandOperations['linkUserByEmail']['requestBody']['content']['application/json'];

/** NewPayment is the body of POST /v1/payments. */
export type NewPayment = CommandSchemas['NewPayment'];

/** CreatedPayment is what POST /v1/payments returns: the payment without the query API's names. */
export type CreatedPayment = CommandSchemas['Payment'];

/** NewRefund is the body of POST /v1/payments/{id}/refunds; no amount means all that remains. */
export type NewRefund = CommandSchemas['NewRefund'];

/** Refund is what POST /v1/payments/{id}/refunds returns. */
export type Refund = CommandSchemas['Refund'];

/** DeadLetterPage is one page of GET /v1/dead-letters: failed payments whose retries ran out. */
export type DeadLetterPage = CommandSchemas['DeadLetters'];

// Query API.


/** LinkedUser is a user linked to a customer, as listed by the query API. */
export type LinkedUser = QuerySchemas['CustomerUser'];

/** CustomerWithUsers is one item of GET /v1/customers on the query API. */
export type CustomerWithUsers = QuerySchemas['Customer'];

/** CustomerList is the body of GET /v1/customers on the query API. */
export type CustomerList = QuerySchemas['CustomerList'];

/** Payment is a payment document as the query API returns it, with the denormalized names and who executed it. */
export type Payment = QuerySchemas['Payment'];

/**
 * ExecutedBy is who executed a payment: a user with an access token (`email` present), or an API
 * key (`id` is the key's id, `name` its name, no `email`).
 */
export type ExecutedBy = QuerySchemas['ExecutedBy'];

/** PaymentPage is one page of GET /v1/payments. */
export type PaymentPage = QuerySchemas['PaymentPage'];

/** PaymentSummary is returned by GET /v1/payments/summary. */
export type PaymentSummary = QuerySchemas['Summary'];

/** HistogramBucket is one day of the summary histogram. */
export type HistogramBucket = PaymentSummary['histogram'][number];

type QueryOf<Op extends keyof QueryOperations> = NonNullable<QueryOperations[Op]['parameters']['query']>;

/** PaymentSort is an order GET /v1/payments and the CSV export accept. */
export type PaymentSort = NonNullable<QueryOf<'searchPayments'>['sort']>;

/** PaymentQueryParam is a query parameter of the payment search, the summary or the CSV export. */
export type PaymentQueryParam = keyof QueryOf<'searchPayments'> | keyof QueryOf<'summarizePayments'> | keyof QueryOf<'exportPayments'>;

// Both APIs.

/** WireProblem is an RFC 9457 problem+json body as both APIs document it. */
export type WireProblem = CommandSchemas['Problem'] | QuerySchemas['Problem'];

// The payment lifecycle (issue 15, SPEC §9).

/** PaymentStatus is the lifecycle state of a payment. */
export type PaymentStatus = QuerySchemas['Status'];

/** PaymentEventType is the kind of a payment timeline entry. */
export type PaymentEventType = QuerySchemas['PaymentEvent']['type'];

/**
 * PaymentEventData is an event's details. The query API's document describes them in words only
 * ("each optional: attempt, code, message, provider_reference, refund_id, amount (minor units),
 * user_id"), so their types are written out here.
 */
export interface PaymentEventData {
  attempt?: number;
  code?: string;
  message?: string;
  provider_reference?: string;
  refund_id?: string;
  /** amount is a refund's amount in the payment's minor units. */
  amount?: number;
  user_id?: string;
}

/** PaymentEvent is one entry of GET /v1/payments/{id}/events (query API). */
export type PaymentEvent = Omit<QuerySchemas['PaymentEvent'], 'data'> & { data: PaymentEventData };

/** PaymentEventList is the body of GET /v1/payments/{id}/events. */
export type PaymentEventList = Omit<QuerySchemas['PaymentEventList'], 'data'> & { data: PaymentEvent[] };

// UI-side.

// STATUS_SET has one entry per status of the contract: a status added there fails to compile here.
const STATUS_SET: Record<PaymentStatus, true> = { pending: true, processing: true, succeeded: true, failed: true, canceled: true };

/** PAYMENT_STATUSES lists every status, in display order. */
export const PAYMENT_STATUSES = Object.keys(STATUS_SET) as readonly PaymentStatus[];

/** Written wraps the result of a write with its consistency token for read-your-writes. */
export interface Written<T> {
  value: T;
  consistencyToken: string | null;
}

// Integrations (issue 16, command API): API keys, webhook endpoints and their deliveries.

/** ApiKeyScope is what an API key may do. */
export type ApiKeyScope = CommandSchemas['Scope'];

// SCOPE_SET has one entry per scope of the contract: a scope added there fails to compile here.
const SCOPE_SET: Record<ApiKeyScope, true> = { 'payments:read': true, 'payments:write': true };

/** API_KEY_SCOPES lists every scope, in display order. */
export const API_KEY_SCOPES = Object.keys(SCOPE_SET) as readonly ApiKeyScope[];

/** ApiKey is a customer's API key as GET /v1/customers/{id}/api-keys lists it; never its secret. */
export type ApiKey = CommandSchemas['ApiKey'];

/** ApiKeyList is the body of GET /v1/customers/{id}/api-keys: newest first, revoked keys included. */
export type ApiKeyList = CommandSchemas['ApiKeyList'];

/** NewApiKey is the body of POST /v1/customers/{id}/api-keys. */
export type NewApiKey = CommandSchemas['NewApiKey'];

/** CreatedApiKey is what POST /v1/customers/{id}/api-keys returns: the only time the secret is shown. */
export type CreatedApiKey = CommandSchemas['CreatedApiKey'];

/** WebhookEventType is an event a webhook endpoint can subscribe to. */
export type WebhookEventType = CommandSchemas['WebhookEventType'];

// EVENT_TYPE_SET has one entry per event type of the contract.
const EVENT_TYPE_SET: Record<WebhookEventType, true> = {
  'payment.created': true,
  'payment.processing': true,
  'payment.attempt_failed': true,
  'payment.succeeded': true,
  'payment.failed': true,
  'payment.canceled': true,
  'payment.retried': true,
  'refund.created': true,
  'refund.succeeded': true,
  'refund.failed': true,
};

/** WEBHOOK_EVENT_TYPES lists every event type, in the contract's order. */
export const WEBHOOK_EVENT_TYPES = Object.keys(EVENT_TYPE_SET) as readonly WebhookEventType[];

/** WebhookEndpoint is a URL that receives a customer's signed event notifications. */
export type WebhookEndpoint = CommandSchemas['WebhookEndpoint'];

/** WebhookEndpointList is the body of GET /v1/customers/{id}/webhook-endpoints. */
export type WebhookEndpointList = CommandSchemas['WebhookEndpointList'];

/** NewWebhookEndpoint is the body of POST /v1/customers/{id}/webhook-endpoints. */
export type NewWebhookEndpoint = CommandSchemas['NewWebhookEndpoint'];

/** WebhookEndpointPatch is the body of PATCH …/webhook-endpoints/{id}; `enabled: true` re-enables it. */
export type WebhookEndpointPatch = CommandSchemas['WebhookEndpointPatch'];

/** CreatedWebhookEndpoint is what POST …/webhook-endpoints returns: the only time the signing secret is shown. */
export type CreatedWebhookEndpoint = CommandSchemas['CreatedWebhookEndpoint'];

/** WebhookResponse is one attempt of a delivery and what came back. */
export type WebhookResponse = CommandSchemas['WebhookAttempt'];

/**
 * WebhookDelivery is one event sent (or to be sent) to one endpoint. The document gives the
 * payload (the JSON object POSTed) no properties, which the generator reads as an empty object;
 * it is any JSON object.
 */
export type WebhookDelivery = Omit<CommandSchemas['WebhookDelivery'], 'payload'> & { payload: Record<string, unknown> };

/** WebhookDeliveryStatus is where a delivery stands. */
export type WebhookDeliveryStatus = WebhookDelivery['status'];

/** WebhookDeliveryPage is one page of GET …/webhook-endpoints/{id}/deliveries, newest first. */
export type WebhookDeliveryPage = Omit<CommandSchemas['WebhookDeliveryPage'], 'data'> & { data: WebhookDelivery[] };
