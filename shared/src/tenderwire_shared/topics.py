"""Kafka topic names. Each topic has exactly one writing service."""

from __future__ import annotations

TENDERS = "tenders.v1"
MATCHES = "matches.v1"
SUPPLIERS = "suppliers.v1"
NOTIFICATIONS = "notifications.v1"
NOTICE_COMMANDS = "notices.commands.v1"
# Verification links and codes, sign-in links: written by matching (the portal), sent by notify.
ACCOUNT_MESSAGES = "account-messages.v1"


def dead_letter_topic(topic: str, group: str) -> str:
    return f"{topic}.{group}.dlt"
