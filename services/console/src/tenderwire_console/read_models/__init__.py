"""What operators ask, one module each; the `tw` CLI and the web pages share these queries.

| question | `tw` command | page | module |
|---|---|---|---|
| what happened to this tender? | `tw trace` | /tenders/{id} | trace.py (rows: trace_evidence.py) |
| why was this supplier (not) alerted? | `tw why` | /suppliers/{id}?tender= | why.py |
| is anything stuck? | `tw lag` | /lag | lag.py |
| what was rejected? | `tw dlq` | /dead-letters | dlq.py |
| what is flowing? | `tw events tail` | /feed | event_feed.py |
| which alerts failed? | (`tw deliveries requeue`) | /deliveries/failed | delivery_failures.py |
| how are the agencies' OCDS feeds pulled? | `tw ocds feed status` | /ocds-feeds | ocds_feeds.py |
| who is this supplier? | | /suppliers/{id} | supplier_page.py |
| find a supplier, a tender | | /suppliers, /tenders | supplier_search.py, tender_search.py |

None writes to a service's database; only `dlq.replay` writes, to Kafka.
"""
