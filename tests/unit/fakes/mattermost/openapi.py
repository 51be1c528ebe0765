"""Response schemas from openapi-v4.yaml, loaded once, with the emulator's KNOWN_DIFFERENCES applied."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.fakes.mattermost import KNOWN_DIFFERENCES

SPEC_PATH = Path(__file__).parent / "reference" / "openapi-v4.yaml"
_SPEC_URI = "urn:mattermost:openapi-v4"

# Response status the spec documents, for operations where the server answers differently.
_STATUS_IN_SPEC = {("post", "/api/v4/reactions", 200): (201, "reaction-status")}


@functools.cache
def raw_spec() -> dict[str, Any]:
    with SPEC_PATH.open() as handle:
        return yaml.load(handle, Loader=yaml.CSafeLoader)


def _allow_null(node: Any) -> None:
    """OpenAPI 3.0 `nullable: true` is JSON Schema's `type: [t, "null"]`."""
    if isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for value in node.values():
            _allow_null(value)
    elif isinstance(node, list):
        for value in node:
            _allow_null(value)


def _apply_known_differences(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert "timezone-strings" in KNOWN_DIFFERENCES
    schemas["Timezone"]["properties"]["useAutomaticTimezone"]["type"] = "string"
    assert "team-policy-id-null" in KNOWN_DIFFERENCES
    schemas["Team"]["properties"]["policy_id"]["type"] = ["string", "null"]
    assert "upload-client-ids-null" in KNOWN_DIFFERENCES
    created = spec["paths"]["/api/v4/files"]["post"]["responses"]["201"]
    upload = created["content"]["application/json"]["schema"]
    upload["properties"]["client_ids"]["type"] = ["array", "null"]


@functools.cache
def _registry() -> tuple[dict[str, Any], Registry]:
    spec = copy.deepcopy(raw_spec())
    _allow_null(spec)
    _apply_known_differences(spec)
    resource = Resource.from_contents(spec, default_specification=DRAFT4)
    return spec, Registry().with_resource(_SPEC_URI, resource)


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def validate_response(method: str, path: str, status: int, body: Any) -> None:
    """Raise jsonschema.ValidationError unless `body` fits the documented response of `method path`.

    Errors (>= 400) are checked against AppError, which is what every documented error response uses.
    """
    spec, registry = _registry()
    if status >= 400:
        pointer = _pointer("components", "schemas", "AppError")
    else:
        documented, difference = _STATUS_IN_SPEC.get((method, path, status), (status, None))
        assert difference is None or difference in KNOWN_DIFFERENCES
        operation = spec["paths"][path][method]["responses"][str(documented)]
        assert "application/json" in operation["content"], f"{method} {path} {documented} has no JSON schema"
        pointer = _pointer("paths", path, method, "responses", str(documented), "content", "application/json")
        pointer += "/schema"
    validator = Draft4Validator({"$ref": f"{_SPEC_URI}#{pointer}"}, registry=registry)
    validator.validate(body)
