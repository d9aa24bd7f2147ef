"""lib-cove-ocds, the Open Contracting Partnership's data review library, run offline over
the OCDS 1.1.5 schemas and codelists Tenderwire ships (tenderwire_notices/ocds/schema)."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from functools import cache
from importlib import resources
from typing import Any

from libcoveocds.api import ocds_json_output  # type: ignore[import-untyped]
from libcoveocds.config import LibCoveOCDSConfig  # type: ignore[import-untyped]
from ocdsextensionregistry.versioned_release_schema import (  # type: ignore[import-untyped]
    get_versioned_release_schema,
)


@cache
def _standard_zip() -> bytes:
    """The bundled 1.1.5 schemas and codelists laid out as the standard's own archive, with
    the versioned release schema made from the release schema, so that lib-cove-ocds checks
    offline against exactly what Tenderwire ships."""
    folder = resources.files("tenderwire_notices.ocds") / "schema"
    release_schema = json.loads((folder / "release-schema.json").read_text(encoding="utf-8"))
    versioned = get_versioned_release_schema(copy.deepcopy(release_schema), "1__1__5")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("standard-1__1__5/", "")
        for name in ("release-schema.json", "release-package-schema.json"):
            zipped.writestr(f"standard-1__1__5/schema/{name}", (folder / name).read_text())
        zipped.writestr(
            "standard-1__1__5/schema/versioned-release-validation-schema.json",
            json.dumps(versioned),
        )
        for codelist in (folder / "codelists").iterdir():
            zipped.writestr(
                f"standard-1__1__5/schema/codelists/{codelist.name}", codelist.read_text()
            )
    return archive.getvalue()


def cove(package: dict[str, Any]) -> dict[str, Any]:
    """What lib-cove-ocds finds wrong with a release package: schema errors, codes outside
    closed codelists, fields the schema does not have, deprecated fields, its further checks."""
    config = LibCoveOCDSConfig()
    config.config["context"] = "api"
    config.config["standard_zip"] = _standard_zip()
    found = ocds_json_output(
        json_data=copy.deepcopy(package), lib_cove_ocds_config=config, schema_version="1.1"
    )
    assert found["version_used"] == "1.1"
    keys = (
        "validation_errors",
        "additional_closed_codelist_values",
        "additional_fields",
        "deprecated_fields",
        "additional_checks",
    )
    return {key: found[key] for key in keys if found[key]}
