"""Property tests (hypothesis) of the filter language: for any filter and any JSON body,
a filter and its $not never both match, and $and / $or agree with all / any."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.routing.filters import NOT_JSON, compile_filter, matches

settings.register_profile("herald", max_examples=200, deadline=None)
settings.load_profile("herald")

KEYS = ["a", "b", "0", "x/y"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, 1.0, 2.5])
    | st.sampled_from(["", "a", "b", "EUR"])
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=12,
)
pointers = st.lists(st.sampled_from(KEYS), min_size=0, max_size=3).map(
    lambda tokens: "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)
)
orderable = st.integers(-3, 3) | st.sampled_from([0.5, "", "a", "b"])
operators = st.one_of(
    st.tuples(st.sampled_from(["$eq", "$ne"]), documents),
    st.tuples(st.sampled_from(["$in", "$nin"]), st.lists(documents, max_size=4)),
    st.tuples(st.just("$exists"), st.booleans()),
    st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), orderable),
)
conditions = st.builds(
    lambda pointer, ops: {pointer: dict(ops)},
    pointers,
    st.lists(operators, min_size=1, max_size=3),
) | st.builds(lambda pointer, value: {pointer: value}, pointers, scalars)
filters = st.recursive(
    conditions,
    lambda children: (
        st.builds(lambda fs: {"$and": fs}, st.lists(children, min_size=1, max_size=3))
        | st.builds(lambda fs: {"$or": fs}, st.lists(children, min_size=1, max_size=3))
        | st.builds(lambda f: {"$not": f}, children)
    ),
    max_leaves=6,
)


def match(spec: dict[str, Any], document: Any) -> bool:
    return matches(compile_filter(spec), document)


@given(spec=filters, document=documents)
def test_a_filter_and_its_not_never_both_match(spec: dict[str, Any], document: Any) -> None:
    assert not (match(spec, document) and match({"$not": spec}, document))
    # every condition is true or false, so on a JSON body exactly one of them matches
    assert match(spec, document) != match({"$not": spec}, document)


@given(spec=filters)
def test_a_body_that_is_not_json_matches_neither_a_filter_nor_its_not(
    spec: dict[str, Any],
) -> None:
    assert not match(spec, NOT_JSON) and not match({"$not": spec}, NOT_JSON)


@given(specs=st.lists(filters, min_size=1, max_size=4), document=documents)
def test_and_or_agree_with_all_any(specs: list[dict[str, Any]], document: Any) -> None:
    each = [match(spec, document) for spec in specs]
    assert match({"$and": specs}, document) == all(each)
    assert match({"$or": specs}, document) == any(each)


@given(specs=st.lists(filters, min_size=2, max_size=3), document=documents)
def test_keys_of_one_filter_must_all_hold(specs: list[dict[str, Any]], document: Any) -> None:
    merged = {"$and": specs[:1], "$or": specs[1:]}
    expected = match(specs[0], document) and any(match(s, document) for s in specs[1:])
    assert match(merged, document) == expected
