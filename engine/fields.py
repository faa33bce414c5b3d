"""Typed reading of a YAML mapping: each field checked where it is read, a Problem at its key's line.

`Fields` reads text, whole numbers, numbers, booleans, lists, dates and URLs, each within the range the
site can use; `read_record` fills a dataclass from a mapping, one key per field, and reports the keys
nobody asked for.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import typing
from collections.abc import Callable, Collection
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .dates import PartialDate, parse_date
from .errors import Problem, did_you_mean
from .yamlfile import YamlList, YamlMap

# Whole numbers (an `order`) and numbers (a chart's values) outside these are refused where they are read;
# so is a number other than 0 nearer to 0 than SMALLEST_NUMBER (a chart's scale cannot be drawn for it).
WHOLE_NUMBER_LIMIT = 1_000_000_000
NUMBER_LIMIT = 1e15
SMALLEST_NUMBER = 1e-9
_DIGITS = re.compile(r"[-+]?[0-9]+")
# Characters XML 1.0 cannot hold, even escaped (a tab and line breaks are fine).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class Fields:
    """Typed access to a YAML mapping that records a Problem for each bad field.

    Every known key must be read through one of its methods; `check_unknown`
    then reports the keys nobody asked for, with the closest known name.
    """

    def __init__(self, mapping: YamlMap, source: str, problems: list[Problem]):
        self.mapping = mapping
        self.source = source
        self.problems = problems

    def line(self, key: str) -> int:
        return self.mapping.line_of(key)

    def error(self, key: str, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(self.source, self.line(key), message, hint))

    def check_unknown(self, known: Collection[str], what: str) -> None:
        for key in self.mapping:
            if key not in known:
                self.error(key, f"unknown {what} key '{key}'", self._split_number_hint(key)
                           or did_you_mean(str(key), known) or f"known keys: {', '.join(known)}")

    def _split_number_hint(self, key: Any) -> str | None:
        """In `{value: 68,530}` the comma ends the value 68, and 530 becomes a key of its own: say so."""
        if not str(key).isdigit() or self.mapping[key] is not None:
            return None
        return "a comma inside {…} separates entries: write numbers without thousands separators, as 68530"

    def _missing(self, key: str) -> None:
        self.problems.append(Problem(self.source, self.mapping.line, f"missing required key '{key}'"))

    def text(self, key: str, required: bool = False, default: str = "") -> str:
        """A non-empty string; numbers, booleans and lists are refused with a quoting hint."""
        if key not in self.mapping:
            if required:
                self._missing(key)
            return default
        if self.mapping[key] is None:
            if required:
                self.error(key, f"'{key}' is empty")
            return default
        value = self.mapping[key]
        if isinstance(value, (bool, int, float)):
            raw = self.mapping.raw.get(key, str(value))
            self.error(key, f"'{key}' must be text, but YAML read {raw} as a {_type_name(value)}",
                       f'put it in quotes: {key}: "{raw}"')
            return default
        if not isinstance(value, str):
            self.error(key, f"'{key}' must be text, not a {_type_name(value)}")
            return default
        if not value.strip():
            self.error(key, f"'{key}' is empty")
            return default
        if control := _CONTROL.search(value):
            self.error(key, f"'{key}' holds the control character U+{ord(control.group()):04X}",
                       "remove it: the feed and the sitemap are XML, which cannot hold it")
            return default
        return value.strip()

    def _given(self, key: str, required: bool) -> Any:
        """A key's value; None when it is missing or empty (reported when required), infinity for
        digits too many for Python to convert."""
        if key not in self.mapping or self.mapping[key] is None:
            if required:
                self._missing(key)
            return None
        value = self.mapping[key]
        if isinstance(value, str) and _DIGITS.fullmatch(value):
            return -math.inf if value.startswith("-") else math.inf
        return value

    def _out_of_range(self, key: str, value: Any, hint: str, reason: str = "out of range") -> None:
        self.error(key, f"'{key}' is {_shorten(self.mapping.raw.get(key, repr(value)))}, {reason}", hint)

    def integer(self, key: str, required: bool = False) -> int | None:
        value = self._given(key, required)
        if value is None:
            return None
        if isinstance(value, float) and math.isinf(value) or isinstance(value, int) and abs(value) > WHOLE_NUMBER_LIMIT:
            self._out_of_range(key, value, f"use a whole number between -{WHOLE_NUMBER_LIMIT} and {WHOLE_NUMBER_LIMIT}")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raw = _shorten(self.mapping.raw.get(key, repr(value)))
            self.error(key, f"'{key}' must be a whole number, not '{raw}'")
            return None
        return value

    def number(self, key: str, required: bool = False) -> float | None:
        value = self._given(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raw = _shorten(self.mapping.raw.get(key, repr(value)))
            self.error(key, f"'{key}' must be a number, not '{raw}'",
                       "write digits only, without thousands separators")
            return None
        if not -NUMBER_LIMIT <= value <= NUMBER_LIMIT:  # false for inf and nan too
            self._out_of_range(key, value, f"use a number between -{NUMBER_LIMIT:,.0f} and {NUMBER_LIMIT:,.0f}")
            return None
        if value and abs(value) < SMALLEST_NUMBER:
            self._out_of_range(key, value, f"write 0, or use a smaller unit so that it is at least {SMALLEST_NUMBER:.9f}",
                               "too small to draw")
            return None
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        if key not in self.mapping or self.mapping[key] is None:
            return default
        value = self.mapping[key]
        if not isinstance(value, bool):
            raw = self.mapping.raw.get(key, repr(value))
            self.error(key, f"'{key}' must be true or false, not '{raw}'", "write true or false")
            return default
        return value

    def text_list(self, key: str, required: bool = False) -> tuple[str, ...]:
        """A list of strings; a single string is accepted as a list of one."""
        if key not in self.mapping or self.mapping[key] is None:
            if required:
                self._missing(key)
            return ()
        value = self.mapping[key]
        if isinstance(value, str):
            return (value.strip(),)
        if not isinstance(value, list):
            self.error(key, f"'{key}' must be a list of text")
            return ()
        items: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                line = value.line_of(index) if isinstance(value, YamlList) else self.line(key)
                self.problems.append(Problem(self.source, line, f"each item of '{key}' must be non-empty text"))
                continue
            items.append(item.strip())
        if required and not items and not value:
            self.error(key, f"'{key}' must not be empty")
        return tuple(items)

    def date(self, key: str, required: bool = False) -> PartialDate | None:
        value = self.mapping.get(key)
        text = self.mapping.raw.get(key, "")
        if not (isinstance(value, int) and not isinstance(value, bool) and re.fullmatch(r"\d{4}", text)):
            text = self.text(key, required=required)  # an unquoted year is unambiguous: accept `date: 2018`
        if not text:
            return None
        try:
            return parse_date(text)
        except ValueError as error:
            self.error(key, f"'{key}': {error}")
            return None

    def url(self, key: str, required: bool = False) -> str:
        text = self.text(key, required=required)
        if text and not is_web_url(text):
            self.error(key, f"'{key}' must be an http or https address, not '{text}'")
            return ""
        return text


Record = TypeVar("Record")
# How each field type of a record is read from YAML (a field may name another reader in its metadata).
_READERS: dict[Any, Callable[..., Any]] = {
    str: Fields.text, int | None: Fields.integer, float | None: Fields.number, bool: Fields.boolean,
    PartialDate | None: Fields.date, PartialDate: Fields.date, tuple[str, ...]: Fields.text_list,
}


def from_yaml(name: str = "", *, required: bool = False, read: Callable[..., Any] | None = None) -> dict[str, Any]:
    """The metadata of a record field read from YAML (see read_record): its key when not the field's name,
    whether it is required, and a reader other than the one for its type (`Fields.url`)."""
    return {"key": name, "required": required, "read": read}


def read_record(cls: type[Record], fields: Fields, what: str, **given: Any) -> Record:
    """A record (a dataclass) whose fields are read from a YAML mapping, one key each (see `from_yaml`);
    `given` fields come from elsewhere (an id, a line). Unknown keys are reported with the closest known one."""
    hints = _type_hints(cls)  # type: ignore[arg-type]
    known: list[str] = []
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not item.init or item.name in given:
            continue
        name = item.metadata.get("key") or item.name
        known.append(name)
        read = item.metadata.get("read") or _READERS[hints[item.name]]
        default = item.default if item.default is not dataclasses.MISSING else None
        if read is Fields.text:
            values[item.name] = fields.text(name, required=item.metadata.get("required", False), default=default or "")
        elif read is Fields.boolean:
            values[item.name] = fields.boolean(name, default=bool(default))
        else:
            values[item.name] = read(fields, name, item.metadata.get("required", False))
    fields.check_unknown(known, what)
    return cls(**given, **values)


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def is_web_url(text: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in text


def _shorten(text: str) -> str:
    """A value as quoted in a message: at most 40 characters."""
    return text if len(text) <= 40 else f"{text[:20]}…{text[-8:]} ({len(text)} characters)"


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return type(value).__name__
