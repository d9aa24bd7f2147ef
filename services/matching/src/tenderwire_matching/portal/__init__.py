"""The suppliers' portal: registration with double opt-in, sign-in by e-mail link, contacts,
preferences, the code picker, following tenders, and leaving.

It is part of matching, not a service of its own, because matching owns the registry: every
change a supplier makes must commit with its change-log row, its supplier event and the backfill
of tenders it now matches (`tenderwire_matching.services`), under the same rules as the API. A
separate service would either reach into matching's database or repeat those rules over HTTP.
What the portal shows from elsewhere (alerts received, from notify's ledger; stops, in notify)
it reads server-side over notify's API; the public notice pages are notices' own.

The same role names as the rest of the code: `domain` (pure rules), `repository` (SQL),
`services` (use cases), `web/` (the pages and their forms).
"""
