"""A small asyncio HTTP/1.1 client for the load benchmark: one keep-alive connection and one cookie jar per
virtual shopper, nothing else. It costs far less CPU per request than a general-purpose client, which matters
when the client, the server and PostgreSQL share two cores.
"""

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

REQUEST_TIMEOUT = 30.0
# Servers close idle keep-alive connections after 5 s (gunicorn's `keepalive`, uvicorn's default): reconnect
# before that rather than race the server's close.
MAX_IDLE = 2.0


class RequestFailed(Exception):
    """A request that got no usable HTTP answer; `kind` names why (timeout, connect, disconnected, ...)."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    set_cookies: list[str]
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    last_used: float = field(default_factory=time.monotonic)

    def close(self):
        self.writer.close()


class Session:
    """A browser-like client: keeps its connection alive and its cookies between requests."""

    def __init__(self, host: str, port: int, keep_alive: bool = True):
        self.host, self.port, self.keep_alive = host, port, keep_alive
        self.cookies: dict[str, str] = {}
        self._connection: _Connection | None = None

    async def get(self, path: str, headers: dict | None = None) -> Response:
        return await self.request("GET", path, headers=headers)

    async def post_form(self, path: str, form: dict, headers: dict | None = None) -> Response:
        body = urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return await self.request("POST", path, headers=headers, body=body)

    async def post_json(self, path: str, body: bytes, headers: dict | None = None) -> Response:
        headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        return await self.request("POST", path, headers=headers, body=body)

    async def request(self, method: str, path: str, headers: dict | None = None, body: bytes = b"") -> Response:
        try:
            return await asyncio.wait_for(self._request(method, path, headers or {}, body), REQUEST_TIMEOUT)
        except TimeoutError:
            self.reset_connection()
            raise RequestFailed("timeout", f"{method} {path}") from None
        except RequestFailed:
            self.reset_connection()
            raise
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
            self.reset_connection()
            raise RequestFailed("disconnected", f"{method} {path}: {error!r}") from None

    def reset_connection(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def reset(self):
        """Forget cookies and connection: a new shopper."""
        self.reset_connection()
        self.cookies.clear()

    async def _connect(self) -> _Connection:
        if self._connection is not None and time.monotonic() - self._connection.last_used > MAX_IDLE:
            self.reset_connection()
        if self._connection is None:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
            except OSError as error:
                raise RequestFailed("connect", repr(error)) from None
            self._connection = _Connection(reader, writer)
        return self._connection

    async def _request(self, method: str, path: str, headers: dict, body: bytes) -> Response:
        connection = await self._connect()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "User-Agent: shop-loadbench"]
        if not self.keep_alive:
            lines.append("Connection: close")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{name}={value}" for name, value in self.cookies.items()))
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        connection.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await connection.writer.drain()
        response, keep_alive = await _read_response(connection.reader, method)
        connection.last_used = time.monotonic()
        if not keep_alive:
            self.reset_connection()
        for cookie in response.set_cookies:
            self._store_cookie(cookie)
        return response

    def _store_cookie(self, header: str):
        pair, *attributes = header.split(";")
        name, _, value = pair.strip().partition("=")
        expired = any(
            attribute.strip().lower() in ("max-age=0", "expires=thu, 01 jan 1970 00:00:00 gmt")
            for attribute in attributes
        )
        if expired or not value:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


async def _read_response(reader: asyncio.StreamReader, method: str) -> tuple[Response, bool]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        raise RequestFailed("disconnected", "closed before answering" if not error.partial else "cut answer") from None
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, status, *_ = status_line.split(" ", 2)
    headers: dict[str, str] = {}
    cookies = []
    for line in header_lines:
        if not line:
            continue
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "set-cookie":
            cookies.append(value)
        else:
            headers[name] = value
    keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    code = int(status)
    if method == "HEAD" or code in (204, 304) or 100 <= code < 200:
        body = b""
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body, keep_alive = await reader.read(), False
    return Response(code, headers, cookies, body), keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
