"""Errors of the service layer, each with the HTTP status it maps to.

Errors of the library (:mod:`privbill.errors`) map as: :class:`DecodeError` and
:class:`UsageError` → 400; :class:`VerificationError` subclasses → 422 where a request is checked
inline (a disclosure response, a tariff's signature). A bill's verification error is not an
HTTP error: the bill is stored and its status says ``invalid`` with the typed error.
"""

from __future__ import annotations

from privbill.errors import PrivbillError


class ServiceError(PrivbillError):
    status = 400
    code = "bad_request"


class NotFoundError(ServiceError):
    status = 404
    code = "not_found"


class ConflictError(ServiceError):
    status = 409
    code = "conflict"


class AuthenticationError(ServiceError):
    """No credentials, or credentials that do not check (bad token, signature, stale or replayed
    request)."""

    status = 401
    code = "unauthenticated"


class ForbiddenError(ServiceError):
    """Valid credentials that do not allow this operation on this object."""

    status = 403
    code = "forbidden"


class PayloadTooLargeError(ServiceError):
    status = 413
    code = "payload_too_large"


class RateLimitedError(ServiceError):
    status = 429
    code = "rate_limited"


class UnprocessableError(ServiceError):
    status = 422
    code = "unprocessable"
