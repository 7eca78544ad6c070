"""Conformance suite: tests a third-party BAP or BPP against the Beckn protocol."""

from iesnode.conformance.model import Check, CheckResult, Exchange, Level, Outcome, Report

__all__ = ["Check", "CheckResult", "Exchange", "Level", "Outcome", "Report"]
