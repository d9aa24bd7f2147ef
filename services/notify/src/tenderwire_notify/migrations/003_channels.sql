-- The provider's own id for the message (SMTP Message-ID, SMS sid), for support and callbacks.
ALTER TABLE deliveries ADD COLUMN provider_ref text;
