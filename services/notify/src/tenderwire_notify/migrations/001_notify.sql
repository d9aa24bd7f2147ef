-- The delivery ledger: one row per alert per channel. The unique key is what makes a
-- redelivered or replayed match event send nothing new.
CREATE TABLE deliveries (
    id              text        PRIMARY KEY,
    supplier_id     text        NOT NULL,
    tender_id       text        NOT NULL,
    revision        integer     NOT NULL,
    kind            text        NOT NULL,
    channel         text        NOT NULL,
    address         text        NOT NULL,
    language        text        NOT NULL,
    timezone        text        NOT NULL,
    match           jsonb       NOT NULL,
    state           text        NOT NULL DEFAULT 'queued',
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    correlation_id  text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (supplier_id, tender_id, revision, kind, channel),
    CHECK (state IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'suppressed'))
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'queued';
CREATE INDEX deliveries_tender ON deliveries (tender_id);
