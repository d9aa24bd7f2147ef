-- Agencies and their API keys. Keys are stored as SHA-256 digests: they are long random
-- secrets, so a slow password hash would add latency to every request and no safety.
CREATE TABLE agencies (
    code        text        PRIMARY KEY,
    name        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id          text        PRIMARY KEY,
    agency      text        NOT NULL REFERENCES agencies (code),
    key_hash    text        NOT NULL UNIQUE,
    label       text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

ALTER TABLE notices
    ADD COLUMN documents           jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN contacts            jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN ocid                text,
    ADD COLUMN cancellation_reason text,
    ADD COLUMN award               jsonb,
    ADD COLUMN updated_at          timestamptz NOT NULL DEFAULT now();

CREATE INDEX notices_open_deadline ON notices (deadline) WHERE status IN ('published', 'amended');
CREATE INDEX notices_listing ON notices (published_at DESC, id DESC);
CREATE INDEX notices_codes ON notices USING gin (unspsc_codes);
CREATE INDEX notices_countries ON notices USING gin (beneficiary_countries);
CREATE UNIQUE INDEX notices_ocid ON notices (agency, ocid) WHERE ocid IS NOT NULL;

-- One row per event about a notice: the revision history agencies and suppliers can read.
CREATE TABLE notice_revisions (
    notice_id   text        NOT NULL REFERENCES notices (id),
    revision    integer     NOT NULL,
    event_type  text        NOT NULL,
    reason      text,
    changes     jsonb       NOT NULL DEFAULT '[]',
    snapshot    jsonb       NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (notice_id, revision)
);

-- A retried request with the same Idempotency-Key gets the first answer, never a second effect.
CREATE TABLE idempotency_keys (
    agency        text        NOT NULL,
    key           text        NOT NULL,
    request_hash  text        NOT NULL,
    status_code   integer     NOT NULL,
    response      jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agency, key)
);

-- OCDS releases already imported: importing the same package twice changes nothing.
CREATE TABLE ocds_imports (
    agency      text        NOT NULL,
    ocid        text        NOT NULL,
    release_id  text        NOT NULL,
    notice_id   text,
    outcome     text        NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agency, ocid, release_id)
);
