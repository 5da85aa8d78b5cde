"""HTTP clients to the server under test: a plain requests session, and a keep-alive pool on asyncio for load."""
from __future__ import annotations

import asyncio
import time


def http_session():
    """requests.Session that never goes through a proxy (all traffic is to 127.0.0.1)."""
    import requests

    s = requests.Session()
    s.trust_env = False
    return s


class HTTPPool:
    """Keep-alive HTTP/1.1 connections to one host, used from the same event loop as the sockets
    (no threads, so time stamps are not delayed by the GIL)."""

    def __init__(self, port: int, size: int = 32, max_idle: float = 3.0):
        self.port = port
        self.max_idle = max_idle  # below gunicorn's keepalive (5 s): never reuse one it may be closing
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self._sem = asyncio.Semaphore(size)
        self.opened = 0
        self.retried = 0

    async def _connection(self, reuse: bool):
        now = time.monotonic()
        while reuse and self._idle:
            reader, writer, since = self._idle.pop()
            if now - since < self.max_idle:
                return reader, writer, False
            writer.close()
        self.opened += 1
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        return reader, writer, True

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"",
                      on_sent=None, timeout: float = 30.0) -> tuple[int, bytes]:
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Connection: keep-alive",
                f"Content-Length: {len(body)}"] + [f"{k}: {v}" for k, v in headers.items()]
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        async with self._sem:
            reader, writer, fresh = await self._connection(reuse=True)
            while True:
                try:
                    if on_sent is not None:
                        on_sent()
                    writer.write(payload)
                    status, data, keep = await asyncio.wait_for(self._read_response(reader), timeout)
                    break
                except (ConnectionError, asyncio.IncompleteReadError, EOFError) as exc:
                    writer.close()
                    if fresh:
                        raise RuntimeError(f"{method} {path}: {exc!r}") from exc
                    # A reused connection the server closed before answering: once more on a new one.
                    self.retried += 1
                    reader, writer, fresh = await self._connection(reuse=False)
            if keep:
                self._idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()
            return status, data

    @staticmethod
    async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        line = await reader.readline()
        if not line:
            raise EOFError("connection closed")
        status = int(line.split()[1])
        length, chunked, keep = None, False, True
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.lower() == "close":
                keep = False
        if chunked:
            parts = []
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            data = b"".join(parts)
        elif length is not None:
            data = await reader.readexactly(length)
        else:
            data = await reader.read()
            keep = False
        return status, data, keep

    def close(self) -> None:
        for _, writer, _ in self._idle:
            writer.close()
        self._idle.clear()
