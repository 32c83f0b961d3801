-- Integrations for ingestion clients (SPEC §10, issue 16): API keys that act
-- for one customer with scopes, and webhook endpoints that receive signed
-- event notifications through an outbox written in the same transaction as
-- the event.

-- +goose Up

-- An API key is `wc_` + 43 base62 characters (256 random bits). Only the
-- SHA-256 of the whole secret is stored: the secret is random, so a slow
-- password hash would add nothing but latency to every request. The first
-- 12 characters (the prefix) are unique and are how a presented key is
-- found; the hash is then compared in constant time.
CREATE TABLE api_keys (
    id          uuid        PRIMARY KEY DEFAULT uuid_v7(),
    customer_id uuid        NOT NULL REFERENCES customers (id),
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    prefix      text        NOT NULL CHECK (prefix ~ '^wc_[0-9A-Za-z]{9}$'),
    secret_hash bytea       NOT NULL CHECK (octet_length(secret_hash) = 32),
    scopes      text[]      NOT NULL CHECK (cardinality(scopes) BETWEEN 1 AND 2
                                AND scopes <@ ARRAY['payments:read', 'payments:write']),
    created_by  uuid        NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz NULL,
    CONSTRAINT api_keys_prefix_key UNIQUE (prefix)
);
CREATE INDEX api_keys_customer_id_idx ON api_keys (customer_id, id);

-- When a key was last used. Kept apart from api_keys (and out of the
-- publication) so that recording use, which the APIs do in batches, never
-- re-projects the customer's access document.
CREATE TABLE api_key_usage (
    api_key_id   uuid        PRIMARY KEY REFERENCES api_keys (id),
    last_used_at timestamptz NOT NULL
);

-- The executor of a payment made with a key. user_id stays the user on
-- whose authority it was made: the key's creator.
ALTER TABLE payments ADD COLUMN api_key_id uuid NULL REFERENCES api_keys (id);
CREATE INDEX payments_api_key_id_idx ON payments (api_key_id, id) WHERE api_key_id IS NOT NULL;

-- Idempotency keys of API-key callers are scoped to the key: the stored key
-- is "<api key id>:<Idempotency-Key>", which needs room past 255.
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_key_check;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_key_check CHECK (char_length(key) BETWEEN 1 AND 300);

-- The read model carries each customer's live keys (prefix, hash, scopes) in
-- its access document: that is how the query API, which has no PostgreSQL
-- connection, authenticates keys and sees a revocation.
ALTER PUBLICATION wildcat_projection ADD TABLE api_keys (id, customer_id, name, prefix, secret_hash, scopes, created_at, revoked_at);

CREATE TABLE webhook_endpoints (
    id                   uuid        PRIMARY KEY DEFAULT uuid_v7(),
    customer_id          uuid        NOT NULL REFERENCES customers (id),
    url                  text        NOT NULL CHECK (char_length(url) BETWEEN 10 AND 2048),
    description          text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 500),
    events               text[]      NOT NULL CHECK (cardinality(events) >= 1),
    -- The HMAC key deliveries are signed with; it must be readable to sign.
    secret               text        NOT NULL CHECK (secret ~ '^whsec_[0-9A-Za-z]{43}$'),
    enabled              boolean     NOT NULL DEFAULT true,
    disabled_reason      text        NULL CHECK (disabled_reason IS NULL OR char_length(disabled_reason) <= 500),
    consecutive_failures integer     NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    created_by           uuid        NOT NULL REFERENCES users (id),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_customer_id_idx ON webhook_endpoints (customer_id, id);

-- One row per (endpoint, event): the outbox. The payload is the exact body
-- POSTed (and signed) on every attempt, so a redelivery is byte-identical
-- and carries the same event id.
CREATE TABLE webhook_deliveries (
    id              uuid        PRIMARY KEY DEFAULT uuid_v7(),
    endpoint_id     uuid        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    payment_id      uuid        NULL,
    payload         text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- false until the relay has put a delivery job on the queue for it
    enqueued        boolean     NOT NULL DEFAULT false,
    -- raised by every redelivery: a job of an older generation (say, a
    -- retry scheduled before the redelivery) finds it changed and stops
    generation      integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz NULL,
    CONSTRAINT webhook_deliveries_event_key UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_unqueued_idx ON webhook_deliveries (id) WHERE NOT enqueued;

-- Every attempt of a delivery: when, how long, and what came back.
CREATE TABLE webhook_attempts (
    delivery_id   uuid        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt       integer     NOT NULL CHECK (attempt >= 1),
    started_at    timestamptz NOT NULL,
    duration_ms   integer     NOT NULL CHECK (duration_ms >= 0),
    status_code   integer     NULL,
    error         text        NULL,
    response_body text        NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, attempt)
);

-- RFC 3339 in UTC with microseconds, as the APIs write times.
-- +goose StatementBegin
CREATE FUNCTION webhook_time(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;
-- +goose StatementEnd

-- A payment as a webhook event carries it: the fields of the API's payment.
-- +goose StatementBegin
CREATE FUNCTION webhook_payment_object(p payments) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'object', 'payment',
        'id', p.id, 'payment_ref_id', p.payment_ref_id, 'customer_id', p.customer_id,
        'user_id', p.user_id, 'api_key_id', p.api_key_id,
        'amount', p.amount, 'currency', p.currency, 'third_party', p.third_party,
        'description', p.description, 'status', p.status,
        'failure_code', p.failure_code, 'failure_message', p.failure_message,
        'attempts', p.attempts, 'amount_refunded', p.amount_refunded,
        'date', webhook_time(p.date), 'processed_at', webhook_time(p.processed_at),
        'created_at', webhook_time(p.created_at), 'updated_at', webhook_time(p.updated_at))
$$;
-- +goose StatementEnd

-- The outbox, filled by the database itself in the transaction that writes
-- the event: a new payment is payment.created; every payment_events row is
-- its own type. Only enabled endpoints of the payment's customer that ask
-- for the type get a delivery. Event ids are derived from what the event
-- is (so they are the same for every endpoint and on every redelivery).
-- Statement-level triggers with transition tables cost one join per
-- statement, not a function call per row.
-- +goose StatementBegin
CREATE FUNCTION webhook_outbox_payments() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payment_id, payload)
    SELECT w.id, ev.event_id, 'payment.created', p.id,
           jsonb_build_object('id', ev.event_id, 'type', 'payment.created', 'created_at', webhook_time(p.created_at),
                              'data', jsonb_build_object('object', webhook_payment_object(p)))::text
    FROM new_payments p
    JOIN webhook_endpoints w ON w.customer_id = p.customer_id AND w.enabled AND 'payment.created' = ANY (w.events)
    CROSS JOIN LATERAL (SELECT md5('payment.created:' || p.id::text)::uuid AS event_id) ev;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('wildcat_webhooks', '');
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER webhook_outbox AFTER INSERT ON payments
    REFERENCING NEW TABLE AS new_payments FOR EACH STATEMENT EXECUTE FUNCTION webhook_outbox_payments();

-- +goose StatementBegin
CREATE FUNCTION webhook_outbox_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payment_id, payload)
    SELECT w.id, ev.event_id, e.type, p.id,
           jsonb_build_object('id', ev.event_id, 'type', e.type, 'created_at', webhook_time(e.created_at),
                              'data', jsonb_build_object('object', webhook_payment_object(p), 'details', e.data))::text
    FROM new_events e
    JOIN payments p ON p.id = e.payment_id
    JOIN webhook_endpoints w ON w.customer_id = p.customer_id AND w.enabled AND e.type = ANY (w.events)
    CROSS JOIN LATERAL (SELECT md5('payment_event:' || e.id::text)::uuid AS event_id) ev;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('wildcat_webhooks', '');
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER webhook_outbox AFTER INSERT ON payment_events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION webhook_outbox_events();

-- +goose Down
DROP TRIGGER webhook_outbox ON payment_events;
DROP FUNCTION webhook_outbox_events();
DROP TRIGGER webhook_outbox ON payments;
DROP FUNCTION webhook_outbox_payments();
DROP FUNCTION webhook_payment_object(payments);
DROP FUNCTION webhook_time(timestamptz);
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
ALTER PUBLICATION wildcat_projection DROP TABLE api_keys;
DELETE FROM idempotency_keys WHERE char_length(key) > 255;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_key_check;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_key_check CHECK (char_length(key) BETWEEN 1 AND 255);
DROP INDEX payments_api_key_id_idx;
ALTER TABLE payments DROP COLUMN api_key_id;
DROP TABLE api_key_usage;
DROP TABLE api_keys;
