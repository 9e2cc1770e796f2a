"""Build a deterministic JSON value valid against a JSON schema (tool arguments, structured output).

Covers what tool and response schemas use in practice: ``type`` (or a list of types, or inferred
from the keywords present), ``object`` (``properties``, ``required``, ``additionalProperties``,
``min/maxProperties``), ``string`` (``enum``, ``const``, ``format`` date / date-time / time /
email / uri / uuid / ipv4 / ipv6 / hostname, ``min/maxLength``, a simple ``pattern``), ``integer``
and ``number`` (``minimum`` / ``maximum``, both ``exclusive*`` styles, ``multipleOf``),
``boolean``, ``null``, ``array`` (``items``, ``prefixItems``, the old tuple ``items``,
``min/maxItems``, ``uniqueItems``), ``anyOf`` / ``oneOf`` / ``allOf``, ``$ref`` into ``$defs`` /
``definitions`` (recursion bounded), and OpenAPI's ``nullable``.

Strings are derived from the request: the first words of the user's text, or the property name
when there is no text. The same schema and text always give the same value.

The work is bounded (:data:`LIMITS`): a schema asking for a longer string, a longer array, more
properties, or more values or characters in all than the limits raises
:class:`SchemaInstanceError` naming the limit, before anything large is built. A ``pattern`` is
only ever tried on short strings, so a catastrophic regex cannot run for long.
"""

from __future__ import annotations

import functools
import importlib
import math
import re
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["LIMITS", "SchemaInstanceError", "SchemaLimits", "schema_instance"]


@dataclass(frozen=True)
class SchemaLimits:
    """The most a generated instance may hold (documented in the README)."""

    max_string_length: int = 100_000  # characters of one string (minLength above: refused)
    max_items: int = 10_000  # items of one array (minItems above: refused)
    max_properties: int = 10_000  # properties of one object (minProperties above: refused)
    max_values: int = 20_000  # values in the whole instance
    max_chars: int = 1_000_000  # characters of all strings of the instance
    max_pattern_length: int = 1_000  # characters of a ``pattern``
    max_probe_length: int = 24  # longest string a ``pattern`` is tried on


LIMITS = SchemaLimits()


class SchemaInstanceError(ValueError):
    """The schema asks for more than :data:`LIMITS` allow, or for numbers that cannot exist."""


_MAX_WORDS = 12
_FULL_DEPTH = 8  # past this depth only required properties and minItems items are built
_MAX_DEPTH = 32  # hard stop for pathological recursive schemas
_MAX_STEPS = 1_000  # steps when searching a multiple of multipleOf inside the bounds

_FORMATS: dict[str, str] = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "duration": "P1D",
}
_PATTERN_CANDIDATES = ("a", "A", "0", "1", "abc", "ABC", "a1", "value", "x-1", "2024-01-01")


def schema_instance(schema: Any, *, text: str = "", name: str = "value") -> Any:
    """A value valid against ``schema``, with strings drawn from ``text`` (else from ``name``).

    Raises :class:`SchemaInstanceError` when the value would exceed :data:`LIMITS`.
    """
    try:
        return _Builder(schema, text).build(schema, name, 0, 0)
    except (OverflowError, ArithmeticError) as exc:
        raise SchemaInstanceError(f"cannot build a number for this schema: {exc}") from None


def _check_count(keyword: str, value: object, limit: int, unit: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value > limit:
        raise SchemaInstanceError(
            f"{keyword} {value} is above the local gateway's limit of {limit} {unit}"
        )


class _Builder:
    def __init__(self, root: Any, text: str) -> None:
        self.root = root
        self.words = " ".join(text.split()[:_MAX_WORDS])
        self.values = 0
        self.chars = 0

    def count(self, chars: int = 0) -> None:
        """Account for one more value (and its characters) against the limits."""
        self.values += 1
        self.chars += chars
        if self.values > LIMITS.max_values:
            raise SchemaInstanceError(
                f"the schema asks for more than the local gateway's limit of {LIMITS.max_values} "
                "values in one answer"
            )
        if self.chars > LIMITS.max_chars:
            raise SchemaInstanceError(
                f"the schema asks for more than the local gateway's limit of {LIMITS.max_chars} "
                "characters in one answer"
            )

    # --- schema plumbing --------------------------------------------------------------------
    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return {}  # remote references cannot be fetched offline: accept anything
        node: Any = self.root
        for raw in ref[1:].split("/"):
            if not raw:
                continue
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return {}
        return node

    def flatten(self, schema: Mapping[str, Any], depth: int) -> Mapping[str, Any]:
        """Inline ``$ref`` and ``allOf`` so the rest only deals with plain keywords."""
        for _ in range(_MAX_DEPTH):
            if "$ref" in schema:
                target = self.resolve(str(schema["$ref"]))
                rest = {k: v for k, v in schema.items() if k != "$ref"}
                schema = _merge(target if isinstance(target, Mapping) else {}, rest)
            elif "allOf" in schema and isinstance(schema["allOf"], list):
                merged: Mapping[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
                for part in schema["allOf"]:
                    if isinstance(part, Mapping):
                        merged = _merge(merged, self.flatten(part, depth + 1))
                schema = merged
            else:
                break
        return schema

    # --- dispatch ---------------------------------------------------------------------------
    def build(self, schema: Any, name: str, depth: int, variant: int) -> Any:
        if schema is True or schema is None or depth > _MAX_DEPTH:
            return self.string({}, name, variant)
        if schema is False or not isinstance(schema, Mapping):
            self.count()
            return None
        schema = self.flatten(schema, depth)
        if "const" in schema:
            self.count()
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            self.count()
            return enum[variant % len(enum)]
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                branch = _pick_branch(branches, self)
                rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
                flat = self.flatten(branch, depth + 1) if isinstance(branch, Mapping) else {}
                return self.build(_merge(rest, flat), name, depth + 1, variant)
        kind = _type_of(schema)
        if kind == "object":
            return self.object(schema, name, depth, variant)
        if kind == "array":
            return self.array(schema, name, depth, variant)
        if kind in ("integer", "number", "boolean", "null"):
            self.count()
        if kind == "integer":
            return _number(schema, integer=True, variant=variant)
        if kind == "number":
            return _number(schema, integer=False, variant=variant)
        if kind == "boolean":
            return variant % 2 == 0
        if kind == "null":
            return None
        return self.string(schema, name, variant)

    # --- kinds --------------------------------------------------------------------------------
    def object(self, schema: Mapping[str, Any], name: str, depth: int, variant: int) -> Any:
        self.count()
        _check_count(
            "minProperties", schema.get("minProperties"), LIMITS.max_properties, "properties"
        )
        props = schema.get("properties")
        props = props if isinstance(props, Mapping) else {}
        required = [r for r in schema.get("required", []) if isinstance(r, str)]
        extra = schema.get("additionalProperties", True)
        max_props = schema.get("maxProperties")
        result: dict[str, Any] = {}
        for key in required:
            sub = props.get(key, extra if isinstance(extra, Mapping) else True)
            result[key] = self.build(sub, key, depth + 1, variant)
        if depth < _FULL_DEPTH:
            for key, sub in props.items():
                if key in result or sub is False:
                    continue
                if isinstance(max_props, int) and len(result) >= max_props:
                    break
                result[key] = self.build(sub, key, depth + 1, variant)
        min_props = schema.get("minProperties")
        if isinstance(min_props, int) and extra is not False:
            sub = extra if isinstance(extra, Mapping) else True
            index = 1
            while len(result) < min_props:
                key = f"{name}_{index}"
                if key not in result:
                    result[key] = self.build(sub, key, depth + 1, variant)
                index += 1
        return result

    def array(self, schema: Mapping[str, Any], name: str, depth: int, variant: int) -> Any:
        self.count()
        _check_count("minItems", schema.get("minItems"), LIMITS.max_items, "items")
        prefix = schema.get("prefixItems")
        items = schema.get("items", True)
        if isinstance(items, list):  # draft 4-7 tuple form
            prefix, items = items, schema.get("additionalItems", True)
        prefix = prefix if isinstance(prefix, list) else []
        min_items = schema.get("minItems", 0)
        max_items = schema.get("maxItems")
        count = max(min_items if isinstance(min_items, int) else 0, len(prefix))
        if count == 0 and items is not False and depth < _FULL_DEPTH:
            count = 1  # one item shows the shape better than an empty list
        if isinstance(max_items, int):
            count = min(count, max_items)
        if items is False:
            count = min(count, len(prefix))
        unique = bool(schema.get("uniqueItems"))
        values: list[Any] = []
        for index in range(count):
            sub = prefix[index] if index < len(prefix) else items
            item_variant = variant + index if unique else variant
            values.append(self.build(sub, name, depth + 1, item_variant))
        contains = schema.get("contains")
        if isinstance(contains, Mapping) and not prefix and values:
            values[0] = self.build(contains, name, depth + 1, variant)
        return values

    def string(self, schema: Mapping[str, Any], name: str, variant: int) -> str:
        value = self._string(schema, name, variant)
        self.count(len(value))
        return value

    def _string(self, schema: Mapping[str, Any], name: str, variant: int) -> str:
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            value = _FORMATS[fmt]
            return value if variant == 0 else _vary_format(fmt, value, variant)
        if fmt == "uuid":
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}:{self.words}:{variant}"))
        base = self.words or name.replace("_", " ").strip() or "value"
        if variant:
            base = f"{base} {variant + 1}"
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            base = _fit_pattern(pattern, base, name)
        min_len = schema.get("minLength")
        _check_count("minLength", min_len, LIMITS.max_string_length, "characters per string")
        max_len = schema.get("maxLength")
        if isinstance(min_len, int) and len(base) < min_len:
            base = base + "x" * (min_len - len(base))
        if isinstance(max_len, int) and len(base) > max_len:
            base = base[:max_len]
        return base


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> Mapping[str, Any]:
    """Merge two schemas for ``allOf``/``$ref`` siblings: properties and required add up."""
    merged = dict(a)
    for key, value in b.items():
        if (
            key == "properties"
            and isinstance(merged.get(key), Mapping)
            and isinstance(value, Mapping)
        ):
            merged[key] = {**merged[key], **value}
        elif key == "required" and isinstance(merged.get(key), list) and isinstance(value, list):
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        else:
            merged[key] = value
    return merged


def _is_null_only(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "null"


def _pick_branch(branches: list[Any], builder: _Builder) -> Any:
    # Prefer a non-null branch: Optional[X] should show an X, not a null.
    for branch in branches:
        resolved = builder.flatten(branch, 0) if isinstance(branch, Mapping) else branch
        if not _is_null_only(resolved) and branch is not False:
            return branch
    return branches[0]


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        kind = non_null[0] if non_null else "null"
    if isinstance(kind, str):
        return kind
    if any(
        k in schema for k in ("properties", "required", "additionalProperties", "minProperties")
    ):
        return "object"
    if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems")):
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        return "number"
    if "multipleOf" in schema:
        return "number"
    return "string"


def _bound(schema: Mapping[str, Any], plain: str, exclusive: str) -> tuple[float | None, bool]:
    """A bound and whether it is exclusive, for both JSON Schema styles (draft 4 booleans and
    draft 6+ numbers)."""
    value = _num(schema.get(plain))
    excl = schema.get(exclusive)
    if isinstance(excl, bool):
        return value, excl and value is not None
    limit = _num(excl)
    if limit is not None:
        if value is not None and (
            (plain == "minimum" and value > limit) or (plain == "maximum" and value < limit)
        ):
            return value, False
        return limit, True
    return value, False


def _num(value: object) -> float | None:
    """``value`` as a float when it is a JSON number (booleans are not)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if not math.isfinite(number):
            raise SchemaInstanceError(f"invalid number {value!r} in the schema")
        return number
    return None


def _number(schema: Mapping[str, Any], *, integer: bool, variant: int) -> int | float:
    lo, lo_excl = _bound(schema, "minimum", "exclusiveMinimum")
    hi, hi_excl = _bound(schema, "maximum", "exclusiveMaximum")
    multiple = _num(schema.get("multipleOf"))
    step = multiple if multiple is not None and multiple > 0 else None
    if integer:
        low = None if lo is None else (math.floor(lo) + 1 if lo_excl else math.ceil(lo))
        high = None if hi is None else (math.ceil(hi) - 1 if hi_excl else math.floor(hi))
        value: float = 1 + variant
        if low is not None and value < low:
            value = low + variant
        if high is not None and value > high:
            value = high if low is None else max(low, high - variant)
        if step is not None:
            value = _to_multiple(value, step, low, high)
        return int(value)
    low_f, high_f = lo, hi
    value = 1.0 + variant
    if low_f is not None and (value < low_f or (lo_excl and value <= low_f)):
        gap = 1.0 if high_f is None else min(1.0, (high_f - low_f) / 2)
        value = low_f + gap if lo_excl else low_f
    if high_f is not None and (value > high_f or (hi_excl and value >= high_f)):
        gap = 1.0 if low_f is None else min(1.0, (high_f - low_f) / 2)
        value = high_f - gap if hi_excl else high_f
    if step is not None:
        value = _to_multiple(value, step, low_f, high_f, lo_excl, hi_excl)
    return value


def _to_multiple(
    value: float,
    step: float,
    low: float | None,
    high: float | None,
    low_excl: bool = False,
    high_excl: bool = False,
) -> float:
    """The multiple of ``step`` nearest above ``value`` that stays inside the bounds."""
    exact = Decimal(repr(step))

    def at(k: int) -> float:
        return float(exact * k)

    k = math.ceil(value / step)
    if low is not None:
        k = max(k, math.floor(low / step))
        for _ in range(_MAX_STEPS):
            if not (at(k) < low or (low_excl and at(k) <= low)):
                break
            k += 1
        else:
            raise SchemaInstanceError(f"no multiple of {step!r} found above {low!r}")
    if high is not None and (at(k) > high or (high_excl and at(k) >= high)):
        k = math.floor(high / step)
        if high_excl and at(k) >= high:
            k -= 1
    result = at(k)
    return result


def _fit_pattern(pattern: str, base: str, name: str) -> str:
    """Keep ``base`` when it matches ``pattern`` (JSON Schema patterns are unanchored searches);
    else build the shortest string the regex's own parse tree describes; else try a few plain
    candidates. Back-references and lookarounds are not solved.

    A hostile pattern (``^(a+)+$``) backtracks exponentially on a string it almost matches, and
    the regex engine holds the GIL while it does: so a pattern is only tried on short strings,
    and the caller's text only when the pattern has no nested repetition."""
    if len(pattern) > LIMITS.max_pattern_length:
        raise SchemaInstanceError(
            f"pattern of {len(pattern)} characters is above the local gateway's limit of "
            f"{LIMITS.max_pattern_length}"
        )
    compiled, safe, built = _pattern_plan(pattern)
    if compiled is None:
        return base
    if safe and len(base) <= LIMITS.max_probe_length and compiled.search(base):
        return base
    for candidate in (built, name, *_PATTERN_CANDIDATES):
        if (
            candidate is not None
            and len(candidate) <= LIMITS.max_probe_length
            and compiled.search(candidate)
        ):
            return candidate
    if built is not None and safe:
        return built  # longer than a probe, but built to match a pattern that cannot blow up
    return base


@functools.lru_cache(maxsize=256)
def _pattern_plan(pattern: str) -> tuple[re.Pattern[str] | None, bool, str | None]:
    """The compiled pattern, whether it is safe to try on the caller's text, and the shortest
    string its parse tree describes (``None`` when that cannot be worked out)."""
    try:
        compiled = re.compile(pattern)
        parsed = _REGEX_PARSER.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return None, False, None
    try:
        built: str | None = _from_regex(parsed)
    except SchemaInstanceError:
        raise
    except Exception:
        built = None
    return compiled, not _nested_repeat(parsed, inside=False), built


def _nested_repeat(parsed: Any, *, inside: bool) -> bool:
    """Whether a repetition contains another one (or an alternation): the shape of regexes
    whose backtracking is exponential."""
    for code, value in parsed:
        kind = _op(code)
        if kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if inside or _nested_repeat(value[2], inside=True):
                return True
        elif kind in ("SUBPATTERN", "ATOMIC_GROUP"):
            if _nested_repeat(value[-1], inside=inside):
                return True
        elif kind == "BRANCH":
            if inside or any(_nested_repeat(b, inside=inside) for b in value[1]):
                return True
        elif kind in ("ASSERT", "ASSERT_NOT") and _nested_repeat(value[1], inside=inside):
            return True
    return False


# The standard library's regex parser (public as sre_parse up to 3.10, re._parser since 3.11).
_REGEX_PARSER: Any = importlib.import_module(
    "re._parser" if sys.version_info >= (3, 11) else "sre_parse"
)
_CATEGORY_CHARS = {
    "CATEGORY_DIGIT": "0",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
}


def _op(code: Any) -> str:
    return str(getattr(code, "name", code))


def _char_in(items: Any) -> str:
    """A character of a ``[...]`` class."""
    negate = False
    allowed: list[str] = []
    members: list[tuple[str, Any]] = []
    for code, value in items:
        kind = _op(code)
        if kind == "NEGATE":
            negate = True
        elif kind == "LITERAL":
            allowed.append(chr(value))
            members.append((kind, value))
        elif kind == "RANGE":
            allowed.append(chr(value[0]))
            members.append((kind, value))
        elif kind == "CATEGORY":
            allowed.append(_CATEGORY_CHARS[_op(value)])
            members.append((kind, value))
        else:
            raise ValueError(kind)
    if not negate:
        return allowed[0]
    for candidate in "aA0_-x ":
        inside = any(
            (k == "LITERAL" and chr(v) == candidate)
            or (k == "RANGE" and v[0] <= ord(candidate) <= v[1])
            or (k == "CATEGORY" and _CATEGORY_CHARS[_op(v)] == candidate)
            for k, v in members
        )
        if not inside:
            return candidate
    raise ValueError("negated class")


def _from_regex(parsed: Any) -> str:
    """The shortest string a parsed regex describes (anchors and repeats at their minimum)."""
    out: list[str] = []
    for code, value in parsed:
        kind = _op(code)
        if kind == "LITERAL":
            out.append(chr(value))
        elif kind == "NOT_LITERAL":
            out.append("a" if value != ord("a") else "b")
        elif kind == "ANY":
            out.append("a")
        elif kind == "IN":
            out.append(_char_in(value))
        elif kind == "CATEGORY":
            out.append(_CATEGORY_CHARS[_op(value)])
        elif kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _, sub = value
            _check_count("a pattern's repeat count", low, LIMITS.max_string_length, "characters")
            out.append(_from_regex(sub) * low)
        elif kind in ("SUBPATTERN", "ATOMIC_GROUP"):
            out.append(_from_regex(value[-1]))
        elif kind == "BRANCH":
            out.append(_from_regex(value[1][0]))
        elif kind != "AT":  # anchors add nothing; anything else is not supported
            raise ValueError(kind)
    return "".join(out)


def _vary_format(fmt: str, value: str, variant: int) -> str:
    """A distinct value of the same format, for arrays with ``uniqueItems``."""
    if fmt == "date":
        return f"2024-01-{1 + variant % 28:02d}"
    if fmt == "date-time":
        return f"2024-01-{1 + variant % 28:02d}T00:00:00Z"
    if fmt in ("email", "idn-email"):
        return f"user{variant + 1}@example.com"
    if fmt in ("uri", "url", "iri", "uri-reference"):
        return f"https://example.com/{variant + 1}"
    if fmt in ("hostname", "idn-hostname"):
        return f"host{variant + 1}.example.com"
    if fmt == "ipv4":
        return f"127.0.0.{1 + variant % 254}"
    return value
