"""Matching's pure rules and types: no I/O, no database, no clock.

- `eligibility`: who may register (the UN mandate's country classification);
- `matching`: when a supplier matches a tender (UNSPSC codes within the configured number of
  levels, then each optional filter), and which codes could never match;
- `index`: the same rules answered fast, from an in-memory index over every supplier.
"""
