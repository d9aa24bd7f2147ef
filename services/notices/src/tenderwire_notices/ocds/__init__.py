"""Open Contracting Data Standard 1.1: importing releases, in whatever shape publishers write
them (OCDS 1.0 upgraded), into the notice lifecycle, and exporting a notice's revision history
as releases and a record.

- `services`: the import use case (one transaction per release, the `ocds_imports` ledger);
- `schemas`: the import report, the import's HTTP reply;
- pure, no I/O: `package` (the releases a body holds, told by its shape, and its version),
  `release` (what a release becomes), `untrusted`, `header`, `parties` (and country names),
  `fields` and `planning` (one release -> lifecycle steps), `amending` (a release against a
  notice imported before), `exporter` (history -> OCDS), `plain_text`, `vocabulary` and
  `standard` (the 1.1 schema and codelists).
"""
