"""`python -m bot report`: the workbook and the chart written next to each other."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.app.cli import main
from tests.conftest import REPO, SAMPLE_ORG


@pytest.fixture
def config(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    path = tmp_path / "config.toml"
    path.write_text(text.replace('admin_dir = "data/calendar"', 'admin_dir = "calendar"'))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    return path


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def test_report_writes_the_workbook_and_the_chart(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "import-org", str(SAMPLE_ORG)) == 0
    out = tmp_path / "out" / "tz.xlsx"
    assert run(config, "report", "--unit", "TZ", "--month", "2026-10", "--out", str(out)) == 0
    assert str(out) in capsys.readouterr().out
    book = load_workbook(out)
    assert book["总览"]["A1"].value == "土默特左旗局 2026年10月检查报告书 — 总览"
    assert (tmp_path / "out" / "tz.xlsx.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    other = tmp_path / "x.xlsx"
    for args, error in (
        (("--unit", "NOPE", "--month", "2026-10"), "找不到单位代码“NOPE”"),
        (("--unit", "TZ", "--month", "2026-13"), "月份“2026-13”无效"),
        (("--unit", "TZ", "--month", "2999-01"), "这个月份还没有到"),
    ):
        assert run(config, "report", *args, "--out", str(other)) == 1
        assert error in capsys.readouterr().err
    assert not other.exists()
