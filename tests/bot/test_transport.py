"""The bot's aiohttp transport does what python-telegram-bot expects of a request: against the
sandbox (parameters, keyboards, uploads, downloads) and against local servers that stall,
refuse or never read, raising TimedOut and NetworkError where HTTPXRequest does."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.app.transport import AiohttpRequest
from bot.sandbox import SandboxServer
from bot.sandbox.samples import png

USER_ID = 1001


@pytest.fixture
async def bot(sandbox: SandboxServer) -> AsyncIterator[Bot]:
    async with Bot(
        sandbox.token,
        base_url=sandbox.base_url,
        base_file_url=sandbox.base_file_url,
        request=AiohttpRequest(),
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    ) as telegram_bot:
        yield telegram_bot


async def test_a_message_with_a_keyboard_arrives_as_sent(sandbox: SandboxServer, bot: Bot) -> None:
    user = sandbox.user(USER_ID, "张志强")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认提交", callback_data="ok:1")]])
    returned = await bot.send_message(USER_ID, "<b>投诉</b> 已记录", "HTML", reply_markup=keyboard)
    (message,) = await user.replies(1, timeout=2)
    assert message.text == "投诉 已记录"
    assert message.buttons == [[("确认提交", "ok:1")]]
    assert returned.message_id == message.message_id


async def test_a_refusal_is_telegrams_error_not_the_transports(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999_999, "谁")


async def test_uploads_arrive_intact_and_downloads_come_back(
    sandbox: SandboxServer, bot: Bot
) -> None:
    user = sandbox.user(USER_ID, "张志强")
    workbook = bytes(range(256)) * 4_000  # ~1 MB, every byte value
    chart = png(640, 480)
    await bot.send_document(USER_ID, workbook, filename="检查报告书.xlsx", caption="十一月")
    # A file handle, as the monthly report's charts may be given.
    await bot.send_photo(USER_ID, io.BytesIO(chart), caption="图表")
    document, photo = await user.replies(2, timeout=5)
    assert document.file_bytes == workbook
    assert document.file_name == "检查报告书.xlsx"
    assert document.caption == "十一月"
    assert photo.file_bytes == chart
    assert photo.caption == "图表"
    assert photo.file_id is not None
    downloaded = await (await bot.get_file(photo.file_id)).download_as_bytearray()
    assert bytes(downloaded) == chart


async def test_the_long_poll_waits_for_its_own_timeout(sandbox: SandboxServer, bot: Bot) -> None:
    # Longer than the request's 0.2 s default: get_updates adds its timeout to the read timeout.
    request = AiohttpRequest(connection_pool_size=1, read_timeout=0.2)
    await request.initialize()
    polling = Bot(sandbox.token, base_url=sandbox.base_url, get_updates_request=request)
    async with polling:
        assert await polling.get_updates(timeout=1) == ()


@pytest.fixture
async def slow_server() -> AsyncIterator[str]:
    """Answers after the number of seconds in its path; /upload reads the body first."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(float(request.match_info["delay"]))
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/{delay}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def request_() -> AsyncIterator[AiohttpRequest]:
    transport = AiohttpRequest(read_timeout=0.2, pool_timeout=0.2, write_timeout=0.2)
    await transport.initialize()
    yield transport
    await transport.shutdown()


async def test_a_slow_answer_times_out_unless_the_call_allows_more(
    slow_server: str, request_: AiohttpRequest
) -> None:
    with pytest.raises(TimedOut):
        await request_.post(f"{slow_server}/0.5")
    assert await request_.post(f"{slow_server}/0.5", read_timeout=2) is True


async def test_a_full_pool_times_out_without_sending(slow_server: str) -> None:
    transport = AiohttpRequest(connection_pool_size=1, pool_timeout=0.1)
    async with transport:
        busy = asyncio.create_task(transport.post(f"{slow_server}/0.5"))
        await asyncio.sleep(0.05)
        with pytest.raises(TimedOut, match="Pool timeout"):
            await transport.post(f"{slow_server}/0")
        assert await busy is True
        # The connection is given back: the next call goes through.
        assert await transport.post(f"{slow_server}/0") is True


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_refused_connection_is_a_network_error(request_: AiohttpRequest) -> None:
    with pytest.raises(NetworkError) as raised:
        await request_.post(f"http://127.0.0.1:{_closed_port()}/0")
    assert not isinstance(raised.value, TimedOut)


async def test_an_upload_nobody_reads_times_out() -> None:
    release, released = asyncio.Event(), asyncio.Event()

    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()
        await writer.wait_closed()
        released.set()

    server = await asyncio.start_server(never_read, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # More than loopback's socket buffers take, so the write itself has to wait.
    upload = InputFile(b"\0" * 64_000_000, filename="big.bin")
    data = RequestData([RequestParameter("document", None, [upload])])
    transport = AiohttpRequest(media_write_timeout=0.3, read_timeout=30)
    try:
        async with transport:
            with pytest.raises(TimedOut):
                await asyncio.wait_for(
                    transport.post(f"http://127.0.0.1:{port}/upload", data), timeout=5
                )
    finally:
        release.set()
        await released.wait()
        server.close()
        await server.wait_closed()


async def test_shut_down_it_refuses_and_initialized_again_it_works(slow_server: str) -> None:
    transport = AiohttpRequest()
    with pytest.raises(NetworkError, match="not initialized"):
        await transport.post(f"{slow_server}/0")
    await transport.initialize()
    await transport.shutdown()
    await transport.shutdown()  # twice is harmless, as HTTPXRequest's
    with pytest.raises(NetworkError, match="not initialized"):
        await transport.post(f"{slow_server}/0")
    await transport.initialize()
    assert await transport.post(f"{slow_server}/0") is True
    await transport.shutdown()


async def test_the_proxy_comes_from_the_environment(
    slow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The local server stands in for the proxy: the host named cannot be reached without it.
    monkeypatch.setenv("HTTP_PROXY", slow_server)
    monkeypatch.setenv("NO_PROXY", "direct.invalid")
    transport = AiohttpRequest()
    async with transport:
        assert await transport.post("http://api.telegram.invalid/0") is True
        with pytest.raises(NetworkError):
            await transport.post("http://direct.invalid/0")
