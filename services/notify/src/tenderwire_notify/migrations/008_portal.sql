-- The portal (issue 14).
-- Account messages (verification links and codes, sign-in links) are ledger rows of their own
-- kinds; each stops being worth sending at its `expires_at`, and is then failed, not sent.
ALTER TABLE deliveries
    ADD COLUMN expires_at  timestamptz,
    -- The addresses that have already taken this alert or digest: with several e-mail
    -- contacts, a retry after one of them refused for now sends only to the others.
    ADD COLUMN sent_copies text[] NOT NULL DEFAULT '{}',
    -- The supplier's other verified e-mail contacts, each sent the alert from this row: kept
    -- here, beside the match, so a claim reads them without opening the match.
    ADD COLUMN other_addresses text[] NOT NULL DEFAULT '{}';
ALTER TABLE digests ADD COLUMN sent_copies text[] NOT NULL DEFAULT '{}';

-- Suppliers whose account was deleted: as deactivated ones they get nothing more, account
-- messages included, and nothing of their contact details is kept.
CREATE TABLE erased_suppliers (
    supplier_id text        PRIMARY KEY,
    erased_at   timestamptz NOT NULL
);
