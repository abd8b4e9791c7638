"""The JSON request bodies of the HTTP API (validated by FastAPI, bounded in every field)."""

from typing import Any

from pydantic import BaseModel, Field


class MeterSpec(BaseModel):
    meter_id: str = Field(max_length=64)
    account: str = Field(max_length=64)
    public_key_pem: str = Field(max_length=4096)
    interval_s: int = Field(default=900, ge=60, le=86400)
    valid_from: int | None = Field(default=None, ge=0, le=2**62)
    valid_until: int | None = Field(default=None, ge=0, le=2**62)
    attributes: list[str] = Field(default_factory=list, max_length=8)
    channel: str | None = Field(default=None, max_length=64)
    rating_w: int | None = Field(default=None, ge=1, le=2**48)


class RevokeSpec(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)
    cert_hash: str | None = Field(default=None, max_length=64)


class AccountSpec(BaseModel):
    customer_key_pem: str = Field(max_length=4096)


class DisclosureSpec(BaseModel):
    account: str = Field(max_length=64)
    period: str = Field(max_length=64, description="YYYY-MM or YYYY-MM-DD/YYYY-MM-DD")
    statements: list[dict[str, Any]] = Field(min_length=1, max_length=256)
    requester: str = Field(min_length=1, max_length=200)
    purpose: str = Field(min_length=1, max_length=1000)
    timezone: str | None = Field(default=None, max_length=64)
    tariffs: list[str] = Field(default_factory=list, max_length=16)
    valid_days: int = Field(default=14, ge=1, le=366)
