-- The write model of SPEC §2. Constraints live here as well as in Go, so a
-- bug in the application can never store an invalid row.

-- +goose Up
CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254 AND email = btrim(email) AND position('@' IN email) > 1),
    name          text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    password_hash text        NOT NULL CHECK (password_hash <> ''),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Case-insensitive uniqueness; lookups by email use lower(email) too.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE customers (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    email      text        NULL CHECK (email IS NULL OR (char_length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 1)),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customer_users (
    customer_id uuid        NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, user_id)
);
-- "Which customers may this user see" is the hot authorization lookup.
CREATE INDEX customer_users_user_id_idx ON customer_users (user_id, customer_id);

CREATE TABLE payments (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    payment_ref_id uuid        NOT NULL DEFAULT gen_random_uuid(),
    customer_id    uuid        NOT NULL REFERENCES customers (id),
    user_id        uuid        NOT NULL REFERENCES users (id),
    amount         bigint      NOT NULL CHECK (amount > 0 AND amount <= 1000000000000000),
    currency       text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    third_party    text        NOT NULL CHECK (char_length(third_party) BETWEEN 1 AND 64),
    description    text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 500),
    status         text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    date           timestamptz NOT NULL DEFAULT now(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_payment_ref_id_key UNIQUE (payment_ref_id)
);
-- Re-projecting a renamed customer or user walks its payments in id order.
CREATE INDEX payments_customer_id_idx ON payments (customer_id, id);
CREATE INDEX payments_user_id_idx ON payments (user_id, id);

-- Idempotency-Key records (SPEC §4), scoped to the calling user. A row is
-- written in the same transaction as the payment(s) it produced, so a key
-- exists exactly when its effect exists.
CREATE TABLE idempotency_keys (
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key           text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash  bytea       NOT NULL,
    status_code   integer     NOT NULL,
    response_body bytea       NOT NULL,
    consistency   text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);

-- Replica identity: the default (primary key) is enough for users,
-- customers and payments because the projector only needs the new row of an
-- update and the key of a delete. customer_users is FULL so that a deleted
-- link carries both ids and its created_at.
ALTER TABLE customer_users REPLICA IDENTITY FULL;

-- The projector's publication. Column lists keep password hashes out of the
-- replication stream altogether.
CREATE PUBLICATION wildcat_projection FOR TABLE
    users (id, email, name, created_at, updated_at),
    customers,
    customer_users,
    payments;

-- +goose Down
DROP PUBLICATION IF EXISTS wildcat_projection;
DROP TABLE idempotency_keys;
DROP TABLE payments;
DROP TABLE customer_users;
DROP TABLE customers;
DROP TABLE users;
