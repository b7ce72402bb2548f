"""The batch publisher places keyed messages where aiokafka's default partitioner would."""

from aiokafka.partitioner import DefaultPartitioner

from stream.broker.publisher import partition_for


def test_keyed_messages_land_where_the_default_partitioner_puts_them() -> None:
    default = DefaultPartitioner()
    for count in (1, 3, 4, 12):
        partitions = list(range(count))
        for n in range(500):
            key = f"tenant-{n}".encode()
            assert partition_for(key, partitions, 0) == default(key, partitions, partitions)


def test_unkeyed_messages_go_to_the_fallback() -> None:
    assert partition_for(None, [0, 1, 2, 3], 2) == 2
