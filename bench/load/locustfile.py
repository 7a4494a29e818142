"""Storecast's load scenario (make load): the forecast API's read and predict paths, mixed as
clients use them. Headless and bounded by make's LOAD_* variables; every request goes to --host
(default the local stack's forecast API on 127.0.0.1:4242).

Mix per user, weights in brackets: POST /predict one store one day [10], POST /v1/forecasts one
store six weeks [3], GET /v1/stores/{id} [3], GET /model/info [1], and the dashboard's read
endpoints named in STORECAST_LOAD_EXTRA_GETS (comma-separated paths; {id} is a random store id, {date}
a random day the forecast API answers for) [2].
"""

from __future__ import annotations

import os
import random

from locust import FastHttpUser, between, events, task

STORES = list(range(1, 1116))
# Days the forecast API answers for: filled from one /v1/forecasts call when the test starts.
DAYS: list[str] = []
EXTRA_GETS = [p.strip() for p in os.environ.get("STORECAST_LOAD_EXTRA_GETS", "").split(",") if p.strip()]


@events.test_start.add_listener
def _learn_days(environment, **_kwargs) -> None:
    """Ask for store 1's next six weeks once: the answer names the days that can be predicted."""
    import json
    import urllib.request

    req = urllib.request.Request(
        environment.host.rstrip("/") + "/v1/forecasts",
        data=json.dumps({"store_ids": [1]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        rows = json.load(resp).get("forecasts", [])
    DAYS.extend(sorted({r["date"] for r in rows}))
    if not DAYS:
        raise RuntimeError("the forecast API answered no forecast for store 1: is a model served (make up)?")


class ForecastClient(FastHttpUser):
    wait_time = between(0.5, 1.5)

    @task(10)
    def predict(self) -> None:
        body = {
            "store_id": random.choice(STORES),
            "date": random.choice(DAYS),
            "promo": random.randint(0, 1),
            "stateholiday": "0",
            "schoolholiday": 0,
        }
        self.client.post("/predict", json=body, name="/predict")

    @task(3)
    def six_weeks(self) -> None:
        self.client.post("/v1/forecasts", json={"store_ids": [random.choice(STORES)]}, name="/v1/forecasts")

    @task(3)
    def store(self) -> None:
        self.client.get(f"/v1/stores/{random.choice(STORES)}", name="/v1/stores/{id}")

    @task(1)
    def model_info(self) -> None:
        self.client.get("/model/info", name="/model/info")

    @task(2)
    def dashboard(self) -> None:
        if not EXTRA_GETS:
            self.predict()
            return
        path = random.choice(EXTRA_GETS)
        url = path.replace("{id}", str(random.choice(STORES))).replace("{date}", random.choice(DAYS))
        self.client.get(url, name=path)
