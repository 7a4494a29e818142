-- Run once by the postgres image on an empty data folder (docker-entrypoint-initdb.d), as the
-- owner role storecast: MLflow's tracking database (docker-compose.yml, service mlflow).
CREATE DATABASE mlflow;
