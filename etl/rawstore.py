"""Raw responses kept on disk, content-addressed, so any article can be re-extracted from the bytes
it was built from."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path


def keep_raw(raw_dir: Path, body: bytes) -> str:
    """Store a body under its SHA-256 (gzip, written atomically) and return the hash. Storing the
    same bytes twice writes nothing the second time."""
    digest = hashlib.sha256(body).hexdigest()
    target = raw_path(raw_dir, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(gzip.compress(body, compresslevel=6, mtime=0))
        partial.replace(target)
    return digest


def raw_path(raw_dir: Path, digest: str) -> Path:
    """Where the body with this hash lives."""
    return raw_dir / digest[:2] / f"{digest}.gz"


def read_raw(raw_dir: Path, digest: str) -> bytes:
    """The original bytes of a kept body."""
    return gzip.decompress(raw_path(raw_dir, digest).read_bytes())
