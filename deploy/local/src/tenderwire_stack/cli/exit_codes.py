"""Exit codes every `tw` command shares, so a script can branch on them without parsing text.

| code | meaning |
|---|---|
| 0 | done; the answer is good news (alerted, delivered, no lag, no dead letters) |
| 1 | not found (tender, supplier, dead letter, group, failed delivery), or refused |
| 2 | usage: a bad option or a malformed argument |
| 3 | needs attention: not delivered, trace problems, replay declined, requeue all skipped |
| 4 | not matched (`tw why`) |
| 5 | a consumer group lags (`tw lag`) |
| 6 | dead letters are waiting (`tw dlq list`) |
| 7 | `--timeout` passed before `--count` events arrived (`tw events tail`) |
| 8 | Kafka or a database could not be reached: no answer was given |
"""

from __future__ import annotations

OK = 0
NOT_FOUND = 1
USAGE = 2
NEEDS_ATTENTION = 3
NOT_MATCHED = 4
LAGGING = 5
HAS_DEAD_LETTERS = 6
TIMED_OUT = 7
UNREACHABLE = 8
