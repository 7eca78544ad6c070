"""The HTTP transport turns what the client library raises into our two client errors."""

from __future__ import annotations

import pytest

from iesnode.errors import TransportError, UnusableUrl
from iesnode.http.transport import AiohttpTransport


async def test_a_url_with_credentials_is_unusable_not_unreachable() -> None:
    """user:password@host beside our Authorization header: UnusableUrl, which no retry helps."""
    transport = AiohttpTransport()
    try:
        with pytest.raises(UnusableUrl) as refused:
            await transport.post(
                "http://u:p@127.0.0.1:9/on_select", b"{}", {"Authorization": "x"}, 1
            )
    finally:
        await transport.aclose()
    assert not isinstance(refused.value, TransportError)


async def test_a_closed_port_is_unreachable() -> None:
    """Nobody listening (the discard port): TransportError, which a retry may help."""
    transport = AiohttpTransport()
    try:
        with pytest.raises(TransportError):
            await transport.post("http://127.0.0.1:9/select", b"{}", {}, 1)
    finally:
        await transport.aclose()
