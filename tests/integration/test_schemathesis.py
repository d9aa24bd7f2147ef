"""Schemathesis, with all its checks, against the OpenAPI of notices, matching and notify on the
test stack (real HTTP, Kafka and PostgreSQL). Every answer must be documented, well-formed and
never a server error, for valid and invalid input alike.

The stack is seeded with real agencies, notices in every state, suppliers, deliveries and
unsubscribe links; a `map_case` hook puts their ids and credentials into most generated
requests, so the fuzzer reaches the code behind authentication and the "no such id" checks.
A request keeps what schemathesis generated where that part was made invalid on purpose, and
some requests keep a made-up id or credential, so the refusals are fuzzed too.

The run repeats itself: a fixed seed, no example database, the hook's choices derived from each
generated request's content rather than drawn from a random source, and so a fixed number of
examples. (The examples themselves can differ a little between runs, because schemathesis
learns from the answers, and those carry new ids and times.)

Failures are collected rather than raised, so one failing example does not end an operation's
run; each service's test then fails listing every distinct failure with the shortest requests
that reproduce it. Run it alone with
`.state/tools/bin/uv run --frozen pytest tests/integration/test_schemathesis.py -q`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CaseMetadata, TestPhase

from tenderwire_shared.i18n import LANGUAGES
from tests.support.fuzz_stack import (
    UNMATCHED_CODE,
    FuzzStack,
    SeededNotice,
    SeededSupplier,
    Seeds,
)

Case = schemathesis.Case[Any]

pytestmark = [
    pytest.mark.integration,
    # The services run in this process, on another thread, and their retry jitter draws from
    # `random` while Hypothesis generates; the warning is about them, not about any strategy.
    pytest.mark.filterwarnings(
        "ignore:Do not use the `random` module inside strategies"
        ":hypothesis.errors.HypothesisDeprecationWarning"
    ),
]

SEED = 20261201
# Per operation, on top of the examples and coverage phases (whose cases are derived from the
# schema and not counted here); sized so the three services take a few minutes on two cores.
FUZZING_EXAMPLES = 100
REQUEST_TIMEOUT_S = 30.0
# The share of requests the hook leaves with what schemathesis generated (an id that does not
# exist, a missing or wrong credential), so both the refusals and the deep paths get fuzzed.
KEEP_GENERATED = 0.15
WRONG_CREDENTIAL = 0.1
# Each field with a rule JSON Schema cannot express (a future deadline, a real country) is
# made valid with this chance, independently, so most bodies get past validation with some
# fields still fuzzed: that is where the data reaches PostgreSQL, Kafka and the other services.
REPAIR_FIELD = 0.85
# Strings that have broken services before (issue 11): a NUL that PostgreSQL refuses, markup
# where plain text belongs, text where an e-mail or a phone number belongs. Random generation
# seldom produces them inside an otherwise valid body, so the hook plants one now and then.
HOSTILE_STRINGS = [
    "\x00",
    "Gowns\x00lot 2",
    "tenders\x00@example.org",
    "+221 33\x00 800 00 00",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "not-an-email",
    "call me maybe",
    "line\nbreak\x07bell",
    "\u202egnp.exe",
]
HOSTILE_FIELD = 0.4
REPRODUCTIONS = 3
# schemathesis's default for `positive_data_acceptance`, plus 422 (see _config) and 410: a
# closed or awarded tender's calendar event is gone (`GET /notices/{id}.ics`, documented).
VALID_DATA_ANSWERS = ["2xx", "3xx", "401", "403", "404", "409", "410", "422", "429", "5xx"]


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "request-timeout": REQUEST_TIMEOUT_S,
            "generation": {
                "database": "none",
                "max-examples": FUZZING_EXAMPLES,
                # Now and then a hostile string in a path, query or header parameter too.
                "dictionaries": {"string": {"dictionary": "hostile", "probability": 0.1}},
            },
            "dictionaries": {"hostile": {"values": HOSTILE_STRINGS}},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
            },
            "checks": {
                "enabled": True,
                # A schema-valid request may still break a rule JSON Schema cannot say (a
                # deadline in the future, a real country, a dialable phone number, a well-formed
                # UNSPSC hierarchy): a 422 naming the field is the documented answer to those.
                "positive_data_acceptance": {"expected-statuses": VALID_DATA_ANSWERS},
            },
            # The reproductions are meant to be pasted: the credentials are the test stack's.
            "output": {"sanitization": {"enabled": False}},
        }
    )


# Which seeded notices each notices operation draws from (see Seeds.notices).
_NOTICE_POOLS = {
    "/v1/notices/{notice_id}/amendments": "amend",
    "/v1/notices/{notice_id}/cancellation": "cancel",
    "/v1/notices/{notice_id}/award": "award",
}


class _Choice:
    """Deterministic 'random' choices for one generated request, derived from its content, so
    a replayed or shrunk example makes the same choices (Hypothesis requires that)."""

    def __init__(self, case: Case) -> None:
        content = repr(
            (case.method, case.path, case.path_parameters, case.query, case.headers, case.body)
        )
        self._seed = hashlib.sha256(content.encode("utf-8", "surrogatepass")).digest()
        self._drawn = 0

    def _next(self) -> int:
        self._drawn += 1
        block = hashlib.sha256(self._seed + self._drawn.to_bytes(4, "big")).digest()
        return int.from_bytes(block[:4], "big")

    def chance(self, probability: float) -> bool:
        return self._next() / 2**32 < probability

    def pick(self, options: list[Any]) -> Any:
        return options[self._next() % len(options)]


def _bearer(token: str) -> str:
    return f"Bearer {token}"


@dataclass
class _Seeder:
    """The `map_case` hook: real ids and credentials into generated requests."""

    seeds: Seeds

    def __call__(self, context: schemathesis.HookContext, case: Case) -> Any:
        choice = _Choice(case)
        if choice.chance(KEEP_GENERATED):
            return case
        meta = case.meta
        # In the stateful phase the ids come from earlier answers, through the links.
        stateful = meta is not None and meta.phase.name == TestPhase.STATEFUL
        path_is_free = not stateful and not _negated(meta, ParameterLocation.PATH)
        credential = self._place(case, choice, path_is_free, meta)
        # A case made invalid in one part on purpose keeps its other parts plain, so its
        # answer is about that part (a missing credential must get 401, not a 422 for a NUL).
        plant = not _negative_anywhere(meta)
        if not _negated(meta, ParameterLocation.BODY) and isinstance(case.body, dict):
            case.body = _repaired(case, choice, case.body, plant=plant)
            if stateful:
                case.body = _unique(case.body)
        if (
            plant
            and case.query
            and not _negated(meta, ParameterLocation.QUERY)
            and choice.chance(HOSTILE_FIELD)
        ):
            case.query = _with_string_replaced(case.query, choice, choice.pick(HOSTILE_STRINGS))
        # A case-insensitive copy: schemathesis names the header `authorization`, people
        # `Authorization`, and a request must not carry both.
        headers = case.headers.copy()
        if (
            "Idempotency-Key" in headers
            and not _negated(meta, ParameterLocation.HEADER, "Idempotency-Key")
            and choice.chance(REPAIR_FIELD)
        ):
            headers["Idempotency-Key"] = f"fuzz-{choice.pick(_HEX)}"
        if credential is not None and not _negated(meta, ParameterLocation.HEADER, "authorization"):
            if choice.chance(WRONG_CREDENTIAL):
                credential = choice.pick(
                    [_bearer("not-a-real-token"), "Basic Zm9vOmJhcg==", _bearer("")]
                )
            headers["Authorization"] = credential
        if headers != case.headers:
            case.headers = headers
        return case

    def _place(
        self, case: Case, choice: _Choice, path_is_free: bool, meta: CaseMetadata | None
    ) -> str | None:
        """Real ids into the path and query; returns the credential that goes with them."""
        seeds, path = self.seeds, case.path
        if path.startswith("/v1/notices/{notice_id}"):
            return self._notice(case, choice, path_is_free)
        if path == "/v1/notices" and case.method == "GET":
            case.query = self._search_query(case, choice, meta)
            return None
        if path in ("/v1/notices", "/v1/ocds/release-packages"):
            return _bearer(choice.pick(seeds.agency_keys))
        if path == "/v1/suppliers/{supplier_id}":
            return self._supplier(case, choice, path_is_free)
        if path == "/v1/deliveries":
            case.query = self._deliveries_query(case, choice, meta)
            return _bearer(seeds.operator_token)
        if path == "/v1/unsubscribe/{token}" and path_is_free:
            case.path_parameters = {"token": choice.pick(seeds.unsubscribe_tokens)}
        if path == "/v1/sms/status/{delivery_id}":
            self._sms_callback(case, choice, path_is_free, meta)
        if path == "/v1/sms/inbound":
            self._sms_signature(case, choice, meta)
        return None

    def _sms_callback(
        self, case: Case, choice: _Choice, path_is_free: bool, meta: CaseMetadata | None
    ) -> None:
        """A real delivery, and a callback signed as its provider would sign it, when the
        operation asks for a signature (`?provider=` and `X-Twilio-Signature`)."""
        if path_is_free:
            case.path_parameters = {"delivery_id": choice.pick(self.seeds.sms_delivery_ids)}
        self._sms_signature(case, choice, meta)

    def _sms_signature(self, case: Case, choice: _Choice, meta: CaseMetadata | None) -> None:
        """A status callback or an inbound text signed as the provider would sign it, so most
        requests get past the signature check to the body's validation and the database."""
        asks = {parameter.name for parameter in case.operation.query}
        if "provider" not in asks:
            return
        if not _negated(meta, ParameterLocation.QUERY, "provider"):
            case.query = {**case.query, "provider": choice.pick(sorted(self.seeds.sms_providers))}
        if not _negated(meta, ParameterLocation.HEADER, SIGNATURE_HEADER) and not choice.chance(
            WRONG_CREDENTIAL
        ):
            headers = case.headers.copy()
            headers[SIGNATURE_HEADER] = SIGN_AT_SEND
            case.headers = headers

    def _notice(self, case: Case, choice: _Choice, path_is_free: bool) -> str:
        pool = _NOTICE_POOLS.get(case.path)
        notice: SeededNotice = choice.pick(
            self.seeds.notices[pool] if pool else self.seeds.all_notices()
        )
        if path_is_free:
            case.path_parameters = {**case.path_parameters, "notice_id": notice.id}
        # Now and then another agency's key: its notices must stay out of reach.
        if choice.chance(WRONG_CREDENTIAL):
            return _bearer(
                choice.pick([k for k in self.seeds.agency_keys if k != notice.agency_key])
            )
        return _bearer(notice.agency_key)

    def _supplier(self, case: Case, choice: _Choice, path_is_free: bool) -> str:
        seeds = self.seeds
        pool = seeds.expendable_suppliers if case.method == "DELETE" else seeds.suppliers
        supplier: SeededSupplier = choice.pick(pool)
        if path_is_free:
            case.path_parameters = {"supplier_id": supplier.id}
        # Now and then another supplier's token: it must not open this profile.
        if choice.chance(WRONG_CREDENTIAL):
            return _bearer(choice.pick([s.token for s in pool if s != supplier]))
        return _bearer(supplier.token)

    def _deliveries_query(
        self, case: Case, choice: _Choice, meta: CaseMetadata | None
    ) -> dict[str, Any]:
        query = dict(case.query)
        if not _negated(meta, ParameterLocation.QUERY, "tender_id") and (
            "tender_id" in query or choice.chance(0.5)
        ):
            query["tender_id"] = choice.pick(self.seeds.tender_ids)
        if not _negated(meta, ParameterLocation.QUERY, "supplier_id") and (
            "supplier_id" in query or choice.chance(0.5)
        ):
            query["supplier_id"] = choice.pick([s.id for s in self.seeds.suppliers])
        return query

    def _search_query(
        self, case: Case, choice: _Choice, meta: CaseMetadata | None
    ) -> dict[str, Any]:
        query = dict(case.query)
        if not _negated(meta, ParameterLocation.QUERY, "agency") and (
            "agency" in query or choice.chance(0.3)
        ):
            query["agency"] = choice.pick(self.seeds.agency_codes)
        if (
            "cursor" in query
            and not _negated(meta, ParameterLocation.QUERY, "cursor")
            and choice.chance(0.7)
        ):
            query["cursor"] = self.seeds.search_cursor
        return query


def _negative_anywhere(meta: CaseMetadata | None) -> bool:
    return meta is not None and any(c.mode.is_negative for c in meta.components.values())


def _negated(meta: CaseMetadata | None, location: ParameterLocation, name: str = "") -> bool:
    """Whether schemathesis made this part invalid on purpose, so the hook must leave it be.
    Without a name, or when the case does not say which parameter it broke, the whole
    location counts as broken."""
    if meta is None or not meta.is_negative_at(location):
        return False
    broken = meta.phase.data.parameter
    return not name or broken is None or broken.lower() == name.lower()


_HEX = [f"{n:04x}" for n in range(4096)]

SIGNATURE_HEADER = "X-Twilio-Signature"
# What the hook puts in the signature header; the signature itself can only be made once the
# request is prepared (its exact URL and form body), so `_TwilioSigner` replaces it then.
SIGN_AT_SEND = "sign-at-send"


class _TwilioSigner(requests.auth.AuthBase):
    """Signs an SMS status callback as the provider named in its URL would (Twilio's webhook
    security: base64 HMAC-SHA1 of the URL and the sorted form parameters)."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.headers.get(SIGNATURE_HEADER) != SIGN_AT_SEND or request.url is None:
            return request
        url = urlsplit(request.url)
        provider = dict(parse_qsl(url.query)).get("provider", "")
        body = request.body or ""
        form = body.decode("utf-8", "surrogateescape") if isinstance(body, bytes) else str(body)
        signed = request.url + "".join(
            name + value for name, value in sorted(parse_qsl(form, keep_blank_values=True))
        )
        key = self.tokens.get(provider, "").encode()
        digest = hmac.new(key, signed.encode("utf-8", "surrogateescape"), hashlib.sha1).digest()
        request.headers[SIGNATURE_HEADER] = base64.b64encode(digest).decode("ascii")
        return request


def _valid_values(choice: _Choice) -> dict[str, Callable[[], Any]]:
    """Values that pass the rules the schemas cannot express, one maker per field name."""
    today = datetime.now(UTC).date()
    return {
        # Deadlines a month out, in the agency's local time with its offset, as the README asks.
        "deadline": lambda: f"{today + timedelta(days=30)}T17:00:00+01:00",
        "unspsc_codes": lambda: choice.pick([[UNMATCHED_CODE], [UNMATCHED_CODE, "43211507"]]),
        "beneficiary_countries": lambda: choice.pick([["SN"], ["SEN", "Mali"]]),
        "country": lambda: choice.pick(["SEN", "SN", "Burkina Faso"]),
        "supplier_country": lambda: choice.pick(["SEN", "ML"]),
        "language": lambda: choice.pick(list(LANGUAGES)),
        "amount": lambda: choice.pick(["125000.50", "0", 9800]),
        "currency": lambda: choice.pick(["USD", "XOF", "EUR"]),
        # Awards are dated on or before today and after publication.
        "date": today.isoformat,
        "email": lambda: f"fuzz-{choice.pick(_HEX)}@example.org",
        "phone": lambda: choice.pick(["+221 77 000 99 01", None]),
        # An inbound text: from a seeded supplier's phone, saying a keyword or chatting.
        "From": lambda: choice.pick(["+221770001000", "+221770001100", "+221770009901"]),
        "Body": lambda: choice.pick(["STOP", "START", "HELP", "Arrêt", "PARAR", "hello"]),
        "timezone": lambda: choice.pick(["Africa/Dakar", "UTC"]),
        "reference": lambda: f"FUZZ-{choice.pick(_HEX)}{choice.pick(_HEX)}",
    }


# A contact and a document for the bodies that may carry them, so that the strings planted
# below often land in them: they are stored as they come, unlike the titles.
_ATTACHMENTS = {
    "contacts": [
        {"name": "Procurement unit", "email": "tenders@example.org", "phone": "+221 33 800 00 00"}
    ],
    "documents": [{"title": "Terms of reference", "url": "https://example.org/tor.pdf"}],
}
_WITH_ATTACHMENTS = {"/v1/notices", "/v1/notices/{notice_id}/amendments"}


def _repaired(
    case: Case, choice: _Choice, original: dict[str, Any], *, plant: bool
) -> dict[str, Any]:
    body = dict(original)
    for name, make in _valid_values(choice).items():
        if name in body and choice.chance(REPAIR_FIELD):
            body[name] = make()
    if case.path in _WITH_ATTACHMENTS and case.method == "POST":
        for name, value in _ATTACHMENTS.items():
            if choice.chance(REPAIR_FIELD / 2):
                body[name] = value
    if plant and choice.chance(HOSTILE_FIELD):
        planted: dict[str, Any] = _with_string_replaced(body, choice, choice.pick(HOSTILE_STRINGS))
        return planted
    return body


_CREATED = itertools.count()


def _unique(body: dict[str, Any]) -> dict[str, Any]:
    """In a chain, what one step creates must not collide with an earlier scenario's creation:
    the answer (201 or 409) decides which steps can follow, and Hypothesis requires a replayed
    prefix of steps to allow the same ones."""
    body = dict(body)
    n = next(_CREATED)
    if isinstance(body.get("reference"), str):
        body["reference"] = f"FUZZ-CHAIN-{n}"
    if isinstance(body.get("email"), str):
        body["email"] = f"fuzz-chain-{n}@example.org"
    if isinstance(body.get("legal_name"), str):
        body["legal_name"] = f"Chain supplier {n}"
    return body


def _string_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _string_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _string_paths(item, (*path, index))]
    return []


def _with_string_replaced(value: Any, choice: _Choice, replacement: str) -> Any:
    """`value` with one of its strings, at any depth, replaced."""
    paths = _string_paths(value)
    if not paths:
        return value
    # Half the time into a contact or a document when there is one: few of the body's strings
    # are theirs, and they are the ones stored without the plain-text rule (issue 11).
    attached = [path for path in paths if path and path[0] in _ATTACHMENTS]
    target: tuple[str | int, ...] = choice.pick(
        attached if attached and choice.chance(0.5) else paths
    )

    def rebuilt(node: Any, path: tuple[str | int, ...]) -> Any:
        if path == target:
            return replacement
        if isinstance(node, dict):
            return {key: rebuilt(item, (*path, key)) for key, item in node.items()}
        if isinstance(node, list):
            return [rebuilt(item, (*path, index)) for index, item in enumerate(node)]
        return node

    return rebuilt(value, ())


@dataclass
class _OperationStats:
    examples: int = 0
    first_call: float = 0.0
    last_call: float = 0.0
    slowest_s: float = 0.0
    slowest_request: str = ""
    statuses: dict[int, int] = field(default_factory=dict)


@dataclass
class _Finding:
    phase: str
    service: str
    operation: str
    check: str
    title: str
    message: str
    status: int
    # The shortest requests seen to fail this way, shortest first: one cause often hides
    # several (a 500 from a NUL and a 500 from a null field look alike from outside).
    reproductions: list[str]
    seen: int = 1

    def add(self, curl: str) -> None:
        self.seen += 1
        if curl not in self.reproductions:
            self.reproductions = sorted([*self.reproductions, curl], key=len)[:REPRODUCTIONS]

    def describe(self) -> str:
        message = _short(" ".join(self.message.split()), 200)
        lines = [f"{self.operation} | {self.check} | {self.status} | {self.title}: {message}"]
        lines[0] += f" | seen {self.seen}x"
        lines.extend(f"      {_short(curl, 800)}" for curl in self.reproductions)
        return "\n".join(lines)


@dataclass
class FuzzReport:
    """What the run did and found, per service and operation, printed at the end."""

    signer: _TwilioSigner | None = None
    seeded_in_s: float = 0.0
    services: dict[str, str] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)
    operations: dict[str, dict[str, _OperationStats]] = field(default_factory=dict)
    findings: dict[tuple[str, str, str, str], _Finding] = field(default_factory=dict)

    def call(self, service: str, case: Case) -> None:
        began = time.monotonic()
        response = case.call(auth=self.signer)
        self.count(service, case, response, began)
        # The failures are recorded (by `record`), not raised: Hypothesis ends an operation's
        # run at its first failing example, and would hide every other failure behind it.
        with contextlib.suppress(FailureGroup):
            case.validate_response(response)

    def count(
        self, service: str, case: Case, response: schemathesis.Response, began: float
    ) -> None:
        self.started.setdefault(service, began)
        stats = self.operations.setdefault(service, {}).setdefault(
            case.operation.label, _OperationStats()
        )
        stats.first_call = stats.first_call or began
        stats.last_call = time.monotonic()
        stats.examples += 1
        took = stats.last_call - began
        stats.statuses[response.status_code] = stats.statuses.get(response.status_code, 0) + 1
        if took > stats.slowest_s:
            stats.slowest_s, stats.slowest_request = took, _short(case.as_curl_command())

    def record(
        self,
        context: schemathesis.HookContext,
        case: Case,
        response: schemathesis.Response,
        results: list[schemathesis.CheckResult],
    ) -> None:
        """`after_validate`: every distinct failure with its shortest reproduction, including
        the ones Hypothesis folds into one per operation when it reports."""
        for result in results:
            failure = result.failure
            if failure is None:
                continue
            phase = _phase(case)
            key = (phase, case.operation.label, result.name, _failure_key(failure, response))
            # With the headers as sent: the signature exists only there.
            curl = case.as_curl_command(headers=dict(response.request.headers))
            found = self.findings.get(key)
            if found is not None:
                found.add(curl)
            else:
                self.findings[key] = _Finding(
                    phase=phase,
                    service=self.services[case.operation.schema.location or ""],
                    operation=case.operation.label,
                    check=result.name,
                    title=failure.title,
                    message=failure.message,
                    status=response.status_code,
                    reproductions=[curl],
                )

    def summary(self) -> list[str]:
        lines = [
            "",
            f"schemathesis: stack started and seeded in {self.seeded_in_s:.1f} s",
            "schemathesis: operations, examples, time per service",
        ]
        for service, operations in self.operations.items():
            examples = sum(s.examples for s in operations.values())
            elapsed = max(s.last_call for s in operations.values()) - self.started[service]
            base, _, chains = service.partition(" ")
            failures = len(self.failures(base, "stateful" if chains else "single"))
            lines.append(
                f"  {service}: {len(operations)} operations, {examples} examples, {elapsed:.1f} s,"
                f" {failures} distinct failures"
            )
            for label, stats in sorted(
                operations.items(), key=lambda item: item[1].first_call - item[1].last_call
            ):
                statuses = " ".join(f"{c}x{n}" for c, n in sorted(stats.statuses.items()))
                lines.append(
                    f"    {stats.last_call - stats.first_call:6.1f} s {stats.examples:5d} ex"
                    f"  {label}  [{statuses}]  slowest {stats.slowest_s * 1000:.0f} ms"
                )
        slowest = sorted(
            (
                (s.slowest_s, label, s.slowest_request)
                for ops in self.operations.values()
                for label, s in ops.items()
            ),
            reverse=True,
        )[:5]
        lines.append("schemathesis: slowest requests")
        lines.extend(f"  {took * 1000:6.0f} ms  {label}: {curl}" for took, label, curl in slowest)
        return lines

    def failures(self, service: str, phase: str = "single") -> list[str]:
        found = [f for f in self.findings.values() if (f.service, f.phase) == (service, phase)]
        return [f.describe() for f in sorted(found, key=lambda f: (f.operation, f.check))]


def _phase(case: Case) -> str:
    stateful = case.meta is not None and case.meta.phase.name == TestPhase.STATEFUL
    return "stateful" if stateful else "single"


def _failure_key(failure: Failure, response: schemathesis.Response) -> str:
    # A server error is told apart by its status; a conformance failure by its title, which
    # names the status code, header or media type at fault.
    return f"{type(failure).__name__}:{response.status_code}:{failure.title}"


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32's lazy schemas read and write `item._nodeid`, which pytest 9.2 no longer
    # has (the id lives in `_id`); without the attribute every lazy test fails before it starts.
    node: Any = request.node
    if not hasattr(node, "_nodeid"):
        node._nodeid = node.nodeid


@pytest.fixture(scope="module")
def fuzz_stack(
    kafka_bootstrap: str, postgres_dsn: str, fuzz_report: FuzzReport
) -> Iterator[FuzzStack]:
    stack = FuzzStack(kafka_bootstrap, postgres_dsn)
    began = time.monotonic()
    try:
        stack.start()
        fuzz_report.seeded_in_s = time.monotonic() - began
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def fuzz_report(request: pytest.FixtureRequest) -> Iterator[FuzzReport]:
    report = FuzzReport()
    yield report
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        for line in report.summary():
            reporter.write_line(line)


def _schema(stack: FuzzStack, service: str, report: FuzzReport) -> schemathesis.BaseSchema:
    assert stack.seeds is not None
    location = f"{stack.url(service)}/openapi.json"
    report.services[location] = service
    report.signer = _TwilioSigner(stack.seeds.sms_providers)
    schema = schemathesis.openapi.from_url(location, config=_config(), timeout=REQUEST_TIMEOUT_S)
    schema.hooks.register_hook_with_name(_Seeder(stack.seeds), "map_case")
    schema.hooks.register_hook_with_name(report.record, "after_validate")
    return schema


@pytest.fixture(scope="module")
def notices_schema(fuzz_stack: FuzzStack, fuzz_report: FuzzReport) -> schemathesis.BaseSchema:
    return _schema(fuzz_stack, "notices", fuzz_report)


@pytest.fixture(scope="module")
def matching_schema(fuzz_stack: FuzzStack, fuzz_report: FuzzReport) -> schemathesis.BaseSchema:
    return _schema(fuzz_stack, "matching", fuzz_report)


@pytest.fixture(scope="module")
def notify_schema(fuzz_stack: FuzzStack, fuzz_report: FuzzReport) -> schemathesis.BaseSchema:
    return _schema(fuzz_stack, "notify", fuzz_report)


notices = schemathesis.pytest.from_fixture("notices_schema")
matching = schemathesis.pytest.from_fixture("matching_schema")
notify = schemathesis.pytest.from_fixture("notify_schema")


def _fuzzed(lazy: Any, service: str) -> Callable[..., None]:
    """A test that fuzzes each of the service's operations (one subtest each), then fails with
    every distinct failure found, each with the shortest request that reproduces it."""

    def fuzz_one(case: Case, fuzz_report: FuzzReport) -> None:
        fuzz_report.call(service, case)

    explore = lazy.parametrize()(fuzz_one)

    def test(request: pytest.FixtureRequest, fuzz_report: FuzzReport) -> None:
        explore(request=request)
        failures = fuzz_report.failures(service)
        assert not failures, f"{len(failures)} distinct failures in {service}:\n" + "\n".join(
            failures
        )

    return test


# Chains (the stateful phase) for the services that create things; notify creates nothing
# over HTTP, so it has no chains to follow.
STATEFUL_SCENARIOS = 30
STATEFUL_STEPS = 6
# Well under the 180-220 a full run makes, well over what a run stopped at once makes.
MIN_STATEFUL_STEPS = 60


@dataclass
class _Credentials:
    """Who may touch what, learnt from the seeds and from each answer that creates something,
    so a chain of calls (publish, then amend; register, then deactivate, then read) carries
    the credential of whoever made the thing."""

    by_id: dict[str, str]

    @classmethod
    def seeded(cls, seeds: Seeds) -> _Credentials:
        return cls(
            {n.id: _bearer(n.agency_key) for n in seeds.all_notices()}
            | {s.id: _bearer(s.token) for s in seeds.suppliers + seeds.expendable_suppliers}
        )

    def learn(self, case: Case, response: schemathesis.Response) -> None:
        if case.method != "POST" or response.status_code != 201:
            return
        body = response.json()
        if case.path == "/v1/suppliers":
            self.by_id[body["id"]] = _bearer(body["token"])
        elif case.path == "/v1/notices":
            self.by_id[body["id"]] = case.headers["Authorization"]

    def apply(self, case: Case) -> None:
        if _negated(case.meta, ParameterLocation.HEADER, "authorization"):
            return
        for value in case.path_parameters.values():
            credential = self.by_id.get(str(value))
            if credential is not None:
                case.headers = case.headers.copy()
                case.headers["Authorization"] = credential


def _stateful(service: str) -> Callable[..., None]:
    """Chains of calls linked by the ids the answers carry (schemathesis infers the links), for
    the checks only a sequence can make: a deleted thing stays gone (`use_after_free`), a
    created one can be read back (`ensure_resource_availability`)."""

    def test(
        request: pytest.FixtureRequest, fuzz_stack: FuzzStack, fuzz_report: FuzzReport
    ) -> None:
        assert fuzz_stack.seeds is not None
        schema = request.getfixturevalue(f"{service}_schema")
        credentials = _Credentials.seeded(fuzz_stack.seeds)

        class Chains(schema.as_state_machine()):  # type: ignore[misc]
            began = 0.0

            def before_call(self, case: Case) -> None:
                credentials.apply(case)
                self.began = time.monotonic()

            def after_call(self, response: schemathesis.Response, case: Case) -> None:
                super().after_call(response, case)
                credentials.learn(case, response)
                fuzz_report.count(f"{service} chains", case, response, self.began)

            def validate_response(
                self, response: schemathesis.Response, case: Case, **kwargs: Any
            ) -> None:
                with contextlib.suppress(FailureGroup):
                    super().validate_response(response, case, **kwargs)

        try:
            Chains.run(
                settings=hypothesis.settings(
                    max_examples=STATEFUL_SCENARIOS,
                    stateful_step_count=STATEFUL_STEPS,
                    database=None,
                    deadline=None,
                    derandomize=True,
                    # Each step is a real request: the health checks would call that too slow,
                    # and the refused requests (most of them) filtered-out data.
                    suppress_health_check=list(hypothesis.HealthCheck),
                    # Failures are collected, never raised, so there is nothing to shrink.
                    phases=[hypothesis.Phase.generate],
                )
            )
        except hypothesis.errors.FlakyStrategyDefinition:
            # Which rule a chain can take next depends on what the live stack answered (the
            # ids its links carry); when a replayed prefix is answered differently, Hypothesis
            # stops the run. The chains run so far still count, and must be enough to matter.
            print(
                f"schemathesis: {service} chains stopped early: the stack answered a"
                " replayed chain differently"
            )
        steps = sum(
            stats.examples for stats in fuzz_report.operations.get(f"{service} chains", {}).values()
        )
        assert steps >= MIN_STATEFUL_STEPS, f"only {steps} chained calls ran for {service}"
        failures = fuzz_report.failures(service, phase="stateful")
        assert not failures, f"{len(failures)} distinct failures in {service}'s chains:\n" + (
            "\n".join(failures)
        )

    return test


test_notices_api = _fuzzed(notices, "notices")
test_matching_api = _fuzzed(matching, "matching")
test_notify_api = _fuzzed(notify, "notify")
test_notices_chains = _stateful("notices")
test_matching_chains = _stateful("matching")
