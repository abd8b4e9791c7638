"""The household's consent policy: which disclosure requests the agent answers by itself.

A TOML file (``policy.toml`` beside the store, or given to ``privbill agent init --policy``)::

    # the ledger's limits (docs/disclosure.md §7): never reveal a stretch shorter than this
    [ledger]
    min_window = "23h"
    allow_open = false

    # auto-allow rules: a request is answered without asking only if every one of its
    # statements matches a rule; everything else waits for the person
    [[allow]]
    name = "period totals to my provider"
    kinds = ["sum"]            # open, sum, weighted-sum, threshold
    select = ["period"]        # period, window, register (a rule without select: any)
    requester = "*"            # "*" or the requester's exact name as the signed request gives it

With no file, nothing is allowed automatically and the ledger's default policy applies. Every
answer — automatic or agreed by the person — still goes through the ledger check, which refuses
what would reveal a single reading or a stretch shorter than ``min_window``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any, Final

from privbill.disclosure.ledger import DisclosurePolicy
from privbill.disclosure.model import DisclosureRequest, Statement
from privbill.errors import UsageError

KINDS: Final = ("open", "sum", "weighted-sum", "threshold")
SELECTS: Final = ("period", "window", "register")
OBJ: Final = "consent policy"

EXAMPLE: Final = """\
# privbill consent policy: what the agent answers without asking
[ledger]
min_window = "23h"
allow_open = false

[[allow]]
name = "period totals to my provider"
kinds = ["sum"]
select = ["period"]
requester = "*"
"""

_UNITS: Final = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str, key: str) -> int:
    t = text.strip().lower()
    if t == "0":
        return 0
    if len(t) < 2 or t[-1] not in _UNITS or not t[:-1].isdigit():
        raise UsageError(f"{text!r} is not a duration (23h, 1d, 90m, 0)", obj=OBJ, field=key)
    return int(t[:-1]) * _UNITS[t[-1]]


@dataclass(frozen=True)
class Rule:
    name: str
    kinds: tuple[str, ...]
    select: tuple[str, ...] | None
    requester: str

    def matches(self, request: DisclosureRequest, s: Statement) -> bool:
        if self.requester != "*" and self.requester != request.requester:
            return False
        if s.KIND not in self.kinds:
            return False
        if self.select is None:
            return True
        sel = s.selector()
        return sel is not None and sel.KIND in self.select


@dataclass(frozen=True)
class ConsentPolicy:
    ledger: DisclosurePolicy = field(default_factory=DisclosurePolicy)
    rules: tuple[Rule, ...] = ()

    @classmethod
    def parse(cls, text: str) -> ConsentPolicy:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"not valid TOML: {exc}", obj=OBJ) from None
        unknown = set(data) - {"ledger", "allow"}
        if unknown:
            raise UsageError("unknown section", obj=OBJ, field=sorted(unknown)[0])
        led: dict[str, Any] = data.get("ledger", {})
        if not isinstance(led, dict) or set(led) - {"min_window", "allow_open"}:
            raise UsageError("expected min_window and allow_open only", obj=OBJ, field="ledger")
        mw = led.get("min_window", "23h")
        if not isinstance(mw, str):
            raise UsageError("expected a duration text", obj=OBJ, field="ledger.min_window")
        allow_open = led.get("allow_open", False)
        if not isinstance(allow_open, bool):
            raise UsageError("expected true or false", obj=OBJ, field="ledger.allow_open")
        rules: list[Rule] = []
        raw_rules = data.get("allow", [])
        if not isinstance(raw_rules, list):
            raise UsageError("expected [[allow]] tables", obj=OBJ, field="allow")
        for k, r in enumerate(raw_rules):
            path = f"allow[{k}]"
            if not isinstance(r, dict) or set(r) - {"name", "kinds", "select", "requester"}:
                raise UsageError(
                    "a rule has name, kinds, select and requester only", obj=OBJ, field=path
                )
            kinds = r.get("kinds")
            if not isinstance(kinds, list) or not kinds or any(x not in KINDS for x in kinds):
                raise UsageError(
                    f"kinds: a list of {', '.join(KINDS)}", obj=OBJ, field=f"{path}.kinds"
                )
            select = r.get("select")
            if select is not None and (
                not isinstance(select, list) or not select or any(x not in SELECTS for x in select)
            ):
                raise UsageError(
                    f"select: a list of {', '.join(SELECTS)}", obj=OBJ, field=f"{path}.select"
                )
            requester = r.get("requester", "*")
            name = r.get("name", f"rule {k + 1}")
            if not isinstance(requester, str) or not isinstance(name, str):
                raise UsageError("expected text", obj=OBJ, field=f"{path}.requester")
            rules.append(
                Rule(name, tuple(kinds), None if select is None else tuple(select), requester)
            )
        return cls(
            DisclosurePolicy(parse_duration(mw, "ledger.min_window"), allow_open), tuple(rules)
        )

    def decide(self, request: DisclosureRequest) -> tuple[bool, list[str]]:
        """``(every statement auto-allowed, the rule or reason per statement)``."""
        reasons: list[str] = []
        ok = True
        for s in request.statements:
            rule = next((r for r in self.rules if r.matches(request, s)), None)
            if rule is None:
                ok = False
                reasons.append("no rule allows it: waits for you")
            else:
                reasons.append(f"allowed by {rule.name!r}")
        return ok, reasons
