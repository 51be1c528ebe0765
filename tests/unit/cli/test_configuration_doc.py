"""docs/configuration.md is generated from the settings model and must match it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermes.config import reference
from hermes.config.loader import leaves

ROOT = Path(__file__).resolve().parents[3]


def test_the_committed_reference_is_up_to_date() -> None:
    committed = (ROOT / reference.DOC_PATH).read_text(encoding="utf-8")
    fix = "run `.venv/bin/python -m hermes.config.reference > docs/configuration.md`"
    assert committed == reference.markdown(), f"docs/configuration.md is stale: {fix}"


def test_every_setting_appears_with_its_environment_names() -> None:
    document = reference.markdown()
    for leaf in leaves():
        row = next(line for line in document.splitlines() if line.startswith(f"| `{leaf.key}` |"))
        for name in leaf.env:
            assert f"`{name}`" in row
        assert ("**secret**" in row) == leaf.secret


def test_a_setting_without_a_description_stops_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    descriptions = dict(reference.DESCRIPTIONS)
    del descriptions["gateway.allow_bots"]
    descriptions["gateway.gone"] = "A setting that no longer exists."
    monkeypatch.setattr(reference, "DESCRIPTIONS", descriptions)
    with pytest.raises(ValueError, match=r"describe gateway\.allow_bots; remove gateway\.gone"):
        reference.markdown()


def test_types_and_defaults_are_read_from_the_model() -> None:
    rows = reference.markdown().splitlines()
    assert "| `model.context_length` | — | integer ≥ 1024 | `128000` |" in " ".join(rows)
    expected = {
        "matrix.e2ee_mode": "| `MATRIX_E2EE_MODE` | one of `off`, `optional`, `required` | unset |",
        "bedrock.region": "| `AWS_DEFAULT_REGION`, `AWS_REGION` | text | unset |",
        "mattermost.reply_mode": "| `MATTERMOST_REPLY_MODE` | one of `thread`, `off` | `off` |",
    }
    for key, cells in expected.items():
        assert any(row.startswith(f"| `{key}` {cells}") for row in rows), key
