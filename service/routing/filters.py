"""The language of a listener's `filter`: conditions on a message's JSON body (contract,
"Event types and routing"), compiled once into a predicate that ingest runs per message.

    {"/type": "invoice.paid"}                       equality (JSON equality)
    {"/data/amount": {"$gt": 100, "$lte": 5000}}   operators on one path (all must hold)
    {"$or": [{"/currency": "EUR"}, {"/data/eu": true}], "$not": {"/test": true}}

A filter is an object whose keys are JSON pointers (each with a value to equal, or an
object of operators: $eq $ne $in $nin $exists $gt $gte $lt $lte) or the combinators $and
and $or (lists of filters) and $not (a filter); all its keys must hold.

Every condition is true or false, never unknown:
- a path that names nothing satisfies `$exists: false`, `$ne` and `$nin`, and nothing else;
- equality is JSON equality: 1 equals 1.0, true is not 1, arrays and objects compare whole;
- `$gt $gte $lt $lte` compare two numbers, or two strings by code point; else they fail;
- a body that is not JSON matches no filter, nor any filter's `$not`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from service.lib.json_pointer import MISSING, POINTER_PATTERN

Predicate = Callable[[Any], bool]
NOT_JSON = object()  # what a body that is not JSON decodes to

MAX_DEPTH = 8  # nested $and, $or and $not
MAX_CONDITIONS = 100  # conditions on paths, in the whole filter
MAX_VALUES = 100  # items of one $and, $or, $in or $nin
MAX_POINTER_CHARS = 512
_POINTER = re.compile(POINTER_PATTERN)
_INDEX = re.compile(r"0|[1-9][0-9]{0,8}")
_NUMBER = (int, float)


class FilterError(ValueError):
    """A filter that cannot be compiled; `path` names the offending part, such as
    `filter["$and"][1]["/amount"]["$gt"]`."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def compile_filter(spec: Any, path: str = "filter") -> Predicate:
    """The predicate of `spec`, for decoded JSON; raises FilterError."""
    return _Compiler().filter(spec, path, depth=0)


def conditions_in(spec: Any) -> int:
    """How many conditions on paths `spec` holds (what judging a message costs, at most);
    raises FilterError."""
    compiler = _Compiler()
    compiler.filter(spec, "filter", depth=0)
    return compiler.conditions


def matches(predicate: Predicate, document: Any) -> bool:
    """Whether a decoded body (or NOT_JSON) satisfies a compiled filter."""
    return document is not NOT_JSON and predicate(document)


def _key(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}[{json.dumps(key)}]"


class _Compiler:
    def __init__(self) -> None:
        self.conditions = 0

    def filter(self, spec: Any, path: str, depth: int) -> Predicate:
        if depth > MAX_DEPTH:
            raise FilterError(path, f"nested more than {MAX_DEPTH} deep")
        if not isinstance(spec, dict) or not spec:
            raise FilterError(path, "a filter is a non-empty object")
        parts = [self.entry(key, value, _key(path, key), depth) for key, value in spec.items()]
        if len(parts) == 1:
            return parts[0]
        return lambda doc: all(part(doc) for part in parts)

    def entry(self, key: str, value: Any, path: str, depth: int) -> Predicate:
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not 1 <= len(value) <= MAX_VALUES:
                raise FilterError(path, f"{key} takes a list of 1 to {MAX_VALUES} filters")
            parts = [self.filter(item, _key(path, i), depth + 1) for i, item in enumerate(value)]
            if key == "$and":
                return lambda doc: all(part(doc) for part in parts)
            return lambda doc: any(part(doc) for part in parts)
        if key == "$not":
            inner = self.filter(value, path, depth + 1)
            return lambda doc: not inner(doc)
        if key.startswith("$"):
            raise FilterError(path, "unknown operator: a filter combines with $and, $or, $not")
        if len(key) > MAX_POINTER_CHARS or not _POINTER.match(key):
            raise FilterError(path, "a path is a JSON pointer such as /type or /data/amount")
        return self.path_condition(_getter(key), value, path)

    def path_condition(self, get: Callable[[Any], Any], value: Any, path: str) -> Predicate:
        operators = isinstance(value, dict) and any(k.startswith("$") for k in value)
        if not operators:
            self.count(path)
            test = _equals(value)
            return lambda doc: test(get(doc))
        if not all(k.startswith("$") for k in value):
            raise FilterError(path, 'mixes operators with fields: use {"$eq": {...}}')
        tests = []
        for operator, operand in value.items():
            self.count(path)
            tests.append(_operator(operator, operand, _key(path, operator)))
        if len(tests) == 1:
            test = tests[0]
            return lambda doc: test(get(doc))

        def check(doc: Any) -> bool:
            found = get(doc)
            return all(test(found) for test in tests)

        return check

    def count(self, path: str) -> None:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise FilterError(path, f"a filter holds at most {MAX_CONDITIONS} conditions")


def _operator(operator: str, operand: Any, path: str) -> Predicate:
    """A test on the value at a path (MISSING when the path names nothing)."""
    if operator == "$eq":
        return _equals(operand)
    if operator == "$ne":
        equal = _equals(operand)
        return lambda value: not equal(value)
    if operator in ("$in", "$nin"):
        if not isinstance(operand, list) or len(operand) > MAX_VALUES:
            raise FilterError(path, f"{operator} takes a list of at most {MAX_VALUES} values")
        member = _member_of(operand)
        if operator == "$in":
            return member
        return lambda value: not member(value)
    if operator == "$exists":
        if not isinstance(operand, bool):
            raise FilterError(path, "$exists takes true or false")
        if operand:
            return lambda value: value is not MISSING
        return lambda value: value is MISSING
    if operator in _ORDER:
        return _ordered(operator, operand, path)
    raise FilterError(path, "unknown operator: $eq $ne $in $nin $exists $gt $gte $lt $lte")


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def _ordered(operator: str, operand: Any, path: str) -> Predicate:
    compare = _ORDER[operator]
    if isinstance(operand, str):
        return lambda value: type(value) is str and compare(value, operand)
    if isinstance(operand, _NUMBER) and not isinstance(operand, bool):
        return lambda value: type(value) in _NUMBER and compare(value, operand)
    raise FilterError(path, f"{operator} compares with a number or a string")


def _equals(constant: Any) -> Predicate:
    """JSON equality with `constant`, with a fast test for scalars."""
    if constant is None:
        return lambda value: value is None
    if isinstance(constant, bool):
        return lambda value: value is constant
    if isinstance(constant, str):
        return lambda value: value == constant
    if isinstance(constant, _NUMBER):
        return lambda value: type(value) in _NUMBER and value == constant
    return lambda value: json_equal(value, constant)


def _member_of(constants: list[Any]) -> Predicate:
    strings = {c for c in constants if isinstance(c, str)}
    numbers = {c for c in constants if isinstance(c, _NUMBER) and not isinstance(c, bool)}
    others = [c for c in constants if c is None or isinstance(c, (bool, list, dict))]

    def member(value: Any) -> bool:
        kind = type(value)
        if kind is str:
            return value in strings
        if kind in _NUMBER:
            return value in numbers
        return any(json_equal(value, c) for c in others)

    return member


def json_equal(a: Any, b: Any) -> bool:
    """Equality of two decoded JSON values (where Python's == says True == 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, _NUMBER) and isinstance(b, _NUMBER):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _getter(pointer: str) -> Callable[[Any], Any]:
    """The value at a JSON pointer, or MISSING; a token that reads as an array index
    (0, or digits without a leading zero) also names an object's member of that name."""
    if not pointer:
        return lambda doc: doc
    steps = [
        (token, int(token) if _INDEX.fullmatch(token) else None)
        for token in (t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/"))
    ]

    def get(doc: Any) -> Any:
        value = doc
        for name, index in steps:
            kind = type(value)
            if kind is dict:
                value = value.get(name, MISSING)
                if value is MISSING:
                    return MISSING
            elif kind is list and index is not None and index < len(value):
                value = value[index]
            else:
                return MISSING
        return value

    return get
