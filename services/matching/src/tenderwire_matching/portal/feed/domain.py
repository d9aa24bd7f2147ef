"""The private feed as an Atom 1.0 document (RFC 4287). Pure: the words come in translated.

Written with xml.etree, which escapes markup; characters XML 1.0 cannot hold at all (most C0
controls) are dropped first, since an escaped one is still not well-formed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str
    updated: datetime
    summary: str


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    self_link: str
    alternate_link: str
    language: str
    updated: datetime
    entries: list[Entry]


def _text(parent: ET.Element, tag: str, value: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    element.text = _NOT_XML.sub("", value)
    return element


def _link(parent: ET.Element, href: str, rel: str, kind: str | None = None) -> None:
    attributes = {"href": _NOT_XML.sub("", href), "rel": rel}
    if kind:
        attributes["type"] = kind
    ET.SubElement(parent, f"{{{ATOM}}}link", attributes)


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def atom(feed: Feed) -> bytes:
    ET.register_namespace("", ATOM)
    root = ET.Element(
        f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": feed.language}
    )
    _text(root, "id", feed.id)
    _text(root, "title", feed.title)
    _text(root, "updated", _when(feed.updated))
    _link(root, feed.self_link, "self", "application/atom+xml")
    _link(root, feed.alternate_link, "alternate", "text/html")
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    _text(author, "name", "Tenderwire")
    for entry in feed.entries:
        item = ET.SubElement(root, f"{{{ATOM}}}entry")
        _text(item, "id", entry.id)
        _text(item, "title", entry.title)
        _text(item, "updated", _when(entry.updated))
        _link(item, entry.link, "alternate", "text/html")
        _text(item, "summary", entry.summary, type="text")
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body
