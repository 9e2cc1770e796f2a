"""Deny rules: which request a rule refuses (403 ``policy_denied``, code = the rule's name)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from igris_core.local_gateway._config.settings import DenyRule
from igris_core.local_gateway._wire.errors import GatewayError

__all__ = ["RequestFacts", "check_deny_rules", "matching_deny_rule"]


@dataclass(frozen=True)
class RequestFacts:
    """What policies look at: who calls, through which connection and model, saying what."""

    key_id: str | None
    user: str | None
    connection: str | None
    model: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)
    text: str = ""


def _metadata_matches(wanted: Mapping[str, str], have: Mapping[str, str]) -> bool:
    # Header names reach the server lowercased, so keys compare case-insensitively.
    lowered = {k.lower(): v for k, v in have.items()}
    return all(lowered.get(k.lower()) == v for k, v in wanted.items())


def rule_matches(rule: DenyRule, facts: RequestFacts) -> bool:
    """True when every criterion the rule sets holds for the request."""
    checks = (
        (rule.key_id, facts.key_id),
        (rule.user, facts.user),
        (rule.connection, facts.connection),
        (rule.model, facts.model),
    )
    if any(wanted is not None and wanted != have for wanted, have in checks):
        return False
    if rule.metadata and not _metadata_matches(rule.metadata, facts.metadata):
        return False
    return rule.regex is None or rule.regex.search(facts.text) is not None


def matching_deny_rule(rules: Iterable[DenyRule], facts: RequestFacts) -> DenyRule | None:
    """The first rule (in the order they were added) that denies the request."""
    return next((rule for rule in rules if rule_matches(rule, facts)), None)


def check_deny_rules(rules: Iterable[DenyRule], facts: RequestFacts) -> None:
    """Raise the 403 answer of the first matching rule, if any."""
    rule = matching_deny_rule(rules, facts)
    if rule is not None:
        raise GatewayError(
            403,
            f"request denied by policy rule '{rule.name}'",
            code=rule.name,
            rule=rule.name,
        )
