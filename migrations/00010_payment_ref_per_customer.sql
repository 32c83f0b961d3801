-- payment_ref_id is unique per customer, not globally (issue 18): with one
-- global unique index, a client writing for its own customer got 409 for a
-- reference another tenant had used and 201 for one nobody had, so it could
-- probe other tenants' references. Two customers may now use the same
-- reference; the same customer still gets 409 duplicate_payment_ref_id.
--
-- The index is built inside the migration's transaction (writes to payments
-- wait for it: about a second per million rows here, at command-api start
-- before it serves). On a large production table build it first with
-- CREATE UNIQUE INDEX CONCURRENTLY payments_customer_id_payment_ref_id_key
-- ON payments (customer_id, payment_ref_id); this migration then only
-- attaches it.

-- +goose Up
CREATE UNIQUE INDEX IF NOT EXISTS payments_customer_id_payment_ref_id_key ON payments (customer_id, payment_ref_id);
ALTER TABLE payments ADD CONSTRAINT payments_customer_id_payment_ref_id_key
    UNIQUE USING INDEX payments_customer_id_payment_ref_id_key;
ALTER TABLE payments DROP CONSTRAINT payments_payment_ref_id_key;

-- +goose Down
-- Fails if two customers share a reference by then.
ALTER TABLE payments ADD CONSTRAINT payments_payment_ref_id_key UNIQUE (payment_ref_id);
ALTER TABLE payments DROP CONSTRAINT payments_customer_id_payment_ref_id_key;
