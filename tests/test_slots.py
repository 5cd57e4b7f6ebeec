"""A drain's slot accounting (pure): what it may claim, and when a claim is worth it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from tests.test_sink_guard import listener
from workers.listeners import ListenerConfig
from workers.slots import Slots


def config(**fields: object) -> ListenerConfig:
    return dataclasses.replace(listener("http://example.test/"), **fields)


def test_a_listener_gets_up_to_max_in_flight_and_claims_in_quarters() -> None:
    busy = config(max_in_flight=16)
    assert Slots().free(busy) == 16
    assert Slots(sending=12).free(busy) == 4 and Slots(sending=12).can_claim(busy)
    assert Slots(sending=13).free(busy) == 3 and not Slots(sending=13).can_claim(busy)
    assert Slots(sending=16).free(busy) == 0


def test_sends_run_ahead_of_their_records_by_four_claim_limits_at_most() -> None:
    busy = config(max_in_flight=16)
    assert Slots(sending=0, unrecorded=60).free(busy) == 4
    assert Slots(sending=0, unrecorded=64).free(busy) == 0
    assert Slots(sending=8, unrecorded=56).free(busy) == 0


def test_ordered_and_half_open_listeners_go_one_at_a_time_after_the_record() -> None:
    now = datetime.now(UTC)
    for one_at_a_time in (
        config(ordered=True),
        config(circuit_open_until=now - timedelta(seconds=1), loaded_at=now),
    ):
        assert Slots().free(one_at_a_time) == 1 and Slots().can_claim(one_at_a_time)
        assert Slots(sending=1).free(one_at_a_time) == 0
        assert Slots(unrecorded=1).free(one_at_a_time) == 0  # sent, not yet recorded


def test_a_rate_limited_listener_is_claimed_no_further_ahead_than_it_sends() -> None:
    assert Slots().free(config(max_in_flight=100, rate_limit_per_s=2)) == 20
    assert Slots().free(config(max_in_flight=100, rate_limit_per_s=0.01)) == 1
    assert Slots(sending=1).free(config(max_in_flight=100, rate_limit_per_s=0.01)) == 0


def test_a_batching_sink_gets_each_claim_in_two_parts() -> None:
    kafka = config(max_in_flight=256)
    assert Slots.claim_size(kafka, batches=True) == 128
    assert Slots.claim_size(kafka, batches=False) == 256
    assert Slots.claim_size(config(max_in_flight=1), batches=True) == 1
