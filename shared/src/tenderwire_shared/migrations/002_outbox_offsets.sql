-- Where each event landed in Kafka, so `tw trace` can point at the exact record to read.
ALTER TABLE outbox ADD COLUMN kafka_partition integer, ADD COLUMN kafka_offset bigint;
