"""Rego v1 gate and ``# METADATA`` annotations, read from the source in Python.

``research/trust-layer.md`` section 4.1: regopy accepts Rego v0 (``allow { ... }``
without ``if``), so we refuse v0 modules ourselves before they reach the engine,
and ``rego.metadata.*`` is unsupported there, so annotations (OPA's ``# METADATA``
blocks: ``title``, ``description``, ``related_resources``) are read here too.

The v1 check is lexical: a small tokenizer that skips comments, ``"..."`` and
raw `````...````` strings, tracks bracket depth, and looks at every ``{`` at the
top level of a module. A ``{`` that follows an operator (``:=``, ``=``, ``,``,
``contains``, ``in`` ...) starts a value (object, set or comprehension); one that
follows ``if`` opens a v1 body; any other opens a v0 body and is refused. A head
``name[var] if`` (a v0 partial set with ``if`` bolted on) is refused as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from iesnode.policy.errors import PolicyError

__all__ = ["RuleAnnotation", "annotations_by_rule", "check_v1", "rule_annotations"]

_TOKEN = re.compile(
    r"""
    (?P<newline>\n)
    | (?P<space>[ \t\r\f]+)
    | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:[^"\\\n]|\\.)*")
    | (?P<raw>`[^`]*`)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<number>[0-9][0-9.eE+\-]*)
    | (?P<op>:=|==|!=|<=|>=|[{}\[\]().,;:=<>+\-*/%|&!])
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_OPENERS = {"{": "}", "[": "]", "(": ")"}
_VALUE_BEFORE = {
    ":=", "=", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "|", "&", ",",
    ":", "contains", "in", "not", "with", "as", "some", "every", "default",
}  # fmt: skip
_V0_HINT = "Rego v1 needs `if` before a rule body and `contains` for partial sets"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    line: int


def _tokens(module: str, source: str) -> list[_Token]:
    """Significant tokens of ``source`` (no spaces, newlines or comments)."""
    found: list[_Token] = []
    line = 1
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup or "other"
        text = match.group()
        if kind == "other" and text == '"':
            raise PolicyError("POL_SYNTAX", "unterminated string", module=module, line=line)
        if kind not in ("newline", "space", "comment"):
            found.append(_Token(kind, text, line))
        line += text.count("\n")
    return found


def check_v1(module_name: str, source: str) -> None:
    """Raise ``PolicyError(POL_V0_SYNTAX)`` naming the module and line of a Rego v0 form."""
    tokens = _tokens(module_name, source)
    stack: list[str] = []
    for index, token in enumerate(tokens):
        if token.text in _OPENERS and token.kind == "op":
            if token.text == "{" and not stack:
                _check_top_brace(module_name, tokens, index)
            stack.append(_OPENERS[token.text])
        elif token.kind == "op" and token.text in ("}", "]", ")"):
            if not stack or stack.pop() != token.text:
                raise PolicyError(
                    "POL_SYNTAX", f"unbalanced {token.text!r}", module=module_name, line=token.line
                )
        elif token.text == "if" and token.kind == "ident" and not stack:
            _check_if_head(module_name, tokens, index)
    if stack:
        line = tokens[-1].line if tokens else 1
        raise PolicyError("POL_SYNTAX", "unclosed bracket", module=module_name, line=line)


def _check_top_brace(module: str, tokens: list[_Token], index: int) -> None:
    """A top-level ``{`` must start a value or follow ``if``."""
    previous = tokens[index - 1] if index else None
    if previous is None or previous.text in _VALUE_BEFORE:
        return
    if previous.text == "if" and previous.kind == "ident":
        return
    raise PolicyError(
        "POL_V0_SYNTAX",
        f"rule body opened with '{{' without 'if' (after {previous.text!r}); {_V0_HINT}",
        module=module,
        line=tokens[index].line,
    )


def _check_if_head(module: str, tokens: list[_Token], index: int) -> None:
    """``name[var] if`` with no value is a v0 partial set rule in disguise."""
    if index < 4:
        return
    name, opening, var, closing = tokens[index - 4 : index]
    before = tokens[index - 5] if index >= 5 else None
    starts_rule = before is None or before.line < name.line
    if (
        starts_rule
        and name.kind == "ident"
        and opening.text == "["
        and var.kind == "ident"
        and closing.text == "]"
    ):
        raise PolicyError(
            "POL_V0_SYNTAX",
            f"partial set rule written {name.text}[{var.text}]; "
            f"write `{name.text} contains {var.text} if`",
            module=module,
            line=name.line,
        )


@dataclass(frozen=True, slots=True)
class RuleAnnotation:
    """One ``# METADATA`` block and the rule it annotates (OPA annotations)."""

    rule: str
    line: int
    """1-based line of the annotated rule's head."""
    title: str | None = None
    description: str | None = None
    related_resources: tuple[str, ...] = ()
    """Each resource's ``ref`` (or the bare string form)."""
    scope: str | None = None

    @property
    def anchors(self) -> tuple[str, ...]:
        """Fragments of ``intent.md#<anchor>`` references."""
        return tuple(
            ref.split("#", 1)[1]
            for ref in self.related_resources
            if ref.startswith("intent.md#") and ref.split("#", 1)[1]
        )


def rule_annotations(source: str) -> list[RuleAnnotation]:
    """Every ``# METADATA`` block followed by a rule, in source order."""
    lines = source.splitlines()
    found: list[RuleAnnotation] = []
    index = 0
    while index < len(lines):
        if lines[index].strip() != "# METADATA":
            index += 1
            continue
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].lstrip().startswith("#"):
            text = lines[index].lstrip()[1:]
            body.append(text[1:] if text.startswith(" ") else text)
            index += 1
        head = lines[index] if index < len(lines) else ""
        match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_.]*)", head)
        if match is None or match.group(1) in ("package", "import"):
            continue
        rule = match.group(1)
        if rule == "default":
            after = re.match(r"\s*default\s+([A-Za-z_][A-Za-z0-9_.]*)", head)
            rule = after.group(1) if after else rule
        found.append(_parse_block(rule, index + 1, body))
    return found


def annotations_by_rule(source: str) -> dict[str, RuleAnnotation]:
    """Annotations keyed by rule name; a name annotated again is keyed ``name@<line>``."""
    keyed: dict[str, RuleAnnotation] = {}
    for annotation in rule_annotations(source):
        key = (
            annotation.rule
            if annotation.rule not in keyed
            else f"{annotation.rule}@{annotation.line}"
        )
        keyed[key] = annotation
    return keyed


def _parse_block(rule: str, line: int, body: list[str]) -> RuleAnnotation:
    """The YAML subset OPA annotations use: scalars, block scalars, a list of refs."""
    fields: dict[str, str] = {}
    resources: list[str] = []
    index = 0
    while index < len(body):
        text = body[index]
        index += 1
        match = re.match(r"([A-Za-z_][A-Za-z0-9_-]*):\s*(.*)$", text)
        if match is None:
            continue
        key, value = match.group(1), match.group(2).strip()
        nested: list[str] = []
        while index < len(body) and (
            body[index].startswith((" ", "\t", "- ")) or not body[index].strip()
        ):
            nested.append(body[index])
            index += 1
        if key == "related_resources":
            resources.extend(_resources(nested))
        elif value in ("|", "|-", ">", ">-", ""):
            lines = [item.strip() for item in nested]
            fields[key] = ("\n" if value.startswith("|") else " ").join(lines).strip()
        else:
            fields[key] = _unquote(value)
    return RuleAnnotation(
        rule=rule,
        line=line,
        title=fields.get("title"),
        description=fields.get("description"),
        related_resources=tuple(resources),
        scope=fields.get("scope"),
    )


def _resources(nested: list[str]) -> list[str]:
    """``- ref: X`` items (their other keys ignored) or bare ``- X`` strings."""
    refs: list[str] = []
    for text in nested:
        item = text.strip()
        starts_item = item.startswith("- ")
        if starts_item:
            item = item[2:].strip()
        if item.startswith("ref:"):
            refs.append(_unquote(item[4:].strip()))
        elif starts_item and item and not re.match(r"[A-Za-z_][A-Za-z0-9_-]*:(\s|$)", item):
            refs.append(_unquote(item))
    return refs


def _unquote(value: str) -> str:
    """Strip one pair of matching YAML quotes."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
