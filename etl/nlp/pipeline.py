"""The spaCy pipeline, loaded once per process by whoever builds a Tagger, and run with nlp.pipe."""

from __future__ import annotations

import hashlib
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
        add_alias_ruler(nlp, self.aliases)
        self.annotation_version = annotation_version(self.pipeline_version, self.aliases, self.topics)

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
            quotes = extract_quotes(doc, mentions, self.aliases)
            topics = score_topics(self.topics, title, doc.text, mentions)
            results.append(
                Tagging(
                    entities=mentions,
                    quotes=quotes,
                    topics=topics,
                    annotation_version=self.annotation_version,
                )
            )
        return results


ALIAS_RULER = "newswatch_aliases"


def add_alias_ruler(nlp: Language, aliases: AliasTable) -> None:
    """Fill the statistical NER's gaps with the alias table's names (an entity_ruler after "ner" that
    never overwrites), so that "Lavrov said" or "the C.I.A." is found even when the model misses it,
    with the table's label. Run after the NER rather than before, so that the model's longer names win
    ("Jean-Marie Le Pen", "Trump Tower" are not cut down to the table's "Le Pen" and "Trump").
    Case-sensitive; one-character variants ("X") are left to the NER. Pipelines without "ner" are left
    alone; a pipeline that already has the ruler keeps its first alias table."""
    if "ner" not in nlp.pipe_names or ALIAS_RULER in nlp.pipe_names:
        return
    ruler = nlp.add_pipe(
        "entity_ruler",
        name=ALIAS_RULER,
        after="ner",
        config={"phrase_matcher_attr": "ORTH", "overwrite_ents": False, "validate": False},
    )
    patterns = [
        {"label": entry.label, "pattern": variant}
        for entry in aliases.entries
        for variant in dict.fromkeys((entry.name, *entry.aliases))
        if len(variant) > 1
    ]
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]


# The modules whose code decides the tags; a change to any of them is a new annotation version.
_RULE_MODULES = ("entities.py", "quotes.py", "topics.py", "pipeline.py")


def rules_digest(aliases: AliasTable, topics: Sequence[TopicDefinition]) -> str:
    """SHA-256 over our tagging code, the alias table and the topic definitions."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for module in _RULE_MODULES:
        digest.update((here / module).read_bytes())
    digest.update(aliases.digest.encode())
    for topic in topics:
        digest.update(topic.digest.encode())
    return digest.hexdigest()


def annotation_version(pipeline_version: str, aliases: AliasTable, topics: Sequence[TopicDefinition]) -> str:
    """`<pipeline>-<version>+<12 hex of the rules digest>`: recorded on every tag row, so that tags made
    by other code, another alias table or other topic definitions can be found and re-tagged."""
    return f"{pipeline_version}+{rules_digest(aliases, topics)[:12]}"
