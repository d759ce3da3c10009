"""Check request bodies the bot sends against Discord's official OpenAPI description.

The description is tests/discord_api_spec/openapi.json.gz (Discord's `discord-api-spec`
repository, vendored; see the README beside it). It is OpenAPI 3.1, so its schemas are JSON Schema 2020-12: the whole
document is registered as one `referencing` resource and every operation's request-body schema is
reached by a JSON pointer into it, so the `#/components/schemas/...` references inside resolve.

Where the schema is looser than Discord's written documentation (it allows 4000-character content
and 40 top-level components, for Components V2 and Nitro), `documented_limit_violations` adds the
documented limits of a classic message as explicit checks.

    from tests.discord_spec import assert_valid_request
    assert_valid_request("POST", "/channels/123/messages", body)
"""

from __future__ import annotations

import copy
import functools
import gzip
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "SPEC_PATH",
    "SpecViolation",
    "assert_valid_request",
    "assert_valid_requests",
    "documented_limit_violations",
    "operation_template",
    "request_violations",
    "spec",
]

SPEC_PATH = Path(__file__).parent / "discord_api_spec" / "openapi.json.gz"
_SPEC_URI = "urn:discord:openapi"

# Discord's written limits (https://discord.com/developers/docs) that the schema leaves looser.
MAX_CONTENT = 2000
MAX_CUSTOM_ID = 100
MAX_ACTION_ROWS = 5
MAX_ROW_BUTTONS = 5
MAX_SELECT_OPTIONS = 25
MAX_MODAL_TITLE = 45
MAX_BUTTON_LABEL = 80
MAX_EMBEDS = 10
MAX_EMBED_TITLE = 256
MAX_EMBED_DESCRIPTION = 4096
MAX_EMBED_FIELDS = 25
MAX_EMBED_TOTAL = 6000

MAX_COMMAND_OPTIONS = 25
_NAME = re.compile(r"[-_'\w]{1,32}")

_IS_COMPONENTS_V2 = 1 << 15


class SpecViolation(AssertionError):
    """A request body that Discord's OpenAPI description (or its written docs) rejects."""


@functools.cache
def spec() -> dict[str, Any]:
    """The parsed openapi.json (loaded once per test session)."""
    return json.loads(gzip.decompress(SPEC_PATH.read_bytes()))


@functools.cache
def _registry() -> Registry:
    contents = copy.deepcopy(spec())
    # The one deliberate relaxation: the schema says a snowflake is a decimal string, but Discord
    # accepts integers too, and discord.py itself sends the `attachments[].id` of an upload as the
    # file's index (an int). Everything else is checked as written.
    snowflake = contents["components"]["schemas"]["SnowflakeType"]
    contents["components"]["schemas"]["SnowflakeType"] = {
        "anyOf": [snowflake, {"type": "integer", "minimum": 0}]
    }
    return Registry().with_resource(
        _SPEC_URI, Resource.from_contents(contents, default_specification=DRAFT202012)
    )


@functools.cache
def _templates() -> dict[str, list[tuple[list[str], str]]]:
    """method → [(template segments, template)] for every operation that has a JSON request body."""
    found: dict[str, list[tuple[list[str], str]]] = {}
    for template, item in spec()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "application/json" in operation.get("requestBody", {}).get(
                "content", {}
            ):
                found.setdefault(method.upper(), []).append((template.strip("/").split("/"), template))
    return found


def _is_parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def operation_template(method: str, path: str) -> str | None:
    """The spec's path template for a concrete path (or a template), or None if no operation has a body.

    Literal segments win over parameters, so `.../messages/@original` is not `.../messages/{message_id}`.
    """
    segments = path.split("?", 1)[0].strip("/").split("/")
    best: tuple[int, str] | None = None
    for template_segments, template in _templates().get(method.upper(), []):
        if len(template_segments) != len(segments):
            continue
        literals = 0
        for expected, actual in zip(template_segments, segments, strict=True):
            if _is_parameter(expected):
                continue
            if expected != actual:
                break
            literals += 1
        else:
            if best is None or literals > best[0]:
                best = (literals, template)
    return best[1] if best else None


@functools.cache
def _validator(method: str, template: str) -> jsonschema.protocols.Validator:
    pointer = "/".join(
        part.replace("~", "~0").replace("/", "~1")
        for part in [
            "paths",
            template,
            method.lower(),
            "requestBody",
            "content",
            "application/json",
            "schema",
        ]
    )
    schema = {"$ref": f"{_SPEC_URI}#/{quote(pointer, safe='/~@')}"}
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def request_violations(method: str, path: str, body: Any) -> list[str]:
    """Every way `body` breaks the spec's request schema for `method path` or the documented limits."""
    template = operation_template(method, path)
    if template is None:
        raise LookupError(f"the OpenAPI description has no JSON request body for {method} {path}")
    errors = sorted(
        _validator(method.upper(), template).iter_errors(body), key=lambda e: list(e.absolute_path)
    )
    found = [
        f"{method} {template}: at {'/'.join(map(str, e.absolute_path)) or '(body)'}: {_short(e)}"
        for e in errors
    ]
    found += [f"{method} {template}: {problem}" for problem in documented_limit_violations(body)]
    return found


def _short(error: jsonschema.ValidationError) -> str:
    """The reason under an anyOf/oneOf, followed into the branch whose `type` discriminator matched."""
    best = _reason(error)
    if best is error:
        return error.message[:300]
    return f"{best.message[:300]} (at {'/'.join(map(str, best.absolute_path))})"


def _reason(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    if not error.context:
        return error
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for child in error.context:
        branches.setdefault(child.relative_schema_path[0], []).append(child)
    discriminator = [*error.absolute_path, "type"]

    def mismatched(errors: list[jsonschema.ValidationError]) -> bool:
        return any(list(e.absolute_path) == discriminator for e in _leaves_of(errors))

    matching = [errors for errors in branches.values() if not mismatched(errors)]
    candidates = matching[0] if len(matching) == 1 else list(error.context)
    return max((_reason(e) for e in candidates), key=lambda e: len(e.absolute_path))


def _leaves_of(errors: list[jsonschema.ValidationError]) -> Iterator[jsonschema.ValidationError]:
    for error in errors:
        if not error.context:
            yield error
        yield from _leaves_of(list(error.context))


def assert_valid_request(method: str, path: str, body: Any) -> None:
    """Fail with every violation if `body` is not a valid request body for `method path`."""
    problems = request_violations(method, path, body)
    if problems:
        raise SpecViolation("\n".join(problems))


def documented_limit_violations(body: Any) -> list[str]:
    """Documented limits the schema does not enforce, for a message, callback or command body."""
    if isinstance(body, list):  # a bulk overwrite of application commands
        return [problem for command in body for problem in _command_problems(command)]
    if not isinstance(body, dict):
        return []
    problems: list[str] = []
    if body.get("type") in (4, 7) and isinstance(body.get("data"), dict):  # message callbacks
        return documented_limit_violations(body["data"])
    if body.get("type") == 9 and isinstance(body.get("data"), dict):  # modal
        modal = body["data"]
        if len(modal.get("title") or "") > MAX_MODAL_TITLE:
            problems.append(f"modal title is {len(modal['title'])} characters (max {MAX_MODAL_TITLE})")
        problems += _custom_id_problems(modal)
        return problems
    content = body.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        problems.append(f"content is {len(content)} characters (max {MAX_CONTENT})")
    problems += _embed_problems(body.get("embeds") or [])
    components = body.get("components") or []
    if not (body.get("flags") or 0) & _IS_COMPONENTS_V2:
        rows = [c for c in components if isinstance(c, dict) and c.get("type") == 1]
        if len(components) > MAX_ACTION_ROWS:
            problems.append(f"{len(components)} top-level components (max {MAX_ACTION_ROWS} action rows)")
        for n, row in enumerate(rows):
            children = row.get("components") or []
            buttons = [c for c in children if c.get("type") == 2]
            if len(buttons) > MAX_ROW_BUTTONS:
                problems.append(f"row {n} has {len(buttons)} buttons (max {MAX_ROW_BUTTONS})")
            if len(buttons) != len(children) and len(children) > 1:
                problems.append(f"row {n} mixes a select menu with other components")
    problems += _custom_id_problems(body)
    return problems


def _command_problems(command: Any, where: str = "") -> list[str]:
    """Chat-input command and option names/descriptions, as the docs define them."""
    if not isinstance(command, dict) or (not where and command.get("type", 1) in (2, 3)):
        return []  # user and message context-menu commands have free names and no description
    where = f"{where}/{command.get('name')}"
    problems = []
    name, description = command.get("name") or "", command.get("description") or ""
    if not _NAME.fullmatch(name) or name != name.lower():
        problems.append(f"{where}: name {name!r} is not a lowercase 1-32 character command name")
    if not 1 <= len(description) <= 100:
        problems.append(f"{where}: description is {len(description)} characters (1-100)")
    options = command.get("options") or []
    if len(options) > MAX_COMMAND_OPTIONS:
        problems.append(f"{where}: {len(options)} options (max {MAX_COMMAND_OPTIONS})")
    if len(command.get("choices") or []) > MAX_COMMAND_OPTIONS:
        problems.append(f"{where}: {len(command['choices'])} choices (max {MAX_COMMAND_OPTIONS})")
    required_seen_optional = False
    for option in options:
        if option.get("required") and required_seen_optional:
            problems.append(f"{where}: required option {option.get('name')!r} after an optional one")
        required_seen_optional = required_seen_optional or not option.get("required")
        problems += _command_problems(option, where)
    return problems


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for child in value.get("components") or []:
            yield from _walk(child)
        if isinstance(value.get("component"), dict):  # label components in modals
            yield from _walk(value["component"])
        if isinstance(value.get("accessory"), dict):
            yield from _walk(value["accessory"])


def _custom_id_problems(body: dict[str, Any]) -> list[str]:
    problems = []
    for component in _walk(body):
        custom_id = component.get("custom_id")
        if isinstance(custom_id, str) and len(custom_id) > MAX_CUSTOM_ID:
            problems.append(
                f"custom_id {custom_id[:40]!r}... is {len(custom_id)} characters (max {MAX_CUSTOM_ID})"
            )
        if component.get("type") == 2 and len(component.get("label") or "") > MAX_BUTTON_LABEL:
            problems.append(f"button label is {len(component['label'])} characters (max {MAX_BUTTON_LABEL})")
        if component.get("type") == 3 and len(component.get("options") or []) > MAX_SELECT_OPTIONS:
            problems.append(f"select has {len(component['options'])} options (max {MAX_SELECT_OPTIONS})")
    return problems


def _embed_problems(embeds: list[Any]) -> list[str]:
    problems = []
    if len(embeds) > MAX_EMBEDS:
        problems.append(f"{len(embeds)} embeds (max {MAX_EMBEDS})")
    total = 0
    for n, embed in enumerate(e for e in embeds if isinstance(e, dict)):
        title, description = embed.get("title") or "", embed.get("description") or ""
        fields = embed.get("fields") or []
        if len(title) > MAX_EMBED_TITLE:
            problems.append(f"embed {n} title is {len(title)} characters (max {MAX_EMBED_TITLE})")
        if len(description) > MAX_EMBED_DESCRIPTION:
            problems.append(
                f"embed {n} description is {len(description)} characters (max {MAX_EMBED_DESCRIPTION})"
            )
        if len(fields) > MAX_EMBED_FIELDS:
            problems.append(f"embed {n} has {len(fields)} fields (max {MAX_EMBED_FIELDS})")
        total += len(title) + len(description) + len((embed.get("footer") or {}).get("text") or "")
        total += len((embed.get("author") or {}).get("name") or "")
        total += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in fields)
    if total > MAX_EMBED_TOTAL:
        problems.append(f"embeds carry {total} characters in all (max {MAX_EMBED_TOTAL})")
    return problems


def assert_valid_requests(requests: Iterable[Any]) -> int:
    """Check every recorded request (`.method`, `.path`, `.json`) that carries a JSON body.

    A body sent where the spec takes none (an unknown route, say) is a violation too.

    Returns how many were checked; fails with every violation found, naming the request.
    """
    problems: list[str] = []
    checked = 0
    for request in requests:
        if request.json is None:
            continue
        if operation_template(request.method, request.path) is None:
            problems.append(
                f"{request.method} {request.path}: the spec has no operation that takes this JSON body"
            )
            continue
        checked += 1
        problems += request_violations(request.method, request.path, request.json)
    if problems:
        raise SpecViolation("Discord would reject what the bot sent:\n" + "\n".join(problems))
    return checked
