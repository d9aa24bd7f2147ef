-- Daily digests: alerts for digest suppliers wait as 'batched' rows until their local hour,
-- then leave together in one e-mail. A digest is unique per supplier and local day, and its
-- entries are marked sent only after the SMTP server accepted it.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_state_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_state_check
    CHECK (state IN ('batched', 'queued', 'sending', 'sent', 'delivered', 'failed', 'suppressed'));
ALTER TABLE deliveries
    ADD COLUMN digest_hour smallint,
    ADD COLUMN digest_id   text;
CREATE INDEX deliveries_batched ON deliveries (supplier_id) WHERE state = 'batched';

CREATE TABLE digests (
    id          text        PRIMARY KEY,
    supplier_id text        NOT NULL,
    local_date  date        NOT NULL,
    address     text        NOT NULL,
    language    text        NOT NULL,
    timezone    text        NOT NULL,
    state       text        NOT NULL DEFAULT 'sending'
                CHECK (state IN ('sending', 'sent', 'failed')),
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    UNIQUE (supplier_id, local_date)
);
