"""`python -m bot demo` and `make run` without a token, run as a person runs them: a
subprocess whose printed transcript must show every step of the day, in order, each message
to the right person."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.views import texts
from tests.conftest import REPO

DEMO_TIME_LIMIT = 60.0
_BOT_LINE = re.compile(rf"^(\d\d:\d\d)  {texts.DEMO_BOT} → (\S+?)（")
_USER_LINE = re.compile(r"^(\d\d:\d\d)  (\S+?)（[^）]*）：(.*)$")


@dataclass(frozen=True)
class Line:
    index: int
    time: str
    who: str  # the person the bot wrote to, or who acted
    text: str  # the message body, or the action
    from_bot: bool


def parse(transcript: str) -> list[Line]:
    """Bot messages (header line + "│" body lines) and staff actions, in printed order."""
    lines: list[Line] = []
    body: list[str] | None = None
    for raw in transcript.splitlines():
        if body is not None and raw.lstrip().startswith("│"):
            body.append(raw.split("│", 1)[1].strip())
            continue
        if body is not None:
            last = lines[-1]
            lines[-1] = Line(last.index, last.time, last.who, "\n".join(body), True)
            body = None
        if bot := _BOT_LINE.match(raw):
            lines.append(Line(len(lines), bot[1], bot[2], "", True))
            body = []
        elif user := _USER_LINE.match(raw):
            lines.append(Line(len(lines), user[1], user[2], user[3], False))
    if body is not None:
        last = lines[-1]
        lines[-1] = Line(last.index, last.time, last.who, "\n".join(body), True)
    return lines


class Story:
    def __init__(self, transcript: str) -> None:
        self.lines = parse(transcript)
        self.position = -1

    def next(self, who: str, fragment: str, *, from_bot: bool = True) -> Line:
        """The first line after the previous match where ``who`` got (or did) ``fragment``."""
        for line in self.lines[self.position + 1 :]:
            if line.who == who and line.from_bot == from_bot and fragment in line.text:
                self.position = line.index
                return line
        shown = "\n".join(f"{x.time} {x.who} {x.text[:60]!r}" for x in self.lines)
        raise AssertionError(f"no {fragment!r} for {who} after line {self.position}:\n{shown}")


def run(
    *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    environment = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN",)}
    environment.pop("DATABASE_URL", None)
    environment.update(env or {})
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=DEMO_TIME_LIMIT * 2,
    )
    return result, time.monotonic() - started


def check_the_day(transcript: str) -> None:
    story = Story(transcript)
    for who in ("陈明", "钱志刚", "马建军", "张志强"):
        story.next(who, "/start ", from_bot=False)
        story.next(who, "欢迎")
    push = story.next("陈明", "项检查任务")
    assert push.time == "08:00"
    story.next("陈明", "按下 [", from_bot=False)
    story.next("陈明", "第 1/4 题")
    story.next("陈明", "“两百多”", from_bot=False)
    story.next("陈明", "请输入数字")  # the bad number is asked again
    story.next("陈明", "第 2/4 题")
    story.next("陈明", "请核对您的回答")
    story.next("陈明", "按下 [✅ 确认提交]", from_bot=False)
    story.next("陈明", "发现 1 个问题")
    story.next("陈明", "整改通知")

    story.next("钱志刚", "东2段信件报刊积压三天了", from_bot=False)
    draft = story.next("钱志刚", "类别：投递延误/积压")
    assert "地点：察素齐投递部 / 东2段" in draft.text and "139****5678" in draft.text
    submitted = story.next("钱志刚", "（已提交）")  # the draft edited, no message of its own
    assert submitted.text.startswith(texts.demo_edited("")) and "答复时限" in submitted.text
    card = story.next("马建军", "新投诉 #1")
    assert card.time == "10:01"
    assert texts.DEMO_NOTE_HANDLER_SILENT in transcript

    story.next("陈明", "提醒")
    story.next("张志强", "漏检汇总")
    alert = story.next("张志强", "1 级升级")
    assert alert.time == "10:30" and "处理人：马建军" in alert.text and "[认领]" in alert.text
    story.next("马建军", "按下 [答复]", from_bot=False)
    story.next("马建军", "已查明", from_bot=False)
    story.next("钱志刚", "已由 马建军 答复")
    story.next("张志强", "升级结束")

    story.next("张志强", "/progress", from_bot=False)
    story.next("张志强", "今日检查进度")
    story.next("张志强", "/report", from_bot=False)
    story.next("张志强", ".xlsx")
    story.next("张志强", "〔图片〕")

    summary = transcript[transcript.index(texts.DEMO_SUMMARY_TITLE) :]
    assert "完成 1 项" in summary
    assert "发现问题：1 个，生成整改 1 项" in summary
    assert "投诉：1 件，已答复 1 件，升级 1 次" in summary


def test_the_demo_day_shows_every_step(database_url: str) -> None:
    """On the test's own database (the demo imports the sample organisation into it), named
    as PostgreSQL tools and hosts give it: postgresql://… or sqlite:///…, no driver."""
    plain = database_url.replace("+aiosqlite://", "://").replace("+psycopg://", "://")
    assert plain.startswith(("sqlite:///", "postgresql://"))
    result, seconds = run("demo", "--database", plain)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    check_the_day(result.stdout)
    assert seconds < DEMO_TIME_LIMIT
    assert texts.NO_TOKEN_HELP not in result.stdout


def test_make_run_without_a_token_plays_the_demo_then_explains(tmp_path: Path) -> None:
    """README command 1 on a machine without a token: the demo on a temporary database,
    then how to get a token. The configured database is not needed for it."""
    config = tmp_path / "config.toml"
    config.write_text((REPO / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    result, seconds = run("--config", str(config), "run", "--demo-without-token")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert out.startswith(texts.RUN_DEMO_WITHOUT_TOKEN)
    check_the_day(out)
    assert out.index(texts.DEMO_SUMMARY_TITLE) < out.index(texts.NO_TOKEN_HELP)
    assert seconds < DEMO_TIME_LIMIT
    assert not (tmp_path / "data" / "bot.db").exists()  # the configured database was left alone


def test_the_makefile_runs_the_bot_or_the_demo() -> None:
    recipe = (REPO / "Makefile").read_text(encoding="utf-8").split("\nrun:", 1)[1]
    recipe = recipe.split("\n\n", 1)[0]
    assert "-m bot run --demo-without-token" in recipe
