-- The suppliers' portal. A session is a random token in an HttpOnly cookie; only its SHA-256
-- is stored, so a copy of this table opens no account.
CREATE TABLE portal_sessions (
    token_hash   text        PRIMARY KEY,
    supplier_id  text        NOT NULL REFERENCES suppliers (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX portal_sessions_supplier ON portal_sessions (supplier_id);

-- Double opt-in: an address or phone gets alerts only once its owner proved it. Suppliers
-- registered before the portal were vouched for by whoever registered them: verified.
ALTER TABLE suppliers
    ADD COLUMN email_verified_at timestamptz,
    ADD COLUMN phone_verified_at timestamptz,
    ADD COLUMN paused_until      date,
    ADD COLUMN erased_at         timestamptz;
UPDATE suppliers SET email_verified_at = created_at,
    phone_verified_at = CASE WHEN phone IS NOT NULL THEN created_at END;

-- An erased supplier's name and address are blanked, and a later registration with them is a
-- new supplier: the registry's unique keys hold among the others only.
DROP INDEX suppliers_name_country;
DROP INDEX suppliers_email;
CREATE UNIQUE INDEX suppliers_name_country ON suppliers (lower(legal_name), country)
    WHERE erased_at IS NULL;
CREATE UNIQUE INDEX suppliers_email ON suppliers (lower(email)) WHERE erased_at IS NULL;

-- Further e-mail addresses that get the alerts too, each verified by its own link.
CREATE TABLE supplier_contacts (
    id          text        PRIMARY KEY,
    supplier_id text        NOT NULL REFERENCES suppliers (id),
    address     text        NOT NULL,
    verified_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX supplier_contacts_address ON supplier_contacts (supplier_id, lower(address));

-- API tokens a supplier made in the portal, beside the one its registration returned. Only
-- the SHA-256 is kept: the token is shown once.
CREATE TABLE supplier_tokens (
    id           text        PRIMARY KEY,
    supplier_id  text        NOT NULL REFERENCES suppliers (id),
    token_hash   text        NOT NULL UNIQUE,
    label        text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX supplier_tokens_supplier ON supplier_tokens (supplier_id);

-- What a signed link stands for (verify an address, sign in): the link carries a random id,
-- only its SHA-256 is here, and `used_at` makes it single use.
CREATE TABLE portal_links (
    id_hash     text        PRIMARY KEY,
    purpose     text        NOT NULL,
    supplier_id text        NOT NULL REFERENCES suppliers (id),
    address     text        NOT NULL,
    contact_id  text,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX portal_links_supplier ON portal_links (supplier_id);

-- The code texted to a phone being verified: one live code per supplier, HMAC'd, few tries.
CREATE TABLE phone_codes (
    supplier_id text        PRIMARY KEY REFERENCES suppliers (id),
    phone       text        NOT NULL,
    code_hash   text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    tries       smallint    NOT NULL DEFAULT 0
);

-- Fixed-window counters shared by every replica: how many messages an address, or requests a
-- client address, caused in the window starting at `window_start`.
CREATE TABLE portal_rate_limits (
    key          text        NOT NULL,
    window_start timestamptz NOT NULL,
    count        integer     NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- Tenders a supplier follows: it hears of their amendments and cancellation as if alerted.
CREATE TABLE tender_follows (
    supplier_id text        NOT NULL REFERENCES suppliers (id),
    tender_id   text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (supplier_id, tender_id)
);
CREATE INDEX tender_follows_tender ON tender_follows (tender_id);
