"""Pruning the media cache by time since last use."""

from __future__ import annotations

import os
import time
from pathlib import Path

from hermes.fileio import reuse_cached
from hermes.gateway.media_cache import MediaCachePruner, Pruned, prune_old_files

DAY = 86400.0


def cached(root: Path, name: str, size: int, age_days: float) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    when = time.time() - age_days * DAY
    os.utime(path, (when, when))
    return path


def test_only_files_unused_for_longer_than_the_limit_go(tmp_path: Path) -> None:
    old = cached(tmp_path, "matrix/old.png", 300, age_days=8)
    older = cached(tmp_path, "mattermost/deep/older.pdf", 200, age_days=30)
    fresh = cached(tmp_path, "matrix/fresh.png", 100, age_days=6)
    assert prune_old_files(tmp_path, 7 * DAY, time.time()) == Pruned(files=2, bytes=500)
    assert not old.exists() and not older.exists() and fresh.exists()
    # The platforms' directories stay: they are where the next downloads go.
    assert (tmp_path / "matrix").is_dir() and (tmp_path / "mattermost" / "deep").is_dir()


def test_a_missing_cache_directory_prunes_nothing(tmp_path: Path) -> None:
    assert prune_old_files(tmp_path / "never-created", DAY, time.time()) == Pruned()


def test_reusing_a_cached_file_makes_it_young_again(tmp_path: Path) -> None:
    path = cached(tmp_path, "matrix/reused.ogg", 42, age_days=10)
    assert reuse_cached(path) == 42
    assert prune_old_files(tmp_path, 7 * DAY, time.time()) == Pruned()
    assert path.exists()
    assert reuse_cached(tmp_path / "matrix" / "absent.ogg") is None


async def test_zero_days_keeps_everything(tmp_path: Path) -> None:
    old = cached(tmp_path, "matrix/old.png", 10, age_days=400)
    assert await MediaCachePruner(tmp_path, days=0).prune() == Pruned()
    assert old.exists()

    pruner = MediaCachePruner(tmp_path, days=7)
    assert await pruner.prune() == Pruned(files=1, bytes=10)
    assert not old.exists()
