"""The spaCy pipeline, loaded once per process by whoever builds a Tagger, and run with nlp.pipe."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence
from pathlib import Path

import spacy
from spacy.language import Language

from etl.nlp.entities import AliasTable, extract_mentions
from etl.nlp.quotes import extract_quotes
from etl.nlp.topics import TopicDefinition, load_topics, score_topics
from etl.records import Tagging
from etl.settings import Settings


class ModelNotFound(RuntimeError):
    """The configured spaCy pipeline is neither an installed package nor a pipeline folder."""


def model_available(model: str) -> bool:
    """Whether `model` names an installed pipeline package or a folder holding a pipeline."""
    path = Path(model)
    if path.is_dir():
        return (path / "config.cfg").is_file()
    if "/" in model or "\\" in model or model.startswith("."):
        return False  # a path that does not exist
    try:
        return importlib.util.find_spec(model.replace("-", "_")) is not None
    except (ImportError, ValueError):
        return False


def load_pipeline(model: str) -> Language:
    """Load the spaCy pipeline named by a package name or a path, with a message that says what to do
    when it is missing."""
    if not model_available(model):
        raise ModelNotFound(
            f"spaCy pipeline {model!r} not found. Install it with `python -m spacy download en_core_web_sm` "
            "or point NEWSWATCH_NLP_MODEL at a pipeline folder."
        )
    # The lemmatizer and parser are needed for quote cues and speakers; nothing is disabled.
    return spacy.load(model)


class Tagger:
    """Entities, quotes and topics for batches of texts. Build one per process and reuse it."""

    def __init__(
        self,
        nlp: Language,
        *,
        aliases: AliasTable | None = None,
        topics: Sequence[TopicDefinition] | None = None,
        batch_size: int = 32,
    ) -> None:
        self.nlp = nlp
        self.aliases = aliases if aliases is not None else AliasTable.load()
        self.topics = tuple(topics) if topics is not None else load_topics()
        self.batch_size = batch_size

    @classmethod
    def from_settings(cls, settings: Settings) -> Tagger:
        """Load the pipeline, alias table and topic file the settings name."""
        return cls(
            load_pipeline(settings.nlp_model),
            aliases=AliasTable.load(settings.aliases_file),
            topics=load_topics(settings.topics_file),
            batch_size=settings.nlp_batch_size,
        )

    @property
    def pipeline_version(self) -> str:
        """Which pipeline produced the tags: name and version from the pipeline's meta."""
        meta = self.nlp.meta
        return f"{meta.get('lang', 'xx')}_{meta.get('name', 'pipeline')}-{meta.get('version', '0')}"

    def tag(self, texts: Iterable[str], titles: Iterable[str] | None = None) -> list[Tagging]:
        """Tag each text; `titles` (same length) count as topic evidence in the title position."""
        text_list = list(texts)
        title_list = list(titles) if titles is not None else [""] * len(text_list)
        if len(title_list) != len(text_list):
            raise ValueError("titles and texts differ in length")
        results = []
        for doc, title in zip(self.nlp.pipe(text_list, batch_size=self.batch_size), title_list, strict=True):
            mentions = extract_mentions(doc, self.aliases)
            quotes = extract_quotes(doc, mentions)
            topics = score_topics(self.topics, title, doc.text, mentions)
            results.append(Tagging(entities=mentions, quotes=quotes, topics=topics))
        return results
