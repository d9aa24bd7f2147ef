"""Operators' read side: what happened to a tender, a supplier, a consumer group, a dead letter.

The `tw` CLI and the web console share these queries; neither writes to a service's database.
"""
