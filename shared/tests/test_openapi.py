"""The OpenAPI documents every answer, with the error schema, and /docs needs no internet."""

from __future__ import annotations

import re
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel

from tenderwire_shared.http import NO_CONTROL_CHARACTERS, install_http
from tenderwire_shared.openapi import (
    bearer_scheme,
    document_answers,
    install_offline_docs,
)

ERROR = {"$ref": "#/components/schemas/ErrorResponse"}

member_key = bearer_scheme("MemberKey", "A member's key", {401: "No key, or a wrong one"})


class Item(BaseModel):
    name: str


def make_app() -> FastAPI:
    app = FastAPI(title="Example", docs_url=None, redoc_url=None)
    install_http(app, max_body_bytes=1024)

    async def member(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(member_key)],
    ) -> None:
        return None

    @app.post("/items", dependencies=[Depends(member)])
    async def create(item: Item) -> Item:
        return item

    @app.get("/items/{item_id}")
    async def read(item_id: str, colour: str | None = None) -> Item:
        return Item(name=item_id)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    install_offline_docs(app)
    document_answers(app, {"GET /items/{item_id}": {404: "No such item"}})
    return app


def test_every_route_documents_its_answers_in_the_error_schema() -> None:
    spec: dict[str, Any] = make_app().openapi()
    create = spec["paths"]["/items"]["post"]["responses"]
    read = spec["paths"]["/items/{item_id}"]["get"]["responses"]
    health = spec["paths"]["/health"]["get"]["responses"]
    assert sorted(create) == ["200", "401", "413", "422", "503"]
    assert sorted(read) == ["200", "404", "422", "503"]
    assert sorted(health) == ["200", "422"]
    for answers in (create, read, health):
        for code, answer in answers.items():
            if code != "200":
                assert answer["content"]["application/json"]["schema"] == ERROR
    assert "Retry-After" in create["503"]["headers"]
    assert spec["components"]["schemas"]["ErrorResponse"]["required"] == ["detail"]


def test_the_security_scheme_is_declared_on_the_routes_that_check_it() -> None:
    spec: dict[str, Any] = make_app().openapi()
    assert spec["components"]["securitySchemes"]["MemberKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A member's key",
    }
    assert spec["paths"]["/items"]["post"]["security"] == [{"MemberKey": []}]
    assert "security" not in spec["paths"]["/items/{item_id}"]["get"]


def test_answers_for_a_route_the_app_does_not_have_are_an_error() -> None:
    app = FastAPI(docs_url=None)

    @app.get("/there")
    async def there() -> None:
        return None

    with pytest.raises(ValueError, match="GET /not-there"):
        document_answers(app, {"GET /not-there": {404: "gone"}})


async def test_docs_load_swagger_ui_from_the_service_itself() -> None:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        page = await http.get("/docs")
        assert page.status_code == 200
        assert re.findall(r"https?://", page.text) == []
        for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert (await http.get(asset)).status_code == 200, asset


def test_string_parameters_say_that_control_characters_are_refused() -> None:
    spec: dict[str, Any] = make_app().openapi()
    item_id, colour = spec["paths"]["/items/{item_id}"]["get"]["parameters"]
    assert item_id["schema"]["pattern"] == NO_CONTROL_CHARACTERS
    assert colour["schema"]["anyOf"][0]["pattern"] == NO_CONTROL_CHARACTERS
    assert re.fullmatch(NO_CONTROL_CHARACTERS, "Côte d'Ivoire")
    assert not re.fullmatch(NO_CONTROL_CHARACTERS, "a\x00b")
