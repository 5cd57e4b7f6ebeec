"""A Kafka listener's records land on the partition Kafka's default partitioner picks for
their key, the one any other producer of the same key would pick."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from workers.sinks.kafka import partition_for


@given(key=st.binary(max_size=80), count=st.integers(min_value=1, max_value=64))
def test_a_key_gets_the_partition_the_default_partitioner_picks(key: bytes, count: int) -> None:
    partitions = list(range(count))
    assert partition_for(key, partitions) == DefaultPartitioner()(key, partitions, partitions)


def test_keys_spread_over_the_partitions() -> None:
    chosen = {partition_for(b"customer-%d" % n, [0, 1, 2]) for n in range(100)}
    assert chosen == {0, 1, 2}
