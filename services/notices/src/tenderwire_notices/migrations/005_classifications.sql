-- A notice's CPV codes (8 digits, no check digit), matched like its UNSPSC codes, and every item
-- classification its source gave in any scheme (scheme, code, description), for display.
-- 005: 004 is taken by the buyers of OCDS imports.
ALTER TABLE notices
    ADD COLUMN cpv_codes       text[] NOT NULL DEFAULT '{}',
    ADD COLUMN classifications jsonb  NOT NULL DEFAULT '[]';
