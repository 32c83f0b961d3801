-- The projector's own tables (issue 4): documents that could not be
-- indexed, and the record of completed backfills. Neither table is in the
-- publication, so writing them never feeds back into the stream.

-- +goose Up
CREATE TABLE projector_dead_letters (
    id          bigserial   PRIMARY KEY,
    doc_index   text        NOT NULL,  -- the alias the document belongs to, e.g. payments
    doc_id      text        NOT NULL,
    lsn         pg_lsn      NOT NULL,  -- commit position whose change could not be applied
    error       text        NOT NULL,
    payload     jsonb       NULL,      -- the document as built, when it could be built
    created_at  timestamptz NOT NULL DEFAULT now(),
    redriven_at timestamptz NULL
);
CREATE INDEX projector_dead_letters_pending_idx ON projector_dead_letters (doc_index, id) WHERE redriven_at IS NULL;

-- One row per replication slot whose backfill completed. The row is deleted
-- before a slot is (re)created and written only after the copy is indexed,
-- so "slot exists and row exists" means the index holds the slot's snapshot.
CREATE TABLE projector_backfills (
    slot_name          text        PRIMARY KEY,
    index_prefix       text        NOT NULL,
    consistent_lsn     pg_lsn      NOT NULL,
    payments_index     text        NOT NULL,
    customers_index    text        NOT NULL,
    schema_fingerprint jsonb       NOT NULL,
    documents          bigint      NOT NULL,
    completed_at       timestamptz NOT NULL DEFAULT now()
);

-- A customer update then carries its old row, so the projector re-projects
-- the customer's payments only when the name really changed (an e-mail
-- change does not touch payment documents).
ALTER TABLE customers REPLICA IDENTITY FULL;

-- +goose Down
ALTER TABLE customers REPLICA IDENTITY DEFAULT;
DROP TABLE projector_backfills;
DROP TABLE projector_dead_letters;
