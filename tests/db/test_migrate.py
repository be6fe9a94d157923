"""Migrations on a fresh clone: the SQLite file's folder (data/, not in git) is created."""

from pathlib import Path

from db.migrate import upgrade_database


def test_a_missing_sqlite_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "bot.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    assert path.exists()
