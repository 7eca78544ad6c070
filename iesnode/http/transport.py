"""The aiohttp implementation of the ``Transport`` seam (outbound HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp

from iesnode.errors import TransportError, UnusableUrl
from iesnode.interfaces import Reply

__all__ = ["AiohttpTransport"]


class AiohttpTransport:
    """Outbound HTTP over one pooled ``aiohttp.ClientSession``.

    The session is opened on first use (inside the running loop); close it with
    :meth:`aclose`.
    """

    def __init__(self, *, limit: int = 256, user_agent: str = "iesnode") -> None:
        self._limit = limit
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._limit, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self._user_agent}
            )
        return self._session

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Reply:
        """POST exactly ``body``; the caller has already signed these bytes."""
        return await self._request("POST", url, body, headers, timeout)

    async def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Reply:
        """GET ``url``."""
        return await self._request("GET", url, None, headers, timeout)

    async def _request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: float,
    ) -> Reply:
        try:
            async with self._open().request(
                method,
                url,
                data=body,
                headers=dict(headers),
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
            ) as resp:
                data = await resp.read()
                return Reply(resp.status, data, dict(resp.headers))
        except TimeoutError as exc:
            raise TransportError(url, f"no answer within {timeout:g}s") from exc
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            raise TransportError(url, f"{type(exc).__name__}: {exc}") from exc
        except ValueError as exc:  # aiohttp refuses the URL itself (user:pw@host with our auth)
            raise UnusableUrl(url, str(exc)) from exc

    async def aclose(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None
