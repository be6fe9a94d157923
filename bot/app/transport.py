"""python-telegram-bot's requests over aiohttp instead of httpx.

Every update costs the bot two or three requests (its share of the long poll, the reply, a
button's answer) and the outbox one per message; httpx's stack (httpx, httpcore, h11, anyio)
costs about three times aiohttp's client in CPU per request (README, Performance).
"""

from __future__ import annotations

import asyncio
import io
import logging
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

logger = logging.getLogger(__name__)

FORM_URLENCODED = {"Content-Type": "application/x-www-form-urlencoded"}

POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)


class AiohttpRequest(BaseRequest):
    """A BaseRequest with HTTPXRequest's parameters, defaults and errors, on aiohttp.

    aiohttp has no pool or write timeout of its own: a semaphore sized like the connector
    bounds the wait for a connection, and the body is written under the write timeout.
    """

    __slots__ = (
        "_connect_timeout",
        "_environment",
        "_media_write_timeout",
        "_pool",
        "_pool_size",
        "_pool_timeout",
        "_proxies",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._pool = asyncio.Semaphore(connection_pool_size)
        self._session: aiohttp.ClientSession | None = None
        self._environment: dict[str, str] = {}
        # Per scheme and host: the bot talks to one or two.
        self._proxies: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        # A proxy from HTTPS_PROXY, ALL_PROXY or NO_PROXY, as httpx takes them: where Telegram
        # is out of reach, the bot's way to it. Read once, as httpx does; aiohttp's trust_env
        # would read the environment and ~/.netrc again on every request (0.45 ms of CPU).
        self._environment = getproxies()
        self._proxies.clear()
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                # The timeouts are given per request; none of aiohttp's five-minute total.
                timeout=aiohttp.ClientTimeout(),
                headers={"User-Agent": self.USER_AGENT},
                # Telegram sets no cookies: no jar to update on every answer.
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def shutdown(self) -> None:
        if self._session is None or self._session.closed:
            logger.debug("This AiohttpRequest is already shut down. Returning.")
            return
        await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        uploads = request_data is not None and request_data.contains_files
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._media_write_timeout if uploads else self._write_timeout
        body, headers = _body(request_data, write_timeout)
        try:
            async with asyncio.timeout(pool_timeout):
                await self._pool.acquire()
        except TimeoutError as error:
            raise TimedOut(message=POOL_TIMEOUT_MESSAGE) from error
        try:
            async with session.request(
                method,
                url,
                data=body,
                headers=headers,
                proxy=self._proxy(url),
                timeout=aiohttp.ClientTimeout(sock_connect=connect_timeout, sock_read=read_timeout),
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error
        finally:
            self._pool.release()

    def _proxy(self, url: str) -> str | None:
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        if origin not in self._proxies:
            bypass = proxy_bypass(parts.hostname or "")
            environment = self._environment
            self._proxies[origin] = (
                None if bypass else environment.get(parts.scheme, environment.get("all"))
            )
        return self._proxies[origin]


def _body(
    request_data: RequestData | None, write_timeout: float | None
) -> tuple[bytes | Payload | None, dict[str, str] | None]:
    """As HTTPXRequest sends them: the parameters form-encoded, or with files as multipart."""
    if request_data is None:
        return None, None
    if not request_data.contains_files:
        return urlencode(request_data.json_parameters).encode(), FORM_URLENCODED
    # File names as they are, in UTF-8, as httpx and browsers send them: aiohttp would
    # percent-encode them, and a report named 检查报告书 would arrive as %E6%A3%80….
    form = aiohttp.FormData(request_data.json_parameters, quote_fields=False)
    for name, (filename, content, content_type) in request_data.multipart_data.items():
        # Read in chunks as it is written: a large bytes value would be copied into the
        # socket's buffer at once, holding the loop (aiohttp warns of it).
        chunks = io.BytesIO(content) if isinstance(content, bytes) else content
        form.add_field(name, chunks, filename=filename, content_type=content_type)
    return _Deadline(form(), write_timeout), None


class _Deadline(Payload):
    """A payload written under a time limit: HTTPXRequest's write timeout (an upload)."""

    def __init__(self, inner: Payload, timeout: float | None) -> None:
        super().__init__(inner, headers=inner.headers, content_type=inner.content_type)
        self._inner = inner
        self._timeout = timeout

    @property
    def size(self) -> int | None:
        return self._inner.size

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self._inner.decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._inner.write_with_length(writer, content_length)
        except TimeoutError:
            # The peer stopped reading: closing would wait forever to flush what is
            # buffered, so the connection is dropped, as httpx drops it.
            transport = getattr(writer, "transport", None)
            if transport is not None:
                transport.abort()
            raise
