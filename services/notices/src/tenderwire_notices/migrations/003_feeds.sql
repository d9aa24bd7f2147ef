-- An agency's OCDS feed, pulled on a schedule (workers.FeedPoller): where it starts, where the
-- poller stopped, and how the last fetches went. One feed per agency.
CREATE TABLE ocds_feeds (
    agency             text        PRIMARY KEY REFERENCES agencies (code),
    url                text        NOT NULL,
    -- The page to fetch next: the last page's links.next, or, once a fetch found no next page,
    -- that last page again (a feed grows at its end). NULL: start from url.
    resume_url         text,
    pages              bigint      NOT NULL DEFAULT 0,
    releases           bigint      NOT NULL DEFAULT 0,
    releases_imported  bigint      NOT NULL DEFAULT 0,
    failures           integer     NOT NULL DEFAULT 0,  -- in a row; 0 after a good page
    last_error         text,
    last_fetch_at      timestamptz,
    last_success_at    timestamptz,
    next_try_at        timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX ocds_feeds_due ON ocds_feeds (next_try_at);
