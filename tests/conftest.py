"""Shared fixtures. Tests that need ../shared or the real spaCy pipeline skip with a reason when those are
missing, except under CI=true, where a missing piece is a failure."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.settings import PROJECT_ROOT, Settings

SHARED = (PROJECT_ROOT.parent / "shared").resolve()
IN_CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, reason: str) -> None:
    """Skip (or, in CI, fail) when a prerequisite is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared() -> Path:
    need(SHARED.is_dir(), f"../shared not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def model_name() -> str:
    from etl.nlp.pipeline import model_available

    model = Settings().nlp_model
    need(model_available(model), f"spaCy pipeline {model!r} (NEWSWATCH_NLP_MODEL) is not installed")
    return model


@pytest.fixture(scope="session")
def tagger(model_name: str):  # type: ignore[no-untyped-def]
    """The real pipeline, loaded once for the whole session."""
    from etl.nlp.pipeline import Tagger, load_pipeline

    return Tagger(load_pipeline(model_name))


@pytest.fixture(scope="session")
def seed_text(shared: Path) -> str:
    path = shared / "seed" / "russia-interference-article.txt"
    need(path.is_file(), f"seed article missing: {path}")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One temporary Prefect server for the session, with its home in a temp folder and no heartbeat."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    from prefect.settings import temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        temporary_settings(updates={"flows.heartbeat_frequency": None}),  # type: ignore[dict-item]
        prefect_test_harness(server_startup_timeout=60),
    ):
        yield


@pytest.fixture
def demo_dir() -> Path:
    return PROJECT_ROOT / "demo"
