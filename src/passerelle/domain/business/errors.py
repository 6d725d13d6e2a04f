"""The Cloud API error codes, as one table (docs/business.md section 7), and the one error a
business rule raises. The HTTP status is the server's business (its errors table), not this one's."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from passerelle.domain.errors import DomainError


class Failure(enum.Enum):
    BAD_TOKEN = "bad_token"
    INVALID_PARAMETER = "invalid_parameter"
    UNKNOWN_OBJECT = "unknown_object"
    MISSING_PARAMETER = "missing_parameter"
    PARAMETER_VALUE = "parameter_value"
    UNDELIVERABLE = "undeliverable"
    OUTSIDE_WINDOW = "outside_window"
    NO_CONSENT = "no_consent"
    MARKETING_STOPPED = "marketing_stopped"
    UNSUPPORTED_TYPE = "unsupported_type"
    MEDIA_UPLOAD = "media_upload"
    PAIR_RATE = "pair_rate"
    MESSAGING_LIMIT = "messaging_limit"
    THROUGHPUT = "throughput"
    TEMPLATE_PARAMETERS = "template_parameters"
    TEMPLATE_UNKNOWN = "template_unknown"
    TEMPLATE_PAUSED = "template_paused"
    TEMPLATE_DISABLED = "template_disabled"
    BLOCK_USER = "block_user"
    BLOCK_LIMIT = "block_limit"


@dataclass(frozen=True, slots=True)
class CloudCode:
    code: int
    title: str
    details: str
    subcode: int | None = None
    type: str = "OAuthException"


ERRORS: dict[Failure, CloudCode] = {
    Failure.BAD_TOKEN: CloudCode(
        190, "Invalid OAuth access token", "The access token is missing, malformed, expired or revoked."
    ),
    Failure.INVALID_PARAMETER: CloudCode(100, "Invalid parameter", "A parameter is not valid."),
    Failure.UNKNOWN_OBJECT: CloudCode(
        100,
        "Unsupported request",
        "The object does not exist, or this token may not use it.",
        subcode=33,
        type="GraphMethodException",
    ),
    Failure.MISSING_PARAMETER: CloudCode(
        131008, "Required parameter is missing", "A required parameter is missing."
    ),
    Failure.PARAMETER_VALUE: CloudCode(
        131009, "Parameter value is not valid", "A parameter's value is not allowed."
    ),
    Failure.UNDELIVERABLE: CloudCode(
        131026, "Message undeliverable", "The message cannot be delivered to this person."
    ),
    Failure.OUTSIDE_WINDOW: CloudCode(
        131047,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied "
        "to this number.",
    ),
    Failure.NO_CONSENT: CloudCode(
        131047,
        "Re-engagement message",
        "The person has not opted in to this category of messages from this business.",
    ),
    Failure.MARKETING_STOPPED: CloudCode(
        131050, "Unable to deliver the message", "The person stopped marketing messages from this business."
    ),
    Failure.UNSUPPORTED_TYPE: CloudCode(
        131051, "Unsupported message type", "This message type is not supported."
    ),
    Failure.MEDIA_UPLOAD: CloudCode(
        131053, "Media upload error", "The media could not be accepted: its type, size or content."
    ),
    Failure.PAIR_RATE: CloudCode(
        131056,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages to the same person in a short time; wait before sending again.",
    ),
    Failure.MESSAGING_LIMIT: CloudCode(
        131064,
        "Messaging limit reached",
        "The business account reached the number of unique people it may reach outside a "
        "customer-service window in 24 hours.",
    ),
    Failure.THROUGHPUT: CloudCode(130429, "Rate limit hit", "The number's message throughput is exceeded."),
    Failure.TEMPLATE_PARAMETERS: CloudCode(
        132000,
        "Number of parameters does not match the expected number of params",
        "The template's parameters do not match its placeholders.",
    ),
    Failure.TEMPLATE_UNKNOWN: CloudCode(
        132001,
        "Template name does not exist in the translation",
        "No approved template of that name and language.",
    ),
    Failure.TEMPLATE_PAUSED: CloudCode(
        132015, "Template is paused", "The template is paused for low quality."
    ),
    Failure.TEMPLATE_DISABLED: CloudCode(
        132016, "Template is disabled", "The template is disabled for low quality."
    ),
    Failure.BLOCK_USER: CloudCode(
        139100,
        "Failed to block user",
        "Only people who wrote to the business in the last 24 hours can be blocked.",
    ),
    Failure.BLOCK_LIMIT: CloudCode(
        139102, "Block list limit reached", "A business may block at most 64 000 people; unblock some first."
    ),
}


class CloudApiError(DomainError):
    """A Cloud API call breaks a business rule. ``field`` names the parameter for code 100."""

    code = "cloud_api"

    def __init__(self, failure: Failure, details: str = "", *, field: str = "") -> None:
        self.failure = failure
        self.spec = ERRORS[failure]
        self.field = field
        self.details = details or self.spec.details
        super().__init__(self.message_text())

    def message_text(self) -> str:
        """Graph's ``message``: ``(#<code>) <title>``, with the field for an invalid parameter."""
        if self.field:
            return f"(#{self.spec.code}) Param {self.field} {self.details}"
        return f"(#{self.spec.code}) {self.spec.title}"
