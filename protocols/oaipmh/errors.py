"""OAI-PMH error conditions, and the one mapping from the catalog's exceptions to them."""

from __future__ import annotations

from gateway.errors import GatewayError, RecordNotFoundError

# The error codes of OAI-PMH 2.0, section 3.6; `noSetHierarchy` never occurs since sets exist.
BAD_ARGUMENT = "badArgument"
BAD_RESUMPTION_TOKEN = "badResumptionToken"
BAD_VERB = "badVerb"
CANNOT_DISSEMINATE_FORMAT = "cannotDisseminateFormat"
ID_DOES_NOT_EXIST = "idDoesNotExist"
NO_METADATA_FORMATS = "noMetadataFormats"
NO_RECORDS_MATCH = "noRecordsMatch"


class OaiError(Exception):
    """A protocol error: answered as `<error code="…">message</error>` with HTTP 200."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def hides_arguments(self) -> bool:
        """badVerb and badArgument answers echo only the base URL (OAI-PMH 2.0, 3.2)."""
        return self.code in (BAD_VERB, BAD_ARGUMENT)


def to_diagnostic(exc: GatewayError) -> OaiError | None:
    """The OAI-PMH error for a catalog exception; None when the exception is not the client's."""
    if isinstance(exc, RecordNotFoundError):
        return OaiError(ID_DOES_NOT_EXIST, str(exc) or "No such record")
    return None
