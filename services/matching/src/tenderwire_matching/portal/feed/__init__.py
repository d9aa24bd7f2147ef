"""A supplier's private Atom feed of its matches, for feed readers: `domain` writes the
document (RFC 4287), `repository` keeps the feed's secret token and reads the entries,
`services` puts them together."""
