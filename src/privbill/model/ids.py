"""Identifiers: meter ids and account ids."""

from __future__ import annotations

import re
from typing import Final

_ID_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


def is_identifier(text: str) -> bool:
    """1–64 characters of letters, digits, ``.``, ``_``, ``:`` and ``-``, starting alphanumeric."""
    return bool(_ID_RE.match(text))
