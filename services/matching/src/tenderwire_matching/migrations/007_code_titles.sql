-- What the code picker calls each code. UNSPSC's titles are UNDP/GS1 material, not open data,
-- so the project ships none: 'notices' titles are the item descriptions agencies' own notices
-- carry beside a code (counted in `seen`, the most seen shown first), 'licensed' ones what an
-- operator loads from the list they hold (`tw codes load`). `folded` is the title in lower
-- case without accents, what a search compares.
CREATE TABLE code_titles (
    scheme      text        NOT NULL CHECK (scheme IN ('unspsc', 'cpv')),
    code        text        NOT NULL,
    language    text        NOT NULL,
    title       text        NOT NULL,
    source      text        NOT NULL CHECK (source IN ('notices', 'licensed')),
    seen        integer     NOT NULL DEFAULT 0,
    folded      text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scheme, code, language, source, title)
);
-- A search by code prefix ("4213") in any collation.
CREATE INDEX code_titles_prefix ON code_titles (scheme, code text_pattern_ops);

-- A supplier's private Atom feed. The token is kept as it is, not hashed, so the preferences
-- page can show the feed's address again: it only reads what this database already holds
-- beside it (the supplier's matches), and a new one revokes the old.
CREATE TABLE supplier_feeds (
    supplier_id text        PRIMARY KEY REFERENCES suppliers (id) ON DELETE CASCADE,
    token       text        NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX matches_supplier_newest ON matches (supplier_id, created_at DESC);
