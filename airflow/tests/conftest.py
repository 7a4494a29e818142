"""Airflow reads its configuration at import: give every test session a private AIRFLOW_HOME."""

import os
import tempfile
from pathlib import Path

_home = tempfile.mkdtemp(prefix="storecast-airflow-test-")
os.environ["AIRFLOW_HOME"] = _home
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).resolve().parent.parent / "dags")
