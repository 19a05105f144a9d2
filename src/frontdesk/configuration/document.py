"""The configuration file: its models (the JSON Schema comes from them), reading YAML with
line numbers, writing stable YAML.

The file is keyed by what people know, never by database ids: businesses by their 15-digit
number, groups by (business number, source name), mappings by the location's number,
triggers by their service name. Lists are sorted and maps are written in a fixed order so
two exports of the same configuration are the same bytes and a change is a readable diff.
Secure values never appear: a secure property is ``{secret: NAME}``, a reference to a file
``NAME`` in the secrets directory (see docs/config-as-code.md).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

FORMAT_VERSION = 1
UNCHANGED = "unchanged"
_NAME = r"^[A-Za-z0-9_.\-]{1,200}$"
_SECRET_NAME = re.compile(_NAME)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SecretRef(_Strict):
    """A secure value, by reference: a file name in the secrets directory, or ``unchanged``."""

    secret: Annotated[str, Field(pattern=_NAME)]


def _number_as_text(value: Any) -> Any:
    # ``engagement.min.age: 18`` is meant as the text "18" (values are text, as in the API).
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


PropertyValue = Annotated[
    str | SecretRef, Field(union_mode="left_to_right"), BeforeValidator(_number_as_text)
]


class TemplateDoc(_Strict):
    """A business's own message templates for one channel."""

    subject: str | None = None
    text: str
    html: str | None = None


class BusinessDoc(_Strict):
    """A business: an SMB, an enterprise, or a location of ``enterprise``."""

    number: Annotated[int, Field(ge=10**14, lt=10**15)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    timezone: str
    enterprise: Annotated[int, Field(ge=10**14, lt=10**15)] | None = None
    templates: dict[str, TemplateDoc] = Field(default_factory=dict)


class Frequency(_Strict):
    value: Annotated[int, Field(ge=1)]
    unit: Literal["hours", "days"]


class MappingDoc(_Strict):
    """A location attached to the group, its schedule and location properties."""

    business: Annotated[int, Field(ge=10**14, lt=10**15)]
    active: bool = True
    frequency: Frequency = Frequency(value=1, unit="days")
    timezone: str
    customer_fetch_delay: Annotated[int | None, Field(alias="customerFetchDelay")] = None
    dry_run: Annotated[bool, Field(alias="dryRun")] = False
    properties: dict[str, PropertyValue] = Field(default_factory=dict)


class GroupDoc(_Strict):
    """An integration group, keyed by (``business``, ``source``)."""

    business: Annotated[int, Field(ge=10**14, lt=10**15)]
    source: str
    triggers: Annotated[list[str], Field(min_length=1)]
    properties: dict[str, PropertyValue] = Field(default_factory=dict)
    mappings: list[MappingDoc] = Field(default_factory=list)


class ConfigDocument(_Strict):
    """A frontdesk configuration file (``frontdesk config export``)."""

    version: Literal[1] = 1
    businesses: list[BusinessDoc] = Field(default_factory=list)
    groups: list[GroupDoc] = Field(default_factory=list)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the file, generated from :class:`ConfigDocument`."""
    schema = ConfigDocument.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://frontdesk.invalid/schemas/config-v1.json"
    return schema


class FileProblem(Exception):
    """An error in the file, with the line (1-based) it is on when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


Path = tuple[str | int, ...]


class Located:
    """A parsed file: the document and the line of every node, by path."""

    def __init__(self, document: ConfigDocument, lines: dict[Path, int]) -> None:
        self.document = document
        self.lines = lines

    def line(self, *path: str | int) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        parts = tuple(path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return self.lines.get((), None)


def load(text: str) -> Located:
    """Parse and validate a configuration file; :class:`FileProblem` names the line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise FileProblem(f"not valid YAML: {exc.problem}", line) from None
    lines: dict[Path, int] = {}
    data = _plain(root, (), lines, set()) if root is not None else {}
    try:
        document = ConfigDocument.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        where = ".".join(str(p) for p in loc) or "file"
        located = Located(ConfigDocument(), lines)
        raise FileProblem(f"{where}: {error['msg']}", located.line(*loc)) from None
    return Located(document, lines)


def _plain(node: yaml.Node, path: Path, lines: dict[Path, int], seen: set[int]) -> Any:
    """The Python value of ``node``; records each node's line under its path. Aliases are
    refused: a configuration is written out, and an alias bomb cannot expand here."""
    lines[path] = node.start_mark.line + 1
    if not isinstance(node, yaml.ScalarNode):
        if id(node) in seen:
            raise FileProblem("anchors and aliases are not supported", lines[path])
        seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _plain(key_node, (*path, "<key>"), lines, seen)
            if not isinstance(key, str | int) or isinstance(key, bool):
                raise FileProblem("a key must be a string", key_node.start_mark.line + 1)
            if key in result:
                raise FileProblem(f"{key} is given twice", key_node.start_mark.line + 1)
            result[key] = _plain(value_node, (*path, key), lines, seen)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*path, i), lines, seen) for i, item in enumerate(node.value)]
    return yaml.SafeLoader("").construct_object(node)


def dump(document: ConfigDocument) -> str:
    """The stable YAML text of ``document`` (fixed key order, no timestamps)."""
    data = document.model_dump(by_alias=True, exclude_defaults=False, mode="json")
    for business in data["businesses"]:
        if business["enterprise"] is None:
            del business["enterprise"]
        if not business["templates"]:
            del business["templates"]
    for group in data["groups"]:
        for mapping in group["mappings"]:
            if mapping["customerFetchDelay"] is None:
                del mapping["customerFetchDelay"]
    header = (
        "# frontdesk configuration (frontdesk config export). Secure values are never written:\n"
        "# {secret: NAME} names a file in the secrets directory (docs/config-as-code.md).\n"
    )
    body = yaml.safe_dump(
        data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100
    )
    return header + body


def secret_name(*parts: str | int) -> str:
    """The default reference of a secure value: ``<business>.<SOURCE>[.<location>].<key>``."""
    name = ".".join(str(p) for p in parts)
    if not _SECRET_NAME.match(name):
        raise ValueError("not a valid secret name")
    return name
