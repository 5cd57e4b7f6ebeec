"""Property tests (hypothesis): the body splitters and the retry policy hold for any input."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from service.messages.splitting import TooManyItems, split_array, split_delimited, split_ndjson
from workers.policy import JITTER, Outcome, Verdict, decide, retry_delay

LIMITS = {"max_item_bytes": 1 << 20, "max_items": 10_000}
settings.register_profile("herald", max_examples=200, deadline=None)
settings.load_profile("herald")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


@given(
    values=st.lists(json_values, max_size=30),
    newline=st.sampled_from([b"\n", b"\r\n"]),
    bom=st.booleans(),
    trailing=st.booleans(),
    blank_every=st.integers(min_value=0, max_value=5),
)
def test_ndjson_accepts_every_json_line_in_order_whatever_the_line_ends(
    values: list, newline: bytes, bom: bool, trailing: bool, blank_every: int
) -> None:
    lines = [json.dumps(v, ensure_ascii=False).encode() for v in values]
    padded: list[bytes] = []
    for n, line in enumerate(lines):
        if blank_every and n % blank_every == 0:
            padded.append(b"   ")  # blank lines are skipped and take no index
        padded.append(line)
    body = (b"\xef\xbb\xbf" if bom else b"") + newline.join(padded) + (newline if trailing else b"")

    split = split_ndjson(body, **LIMITS)

    assert split.failures == []
    assert [item.body for item in split.items] == lines
    assert [item.index for item in split.items] == list(range(len(lines)))


@given(body=st.binary(max_size=2000))
def test_ndjson_never_loses_a_line_of_arbitrary_bytes(body: bytes) -> None:
    split = split_ndjson(body, **LIMITS)
    non_blank = [
        line.removesuffix(b"\r")
        for line in body.removeprefix(b"\xef\xbb\xbf").split(b"\n")
        if line.removesuffix(b"\r").strip()
    ]
    assert split.count == len(non_blank)
    assert sorted([i.index for i in split.items] + [f.index for f in split.failures]) == list(
        range(len(non_blank))
    )
    for item in split.items:  # whatever is accepted is valid UTF-8 JSON
        json.loads(item.body.decode("utf-8"))
    for failure in split.failures:
        assert failure.reason


@given(
    chunks=st.lists(st.binary(min_size=1, max_size=50), max_size=30),
    delimiter=st.binary(min_size=1, max_size=4),
)
def test_delimited_gives_back_exactly_the_segments_between_delimiters(
    chunks: list[bytes], delimiter: bytes
) -> None:
    chunks = [c for c in chunks if delimiter not in c and c.strip()]
    # A chunk may end with the delimiter's prefix and so create a new occurrence once joined.
    body = delimiter.join(chunks)
    expected = [segment for segment in body.split(delimiter) if segment.strip()]

    split = split_delimited(body, delimiter, **LIMITS)

    assert [item.body for item in split.items] == expected
    assert split.failures == []


@given(count=st.integers(min_value=0, max_value=40), limit=st.integers(min_value=1, max_value=30))
def test_more_items_than_the_limit_are_refused_whole(count: int, limit: int) -> None:
    body = b"\n".join(b"{}" for _ in range(count))
    try:
        split = split_ndjson(body, max_item_bytes=1 << 20, max_items=limit)
    except TooManyItems:
        assert count > limit
    else:
        assert count <= limit and len(split.items) == count


@given(values=st.lists(json_values, max_size=30))
def test_array_split_keeps_each_element_exactly(values: list) -> None:
    elements = [json.dumps(v).encode() for v in values]
    split = split_array(b"[" + b", ".join(elements) + b"]", **LIMITS)
    assert [item.body for item in split.items] == elements


schedules = st.lists(st.floats(min_value=0.1, max_value=86_400), min_size=1, max_size=12)


@given(
    attempt=st.integers(min_value=1, max_value=50),
    schedule=schedules,
    seed=st.integers(),
    retry_after=st.none() | st.floats(min_value=0, max_value=10**7),
)
def test_retry_delay_stays_within_jitter_or_honours_retry_after_up_to_the_longest_step(
    attempt: int, schedule: list[float], seed: int, retry_after: float | None
) -> None:
    step = schedule[min(attempt, len(schedule)) - 1]
    delay = retry_delay(attempt, schedule, retry_after_s=retry_after, rng=random.Random(seed))
    low, high = step * (1 - JITTER), step * (1 + JITTER)
    if retry_after is None:
        assert low <= delay <= high
    else:
        assert delay >= min(retry_after, max(schedule)) and delay >= low
        assert delay <= max(high, max(schedule))


@given(
    status=st.integers(min_value=100, max_value=599) | st.none(),
    attempt=st.integers(min_value=1, max_value=30),
    max_attempts=st.integers(min_value=1, max_value=30),
    schedule=schedules,
    seed=st.integers(),
)
def test_every_outcome_gets_exactly_one_verdict_and_a_retry_is_always_in_the_future(
    status: int | None, attempt: int, max_attempts: int, schedule: list[float], seed: int
) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    outcome = Outcome(status_code=status, error=None if status else "connection refused")
    decision = decide(
        outcome, attempt=attempt, max_attempts=max_attempts, schedule=schedule, now=now,
        rng=random.Random(seed),
    )  # fmt: skip
    if status is not None and 200 <= status < 300:
        assert decision.verdict is Verdict.DELIVERED
    elif status == 410:
        assert decision.verdict is Verdict.GONE
    elif attempt >= max_attempts:
        assert decision.verdict is Verdict.FAILED
    else:
        assert decision.verdict is Verdict.RETRY
        assert decision.next_attempt_at is not None
        assert now < decision.next_attempt_at <= now + timedelta(seconds=max(schedule) * 1.2)
    if decision.verdict is not Verdict.RETRY:
        assert decision.next_attempt_at is None
