-- Idempotency records keep the ids of the payments a request created
-- instead of a JSON snapshot of them.
--
-- Building and TOAST-compressing the snapshot was 40 % of the database's
-- work for a 1,000-payment batch. Payments cannot change through the API,
-- so a replay renders the same body from the rows themselves, in the
-- original order. Records written before this migration keep their
-- snapshot until they expire.

-- +goose Up
ALTER TABLE idempotency_keys
    ADD COLUMN payment_ids uuid[],
    ALTER COLUMN response_body DROP NOT NULL,
    ADD CONSTRAINT idempotency_keys_response_check CHECK (response_body IS NOT NULL OR payment_ids IS NOT NULL);

-- +goose Down
DELETE FROM idempotency_keys WHERE response_body IS NULL;
ALTER TABLE idempotency_keys
    DROP CONSTRAINT idempotency_keys_response_check,
    ALTER COLUMN response_body SET NOT NULL,
    DROP COLUMN payment_ids;
