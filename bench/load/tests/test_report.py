from pathlib import Path

import pytest

import report

HEADER = (
    '"Type","Name","Request Count","Failure Count","Median Response Time","Average Response Time",'
    '"Min Response Time","Max Response Time","Average Content Size","Requests/s","Failures/s",'
    '"50%","66%","75%","80%","90%","95%","98%","99%","99.9%","99.99%","100%"\n'
)


def write(tmp_path: Path, rows: list[str]) -> Path:
    p = tmp_path / "x_stats.csv"
    p.write_text(HEADER + "".join(r + "\n" for r in rows))
    return p


def test_endpoints_and_target(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        [
            '"POST","/predict",1000,0,4,5,1,80,120,100.5,0,4,5,6,7,9,12,20,30,70,80,80',
            '"GET","/model/info",100,2,3,3,1,9,900,10,0.2,3,3,3,3,4,5,6,9,9,9,9',
            '"","Aggregated",1100,2,4,5,1,80,200,110.5,0.2,4,5,6,7,9,12,20,29,70,80,80',
        ],
    )
    eps = report.endpoints(p)
    assert eps["/predict"] == {
        "requests": 1000,
        "failures": 0,
        "rps": 100.5,
        "p50_ms": 4.0,
        "p95_ms": 12.0,
        "p99_ms": 30.0,
    }
    assert eps["total"]["failures"] == 2
    assert not report.target_met(200, eps)  # 2 failures
    eps["total"]["failures"] = 0
    assert report.target_met(200, eps)
    assert not report.target_met(100, eps)  # fewer users than the target
    eps["/predict"]["p99_ms"] = 51
    assert not report.target_met(200, eps)


def test_not_a_stats_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Aggregated"):
        report.endpoints(write(tmp_path, ['"GET","/x",1,0,1,1,1,1,1,1,0,1,1,1,1,1,1,1,1,1,1,1']))
