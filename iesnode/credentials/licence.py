"""The verifier chain's licence step, answered by the registry's institution records.

An issuer of energy credentials (a DISCOM, a meter-data provider) must hold a valid
licence in the registry's role-based registry of institutions (issue 3); the registry
answers ``GET /institutions?orgId=<issuer DID>`` with each record and whether it is
valid now (``valid_now``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from urllib.parse import quote

from iesnode.credentials.errors import CredentialError
from iesnode.interfaces import Transport

__all__ = ["registry_licence_check"]


def registry_licence_check(
    transport: Transport,
    registry_url: str,
    *,
    roles: Collection[str] = (),
    timeout: float = 5.0,
) -> Callable[[str, datetime], Awaitable[bool]]:
    """A ``LicenceCheck``: does ``issuer`` hold a licence valid at ``at`` (in ``roles``)?"""

    async def check(issuer: str, at: datetime) -> bool:
        stamp = at.timestamp()
        url = (
            f"{registry_url.rstrip('/')}/institutions?orgId={quote(issuer, safe='')}&as_on={stamp}"
        )
        reply = await transport.get(url, {"Accept": "application/json"}, timeout)
        if reply.status != 200:
            raise CredentialError("licence", f"the registry answered HTTP {reply.status}")
        try:
            found = json.loads(reply.body)
        except ValueError as exc:
            raise CredentialError("licence", "the registry's answer is not JSON") from exc
        return any(
            isinstance(entry, dict)
            and entry.get("valid_now") is True
            and (not roles or entry.get("role") in roles)
            for entry in (found if isinstance(found, list) else [])
        )

    return check
