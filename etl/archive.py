"""Backfill sources read as streams of records: WARC / WARC.gz / ARC files, JSONL and CSV dumps of
already-extracted articles, and lists of URLs (plain lists and sitemaps) to fetch.

Every record carries the source it came from, its own offset and the offset reading resumes at after
it (`next_offset`), so a backfill can checkpoint "everything before this offset is done" and start a
killed run again where it stopped. Offsets are byte offsets for WARC/ARC and JSONL files, and record
ordinals (0-based rows, after the header) for CSV files and URL lists.

Nothing here touches the network: URL lists yield `UrlRecord`s that the backfill fetches through
etl.fetch, and a sitemap given by URL is fetched by the caller and handed to `read_sitemap_body`.

Also here: `WarcArchiver`, which writes fetched responses into WARC files under the data directory,
the store of record that any article can be re-extracted from (and that backfill reads back)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import sys
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import redirect_stderr
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal, cast

import brotli
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from etl.dates import parse_date
from etl.records import FeedSource, RawResponse
from etl.settings import Settings
from etl.sitemaps import SitemapDoc, parse_sitemap


class _BrotliDecompressor:
    """brotli's Decompressor in the shape warcio's reader expects (`decompress`, `flush` and a settable
    `unused_data`): warcio's own wrapper sets an attribute on the C object, which brotli 1.1+ refuses, so
    every `Content-Encoding: br` body would fail to decode."""

    def __init__(self) -> None:
        self._inner = brotli.Decompressor()
        self.unused_data: bytes | None = None

    def decompress(self, data: bytes) -> bytes:
        return bytes(self._inner.process(data))

    def flush(self) -> bytes:
        return b""


BufferedReader.DECOMPRESSORS["br"] = _BrotliDecompressor

SourceKind = Literal["warc", "jsonl", "csv", "urls", "sitemap"]

# Media types of pages worth extracting; everything else in an archive (images, scripts, feeds) is skipped.
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# A body that does not say what it is but starts like HTML is taken as HTML (old ARC records often have
# no Content-Type at all).
_HTML_START = re.compile(rb"^\s*(?:<!doctype\s+html|<html|<head|<body)", re.IGNORECASE)


@dataclass(frozen=True)
class PageRecord:
    """An HTML page from an archive (or fetched for a URL list): to be extracted."""

    source: str
    offset: int
    next_offset: int
    url: str
    body: bytes
    fetched_at: datetime
    content_type: str = "text/html"
    status: int = 200


@dataclass(frozen=True)
class TextRecord:
    """An article whose text was already extracted (a JSONL or CSV dump): extraction is skipped."""

    source: str
    offset: int
    next_offset: int
    url: str
    title: str
    text: str
    published: datetime | None
    outlet: str
    fetched_at: datetime


@dataclass(frozen=True)
class UrlRecord:
    """A URL to fetch politely (from a URL list or a sitemap)."""

    source: str
    offset: int
    next_offset: int
    url: str
    published: datetime | None = None


@dataclass(frozen=True)
class SkippedRecord:
    """A record that is not an article page (request, revisit, metadata, image, …); `reason` says which."""

    source: str
    offset: int
    next_offset: int
    reason: str
    url: str = ""


@dataclass(frozen=True)
class RecordError:
    """A record (or the rest of a file) that could not be read; reading goes on where it can."""

    source: str
    offset: int
    next_offset: int
    error: str
    url: str = ""
    # The source cannot be read past this point (a broken gzip stream, garbage instead of a record).
    fatal: bool = False


SourceItem = PageRecord | TextRecord | UrlRecord | SkippedRecord | RecordError


@dataclass(frozen=True)
class Columns:
    """Which columns (JSONL keys, CSV headers) of a dump hold each article field."""

    url: str = "url"
    title: str = "title"
    text: str = "text"
    published: str = "published"
    outlet: str = "outlet"
    # An id column names records without a URL (the URL becomes `urn:newswatch:<file stem>:<id>`).
    id: str = "id"

    @classmethod
    def parse(cls, spec: Iterable[str]) -> Columns:
        """Columns from `field=column` pairs (`text=body`, `published=date`); unknown fields are refused."""
        mapping: dict[str, str] = {}
        allowed = set(cls.__dataclass_fields__)
        for pair in spec:
            name, sep, column = pair.partition("=")
            if not sep or name.strip() not in allowed or not column.strip():
                raise ValueError(
                    f"column mapping {pair!r}: expected FIELD=COLUMN with FIELD in {sorted(allowed)}"
                )
            mapping[name.strip()] = column.strip()
        return cls(**mapping)


def source_kind(source: str) -> SourceKind:
    """What kind of source a path or URL is, by its name: `.warc`/`.arc` anywhere in the suffixes (so
    `x.warc.gz`, `x.warc.wet.gz` and `x.warc.gz.bad` are archives), `.jsonl`/`.ndjson`, `.csv`, `.xml`
    (a sitemap), an http(s) URL (a sitemap to fetch), anything else a plain list of URLs."""
    if source.startswith(("http://", "https://")):
        return "sitemap"
    suffixes = [s.lower() for s in Path(source).suffixes]
    if ".warc" in suffixes or ".arc" in suffixes:
        return "warc"
    if ".jsonl" in suffixes or ".ndjson" in suffixes:
        return "jsonl"
    if ".csv" in suffixes:
        return "csv"
    if ".xml" in suffixes:
        return "sitemap"
    return "urls"


def read_source(
    source: str, *, start: int = 0, columns: Columns | None = None, kind: SourceKind | None = None
) -> Iterator[SourceItem]:
    """The records of a local source file from offset `start` on (see the module docstring)."""
    kind = kind or source_kind(source)
    if kind == "warc":
        return read_warc(source, start=start)
    if kind == "jsonl":
        return read_jsonl(source, start=start, columns=columns or Columns())
    if kind == "csv":
        return read_csv(source, start=start, columns=columns or Columns())
    if kind == "sitemap":
        return read_sitemap_body(source, Path(source).read_bytes(), start=start)
    return read_url_list(source, start=start)


# ---------------------------------------------------------------------------------------------------
# WARC and ARC


def warc_date(value: str | None) -> datetime | None:
    """A WARC-Date (ISO 8601, sometimes cut short: `2019-08-15T01:02`) or ARC date (`20080430204825`)."""
    if not value:
        return None
    text = value.strip()
    if re.fullmatch(r"\d{14}", text):
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _is_html(content_type: str, body: bytes) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    if media:
        return media in _HTML_TYPES
    return bool(_HTML_START.match(body[:512]))


def read_warc(path: str, *, start: int = 0) -> Iterator[PageRecord | SkippedRecord | RecordError]:
    """Records of a WARC or ARC file (gzip per record or plain) from byte offset `start`.

    HTTP responses (and `resource` records) with an HTML body become `PageRecord`s with their target URL
    and capture date; other records are `SkippedRecord`s named by type (`request`, `revisit`,
    `metadata`, `warcinfo`, …) or media type (`non-html:image/png`), as are non-2xx responses. A record
    whose body ends before its declared length is a `RecordError`; a file that stops parsing (bad gzip,
    garbage) ends with one `RecordError` at the offset where it broke, after every record before it."""
    # warcio reports a record whose Content-Length looks wrong on stderr only; we count and record it.
    warnings = io.StringIO()
    with open(path, "rb") as fh:
        fh.seek(start)
        iterator = ArchiveIterator(fh, arc2warc=True)
        offset = start
        records = iter(iterator)
        while True:
            errors_before = iterator.err_count
            try:
                with redirect_stderr(warnings):
                    record = next(records)
                    item, problem = _warc_item(path, record)
                    offset = iterator.get_record_offset()
                    next_offset = iterator.offset
            except StopIteration:
                return
            except (ArchiveLoadFailed, OSError, EOFError, ValueError, IndexError, KeyError) as exc:
                # Past this point the stream cannot be trusted: record where it broke and stop. The
                # checkpoint moves to the end of the file, so a re-run does not read it again.
                yield RecordError(path, offset, _file_size(path), _short_error(exc), fatal=True)
                return
            if problem is None and iterator.err_count > errors_before:
                problem = "record length does not match its Content-Length"
            if problem is not None:
                # The record is damaged but what was read of it may still be a usable page: the error is
                # recorded and the page goes on (its text is checked like any other).
                yield RecordError(path, offset, next_offset, problem, item.url)
            yield replace(item, offset=offset, next_offset=next_offset)


def _warc_item(path: str, record: object) -> tuple[PageRecord | SkippedRecord, str | None]:
    """Read one record fully (so the iterator can measure it) and classify it, with what is wrong with
    it (a body shorter than its declared length) or None. Offsets are filled in by the caller once the
    iterator knows them."""
    rec_type: str = getattr(record, "rec_type", "") or ""
    headers = record.rec_headers  # type: ignore[attr-defined]
    url = (headers.get_header("WARC-Target-URI") or "").strip()
    if rec_type not in ("response", "resource"):
        record.content_stream().read()  # type: ignore[attr-defined]
        return SkippedRecord(path, 0, 0, rec_type or "unknown", url), None
    http = record.http_headers  # type: ignore[attr-defined]
    content_type = (http.get_header("Content-Type") if http else headers.get_header("Content-Type")) or ""
    status = int(http.get_statuscode() or 0) if http is not None and rec_type == "response" else 200
    try:
        body = record.content_stream().read()  # type: ignore[attr-defined]
    except Exception as exc:  # a body whose encoding cannot be undone is this record's problem only
        return SkippedRecord(path, 0, 0, "undecodable", url), f"undecodable body: {_short_error(exc)}"
    # LimitReader counts down what is left of the declared length: bytes left means the file ended early.
    remaining = getattr(record.raw_stream, "limit", 0)  # type: ignore[attr-defined]
    problem = f"truncated record: {remaining} bytes missing" if remaining else None
    if not 200 <= status < 300:
        return SkippedRecord(path, 0, 0, f"status:{status}", url), problem
    if not url.startswith(("http://", "https://")):
        return SkippedRecord(path, 0, 0, "not-http", url), problem
    if not body:
        return SkippedRecord(path, 0, 0, "empty", url), problem
    if not _is_html(content_type, body):
        media = content_type.split(";", 1)[0].strip().lower() or "unknown"
        return SkippedRecord(path, 0, 0, f"non-html:{media}", url), problem
    fetched_at = warc_date(headers.get_header("WARC-Date")) or datetime.fromtimestamp(0, UTC)
    return PageRecord(path, 0, 0, url, body, fetched_at, content_type or "text/html", status), problem


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _short_error(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message[:300]}"


# ---------------------------------------------------------------------------------------------------
# Dumps of extracted articles


def _open_text(path: str) -> IO[bytes]:
    if path.endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


def _dump_url(raw: Mapping[str, object], columns: Columns, path: str) -> str:
    url = str(raw.get(columns.url) or "").strip()
    if url:
        return url
    ident = str(raw.get(columns.id) or "").strip()
    return f"urn:newswatch:{Path(path).name.split('.')[0]}:{ident}" if ident else ""


def _text_record(
    raw: Mapping[str, object], columns: Columns, path: str, offset: int, next_offset: int, now: datetime
) -> TextRecord | RecordError:
    url = _dump_url(raw, columns, path)
    text = str(raw.get(columns.text) or "").strip()
    if not url:
        return RecordError(path, offset, next_offset, f"no {columns.url!r} or {columns.id!r} value")
    if not text:
        return RecordError(path, offset, next_offset, f"no {columns.text!r} value", url)
    published_raw = raw.get(columns.published)
    parsed = parse_date(str(published_raw)) if published_raw else None
    published = parsed[0] if parsed is not None else None
    return TextRecord(
        source=path,
        offset=offset,
        next_offset=next_offset,
        url=url,
        title=str(raw.get(columns.title) or "").strip(),
        text=text,
        published=published,
        outlet=str(raw.get(columns.outlet) or "").strip(),
        fetched_at=now,
    )


def read_jsonl(path: str, *, start: int = 0, columns: Columns) -> Iterator[TextRecord | RecordError]:
    """Articles of a JSONL dump (one JSON object a line; `.gz` allowed) from byte offset `start`."""
    now = datetime.now(UTC)
    with _open_text(path) as fh:
        fh.seek(start)
        offset = start
        for line in fh:
            next_offset = offset + len(line)
            if line.strip():
                try:
                    raw = json.loads(line)
                    if not isinstance(raw, dict):
                        raise ValueError("not a JSON object")
                    yield _text_record(raw, columns, path, offset, next_offset, now)
                except ValueError as exc:
                    yield RecordError(path, offset, next_offset, f"bad JSON line: {exc}")
            offset = next_offset


def read_csv(path: str, *, start: int = 0, columns: Columns) -> Iterator[TextRecord | RecordError]:
    """Articles of a CSV dump with a header row, from row `start` (0 = the first row after the header).
    Row ordinals, not bytes: a quoted field may span lines."""
    now = datetime.now(UTC)
    csv.field_size_limit(sys.maxsize if sys.maxsize < 2**63 else 2**31 - 1)
    with _open_text(path) as raw_fh, io.TextIOWrapper(raw_fh, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        try:
            for index, row in enumerate(reader):
                if index < start:
                    continue
                yield _text_record(row, columns, path, index, index + 1, now)
        except csv.Error as exc:
            yield RecordError(path, reader.line_num, sys.maxsize, f"bad CSV: {exc}", fatal=True)


# ---------------------------------------------------------------------------------------------------
# URL lists and sitemaps


def read_url_list(path: str, *, start: int = 0) -> Iterator[UrlRecord | RecordError]:
    """URLs of a text file, one a line (blank lines and `#` comments ignored), from line `start`."""
    with _open_text(path) as fh:
        for index, line in enumerate(fh):
            if index < start:
                continue
            url = line.decode("utf-8", "replace").strip()
            if not url or url.startswith("#"):
                continue
            if not url.startswith(("http://", "https://")):
                yield RecordError(path, index, index + 1, "not an http(s) URL", url)
                continue
            yield UrlRecord(path, index, index + 1, url)


def read_sitemap_body(source: str, body: bytes, *, start: int = 0) -> Iterator[UrlRecord | RecordError]:
    """The page URLs of a sitemap document (urlset, text or news sitemap) from entry `start`. An index's
    children are not followed here (nothing here fetches): the backfill reads them as sources of their
    own; read alone, each child is an error naming it."""
    return sitemap_records(source, parse_sitemap_source(source, body), start=start)


def parse_sitemap_source(source: str, body: bytes) -> SitemapDoc:
    """A backfill source's sitemap document (a urlset, or an index whose children are sources too)."""
    return parse_sitemap(body, FeedSource(url=source, outlet="", kind="sitemap"))


def sitemap_records(source: str, doc: SitemapDoc, *, start: int = 0) -> Iterator[UrlRecord | RecordError]:
    """The page URLs of a parsed sitemap from entry `start` (see `read_sitemap_body`)."""
    if doc.error and not doc.entries and not doc.children:
        yield RecordError(source, start, sys.maxsize, f"sitemap: {doc.error}", fatal=True)
        return
    for index, entry in enumerate(doc.entries):
        if index >= start:
            yield UrlRecord(source, index, index + 1, entry.url, entry.published)
    for child in doc.children:
        yield RecordError(source, sys.maxsize - 1, sys.maxsize, "sitemap index: child not followed", child)


# ---------------------------------------------------------------------------------------------------
# Writing fetched responses as WARC


@dataclass
class WarcArchiver:
    """Appends fetched responses to gzip'd WARC files under `directory`: one `response` record per HTTP
    response the fetcher received (pages, feeds, sitemaps, robots.txt, redirect hops, error pages), with
    the status line and headers as received and the body decoded. A backfill reads back the 2xx HTML
    ones as pages and counts the rest as skipped. A file is closed and a new one started past `max_bytes`.
    Thread-safe; files are named `newswatch-<UTC time>-<pid>-<n>.warc.gz` so concurrent processes never
    share one. Call `close()` (or use as a context manager) when done."""

    directory: Path
    max_bytes: int = 1_000_000_000
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _fh: IO[bytes] | None = field(default=None, repr=False)
    _writer: WARCWriter | None = field(default=None, repr=False)
    _count: int = field(default=0, repr=False)
    paths: list[Path] = field(default_factory=list)

    def __enter__(self) -> WarcArchiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write_response(self, response: RawResponse) -> None:
        """Append one `response` record: the status line and headers as received, the body decoded, and
        `WARC-Truncated` when the body was not kept whole."""
        http = StatusAndHeaders(
            f"{response.status} {response.reason}".rstrip(), list(response.headers), protocol="HTTP/1.1"
        )
        warc_headers = {"WARC-Date": _warc_iso(response.fetched_at)}
        if response.truncated:
            warc_headers["WARC-Truncated"] = response.truncated
        with self._lock:
            writer = self._current()
            record = writer.create_warc_record(
                response.url,
                "response",
                payload=io.BytesIO(response.body),
                length=len(response.body),
                http_headers=http,
                warc_headers_dict=warc_headers,
            )
            writer.write_record(record)
            assert self._fh is not None
            self._fh.flush()
            if self._fh.tell() >= self.max_bytes:
                self._close_current()

    def close(self) -> None:
        """Close the file being written. Safe to call twice."""
        with self._lock:
            self._close_current()

    def _current(self) -> WARCWriter:
        if self._writer is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._count += 1
            stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
            name = f"newswatch-{stamp}-{os.getpid()}-{self._count}-{uuid.uuid4().hex[:6]}.warc.gz"
            path = self.directory / name
            self._fh = open(path, "wb")  # noqa: SIM115 (kept open across writes; closed in _close_current)
            self._writer = WARCWriter(self._fh, gzip=True)
            self._writer.write_record(
                self._writer.create_warcinfo_record(name, {"software": "newswatch", "format": "WARC/1.1"})
            )
            self.paths.append(path)
        return self._writer

    def _close_current(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self._fh = None
        self._writer = None


def _warc_iso(value: datetime) -> str:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def archiver_for(settings: Settings) -> WarcArchiver | None:
    """The WARC writer for fetched responses under `settings.warc_dir`, when the settings keep them
    (`keep_warc`); None otherwise."""
    return WarcArchiver(settings.warc_dir, max_bytes=settings.warc_max_bytes) if settings.keep_warc else None
