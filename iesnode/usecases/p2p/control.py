"""The control socket of a P2P role process: what its operator asks of it while it runs.

``python -m iesnode.usecases.p2p.process ROLE.toml --control PATH`` listens on a Unix
socket at ``PATH`` beside the role's signed Beckn endpoint. The socket file is made
readable and writable by the operator's account only, and a Unix socket is reachable
from the same machine only, so these commands need no signatures. One request is one
JSON object on one line, ``{"command": ..., <arguments>}``; the answer is one line,
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {"code", "message", "path"}}``.

Commands (``research/energy-domain.md`` §2.2, phases 4-6, are what a DISCOM runs):

* ``ping`` (every role): the role, its subscriber id and URL;
* ``allocate`` (ledger provider): ``day`` (``YYYY-MM-DD``) and ``round`` - ``seller``,
  ``buyer``, ``settle`` or ``all`` - runs that round of the daily allocation
  (:mod:`.allocation_run`) now: the explicit trigger next to the ``allocate_at``
  schedule, for a day the schedule missed or a re-run after late meter data. The rounds
  of one day share one run; ``settle`` and ``all`` answer the day's report
  (:mod:`.report_wire`). Across DISCOMs, run every seller round, then every buyer round,
  then every settlement;
* ``curtail`` (ledger provider): ``transaction_id``, ``order_item_id``, ``curtailed_kwh``
  and ``reason`` (default ``GRID_OUTAGE``): the DISCOM's curtailment of a trade
  (:meth:`.LedgerProvider.curtail`), announced to its platforms by unsolicited ``on_update``;
* ``records`` (ledger provider): the DISCOM's ledger records, of one ``transaction_id``
  if given;
* ``verify`` (ledger provider): a walk of the ledger's digest chain.

From a shell: ``python -m iesnode.usecases.p2p.control PATH allocate day=2026-05-15``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import structlog

from iesnode.errors import BusinessError, ClientError, ConfigError, IesError, ProtocolError
from iesnode.usecases.p2p.allocation_run import AllocationRun
from iesnode.usecases.p2p.config import whole
from iesnode.usecases.p2p.ledger_provider import LedgerProvider
from iesnode.usecases.p2p.ledger_view import records_wire
from iesnode.usecases.p2p.peers import P2PRole
from iesnode.usecases.p2p.report_wire import report_wire

if TYPE_CHECKING:
    from iesnode.node import Node

__all__ = ["ROUNDS", "ControlError", "ControlSocket", "RoleControl", "ask", "main", "serve_control"]

log = structlog.get_logger(__name__)

ROUNDS: Final = ("seller", "buyer", "settle", "all")
_REQUEST_LIMIT: Final = 64 * 1024
_ANSWER_LIMIT: Final = 64 * 1024 * 1024
_PATH_LIMIT: Final = 100
"""Bytes of a Unix socket path (the kernel's limit is 104 to 108, by platform)."""

Command = Callable[[Mapping[str, Any]], Awaitable[Any]]


class ControlError(ClientError):
    """The role process refused a control command, or could not be reached."""

    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        super().__init__(f"{code}: {message}" + (f" (path={path})" if path else ""))
        self.code = code
        self.message = message
        self.path = path


def _refused(code: str, message: str, path: str | None = None) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, "path": path}}


def _text(request: Mapping[str, Any], name: str, default: str | None = None) -> str:
    value = request.get(name, default)
    if not isinstance(value, str) or not value:
        raise BusinessError("CONTROL_BAD_ARGUMENT", f"{name}: expected a string", path=name)
    return value


def _day(request: Mapping[str, Any]) -> date:
    try:
        return date.fromisoformat(_text(request, "day"))
    except ValueError:
        raise BusinessError(
            "CONTROL_BAD_ARGUMENT", "day: expected YYYY-MM-DD", path="day"
        ) from None


class RoleControl:
    """The commands one running role answers."""

    def __init__(self, role: P2PRole, node: Node) -> None:
        self._role = role
        self._node = node
        self._runs: dict[date, AllocationRun] = {}
        self.commands: dict[str, Command] = {"ping": self._ping}
        if isinstance(role, LedgerProvider):
            self.commands.update(
                allocate=self._allocate,
                curtail=self._curtail,
                records=self._records,
                verify=self._verify,
            )

    async def answer(self, request: object) -> dict[str, Any]:
        """The answer to one request (never raises for a bad request)."""
        if not isinstance(request, Mapping):
            return _refused("CONTROL_BAD_REQUEST", "expected a JSON object")
        name = request.get("command")
        command = self.commands.get(name) if isinstance(name, str) else None
        if command is None:
            known = ", ".join(sorted(self.commands))
            return _refused("CONTROL_UNKNOWN_COMMAND", f"this role knows: {known}", "command")
        try:
            result = await command(request)
        except ProtocolError as exc:
            return _refused(exc.code, exc.message, exc.path)
        except IesError as exc:
            return _refused("CONTROL_FAILED", str(exc))
        except Exception:
            log.exception("control_command_failed", command=name)
            return _refused("CONTROL_FAILED", f"{name} failed; the role's log says why")
        log.info("control_command", command=name)
        return {"ok": True, "result": result}

    async def _ping(self, request: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "role": type(self._role).__name__,
            "subscriberId": self._node.signer.subscriber_id,
            "url": self._node.public_url,
        }

    def _lp(self) -> LedgerProvider:
        assert isinstance(self._role, LedgerProvider)
        return self._role

    async def _allocate(self, request: Mapping[str, Any]) -> dict[str, Any]:
        day = _day(request)
        step = _text(request, "round", "all")
        if step not in ROUNDS:
            raise BusinessError(
                "CONTROL_BAD_ARGUMENT", f"round: one of {', '.join(ROUNDS)}", path="round"
            )
        if step in ("seller", "all") or day not in self._runs:
            self._runs[day] = self._lp().allocation_run(day)
        run = self._runs[day]
        if step in ("seller", "all"):
            await run.seller_side()
        if step in ("buyer", "all"):
            await run.buyer_side()
        if step in ("settle", "all"):
            return report_wire(await run.settle())
        return {"round": step, "flags": list(run.flags)}

    async def _curtail(self, request: Mapping[str, Any]) -> dict[str, Any]:
        try:
            kwh = Decimal(_text(request, "curtailed_kwh"))
            curtailed = whole(kwh, 1000, "curtailed_kwh")
        except (InvalidOperation, ValueError):
            raise BusinessError(
                "CONTROL_BAD_ARGUMENT",
                "curtailed_kwh: a non-negative decimal of whole Wh",
                path="curtailed_kwh",
            ) from None
        record = await self._lp().curtail(
            _text(request, "transaction_id"),
            _text(request, "order_item_id"),
            curtailed_wh=curtailed,
            reason=_text(request, "reason", "GRID_OUTAGE"),
        )
        return record.to_wire()

    async def _records(self, request: Mapping[str, Any]) -> list[dict[str, Any]]:
        lp = self._lp()
        txn = request.get("transaction_id")
        found = await lp.ledger.get(
            reader=lp.discom_id, transaction_id=txn if isinstance(txn, str) else None
        )
        return records_wire(found)

    async def _verify(self, request: Mapping[str, Any]) -> dict[str, Any]:
        report = await self._lp().ledger.verify()
        return {
            "ok": report.ok,
            "rows": report.rows,
            "firstBadRow": report.first_bad_row,
            "reason": report.reason,
        }


class ControlSocket:
    """A listening control socket; :meth:`close` stops it and removes the socket file."""

    def __init__(self, server: asyncio.Server, path: Path) -> None:
        self.server = server
        self.path = path

    def close(self) -> None:
        """Stop listening (sessions in progress finish) and remove the socket file."""
        self.server.close()
        self.path.unlink(missing_ok=True)


def _replace_stale(path: Path) -> None:
    if len(os.fsencode(path)) > _PATH_LIMIT:
        raise ConfigError(f"--control {path}: a Unix socket path has at most {_PATH_LIMIT} bytes")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)


async def serve_control(path: Path, role: P2PRole, node: Node) -> ControlSocket:
    """Listen on the Unix socket ``path`` (replacing a stale one) for ``role``'s commands."""
    control = RoleControl(role, node)

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                except ValueError:
                    answer = _refused("CONTROL_BAD_REQUEST", "one JSON object per line")
                else:
                    answer = await control.answer(request)
                writer.write(json.dumps(answer).encode("utf-8") + b"\n")
                await writer.drain()
        except (ConnectionError, ValueError):  # gone, or a line above the limit
            pass
        finally:
            writer.close()

    _replace_stale(path)
    server = await asyncio.start_unix_server(session, path=str(path), limit=_REQUEST_LIMIT)
    os.chmod(path, 0o600)
    log.info("control_listening", path=str(path), commands=sorted(control.commands))
    return ControlSocket(server, path)


async def ask(
    path: Path,
    command: str,
    arguments: Mapping[str, object] | None = None,
    *,
    timeout: float = 120.0,
) -> Any:
    """Send ``command`` with its ``arguments`` to the role process at ``path``; its result."""
    try:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=_ANSWER_LIMIT)
    except OSError as exc:
        raise ControlError("CONTROL_UNREACHABLE", f"{path}: {exc.strerror or exc}") from None
    try:
        request = {"command": command, **(arguments or {})}
        writer.write(json.dumps(request, default=str).encode("utf-8") + b"\n")
        await writer.drain()
        async with asyncio.timeout(timeout):
            line = await reader.readline()
    except (OSError, TimeoutError) as exc:
        raise ControlError("CONTROL_UNREACHABLE", f"{path}: {exc!r}") from None
    finally:
        writer.close()
    try:
        answer = json.loads(line)
        if answer["ok"]:
            return answer["result"]
        error = answer["error"]
        raise ControlError(str(error["code"]), str(error["message"]), error.get("path"))
    except (ValueError, KeyError, TypeError):
        raise ControlError("CONTROL_BAD_ANSWER", f"{path} answered {line[:200]!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m iesnode.usecases.p2p.control SOCKET COMMAND [name=value ...]``."""
    parser = argparse.ArgumentParser(prog="python -m iesnode.usecases.p2p.control")
    parser.add_argument("socket", type=Path, help="the role process's --control path")
    parser.add_argument("command", help="ping, allocate, curtail, records, verify")
    parser.add_argument("arguments", nargs="*", metavar="name=value")
    args = parser.parse_args(argv)
    pairs = {name: value for name, _, value in (a.partition("=") for a in args.arguments)}
    try:
        result = asyncio.run(ask(args.socket, args.command, pairs))
    except ControlError as exc:
        print(f"iesnode: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
