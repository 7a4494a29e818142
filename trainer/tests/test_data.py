"""Data handling: latest value per key of a compacted topic, decoding, filters."""

from __future__ import annotations

import math

import numpy as np
from conftest import NAMES, encode, example

from storecast_trainer.data import decode_examples, filter_examples, format_day, latest_per_key, parse_day


def test_day_round_trip() -> None:
    assert parse_day("1970-01-01") == 0
    assert parse_day("2015-06-19") == 16605
    assert format_day(16605) == "2015-06-19"


def test_latest_per_key_keeps_the_last_value_and_honours_tombstones() -> None:
    records = [
        (b"1|2015-01-01", b"a"),
        (b"2|2015-01-01", b"b"),
        (b"1|2015-01-01", b"a2"),
        (b"3|2015-01-01", b"c"),
        (b"3|2015-01-01", None),  # tombstone
        (None, b"keyless"),
        (b"2|2015-01-01", b"b2"),
    ]
    assert latest_per_key(records) == {b"1|2015-01-01": b"a2", b"2|2015-01-01": b"b2"}


def test_decode_keeps_feature_order_and_missing_values() -> None:
    ex = decode_examples([encode(example(3, 16600, 5, 1234.0, [3, 2, 1, 5, None, 0.5]))])
    assert ex.names == NAMES
    assert ex.schema == "f1"
    assert ex.store.tolist() == [3] and ex.date.tolist() == [16600] and ex.as_of.tolist() == [16595]
    assert ex.horizon.tolist() == [5] and ex.label.tolist() == [1234.0]
    assert ex.x[0, 0] == 3 and math.isnan(ex.x[0, 4]) and ex.x[0, 5] == 0.5


def test_decode_drops_a_minority_schema() -> None:
    other = example(1, 16600, 1, 10.0)
    other["schema"] = "f0"
    other["features"] = {"store": 1}
    ex = decode_examples(
        [encode(example(1, 16601, 1, 10.0)), encode(example(2, 16601, 1, 10.0)), encode(other)]
    )
    assert len(ex) == 2
    assert ex.dropped == {"schema 'f0' (1 features)": 1}


def test_filter_by_store_range_and_trading_days() -> None:
    rows = [example(s, d, 1, 0.0 if (s, d) == (1, 101) else 100.0) for s in (1, 2) for d in range(100, 106)]
    ex = decode_examples(rows)
    f = filter_examples(ex, store=1, start=101, end=104)
    assert sorted(f.date.tolist()) == [102, 103, 104]  # 101 has no sales
    assert set(f.store.tolist()) == {1}
    everything = filter_examples(ex)
    assert len(everything) == 11
    assert np.all(everything.label > 0)
    assert len(filter_examples(ex, store=0, end=99)) == 0


def test_decode_orders_rows_by_date_then_store() -> None:
    rows = [example(s, d, 1, 10.0) for d in (102, 100, 101) for s in (3, 1, 2)]
    ex = decode_examples([encode(r) for r in rows])
    assert list(zip(ex.date.tolist(), ex.store.tolist(), strict=True)) == [
        (d, s) for d in (100, 101, 102) for s in (1, 2, 3)
    ]
    assert ex.x[:, 0].tolist() == ex.store.tolist()  # features travel with their rows
