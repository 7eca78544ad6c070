"""The verifier chain's registry lookups: issuer licences and revoked credentials.

* licence: an issuer of energy credentials (a DISCOM, a meter-data provider) must hold
  a valid licence in the registry's role-based registry of institutions (issue 3),
  ``GET /institutions?orgId=<issuer DID>&as_on=<t>`` (each record says ``valid_now``);
* revocation: the IES/DeDi credential revocation registry,
  ``GET /revocations/{credential id}``: 200 revoked, 404 not revoked.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from urllib.parse import quote

from iesnode.credentials.errors import CredentialError
from iesnode.interfaces import Transport

__all__ = ["registry_licence_check", "registry_revocation_check"]


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


def registry_revocation_check(
    transport: Transport, registry_url: str, *, timeout: float = 5.0
) -> Callable[[str], Awaitable[bool]]:
    """Is the credential ``id`` listed in the registry's revocation registry?"""

    async def check(credential_id: str) -> bool:
        url = f"{registry_url.rstrip('/')}/revocations/{quote(credential_id, safe='')}"
        reply = await transport.get(url, {"Accept": "application/json"}, timeout)
        if reply.status == 200:
            return True
        if reply.status == 404:
            return False
        raise CredentialError("status", f"the revocation registry answered HTTP {reply.status}")

    return check
