-- tenderwire: no-transaction
-- An SMS reply (STOP, START, HELP) is answered in the language of the newest alert to its
-- number, and a suppression waits for the sends to its address in flight: both look the
-- ledger up by channel and address, which no index covered.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_address
    ON deliveries (channel, lower(address), created_at);
