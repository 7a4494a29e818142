-- Run once by the postgres image on an empty data folder (docker-entrypoint-initdb.d), as the
-- owner role storecast: the databases of MLflow's tracking server and Airflow's metadata
-- (docker-compose.yml, services mlflow and airflow).
CREATE DATABASE mlflow;
CREATE DATABASE airflow;
