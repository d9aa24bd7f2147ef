CREATE TABLE suppliers (
    id          text        PRIMARY KEY,
    legal_name  text        NOT NULL,
    country     text        NOT NULL,
    email       text        NOT NULL,
    language    text        NOT NULL,
    timezone    text        NOT NULL,
    token_hash  text        NOT NULL,
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- One registration per company and country, and one per contact address.
CREATE UNIQUE INDEX suppliers_name_country ON suppliers (lower(legal_name), country);
CREATE UNIQUE INDEX suppliers_email ON suppliers (lower(email));

-- parents holds the code's ancestors, nearest first, so "within N levels" is an array slice.
CREATE TABLE supplier_codes (
    supplier_id text   NOT NULL REFERENCES suppliers (id),
    code        text   NOT NULL,
    parents     text[] NOT NULL,
    PRIMARY KEY (supplier_id, code)
);
CREATE INDEX supplier_codes_code ON supplier_codes (code);
CREATE INDEX supplier_codes_parents ON supplier_codes USING gin (parents);

CREATE TABLE matches (
    id          text        PRIMARY KEY,
    supplier_id text        NOT NULL REFERENCES suppliers (id),
    tender_id   text        NOT NULL,
    revision    integer     NOT NULL,
    kind        text        NOT NULL,
    codes       text[]      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (supplier_id, tender_id, revision, kind)
);
CREATE INDEX matches_tender ON matches (tender_id);
