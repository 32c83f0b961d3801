import type { ApiKey, CustomerWithUsers, WebhookDelivery, WebhookEndpoint } from '../api/types';
import { TEST_USER } from './render';

// Bodies shaped like the issue 16 contract, for the integrations pages' tests.

/** SHOP is a customer the test user is linked to. */
export const SHOP: CustomerWithUsers = {
  id: '11111111-1111-4111-8111-111111111111',
  name: 'Nordic Coffee',
  email: null,
  users: [{ id: TEST_USER.id, name: TEST_USER.name, email: TEST_USER.email }],
};

/** apiKey returns an API key of SHOP. */
export function apiKey(over: Partial<ApiKey> = {}): ApiKey {
  return {
    id: 'a0000000-0000-4000-8000-000000000001',
    customer_id: SHOP.id,
    name: 'Webshop',
    prefix: 'wc_AbCdEfGhI',
    scopes: ['payments:read', 'payments:write'],
    created_by: TEST_USER.id,
    created_at: '2026-11-20T09:00:00Z',
    last_used_at: null,
    revoked_at: null,
    ...over,
  };
}

/** endpoint returns a webhook endpoint of SHOP. */
export function endpoint(over: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  return {
    id: 'e0000000-0000-4000-8000-000000000001',
    customer_id: SHOP.id,
    url: 'https://hooks.example.com/wildcat',
    description: 'Order system',
    events: ['payment.succeeded', 'payment.failed'],
    enabled: true,
    disabled_reason: null,
    consecutive_failures: 0,
    created_at: '2026-11-20T09:00:00Z',
    updated_at: '2026-11-20T09:00:00Z',
    ...over,
  };
}

/** delivery returns a delivery to endpoint(). */
export function delivery(over: Partial<WebhookDelivery> = {}): WebhookDelivery {
  return {
    id: 'd0000000-0000-4000-8000-000000000001',
    endpoint_id: endpoint().id,
    event_id: 'f0000000-0000-4000-8000-000000000001',
    event_type: 'payment.succeeded',
    payment_id: '99999999-0000-4000-8000-000000000001',
    status: 'succeeded',
    attempts: 1,
    next_attempt_at: null,
    created_at: '2026-11-25T10:00:00Z',
    updated_at: '2026-11-25T10:00:01Z',
    delivered_at: '2026-11-25T10:00:01Z',
    payload: { id: 'f0000000-0000-4000-8000-000000000001', type: 'payment.succeeded', data: { object: { id: 'p1' } } },
    responses: [
      { attempt: 1, started_at: '2026-11-25T10:00:00Z', duration_ms: 120, status_code: 200, error: null, response_body: 'ok' },
    ],
    ...over,
  };
}
