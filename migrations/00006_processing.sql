-- Payment processing (SPEC §9, issue 15): a real lifecycle, refunds and an
-- append-only event timeline.
--
-- Payments written before this migration were stored as settled the moment
-- they were written ('succeeded'); they keep that meaning: they count as
-- processed at creation, with one attempt. The allowed status transitions
-- are enforced here as well as in Go (internal/domain), so a bug in the
-- application can never move a payment backwards or settle it twice. River's
-- own tables (the job queue) are created by its migration API before these
-- migrations run (internal/postgres.Migrate).

-- +goose Up
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments
    ADD CONSTRAINT payments_status_check CHECK (status IN ('pending', 'processing', 'succeeded', 'failed', 'canceled')),
    ADD COLUMN failure_code    text        NULL CHECK (failure_code IS NULL OR char_length(failure_code) BETWEEN 1 AND 64),
    ADD COLUMN failure_message text        NULL CHECK (failure_message IS NULL OR char_length(failure_message) <= 500),
    ADD COLUMN attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    ADD COLUMN processed_at    timestamptz NULL,
    ADD COLUMN amount_refunded bigint      NOT NULL DEFAULT 0;
UPDATE payments SET processed_at = created_at, attempts = 1 WHERE status = 'succeeded';
UPDATE payments SET processed_at = created_at, attempts = 1, failure_code = 'legacy' WHERE status = 'failed';
ALTER TABLE payments
    ADD CONSTRAINT payments_amount_refunded_check CHECK (amount_refunded >= 0 AND amount_refunded <= amount),
    -- A failure code exactly when failed; a processing time exactly when settled.
    ADD CONSTRAINT payments_failure_check CHECK ((status = 'failed') = (failure_code IS NOT NULL)),
    ADD CONSTRAINT payments_processed_check CHECK ((status IN ('succeeded', 'failed')) = (processed_at IS NOT NULL)),
    ADD CONSTRAINT payments_refunded_check CHECK (amount_refunded = 0 OR status = 'succeeded');

-- +goose StatementBegin
CREATE FUNCTION payments_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> OLD.status AND NOT (
           (OLD.status = 'pending'    AND NEW.status IN ('processing', 'canceled'))
        OR (OLD.status = 'processing' AND NEW.status IN ('succeeded', 'failed'))
        -- a dead letter re-driven by POST /v1/payments/{id}/retry
        OR (OLD.status = 'failed' AND OLD.failure_code = 'retries_exhausted' AND NEW.status = 'pending')
    ) THEN
        RAISE EXCEPTION 'payment %: % → % is not an allowed transition', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_status_transition';
    END IF;
    IF NEW.amount_refunded < OLD.amount_refunded THEN
        RAISE EXCEPTION 'payment %: amount_refunded cannot decrease', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_amount_refunded_check';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER payments_guard BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION payments_guard();

CREATE TABLE refunds (
    id              uuid        PRIMARY KEY DEFAULT uuid_v7(),
    payment_id      uuid        NOT NULL REFERENCES payments (id),
    user_id         uuid        NOT NULL REFERENCES users (id),
    amount          bigint      NOT NULL CHECK (amount > 0 AND amount <= 1000000000000000),
    reason          text        NOT NULL DEFAULT '' CHECK (char_length(reason) <= 500),
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    failure_code    text        NULL CHECK (failure_code IS NULL OR char_length(failure_code) BETWEEN 1 AND 64),
    failure_message text        NULL CHECK (failure_message IS NULL OR char_length(failure_message) <= 500),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refunds_failure_check CHECK ((status = 'failed') = (failure_code IS NOT NULL))
);
CREATE INDEX refunds_payment_id_idx ON refunds (payment_id, id);

-- The refund invariant, whatever the application does: a refund is only
-- created for a succeeded payment, and the non-failed refunds of a payment
-- never sum to more than its amount. Locking the payment row serializes
-- concurrent refunds of one payment; under READ COMMITTED the sum below is
-- read after the lock is granted, so it sees every refund committed before.
-- +goose StatementBegin
CREATE FUNCTION refunds_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p_amount bigint;
    p_status text;
    taken    bigint;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.payment_id <> OLD.payment_id OR NEW.amount <> OLD.amount THEN
            RAISE EXCEPTION 'refund %: only its processing state may change', OLD.id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_immutable';
        END IF;
        IF NEW.status <> OLD.status AND OLD.status <> 'pending' THEN
            RAISE EXCEPTION 'refund %: % → % is not an allowed transition', OLD.id, OLD.status, NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_status_transition';
        END IF;
        RETURN NEW;
    END IF;
    SELECT amount, status INTO p_amount, p_status FROM payments WHERE id = NEW.payment_id FOR UPDATE;
    IF p_status IS DISTINCT FROM 'succeeded' THEN
        RAISE EXCEPTION 'payment %: only a succeeded payment can be refunded', NEW.payment_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_not_refundable';
    END IF;
    SELECT coalesce(sum(amount), 0) INTO taken FROM refunds WHERE payment_id = NEW.payment_id AND status <> 'failed';
    IF taken + NEW.amount > p_amount THEN
        RAISE EXCEPTION 'payment %: refunds would exceed the amount', NEW.payment_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_exceed_amount';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER refunds_guard BEFORE INSERT OR UPDATE ON refunds FOR EACH ROW EXECUTE FUNCTION refunds_guard();

-- The timeline of a payment, written in the same transaction as the change
-- it records. Append-only: the trigger refuses updates and deletes.
CREATE TABLE payment_events (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id uuid        NOT NULL REFERENCES payments (id),
    type       text        NOT NULL CHECK (type IN ('payment.created', 'payment.processing', 'payment.attempt_failed',
                               'payment.succeeded', 'payment.failed', 'payment.canceled', 'payment.retried',
                               'refund.created', 'refund.succeeded', 'refund.failed')),
    data       jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX payment_events_payment_id_idx ON payment_events (payment_id, id);

-- +goose StatementBegin
CREATE FUNCTION payment_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payment_events is append-only' USING ERRCODE = 'check_violation', CONSTRAINT = 'payment_events_append_only';
END $$;
-- +goose StatementEnd
CREATE TRIGGER payment_events_append_only BEFORE UPDATE OR DELETE ON payment_events
    FOR EACH ROW EXECUTE FUNCTION payment_events_append_only();

-- Events of payments settled before processing existed.
INSERT INTO payment_events (payment_id, type, created_at)
SELECT id, 'payment.created', created_at FROM payments;
INSERT INTO payment_events (payment_id, type, data, created_at)
SELECT id, 'payment.succeeded', '{"attempt": 1}', created_at FROM payments WHERE status = 'succeeded';

-- The read model puts the timeline and the refunds on the payment document:
-- a new event or refund row makes its payment's document dirty.
ALTER PUBLICATION wildcat_projection ADD TABLE payment_events (id, payment_id), refunds (id, payment_id);

-- Dead letters: failed payments whose retries ran out, per customer.
CREATE INDEX payments_dead_letters_idx ON payments (customer_id, id) WHERE failure_code = 'retries_exhausted';

-- +goose Down
DROP INDEX payments_dead_letters_idx;
ALTER PUBLICATION wildcat_projection DROP TABLE payment_events, refunds;
DROP TABLE payment_events;
DROP FUNCTION payment_events_append_only();
DROP TABLE refunds;
DROP FUNCTION refunds_guard();
DROP TRIGGER payments_guard ON payments;
DROP FUNCTION payments_guard();
UPDATE payments SET status = 'succeeded' WHERE status IN ('processing', 'pending');
UPDATE payments SET status = 'failed' WHERE status = 'canceled';
ALTER TABLE payments
    DROP CONSTRAINT payments_refunded_check,
    DROP CONSTRAINT payments_processed_check,
    DROP CONSTRAINT payments_failure_check,
    DROP CONSTRAINT payments_amount_refunded_check,
    DROP COLUMN amount_refunded,
    DROP COLUMN processed_at,
    DROP COLUMN attempts,
    DROP COLUMN failure_message,
    DROP COLUMN failure_code,
    DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN ('pending', 'succeeded', 'failed'));
