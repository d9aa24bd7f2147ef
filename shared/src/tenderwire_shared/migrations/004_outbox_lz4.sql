-- A match event is about 2 kB, just over the size at which PostgreSQL compresses a row, so
-- every outbox insert paid for pglz: about a third of writing a tender's 1,000 match events
-- (benchmarks/matching_writes.py). lz4 compresses as well for this and costs far less CPU.
-- A server built without lz4 keeps pglz: slower, and the same bytes come back out.
DO $$
BEGIN
    ALTER TABLE outbox ALTER COLUMN value SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available; the outbox keeps pglz';
END
$$;
