-- The pipelined sender (issue 10): order per supplier, tender and channel; alerts folded into
-- a later revision; retries until a horizon; no resend while a live worker holds a row.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_state_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_state_check
    CHECK (state IN ('batched', 'queued', 'sending', 'sent', 'delivered', 'failed', 'suppressed',
                     'superseded'));
ALTER TABLE deliveries
    -- The later alert of the same supplier, tender and channel that this one was folded into.
    ADD COLUMN superseded_by  text,
    -- The retry horizon counts from here; an operator's requeue starts it again.
    ADD COLUMN retry_since    timestamptz NOT NULL DEFAULT now(),
    -- The worker holding a 'sending' row; only a worker whose heartbeat stopped loses its rows.
    ADD COLUMN claimed_by     text,
    -- Alerts with the same key read the same words, so they are rendered once.
    ADD COLUMN content_key    text,
    ADD COLUMN recipient_name text;
-- One supplier's alerts about one tender on one channel are found through the unique key's
-- (supplier_id, tender_id) prefix: a separate index would cost every state change a write.
CREATE INDEX deliveries_sending ON deliveries (claimed_by) WHERE state = 'sending';
CREATE INDEX deliveries_failed ON deliveries (updated_at) WHERE state = 'failed';

CREATE TABLE delivery_workers (
    id           text        PRIMARY KEY,
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- Digests go through the same send path: claimed, retried with backoff, released on a crash.
ALTER TABLE digests DROP CONSTRAINT digests_state_check;
ALTER TABLE digests ADD CONSTRAINT digests_state_check
    CHECK (state IN ('queued', 'sending', 'sent', 'failed'));
ALTER TABLE digests
    ALTER COLUMN state SET DEFAULT 'queued',
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN retry_since     timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN claimed_by      text,
    ADD COLUMN updated_at      timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN provider_ref    text;
UPDATE digests SET state = 'queued' WHERE state = 'sending';
CREATE INDEX digests_due ON digests (next_attempt_at) WHERE state = 'queued';

-- Each ledger row holds its ~2 kB match, just over the size PostgreSQL compresses: lz4 costs
-- far less CPU than pglz for it (see shared migration 004). Without lz4, pglz stays.
DO $$
BEGIN
    ALTER TABLE deliveries ALTER COLUMN match SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available; the ledger keeps pglz';
END
$$;
