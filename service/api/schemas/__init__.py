"""The API's request and response bodies: the OpenAPI contract, one module per audience."""

from service.api.schemas.audit import (
    AlertOut,
    AuditEventOut,
    AuditKeys,
    CheckpointOut,
    ConsistencyOut,
    ExportOut,
    ProofOut,
    ReconciliationOut,
    VerificationOut,
)
from service.api.schemas.drafts import DraftDetail, DraftOut, DraftSubmit
from service.api.schemas.exchange import (
    EnvelopesImportOut,
    ExportRequest,
    ReceiptsImportOut,
    RefusalOut,
)
from service.api.schemas.identity import (
    IntegrationCreate,
    IntegrationOut,
    PartnerCreate,
    PartnerOut,
    UserCreate,
    UserOut,
)
from service.api.schemas.node import Health, NodeInfo
from service.api.schemas.reports import (
    DeliveryOut,
    InboundSummary,
    LoginRequest,
    PolicyCheckOut,
    ReleaseDetail,
    ReleaseOut,
    ReportSummary,
    ReviewRequest,
    SubmitResponse,
    TokenResponse,
)

__all__ = [
    "AlertOut",
    "AuditEventOut",
    "AuditKeys",
    "CheckpointOut",
    "ConsistencyOut",
    "DeliveryOut",
    "DraftDetail",
    "DraftOut",
    "DraftSubmit",
    "EnvelopesImportOut",
    "ExportOut",
    "ExportRequest",
    "Health",
    "InboundSummary",
    "IntegrationCreate",
    "IntegrationOut",
    "LoginRequest",
    "NodeInfo",
    "PartnerCreate",
    "PartnerOut",
    "PolicyCheckOut",
    "ProofOut",
    "ReceiptsImportOut",
    "ReconciliationOut",
    "RefusalOut",
    "ReleaseDetail",
    "ReleaseOut",
    "ReportSummary",
    "ReviewRequest",
    "SubmitResponse",
    "TokenResponse",
    "UserCreate",
    "UserOut",
    "VerificationOut",
]
