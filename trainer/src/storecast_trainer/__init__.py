"""Storecast trainer: trains XGBoost on training examples from Kafka, tracks runs in MLflow and
exports boosters to LightGBM v3 text for Go serving with leaves."""

__version__ = "0.1.0"
