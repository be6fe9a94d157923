"""The admin command line: `python -m bot …`, run in-process against a real database."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app.cli import main
from bot.views import texts
from tests.conftest import REPO, SAMPLE_ORG

YEAR_2027 = """\
year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知"
workdays = [2027-02-13]

[[holidays]]
name = "春节"
start = 2027-02-06
end = 2027-02-12
"""


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reader's cache, shared by the module's tests (the first one parses and trains)."""
    return tmp_path_factory.mktemp("reader-cache")


@pytest.fixture
def config(
    tmp_path: Path, database_url: str, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The shipped config with this test's database and its own calendar directory."""
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    text = text.replace('admin_dir = "data/calendar"', 'admin_dir = "calendar"')
    text = text.replace('cache_dir = "data/cache"', f'cache_dir = "{cache_dir}"')
    path = tmp_path / "config.toml"
    path.write_text(text)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    return path


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def test_import_invite_and_classify(
    config: Path,
    cache_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(config, "import-org", str(SAMPLE_ORG)) == 0
    out = capsys.readouterr().out
    assert "人员 新增 16" in out
    # The sample leaves the region, the counties (函件/报刊专业 at 土默特左旗局 too) and 5 of
    # its 8 sites uncovered: the admin is told.
    assert "【无人承担】8 个单位" in out
    assert "• 毕克齐营业所：缺 营业支局长（8 项）" in out

    assert run(config, "invite", "I003") == 0
    link = capsys.readouterr().out
    assert "陈明（检查员，察素齐投递部）" in link
    assert "https://t.me/postal_inspection_bot?start=" in link
    assert run(config, "invite", "没这个人") == 1
    assert "找不到人员" in capsys.readouterr().out

    complaints = (
        "东2段信件报刊积压三天了，用户多次打电话投诉，电话13912345678\n\n用户反映代收款一直没到账\n"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(complaints))
    assert run(config, "classify") == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    # The fields scripts read stay as they were; choices and praise were added.
    assert list(first) == [
        "text",
        "category",
        "categories",
        "confidence",
        "low_confidence",
        "choices",
        "praise",
        "department",
        "site",
        "segment",
        "transfer_point",
        "tracking_numbers",
        "phones",
        "urgent",
        "urgency_cues",
    ]
    assert isinstance(first["confidence"], float) and isinstance(first["low_confidence"], bool)
    assert first["choices"][0] == "delay" and 2 <= len(first["choices"]) <= 3
    assert first["praise"] is False
    assert first["category"] == "delay" and first["department"] == "delivery"
    assert (first["site"], first["segment"]) == ("察素齐投递部", "东2段")
    assert first["phones"] == ["139****5678"] and first["urgent"] is True
    assert second["category"] == "finance" and second["department"] == "finance"
    # [nlp] cache_dir holds what the next start loads instead of parsing and training.
    assert {path.name.split("-")[1] for path in cache_dir.glob("*.npz")} == {
        "dictionary",
        "names",
        "model",
    }


def test_a_broken_org_file_is_reported_by_line(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "org.csv"
    broken.write_text(
        "type,code,name,parent,level,kind,area,role,department,phone\n"
        "unit,R1,区公司,,region,,,,,\n"
        "staff,E1,张三,R1,,,,boss,,\n",
        encoding="utf-8",
    )
    assert run(config, "import-org", str(broken)) == 1
    out = capsys.readouterr().out
    assert texts.org_import_failed(1) in out and "第 3 行，列 role" in out


def test_calendar_years_and_import(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "calendar", "years") == 0
    out = capsys.readouterr().out
    assert "2026 年：7 个假期，6 个调休上班日" in out
    year_file = tmp_path / "2027.toml"
    year_file.write_text(YEAR_2027, encoding="utf-8")
    assert run(config, "calendar", "import", str(year_file)) == 0
    assert "已导入 2027 年日历：7 天放假，1 个调休上班日" in capsys.readouterr().out
    assert (tmp_path / "calendar" / "2027.toml").exists()
    assert run(config, "calendar", "years") == 0
    assert "2027 年：1 个假期" in capsys.readouterr().out
    year_file.write_text(YEAR_2027.replace("2027-02-13", "2027-02-15"), encoding="utf-8")
    assert run(config, "calendar", "import", str(year_file)) == 1
    assert "日历文件有误" in capsys.readouterr().out


def test_run_without_a_token_explains_how_to_get_one(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "run") == 0
    assert "@BotFather" in capsys.readouterr().out


def test_a_bad_config_stops_the_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    path.write_text(text.replace('morning_push = "08:00"', 'morning_push = "早上"'))
    assert main(["--config", str(path), "run"]) == 2
    assert "time.morning_push" in capsys.readouterr().err


def test_a_broken_catalog_stops_the_start_naming_item_and_field(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog = (REPO / "scheduler" / "data" / "catalog.toml").read_text(encoding="utf-8")
    broken = tmp_path / "catalog.toml"
    broken.write_text(
        catalog.replace('frequency = { kind = "daily" }', 'frequency = { kind = "hourly" }', 1)
    )
    config.write_text(
        config.read_text().replace('# catalog = "my_catalog.toml"', f'catalog = "{broken}"')
    )
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    assert run(config, "run") == 2
    err = capsys.readouterr().err
    assert "数据文件有误" in err and "counter_video_review" in err and "frequency" in err


def test_secret_prints_a_fresh_webhook_secret_without_any_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-config.toml"
    assert main(["--config", str(missing), "secret"]) == 0
    assert main(["--config", str(missing), "secret"]) == 0
    first, second = capsys.readouterr().out.split()
    assert first != second and len(first) >= 32
    assert all(c.isascii() and (c.isalnum() or c in "_-") for c in first)


def test_offboard_a_leaver(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "import-org", str(SAMPLE_ORG)) == 0
    capsys.readouterr()
    assert run(config, "offboard", "I003") == 0
    assert "陈明（I003）已离岗" in capsys.readouterr().out
    assert run(config, "offboard", "I003") == 0
    assert capsys.readouterr().out.strip() == texts.offboard_already("陈明", "I003")
    assert run(config, "offboard", "NOBODY") == 1
    assert "找不到人员" in capsys.readouterr().out


def test_the_entry_point_loads_no_heavy_library() -> None:
    """Nothing heavy on the way to the first poll: the reader's numpy and jieba load in the
    thread that builds it, the report's matplotlib and openpyxl where a report is made, the
    PostgreSQL driver only for a PostgreSQL database."""
    heavy = ("numpy", "jieba", "matplotlib", "openpyxl", "sklearn", "scipy", "psycopg")
    probe = f"import sys, bot.app.cli; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
