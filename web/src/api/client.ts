import { ApiError, toProblem } from './problem';
import type {
  ApiKey,
  ApiKeyList,
  CreatedApiKey,
  CreatedWebhookEndpoint,
  NewApiKey,
  NewWebhookEndpoint,
  WebhookDelivery,
  WebhookDeliveryPage,
  WebhookEndpoint,
  WebhookEndpointList,
  WebhookEndpointPatch,
  CreatedPayment,
  Customer,
  CustomerList,
  CustomerPatch,
  CustomerWithUsers,
  DeadLetterPage,
  LinkByEmail,
  Login,
  NewCustomer,
  NewPayment,
  NewRefund,
  Payment,
  PaymentEvent,
  PaymentEventList,
  PaymentPage,
  PaymentSummary,
  Refund,
  SignUp,
  TokenResponse,
  User,
  Written,
} from './types';

/** Api names one of the two backends behind the single web origin. */
export type Api = 'command' | 'query';

/** ApiClientOptions configures an ApiClient. */
export interface ApiClientOptions {
  /** getToken returns the current access token, or null when signed out. */
  getToken: () => string | null;
  /** onUnauthorized is called when an authenticated request is answered 401. */
  onUnauthorized?: (err: ApiError) => void;
  /** fetch is injectable for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** bases maps each API to its path prefix on the web origin. */
  bases?: Partial<Record<Api, string>>;
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  query?: URLSearchParams;
  signal?: AbortSignal;
  /** auth=false for sign-up and token requests: no header, and a 401 is a normal answer. */
  auth?: boolean;
}

/** CONSISTENCY_HEADER carries the commit position of a write (SPEC §4). */
export const CONSISTENCY_HEADER = 'X-Consistency-Token';

/** CsvDownload is a finished CSV export. */
export interface CsvDownload {
  blob: Blob;
  filename: string;
}

/**
 * ApiClient calls the command and query APIs through the web origin's reverse proxy
 * (/api/command/*, /api/query/*). Every failure is thrown as an ApiError. It holds no
 * state of its own and is safe to share across components.
 */
export class ApiClient {
  private readonly opts: ApiClientOptions;
  private readonly bases: Record<Api, string>;

  constructor(opts: ApiClientOptions) {
    this.opts = opts;
    this.bases = { command: '/api/command', query: '/api/query', ...opts.bases };
  }

  /** url builds the browser-facing URL of an API path. */
  url(api: Api, path: string, query?: URLSearchParams): string {
    const qs = query?.toString();
    return `${this.bases[api]}${path}${qs ? `?${qs}` : ''}`;
  }

  /** send performs a request and returns the response if it is 2xx, else throws ApiError. */
  async send(api: Api, path: string, o: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json, application/problem+json', ...o.headers };
    const auth = o.auth ?? true;
    const token = auth ? this.opts.getToken() : null;
    if (token) headers.Authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
    const doFetch = this.opts.fetch ?? globalThis.fetch.bind(globalThis);
    let res: Response;
    try {
      res = await doFetch(this.url(api, path, o.query), {
        method: o.method ?? 'GET',
        headers,
        body,
        signal: o.signal,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, {
        title: 'Network error',
        detail: err instanceof Error ? err.message : String(err),
        code: 'network',
      });
    }
    if (res.ok) return res;
    const error = new ApiError(res.status, toProblem(await readBody(res), res.status, res.statusText));
    if (res.status === 401 && auth && token) this.opts.onUnauthorized?.(error);
    throw error;
  }

  private async json<T>(api: Api, path: string, o: RequestOptions = {}): Promise<T> {
    const res = await this.send(api, path, o);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  private async written<T>(api: Api, path: string, o: RequestOptions): Promise<Written<T>> {
    const res = await this.send(api, path, o);
    const value = res.status === 204 ? (undefined as T) : ((await res.json()) as T);
    return { value, consistencyToken: res.headers.get(CONSISTENCY_HEADER) };
  }

  // Command API.

  /** signUp creates a user account. */
  signUp(body: SignUp): Promise<User> {
    return this.json('command', '/v1/users', { method: 'POST', body, auth: false });
  }

  /** token exchanges credentials for an access token. */
  token(body: Login): Promise<TokenResponse> {
    return this.json('command', '/v1/auth/token', { method: 'POST', body, auth: false });
  }

  /** me returns the signed-in user; an explicit token may be given right after login. */
  me(token?: string): Promise<User> {
    return this.json('command', '/v1/me', token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  }

  /** createCustomer creates a customer linked to the caller. */
  createCustomer(body: NewCustomer): Promise<Written<Customer>> {
    return this.written('command', '/v1/customers', { method: 'POST', body });
  }

  /** updateCustomer renames a customer or changes its email. */
  updateCustomer(id: string, body: CustomerPatch): Promise<Written<Customer>> {
    return this.written('command', `/v1/customers/${encodeURIComponent(id)}`, { method: 'PATCH', body });
  }

  /** linkUserByEmail shares a customer with the user who has that email. */
  linkUserByEmail(customerId: string, email: string): Promise<Written<undefined>> {
    const body: LinkByEmail = { email };
    return this.written('command', `/v1/customers/${encodeURIComponent(customerId)}/users`, { method: 'POST', body });
  }

  /** unlinkUser removes a user's access to a customer. */
  unlinkUser(customerId: string, userId: string): Promise<Written<undefined>> {
    return this.written(
      'command',
      `/v1/customers/${encodeURIComponent(customerId)}/users/${encodeURIComponent(userId)}`,
      { method: 'DELETE' },
    );
  }

  /** createPayment creates a payment; the key makes retries of one submission safe. */
  createPayment(body: NewPayment, idempotencyKey: string): Promise<Written<CreatedPayment>> {
    return this.written('command', '/v1/payments', {
      method: 'POST',
      body,
      headers: { 'Idempotency-Key': idempotencyKey },
    });
  }

  /** cancelPayment cancels a pending payment (409 not_cancelable once processing has started). */
  cancelPayment(id: string): Promise<Written<CreatedPayment>> {
    return this.written('command', `/v1/payments/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
  }

  /** retryPayment re-drives a dead letter (409 not_retryable for anything else); it is pending again. */
  retryPayment(id: string): Promise<Written<CreatedPayment>> {
    return this.written('command', `/v1/payments/${encodeURIComponent(id)}/retry`, { method: 'POST' });
  }

  /** refundPayment refunds a succeeded payment; the key makes retries of one submission safe. */
  refundPayment(id: string, body: NewRefund, idempotencyKey: string): Promise<Written<Refund>> {
    return this.written('command', `/v1/payments/${encodeURIComponent(id)}/refunds`, {
      method: 'POST',
      body,
      headers: { 'Idempotency-Key': idempotencyKey },
    });
  }

  /** deadLetters returns one page of the caller's failed payments whose retries ran out. */
  deadLetters(query: URLSearchParams, signal?: AbortSignal): Promise<DeadLetterPage> {
    return this.json('command', '/v1/dead-letters', { query, signal });
  }

  // Integrations (command API, user token only).

  /** listApiKeys returns a customer's API keys, newest first, revoked ones included. */
  async listApiKeys(customerId: string, signal?: AbortSignal): Promise<ApiKey[]> {
    const res = await this.json<ApiKeyList>('command', `${customerPath(customerId)}/api-keys`, { signal });
    return res.data;
  }

  /** createApiKey creates an API key; the answer holds its secret, which is never shown again. */
  createApiKey(customerId: string, body: NewApiKey): Promise<CreatedApiKey> {
    return this.json('command', `${customerPath(customerId)}/api-keys`, { method: 'POST', body });
  }

  /** revokeApiKey revokes an API key (idempotent); it stops working on both APIs within a second. */
  async revokeApiKey(customerId: string, keyId: string): Promise<void> {
    await this.send('command', `${customerPath(customerId)}/api-keys/${encodeURIComponent(keyId)}`, { method: 'DELETE' });
  }

  /** listWebhookEndpoints returns a customer's webhook endpoints. */
  async listWebhookEndpoints(customerId: string, signal?: AbortSignal): Promise<WebhookEndpoint[]> {
    const res = await this.json<WebhookEndpointList>('command', `${customerPath(customerId)}/webhook-endpoints`, { signal });
    return res.data;
  }

  /** getWebhookEndpoint returns one webhook endpoint. */
  getWebhookEndpoint(customerId: string, endpointId: string, signal?: AbortSignal): Promise<WebhookEndpoint> {
    return this.json('command', endpointPath(customerId, endpointId), { signal });
  }

  /** createWebhookEndpoint creates an endpoint; the answer holds its signing secret, which is never shown again. */
  createWebhookEndpoint(customerId: string, body: NewWebhookEndpoint): Promise<CreatedWebhookEndpoint> {
    return this.json('command', `${customerPath(customerId)}/webhook-endpoints`, { method: 'POST', body });
  }

  /** updateWebhookEndpoint changes an endpoint; `enabled: true` re-enables it and resets its failures. */
  updateWebhookEndpoint(customerId: string, endpointId: string, body: WebhookEndpointPatch): Promise<WebhookEndpoint> {
    return this.json('command', endpointPath(customerId, endpointId), { method: 'PATCH', body });
  }

  /** deleteWebhookEndpoint deletes an endpoint and its delivery log. */
  async deleteWebhookEndpoint(customerId: string, endpointId: string): Promise<void> {
    await this.send('command', endpointPath(customerId, endpointId), { method: 'DELETE' });
  }

  /** webhookDeliveries returns one page of an endpoint's deliveries, newest first. */
  webhookDeliveries(
    customerId: string,
    endpointId: string,
    page: { limit?: number; cursor?: string | null },
    signal?: AbortSignal,
  ): Promise<WebhookDeliveryPage> {
    const query = new URLSearchParams();
    if (page.limit) query.set('limit', String(page.limit));
    if (page.cursor) query.set('cursor', page.cursor);
    return this.json('command', `${endpointPath(customerId, endpointId)}/deliveries`, { query, signal });
  }

  /** redeliverWebhook sends a delivery again (same event id and payload); it is pending again. */
  redeliverWebhook(customerId: string, endpointId: string, deliveryId: string): Promise<WebhookDelivery> {
    return this.json('command', `${endpointPath(customerId, endpointId)}/deliveries/${encodeURIComponent(deliveryId)}/redeliver`, {
      method: 'POST',
    });
  }

  // Query API.

  /** searchPayments returns one page of payments matching the query. */
  searchPayments(query: URLSearchParams, signal?: AbortSignal): Promise<PaymentPage> {
    return this.json('query', '/v1/payments', { query, signal });
  }

  /** paymentSummary returns totals for the query. */
  paymentSummary(query: URLSearchParams, signal?: AbortSignal): Promise<PaymentSummary> {
    return this.json('query', '/v1/payments/summary', { query, signal });
  }

  /** getPayment returns one payment by id; a consistency token makes a write just made visible. */
  getPayment(id: string, consistencyToken?: string | null, signal?: AbortSignal): Promise<Payment> {
    return this.json('query', `/v1/payments/${encodeURIComponent(id)}`, { query: tokenQuery(consistencyToken), signal });
  }

  /** paymentEvents returns the timeline of one payment, oldest first. */
  async paymentEvents(id: string, consistencyToken?: string | null, signal?: AbortSignal): Promise<PaymentEvent[]> {
    const res = await this.json<PaymentEventList>('query', `/v1/payments/${encodeURIComponent(id)}/events`, {
      query: tokenQuery(consistencyToken),
      signal,
    });
    return res.data;
  }

  /** listCustomers returns the caller's customers with their linked users. */
  async listCustomers(consistencyToken?: string | null, signal?: AbortSignal): Promise<CustomerWithUsers[]> {
    const query = new URLSearchParams();
    if (consistencyToken) query.set('consistency_token', consistencyToken);
    const res = await this.json<CustomerList>('query', '/v1/customers', { query, signal });
    return res.data;
  }

  /** exportCsv downloads every payment matching the query as CSV, with the Authorization header. */
  async exportCsv(query: URLSearchParams, signal?: AbortSignal): Promise<CsvDownload> {
    const res = await this.send('query', '/v1/payments/export.csv', {
      query,
      signal,
      headers: { Accept: 'text/csv, application/problem+json' },
    });
    const blob = await res.blob();
    return { blob, filename: filenameFrom(res.headers.get('Content-Disposition')) };
  }
}

function customerPath(customerId: string): string {
  return `/v1/customers/${encodeURIComponent(customerId)}`;
}

function endpointPath(customerId: string, endpointId: string): string {
  return `${customerPath(customerId)}/webhook-endpoints/${encodeURIComponent(endpointId)}`;
}

function tokenQuery(consistencyToken?: string | null): URLSearchParams {
  const query = new URLSearchParams();
  if (consistencyToken) query.set('consistency_token', consistencyToken);
  return query;
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text().catch(() => '');
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { detail: text.slice(0, 300) };
  }
}

/** filenameFrom extracts a file name from a Content-Disposition header. */
export function filenameFrom(disposition: string | null): string {
  const fallback = `payments-${new Date().toISOString().slice(0, 10)}.csv`;
  if (!disposition) return fallback;
  const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(disposition);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
  return plain?.[1]?.trim() ?? fallback;
}
