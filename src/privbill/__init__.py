"""privbill: bill smart-meter customers without seeing their readings.

The meter commits to and signs each reading; the provider signs its tariff; the customer's
device computes the bill with a proof that it is correct; the provider, or anyone, verifies it and
learns the total and nothing else.

Public API::

    import privbill as pb

    provider = pb.Provider.generate()
    meter_key = pb.SigningKey.generate()
    cert = provider.certify_meter("0001", "account-42", meter_key.public_key())
    meter = pb.Meter(cert, meter_key, seal_span="day", timezone="Europe/Berlin")
    tariff = provider.sign_tariff(pb.TariffBody.from_json(text))
    rec = meter.record(readings)          # [(interval index, Wh), ...]
    sealed = pb.SealedReadings(cert, tuple(rec.runs))   # public
    bill = pb.prove_bill(tariff, [pb.MeterInput(sealed, [rec.openings])], "2026-01")
    result = pb.verify_bill(bill.encode(), tariff, provider.public_key)
    receipt = provider.receipt(result)

A meter keeping time-of-use energy registers (a bill of about a kilobyte)::

    meter = pb.Meter(cert, meter_key, "day", "Europe/Berlin",
                     energy_registers=pb.register_config_for(tariff.body))
    rec = meter.record(readings)          # rec.energy_registers: signed at each period's end
    sealed = pb.SealedReadings(cert, tuple(rec.runs), (), tuple(rec.energy_registers))
    bill = pb.prove_bill(tariff, [pb.MeterInput(sealed, [rec.openings])], "2026-01",
                         path="registers")   # a pb.RegisterBill; verify_bill takes either
"""

from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.receipts import issue_receipt, verify_receipt
from privbill.billing.verifier import MeterSummary, VerifiedBill, verify_bill
from privbill.crypto.signatures import SigningKey, VerifyingKey
from privbill.errors import (
    AgentError,
    AmountError,
    AuthenticationError,
    BillReferenceError,
    CertificateError,
    CodecError,
    CommitmentError,
    ComponentProofError,
    ConflictError,
    ConsentError,
    CoverageError,
    CryptoError,
    DecodeError,
    DecryptError,
    DisclosurePolicyError,
    DisclosureProofError,
    DisclosureScopeError,
    FeeMismatchError,
    ForbiddenError,
    GreenButtonError,
    GroupError,
    KeyLoadError,
    LinkDecodeError,
    LinkDecryptError,
    LinkOrderError,
    LinkReplayError,
    NotFoundError,
    OpeningError,
    PayloadTooLargeError,
    PrivbillError,
    RangeProofError,
    RateLimitedError,
    ReadingError,
    ReceiptError,
    RequestExpiredError,
    RequestMismatchError,
    SealChainError,
    ServiceError,
    SigmaError,
    SignatureError,
    StoreError,
    TariffError,
    TariffMismatchError,
    UnknownMeterError,
    UnprocessableError,
    UsageError,
    VerificationError,
)
from privbill.meter import Meter, MeterState, Recording
from privbill.model.bills import MeterSection, PaymentMessage
from privbill.model.certificates import MeterCertificate
from privbill.model.energy_registers import EnergyRegisters, RegisterConfig, register_config_for
from privbill.model.periods import BillingPeriod
from privbill.model.readings import Openings
from privbill.model.receipts import Receipt
from privbill.model.register_bills import RegisterBill, RegisterSection, decode_bill
from privbill.model.sealed import SealedReadings
from privbill.model.seals import Seal, SealedRun
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider

__version__ = "0.1.0"

__all__ = [
    "AgentError",
    "AmountError",
    "AuthenticationError",
    "BillReferenceError",
    "BillingPeriod",
    "CertificateError",
    "CodecError",
    "CommitmentError",
    "ComponentProofError",
    "ConflictError",
    "ConsentError",
    "CoverageError",
    "CryptoError",
    "DecodeError",
    "DecryptError",
    "DisclosurePolicyError",
    "DisclosureProofError",
    "DisclosureScopeError",
    "EnergyRegisters",
    "FeeMismatchError",
    "ForbiddenError",
    "GreenButtonError",
    "GroupError",
    "KeyLoadError",
    "LinkDecodeError",
    "LinkDecryptError",
    "LinkOrderError",
    "LinkReplayError",
    "Meter",
    "MeterCertificate",
    "MeterInput",
    "MeterSection",
    "MeterState",
    "MeterSummary",
    "NotFoundError",
    "OpeningError",
    "Openings",
    "PayloadTooLargeError",
    "PaymentMessage",
    "PrivbillError",
    "Provider",
    "RangeProofError",
    "RateLimitedError",
    "ReadingError",
    "Receipt",
    "ReceiptError",
    "Recording",
    "RegisterBill",
    "RegisterConfig",
    "RegisterSection",
    "RequestExpiredError",
    "RequestMismatchError",
    "Seal",
    "SealChainError",
    "SealedReadings",
    "SealedRun",
    "ServiceError",
    "SigmaError",
    "SignatureError",
    "SignedTariff",
    "SigningKey",
    "StoreError",
    "TariffBody",
    "TariffError",
    "TariffMismatchError",
    "UnknownMeterError",
    "UnprocessableError",
    "UsageError",
    "VerificationError",
    "VerifiedBill",
    "VerifyingKey",
    "__version__",
    "decode_bill",
    "issue_receipt",
    "prove_bill",
    "register_config_for",
    "verify_bill",
    "verify_receipt",
]
