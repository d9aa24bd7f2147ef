ALTER TABLE suppliers
    ADD COLUMN phone               text,
    ADD COLUMN delivery            text     NOT NULL DEFAULT 'immediate',
    ADD COLUMN digest_hour         smallint NOT NULL DEFAULT 8,
    ADD COLUMN filter_countries    text[]   NOT NULL DEFAULT '{}',
    ADD COLUMN filter_agencies     text[]   NOT NULL DEFAULT '{}',
    ADD COLUMN filter_notice_types text[]   NOT NULL DEFAULT '{}',
    ADD COLUMN keywords            text[]   NOT NULL DEFAULT '{}',
    ADD COLUMN version             integer  NOT NULL DEFAULT 1,
    ADD COLUMN updated_at          timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN deactivated_at      timestamptz;

-- Every change to a supplier, in commit order: each replica's in-memory index replays what
-- it has not seen yet before it matches a tender, so no replica matches on stale data.
CREATE TABLE supplier_changes (
    seq         bigserial   PRIMARY KEY,
    supplier_id text        NOT NULL REFERENCES suppliers (id),
    changed_at  timestamptz NOT NULL DEFAULT now()
);

-- The tenders as matching last saw them: what amendments, cancellations and backfills of new
-- suppliers are evaluated against.
CREATE TABLE tenders (
    tender_id   text        PRIMARY KEY,
    revision    integer     NOT NULL,
    status      text        NOT NULL,
    snapshot    jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenders_open ON tenders (tender_id) WHERE status IN ('published', 'amended');

ALTER TABLE matches ADD COLUMN still_matches boolean NOT NULL DEFAULT true;
CREATE INDEX matches_supplier_tender ON matches (supplier_id, tender_id);
