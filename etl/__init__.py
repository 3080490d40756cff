"""newswatch: news-ingestion ETL library. Every pipeline stage lives in its own module here;
`flows/` only wraps these functions in Prefect tasks."""

__version__ = "0.1.0"
