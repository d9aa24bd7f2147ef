"""Versioned event payloads, one module per topic."""
