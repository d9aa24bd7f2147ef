-- The suppliers' portal. A session is a random token in an HttpOnly cookie; only its SHA-256
-- is stored, so a copy of this table opens no account.
CREATE TABLE portal_sessions (
    token_hash   text        PRIMARY KEY,
    supplier_id  text        NOT NULL REFERENCES suppliers (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX portal_sessions_supplier ON portal_sessions (supplier_id);
