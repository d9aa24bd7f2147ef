"""Open Contracting Data Standard 1.1: importing release packages into the notice lifecycle,
and exporting a notice's revision history as releases and a record.

- `services`: the import use case (one transaction per release, the `ocds_imports` ledger);
- `schemas`: the import report, the import's HTTP reply;
- pure, no I/O: `package` (is the body a release package), `release` (what a release becomes),
  `untrusted`, `header`, `parties`, `fields` and `planning` (one release -> lifecycle steps),
  `amending` (a release against a notice imported before), `exporter` (history -> OCDS),
  `plain_text`, `vocabulary` and `standard` (the 1.1 schema and codelists).
"""
