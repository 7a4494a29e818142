"""The HTTP and SQL edges of the DAG: Storecast's APIs, the read-only sales database, Airflow's REST API.

Each client is a small class over one Airflow connection; the task callables in
:mod:`storecast_airflow.pipeline` depend on the protocols below, so tests pass fakes.
Nothing here runs at import time: the DAG file builds clients inside tasks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

import requests

# Connection ids, provisioned by deploy/local/airflow.sh from the stack's environment.
TRAIN_API_CONN = "storecast_train_api"
FORECAST_API_CONN = "storecast_forecast_api"
SALES_DB_CONN = "storecast_sales_reader"
AIRFLOW_API_CONN = "storecast_airflow_api"

# Seconds an HTTP call may take; long waits are the sensors' business, not a socket's.
HTTP_TIMEOUT = 30.0


class StorecastError(RuntimeError):
    """An edge answered with something the pipeline cannot use (wrong status, bad body)."""


class TrainingAPI(Protocol):
    def request_training(self, body: dict[str, Any]) -> dict[str, Any]: ...

    def training_status(self, request_id: str) -> dict[str, Any]: ...


class ForecastAPI(Protocol):
    def start_forecast_job(self, body: dict[str, Any]) -> dict[str, Any]: ...

    def forecast_job(self, job_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SalesFreshness:
    """What the freshness check reads from rossman_sales."""

    latest_day: dt.date | None
    stores: int
    stores_recent: int


class SalesDB(Protocol):
    def freshness(self, lag_days: int) -> SalesFreshness: ...

    def job_rows(self, job_id: str) -> int: ...


class RunNotes(Protocol):
    def set_note(self, dag_id: str, run_id: str, note: str) -> None: ...


@dataclass(frozen=True)
class HTTPEndpoint:
    """A base URL and an optional bearer token (from a connection's host, port and password)."""

    base_url: str
    token: str = ""


def _call(
    session: requests.Session, method: str, url: str, token: str, want: set[int], **kw: Any
) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        resp = session.request(method, url, headers=headers, timeout=HTTP_TIMEOUT, **kw)
    except requests.RequestException as e:
        raise StorecastError(f"{method} {url}: {e}") from e
    if resp.status_code not in want:
        raise StorecastError(f"{method} {url}: status {resp.status_code}: {resp.text[:500]}")
    try:
        return resp.status_code, resp.json() if resp.content else {}
    except ValueError as e:
        raise StorecastError(f"{method} {url}: body is not JSON: {resp.text[:200]}") from e


class StorecastHTTP:
    """The training API (POST /train, GET /train/{id}) and the forecast-job API of storecast serve."""

    def __init__(self, train: HTTPEndpoint, forecast: HTTPEndpoint, session: requests.Session | None = None):
        self._train = train
        self._forecast = forecast
        self._session = session or requests.Session()

    def request_training(self, body: dict[str, Any]) -> dict[str, Any]:
        _, out = _call(
            self._session, "POST", f"{self._train.base_url}/train", self._train.token, {202}, json=body
        )
        return out

    def training_status(self, request_id: str) -> dict[str, Any]:
        _, out = _call(self._session, "GET", f"{self._train.base_url}/train/{request_id}", "", {200})
        return out

    def start_forecast_job(self, body: dict[str, Any]) -> dict[str, Any]:
        _, out = _call(
            self._session,
            "POST",
            f"{self._forecast.base_url}/v1/forecast-jobs",
            self._forecast.token,
            {202},
            json=body,
        )
        return out

    def forecast_job(self, job_id: str) -> dict[str, Any]:
        _, out = _call(
            self._session, "GET", f"{self._forecast.base_url}/v1/forecast-jobs/{job_id}", "", {200}
        )
        return out


class PostgresSales:
    """rossman_sales and forecast_results through a read-only role (psycopg2, one connection per call)."""

    def __init__(self, dsn: str):
        self._dsn = dsn

    def _query(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
        import psycopg2  # imported here: the DAG file must not pay for it at parse time

        try:
            conn = psycopg2.connect(self._dsn, connect_timeout=10)
        except psycopg2.Error as e:
            raise StorecastError(f"connect to the sales database: {e}") from e
        try:
            conn.set_session(readonly=True, autocommit=True)
            with conn.cursor() as cur:
                cur.execute(sql, args)
                row = cur.fetchone()
                return tuple(row) if row else ()
        except psycopg2.Error as e:
            raise StorecastError(f"query the sales database: {e}") from e
        finally:
            conn.close()

    def freshness(self, lag_days: int) -> SalesFreshness:
        latest, stores, recent = self._query(
            """
            WITH last AS (SELECT store, max(date) AS day FROM rossman_sales GROUP BY store)
            SELECT max(day), count(*),
                   count(*) FILTER (WHERE day >= (SELECT max(day) FROM last) - %s::int)
            FROM last
            """,
            (lag_days,),
        )
        return SalesFreshness(latest_day=latest, stores=stores or 0, stores_recent=recent or 0)

    def job_rows(self, job_id: str) -> int:
        (n,) = self._query("SELECT count(*) FROM forecast_results WHERE job_id = %s", (job_id,))
        return int(n)


class AirflowNotes:
    """Sets a DAG run's note through Airflow's stable REST API (/api/v2) with a JWT from /auth/token."""

    def __init__(self, base_url: str, username: str, password: str, session: requests.Session | None = None):
        self._base = base_url.rstrip("/")
        self._user = username
        self._password = password
        self._session = session or requests.Session()

    def token(self) -> str:
        _, out = _call(
            self._session,
            "POST",
            f"{self._base}/auth/token",
            "",
            {200, 201},
            json={"username": self._user, "password": self._password},
        )
        tok = out.get("access_token") if isinstance(out, dict) else None
        if not tok:
            raise StorecastError(f"POST {self._base}/auth/token: no access_token in the answer")
        return tok

    def set_note(self, dag_id: str, run_id: str, note: str) -> None:
        from urllib.parse import quote

        _call(
            self._session,
            "PATCH",
            f"{self._base}/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
            self.token(),
            {200},
            params={"update_mask": "note"},
            json={"note": note},
        )


def _endpoint(conn: Any) -> HTTPEndpoint:
    scheme = conn.schema or "http"
    if scheme not in ("http", "https"):
        scheme = "http"
    port = f":{conn.port}" if conn.port else ""
    return HTTPEndpoint(base_url=f"{scheme}://{conn.host}{port}", token=conn.password or "")


def _postgres_dsn(conn: Any) -> str:
    from urllib.parse import quote

    port = conn.port or 5432
    return (
        f"postgresql://{quote(conn.login or '', safe='')}:{quote(conn.password or '', safe='')}"
        f"@{conn.host}:{port}/{quote(conn.schema or '', safe='')}?sslmode=disable"
    )


def from_connections() -> tuple[StorecastHTTP, PostgresSales]:
    """The Storecast clients, built from the Airflow connections (called inside tasks only)."""
    from airflow.sdk import Connection

    api = StorecastHTTP(
        train=_endpoint(Connection.get(TRAIN_API_CONN)),
        forecast=_endpoint(Connection.get(FORECAST_API_CONN)),
    )
    return api, PostgresSales(_postgres_dsn(Connection.get(SALES_DB_CONN)))


def notes_from_connection() -> AirflowNotes | None:
    """Airflow's own REST API for run notes, or None when its connection is not provisioned."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import Connection

    try:
        conn = Connection.get(AIRFLOW_API_CONN)
    except AirflowNotFoundException:
        return None
    ep = _endpoint(conn)
    return AirflowNotes(ep.base_url, conn.login or "", conn.password or "")
