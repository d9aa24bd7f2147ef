-- Addresses that bounced for good (or, later, unsubscribed): nothing more is sent to them.
CREATE TABLE suppressions (
    channel     text        NOT NULL,
    address     text        NOT NULL,
    reason      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, address)
);
