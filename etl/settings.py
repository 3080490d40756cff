"""The one settings object. Built once (by the CLI or a flow) and passed down; never read globally."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Every knob of newswatch, read from `NEWSWATCH_*` environment variables or a `.env` file."""

    model_config = SettingsConfigDict(env_prefix="NEWSWATCH_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    db_path: Path | None = Field(default=None, description="DuckDB file; default data_dir/newswatch.duckdb")
    feeds_file: Path = PROJECT_ROOT / "feeds.toml"
    sql_dir: Path = PROJECT_ROOT / "sql"
    demo_dir: Path = PROJECT_ROOT / "demo"
    # A fixed port keeps the demo's article URLs (and so their ids) the same from one run to the next.
    demo_port: int = 8765

    # The spaCy pipeline: an installed package name or a path to a pipeline folder.
    nlp_model: str = "en_core_web_sm"
    nlp_batch_size: int = 32

    user_agent: str = "newswatch/0.1 (+https://example.org/newswatch; research crawler)"
    fetch_timeout_s: float = 20.0
    fetch_connect_timeout_s: float = 10.0
    fetch_max_bytes: int = 5_000_000  # article pages, counted after decompression
    feed_max_bytes: int = 10_000_000  # feeds and sitemaps, counted after decompression
    fetch_retries: int = 2
    fetch_backoff_s: float = 0.5
    fetch_concurrency: int = 32  # requests in flight overall
    fetch_host_concurrency: int = 2  # requests in flight per host
    fetch_host_rate: float = 1.0  # requests per second per host
    fetch_retry_after_max_s: float = 30.0  # longer Retry-After values are recorded, not waited out
    # The longest one round of feed polls or one batch of pages may take (the flows' task timeout): what
    # is not fetched by then is recorded as a timeout, and the run goes on.
    fetch_batch_deadline_s: float = 900.0
    max_redirects: int = 5
    # SSRF guard: hosts resolving to loopback/private/link-local/multicast addresses are refused unless
    # they fall in one of these networks (CIDR, e.g. "127.0.0.0/8") or hosts.
    fetch_allow_networks: list[str] = Field(default_factory=list)
    obey_robots: bool = True
    robots_ttl_s: float = 86_400.0

    # Adaptive feed polling: intervals between polls stay within these bounds.
    poll_min_interval_s: float = 600.0
    poll_max_interval_s: float = 86_400.0
    poll_default_interval_s: float = 3_600.0
    # After this many consecutive failures a feed is paused, with a pause that doubles each time.
    feed_pause_after_failures: int = 5

    # Articles in another language are flagged `language_mismatch` (None: no expectation).
    expected_language: str | None = None

    batch_size: int = 100

    # While another process writes the database, a reader (query, sql, export) waits this long for it,
    # a writer (ingest, retag, db upgrade) this long, before giving up with a clear message.
    db_read_wait_s: float = 30.0
    db_write_wait_s: float = 3600.0
    # Every response the fetcher gets is also appended to gzip'd WARC files under data_dir/warc (the store
    # of record: any article can be re-extracted from its original bytes, and backfill reads them back).
    keep_warc: bool = True
    warc_max_bytes: int = 1_000_000_000  # a WARC file is closed and a new one started past this size

    topics_file: Path | None = None
    aliases_file: Path | None = None

    @property
    def database(self) -> Path:
        """The DuckDB file this run writes to."""
        return self.db_path if self.db_path is not None else self.data_dir / "newswatch.duckdb"

    @property
    def warc_dir(self) -> Path:
        """Where the fetcher's WARC files are written."""
        return self.data_dir / "warc"

    @property
    def raw_dir(self) -> Path:
        """Where raw fetched bodies are kept, content-addressed."""
        return self.data_dir / "raw"
