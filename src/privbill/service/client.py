"""A small HTTP client of the service, for the command line and the tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from privbill.crypto.signatures import SigningKey
from privbill.errors import PrivbillError
from privbill.service import auth

CBOR = "application/cbor"


class ServiceCallError(PrivbillError):
    """The service answered with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        err = body.get("error", {}) if isinstance(body, dict) else {}
        message = err.get("message") or str(body)
        super().__init__(f"HTTP {status}: {message}", obj="service")
        self.error_type = err.get("type")


class Client:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        customer: tuple[str, SigningKey] | None = None,
        bill_token: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.prefix = urlsplit(self.base).path
        self.token = token
        self.customer = customer
        self.bill_token = bill_token
        self.http = httpx.Client(base_url=self.base, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        h: dict[str, str] = {}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        elif self.customer is not None:
            account, key = self.customer
            h.update(auth.sign_request(key, account, method, self.prefix + path, body))
        elif self.bill_token:
            h[auth.H_BILL_TOKEN] = self.bill_token
        return h

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        json_body: Any = None,
        content_type: str | None = None,
        accept: str = "application/json",
    ) -> httpx.Response:
        if json_body is not None:
            body = httpx.Request("POST", "http://x", json=json_body).read()
            content_type = "application/json"
        h = self.headers(method, path, body)
        h["Accept"] = accept
        if content_type:
            h["Content-Type"] = content_type
        r = self.http.request(method, path, content=body or None, headers=h)
        if r.status_code >= 400:
            try:
                payload: Any = r.json()
            except ValueError:
                payload = r.text
            raise ServiceCallError(r.status_code, payload)
        return r

    def json(self, method: str, path: str, **kw: Any) -> Any:
        return self.request(method, path, **kw).json()

    def cbor(self, path: str) -> bytes:
        return self.request("GET", path, accept=CBOR).content

    # -- common calls --

    def submit(self, bill: bytes, **query: str) -> dict[str, Any]:
        path = "/v1/bills"
        if query:
            path += "?" + str(httpx.QueryParams(query))
        r = self.request("POST", path, body=bill, content_type=CBOR)
        out: dict[str, Any] = r.json()
        return out
