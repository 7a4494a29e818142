"""Data handling: latest value per key of a compacted topic, decoding, filters."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest
from conftest import NAMES, encode, example

from storecast_trainer import data
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


def _same_rows(a: data.Rows, b: data.Rows) -> None:
    assert a.groups == b.groups
    np.testing.assert_array_equal(a.group, b.group)
    np.testing.assert_array_equal(a.x, b.x)  # NaN where NaN
    for c in ("store", "date", "as_of", "horizon", "label"):
        np.testing.assert_array_equal(getattr(a, c), getattr(b, c), err_msg=c)
        assert getattr(a, c).dtype == getattr(b, c).dtype, c


def test_bulk_decoding_gives_the_rows_of_decoding_each_value() -> None:
    pretty = example(9, 16601, 2, 77.0, [9, 3, 0, 2, None, -1.25])
    values = [
        encode(example(1, 16600, 1, 1234.0)),
        encode(example(2, 16600, 48, 0.0, [2, 7, 1, 48, 1e12, 3])),
        bytearray(encode(example(3, 16599, 5, 8959, [None] * 6))),
        orjson.dumps(pretty, option=orjson.OPT_INDENT_2),  # newlines between fields
        example(4, 16000, 3, 12.5),  # an already-parsed value
    ]
    each = data._parse_each([orjson.loads(bytes(v)) if not isinstance(v, dict) else v for v in values], [])
    _same_rows(data._parse_bulk([bytes(v) if isinstance(v, bytearray) else v for v in values], []), each)
    _same_rows(data.parse_rows(values), each)
    # Rows decoded later share the groups of earlier ones.
    groups = [("f0", ("store",))]
    later = data._parse_bulk([encode(example(5, 16600, 1, 1.0))], groups)
    assert groups == [("f0", ("store",)), ("f1", tuple(NAMES))] and later.group.tolist() == [1]
    assert later.x.shape == (1, len(NAMES))


def test_values_of_several_schemas_are_decoded_one_at_a_time() -> None:
    other = example(1, 16600, 1, 10.0)
    other["schema"], other["features"] = "f0", {"store": 1, "promo": 0}
    values = [encode(example(2, 16600, 1, 5.0)), encode(other)]
    with pytest.raises(data._NotBulkError, match="more than one schema"):
        data._parse_bulk(values, [])
    rows = data.parse_rows(values)
    assert rows.groups == [("f1", tuple(NAMES)), ("f0", ("store", "promo"))]
    assert rows.group.tolist() == [0, 1] and rows.x[1, :2].tolist() == [1, 0] and np.isnan(rows.x[1, 2])
