"""Selective disclosure (``docs/disclosure.md``): the provider asks, the customer consents and
answers from sealed readings, anyone verifies the answer.

Code map:

* :mod:`~privbill.disclosure.model` — the signed request, the consent, the response and their
  strict decoders; the :class:`~privbill.disclosure.model.Statement` base class and the registry
  every statement kind is dispatched through;
* :mod:`~privbill.disclosure.statements` — the statement kinds, one class each (signed form,
  JSON description, wording, proof and verification side by side), and the JSON statement list;
* :mod:`~privbill.disclosure.proofs` — statement contexts, revealed-value and range proofs;
* :mod:`~privbill.disclosure.evidence` — where an answer's sealed evidence comes from and its check;
* :mod:`~privbill.disclosure.answering` — the customer's side, :func:`answer`;
* :mod:`~privbill.disclosure.verification` — the provider's side, :func:`verify`;
* :mod:`~privbill.disclosure.verified` — what a verifier learns, and its one JSON view;
* :mod:`~privbill.disclosure.wording` — plain words: the request as the customer sees it;
* :mod:`~privbill.disclosure.figures`, :mod:`~privbill.disclosure.ledger`,
  :mod:`~privbill.disclosure.span` — what each answer and bill discloses, the customer's ledger
  and policy, and the exact linear algebra that decides it.
"""

from __future__ import annotations

from privbill.disclosure import statements as statements  # registers the statement kinds
from privbill.disclosure.answering import answer
from privbill.disclosure.figures import record_bill, statement_entry
from privbill.disclosure.ledger import DEFAULT_POLICY, DisclosureLedger, DisclosurePolicy
from privbill.disclosure.model import (
    Consent,
    DisclosurePolicyError,
    DisclosureRequest,
    DisclosureResponse,
    MeterRef,
    Statement,
)
from privbill.disclosure.statements import OpenReadings, Sum, Threshold, WeightedSum
from privbill.disclosure.verification import verify
from privbill.disclosure.verified import StatementResult, VerifiedDisclosure
from privbill.disclosure.wording import describe

__all__ = [
    "DEFAULT_POLICY",
    "Consent",
    "DisclosureLedger",
    "DisclosurePolicy",
    "DisclosurePolicyError",
    "DisclosureRequest",
    "DisclosureResponse",
    "MeterRef",
    "OpenReadings",
    "Statement",
    "StatementResult",
    "Sum",
    "Threshold",
    "VerifiedDisclosure",
    "WeightedSum",
    "answer",
    "describe",
    "record_bill",
    "statement_entry",
    "verify",
]
