"""Prefect flows: thin wrappers that add retries, logging and concurrency to etl/ functions."""
