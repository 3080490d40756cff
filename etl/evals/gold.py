"""What the tagging evaluations share: gold JSONL files whose lines carry `doc_id` and, optionally, the
text; a texts file (JSONL with `id`, `text` and optionally `title`, e.g. ../shared/data/articles/*.jsonl)
supplies the text of lines that have none; precision, recall and F1 from counts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class GoldError(ValueError):
    """A gold or texts file that cannot be used: bad JSON, a missing field, a text nowhere to be found."""


@dataclass(frozen=True)
class GoldDoc:
    """One gold line with its text resolved."""

    doc_id: str
    title: str
    text: str
    record: dict[str, Any]  # the whole gold line


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 from true positives, false positives and false negatives."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was predicted and nothing was expected."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else (1.0 if not self.fn else 0.0)

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when nothing was expected."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self) -> str:
        """`precision=P recall=R f1=F`."""
        return f"precision={self.precision:.3f} recall={self.recall:.3f} f1={self.f1:.3f}"

    def counts(self) -> str:
        """`tp=… fp=… fn=…`."""
        return f"tp={self.tp} fp={self.fp} fn={self.fn}"


def json_lines(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSONL file; GoldError names a bad line."""
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise GoldError(f"{path}:{number}: not JSON ({exc})") from exc
            if not isinstance(record, dict):
                raise GoldError(f"{path}:{number}: not a JSON object")
            yield number, record


def load_texts(paths: Iterable[Path]) -> dict[str, tuple[str, str]]:
    """id -> (title, text) from JSONL texts files; a later file's id wins."""
    texts: dict[str, tuple[str, str]] = {}
    for path in paths:
        for number, record in json_lines(path):
            if "id" not in record or "text" not in record:
                raise GoldError(f"{path}:{number}: a texts line needs `id` and `text`")
            texts[str(record["id"])] = (str(record.get("title") or ""), str(record["text"]))
    return texts


def load_gold(path: Path, texts: dict[str, tuple[str, str]] | None = None) -> list[GoldDoc]:
    """The gold file's lines, each with its text: its own `text`, else the texts file's."""
    docs = []
    for number, record in json_lines(path):
        if "doc_id" not in record:
            raise GoldError(f"{path}:{number}: a gold line needs `doc_id`")
        doc_id = str(record["doc_id"])
        if record.get("text") is not None:
            title, text = str(record.get("title") or ""), str(record["text"])
        elif texts is not None and doc_id in texts:
            title, text = texts[doc_id]
        else:
            raise GoldError(f"{path}:{number}: no text for {doc_id!r}: give `text` or --texts with its id")
        docs.append(GoldDoc(doc_id, title, text, record))
    return docs
