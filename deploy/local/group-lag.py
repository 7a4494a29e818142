"""group-lag.py BROKERS GROUP TOPIC: print how many records of TOPIC the
consumer group GROUP has not committed yet (sum over partitions of the high
watermark minus the committed offset, or minus the low watermark where the
group committed nothing). Used by champion.sh to wait until the features
processor has caught up. Runs with the trainer venv's confluent-kafka."""

import sys

from confluent_kafka import Consumer, TopicPartition


def main() -> int:
    brokers, group, topic = sys.argv[1:4]
    c = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": group,
            "enable.auto.commit": False,
            "client.id": "storecast-group-lag",
        }
    )
    try:
        md = c.list_topics(topic, timeout=10)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            print(f"group-lag: topic {topic} not found", file=sys.stderr)
            return 2
        tps = [TopicPartition(topic, p) for p in sorted(t.partitions)]
        committed = c.committed(tps, timeout=10)
        lag = 0
        for tp in committed:
            low, high = c.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
            start = tp.offset if tp.offset >= 0 else low
            lag += max(0, high - start)
        print(lag)
        return 0
    finally:
        c.close()


if __name__ == "__main__":
    sys.exit(main())
