-- `tw trace` finds a tender's events by their key (the tender id, or the supplier id on
-- matches.v1); without this every trace reads the whole outbox.
CREATE INDEX outbox_by_key ON outbox (key);
