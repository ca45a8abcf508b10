"""Interlibrary loan over ISO 18626: the libraries as lending and borrowing agencies.

The domain only: messages as values, the status order, scenarios, agencies and profiles,
and the service that keeps every request and message in the store. The XML and the HTTP
endpoint are in protocols/iso18626.
"""

from gateway.ill.agencies import Agency, AgencyConfigError, AgencyTable, Profile, shape_for_profile
from gateway.ill.base import (
    DeliveryError,
    IllCommandError,
    IllSettings,
    MessageEvent,
    ScriptedHttpStatus,
    summary_of,
)
from gateway.ill.messages import (
    VERSIONS,
    Action,
    Confirmation,
    ErrorType,
    Header,
    IllError,
    IllRequest,
    Kind,
    Message,
    Reason,
    RequestingAgencyMessage,
    ServiceType,
    Status,
    SupplyingAgencyMessage,
    now_text,
    refuse,
    split_symbol,
)
from gateway.ill.scenarios import SCENARIOS, scenario_of
from gateway.ill.service import IllService
from gateway.ill.states import TERMINAL, may_become

__all__ = [
    "SCENARIOS",
    "TERMINAL",
    "VERSIONS",
    "Action",
    "Agency",
    "AgencyConfigError",
    "AgencyTable",
    "Confirmation",
    "DeliveryError",
    "ErrorType",
    "Header",
    "IllCommandError",
    "IllError",
    "IllRequest",
    "IllService",
    "IllSettings",
    "Kind",
    "Message",
    "MessageEvent",
    "Profile",
    "Reason",
    "RequestingAgencyMessage",
    "ScriptedHttpStatus",
    "ServiceType",
    "Status",
    "SupplyingAgencyMessage",
    "may_become",
    "now_text",
    "refuse",
    "scenario_of",
    "shape_for_profile",
    "split_symbol",
    "summary_of",
]
