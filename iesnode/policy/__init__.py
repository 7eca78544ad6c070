"""Policy as code: Rego v1 policy packs, compiled once and evaluated in-process (issue 5).

See ``research/trust-layer.md`` section 4 (regopy) and ``research/energy-domain.md``
section 5 (DEG network and contract policies). This package holds the engine
(:mod:`iesnode.policy.engine`), the v1 gate and annotations
(:mod:`iesnode.policy.syntax`) and the decision log (:mod:`iesnode.policy.decisions`).
"""

from __future__ import annotations

from iesnode.policy.decisions import DECISION_KIND, Decision, DecisionLog, input_digest
from iesnode.policy.engine import CompiledPolicy, Violation, compile_policy, violations
from iesnode.policy.errors import PolicyError
from iesnode.policy.syntax import RuleAnnotation, annotations_by_rule, check_v1, rule_annotations

__all__ = [
    "DECISION_KIND",
    "CompiledPolicy",
    "Decision",
    "DecisionLog",
    "PolicyError",
    "RuleAnnotation",
    "Violation",
    "annotations_by_rule",
    "check_v1",
    "compile_policy",
    "input_digest",
    "rule_annotations",
    "violations",
]
