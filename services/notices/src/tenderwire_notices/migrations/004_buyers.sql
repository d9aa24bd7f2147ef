-- The buyer an imported notice's releases name (OCDS `buyer`, a party of the release), so the
-- OCDS exports name the publisher's real buyer rather than the importing agency. One row per
-- notice: the buyer of the latest release (by release date) that names one. Notices published
-- through the API have none, and export the agency as their buyer.
CREATE TABLE notice_buyers (
    notice_id     text        PRIMARY KEY REFERENCES notices (id),
    -- OCDS Organization fields as the exporter writes them: name, the publisher's id,
    -- identifier, address, contactPoint (parties.buyer_to_keep).
    party         jsonb       NOT NULL,
    release_id    text        NOT NULL,
    release_date  timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
