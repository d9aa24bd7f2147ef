CREATE TABLE notices (
    id                          text        PRIMARY KEY,
    agency                      text        NOT NULL,
    reference                   text        NOT NULL,
    title                       text        NOT NULL,
    description                 text        NOT NULL,
    language                    text        NOT NULL,
    notice_type                 text        NOT NULL,
    unspsc_codes                text[]      NOT NULL,
    beneficiary_countries       text[]      NOT NULL,
    deadline                    timestamptz NOT NULL,
    deadline_utc_offset_minutes integer     NOT NULL,
    status                      text        NOT NULL,
    revision                    integer     NOT NULL,
    published_at                timestamptz NOT NULL,
    UNIQUE (agency, reference)
);
