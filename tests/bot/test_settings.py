from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def shipped_config_with(tmp_path: Path, old: str, new: str) -> Path:
    text = REPO_CONFIG.read_text(encoding="utf-8")
    assert old in text
    return write_config(tmp_path, text.replace(old, new))


def test_shipped_config_loads_with_token_and_database_from_environment(tmp_path: Path) -> None:
    settings = load_settings(
        REPO_CONFIG,
        {"TELEGRAM_BOT_TOKEN": "123:abc", "DATABASE_URL": "postgresql+psycopg://u@h/db"},
    )
    assert settings.token == "123:abc"
    assert settings.database.url == "postgresql+psycopg://u@h/db"
    assert str(settings.time.tz) == "Asia/Shanghai"
    assert settings.time.morning_push.hour == 8


def test_relative_sqlite_path_is_resolved_next_to_the_config(tmp_path: Path) -> None:
    settings = load_settings(shipped_config_with(tmp_path, "[bot]", "[bot]"), {})
    assert settings.database.url == f"sqlite+aiosqlite:///{tmp_path}/data/bot.db"
    assert settings.token is None


def test_the_reader_cache_is_next_to_the_config_or_in_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(REPO_CONFIG, {}).nlp.cache_dir == REPO_CONFIG.parent / "data" / "cache"
    elsewhere = shipped_config_with(tmp_path, 'cache_dir = "data/cache"', 'cache_dir = "/srv/c"')
    assert load_settings(elsewhere, {}).nlp.cache_dir == Path("/srv/c")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    unset = shipped_config_with(tmp_path, 'cache_dir = "data/cache"', "")
    assert load_settings(unset, {}).nlp.cache_dir == tmp_path / "xdg" / "postal-inspection-bot"


def test_api_file_url_is_derived_from_the_base_url(tmp_path: Path) -> None:
    path = shipped_config_with(
        tmp_path, 'api_base_url = ""', 'api_base_url = "http://127.0.0.1:8081/bot"'
    )
    assert load_settings(path, {}).bot.api_file_url == "http://127.0.0.1:8081/file/bot"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', "time.timezone"),
        ('morning_push = "08:00"', 'morning_push = "8点"', "time.morning_push"),
        ('morning_push = "08:00"', 'morning_push = "25:00"', "time.morning_push"),
        ('end_of_day = "18:00"', 'end_of_day = "07:00"', "time"),
        ("invite_valid_days = 7", "invite_valid_days = 0", "registration.invite_valid_days"),
        ('url = "sqlite+aiosqlite:///data/bot.db"', 'url = "mysql://x"', "database.url"),
        ('username = "postal_inspection_bot"', 'username = "a b"', "bot.username"),
        ("[registration]", "[registration]\nunknown_key = 1", "registration.unknown_key"),
        ("invite_valid_days = 7", "", "registration.invite_valid_days"),
        ('cache_dir = "data/cache"', "cache_dir = 7", "nlp.cache_dir"),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(shipped_config_with(tmp_path, old, new), {})
    message = str(raised.value)
    assert f"配置项 {key} 有误" in message
    assert f"Configuration key {key} " in message


def test_token_in_the_file_is_refused(tmp_path: Path) -> None:
    path = shipped_config_with(tmp_path, "[bot]", '[bot]\ntoken = "123:abc"')
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        load_settings(path, {})


def test_missing_and_broken_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="找不到配置文件"):
        load_settings(tmp_path / "nope.toml", {})
    with pytest.raises(ConfigError, match="格式错误"):
        load_settings(write_config(tmp_path, "[bot\n"), {})


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (
            "postgresql://bot:pw@db.example:5432/postal",
            "postgresql+psycopg://bot:pw@db.example:5432/postal",
        ),
        ("postgres://bot@db.example/postal", "postgresql+psycopg://bot@db.example/postal"),
        ("postgresql+psycopg://bot@h/db", "postgresql+psycopg://bot@h/db"),
        ("sqlite:////var/lib/bot/bot.db", "sqlite+aiosqlite:////var/lib/bot/bot.db"),
        ("sqlite+aiosqlite:////var/lib/bot/bot.db", "sqlite+aiosqlite:////var/lib/bot/bot.db"),
    ],
)
def test_the_database_urls_every_tool_gives_are_accepted(given: str, used: str) -> None:
    assert load_settings(REPO_CONFIG, {"DATABASE_URL": given}).database.url == used


def test_a_relative_plain_sqlite_url_is_next_to_the_config(tmp_path: Path) -> None:
    path = shipped_config_with(
        tmp_path, 'url = "sqlite+aiosqlite:///data/bot.db"', 'url = "sqlite:///data/bot.db"'
    )
    assert load_settings(path, {}).database.url == f"sqlite+aiosqlite:///{tmp_path}/data/bot.db"


def test_a_bad_value_from_the_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(REPO_CONFIG, {"DATABASE_URL": "mysql://bot@h/db"})
    assert "DATABASE_URL" in str(error.value) and "环境变量" in str(error.value)
    assert "config.toml" not in str(error.value)
