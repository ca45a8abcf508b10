"""OAI-PMH response XML, written as byte pieces so record bytes can be spliced in unparsed.

The shape follows Melinda's provider (its fixtures), with the element order and names of the
OAI-PMH 2.0 schema where the provider strays from it: `responseDate` before `request`,
`protocolVersion` and `earliestDatestamp` spelt as the schema spells them, granularity
`YYYY-MM-DDThh:mm:ssZ`, datestamps to the second without milliseconds, and `setDescription`
wrapped in `oai_dc:dc` as its schema type demands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from gateway.catalog import SetInfo
from gateway.records.oai_forms import decode_set_specs
from gateway.records.xmlsafe import escape, quoteattr
from protocols.oaipmh.errors import OaiError
from protocols.oaipmh.metadata import MetadataFormat

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<OAI-PMH xmlns="{OAI_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    f' xsi:schemaLocation="{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
)
CLOSE = b"</OAI-PMH>\n"


def head(base_url: str, response_date: str, arguments: Mapping[str, str] | None) -> bytes:
    """XML declaration, `<OAI-PMH>`, `responseDate` and the `request` echo."""
    attributes = "".join(f" {name}={quoteattr(value)}" for name, value in (arguments or {}).items())
    return (
        f"{_OPEN}\t<responseDate>{response_date}</responseDate>\n"
        f"\t<request{attributes}>{escape(base_url)}</request>\n"
    ).encode()


def error_document(
    base_url: str, response_date: str, arguments: Mapping[str, str] | None, error: OaiError
) -> bytes:
    echo = None if error.hides_arguments else arguments
    body = f'\t<error code="{error.code}">{escape(error.message)}</error>\n'.encode()
    return head(base_url, response_date, echo) + body + CLOSE


def identify(
    *,
    repository_name: str,
    base_url: str,
    admin_email: str,
    earliest_datestamp: str,
) -> bytes:
    return (
        "\t<Identify>\n"
        f"\t\t<repositoryName>{escape(repository_name)}</repositoryName>\n"
        f"\t\t<baseURL>{escape(base_url)}</baseURL>\n"
        "\t\t<protocolVersion>2.0</protocolVersion>\n"
        f"\t\t<adminEmail>{escape(admin_email)}</adminEmail>\n"
        f"\t\t<earliestDatestamp>{earliest_datestamp}</earliestDatestamp>\n"
        "\t\t<deletedRecord>transient</deletedRecord>\n"
        "\t\t<granularity>YYYY-MM-DDThh:mm:ssZ</granularity>\n"
        "\t</Identify>\n"
    ).encode()


def list_metadata_formats(formats: Iterable[MetadataFormat]) -> bytes:
    parts = ["\t<ListMetadataFormats>\n"]
    for fmt in formats:
        parts.append(
            "\t\t<metadataFormat>\n"
            f"\t\t\t<metadataPrefix>{fmt.prefix}</metadataPrefix>\n"
            f"\t\t\t<schema>{escape(fmt.schema)}</schema>\n"
            f"\t\t\t<metadataNamespace>{escape(fmt.namespace)}</metadataNamespace>\n"
            "\t\t</metadataFormat>\n"
        )
    parts.append("\t</ListMetadataFormats>\n")
    return "".join(parts).encode()


def list_sets(sets: Iterable[SetInfo]) -> bytes:
    parts = ["\t<ListSets>\n"]
    for info in sets:
        parts.append(
            "\t\t<set>\n"
            f"\t\t\t<setSpec>{escape(info.spec)}</setSpec>\n"
            f"\t\t\t<setName>{escape(info.name)}</setName>\n"
        )
        if info.description:
            parts.append(
                "\t\t\t<setDescription><oai_dc:dc"
                ' xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"'
                ' xmlns:dc="http://purl.org/dc/elements/1.1/">'
                f"<dc:description>{escape(info.description)}</dc:description>"
                "</oai_dc:dc></setDescription>\n"
            )
        parts.append("\t\t</set>\n")
    parts.append("\t</ListSets>\n")
    return "".join(parts).encode()


def header(
    identifier: str,
    datestamp: str,
    *,
    deleted: bool,
    indent: str = "\t\t\t",
    set_specs: Sequence[str] = (),
) -> str:
    status = ' status="deleted"' if deleted else ""
    specs = "".join(f"{indent}\t<setSpec>{escape(spec)}</setSpec>\n" for spec in set_specs)
    return (
        f"{indent}<header{status}>\n"
        f"{indent}\t<identifier>{escape(identifier)}</identifier>\n"
        f"{indent}\t<datestamp>{datestamp}</datestamp>\n"
        f"{specs}"
        f"{indent}</header>\n"
    )


# `<record>` around its identifier, datestamp, setSpec lines and metadata
_RECORD_PARTS = (
    b"\t\t<record>\n\t\t\t<header>\n\t\t\t\t<identifier>",
    b"</identifier>\n\t\t\t\t<datestamp>",
    b"</datestamp>\n",
    b"\t\t\t</header>\n\t\t\t<metadata>",
    b"</metadata>\n\t\t</record>\n",
)
_RECORD = b"%s".join(_RECORD_PARTS)
_DELETED_RECORD = (
    b'\t\t<record>\n\t\t\t<header status="deleted">\n\t\t\t\t<identifier>%s</identifier>\n'
    b"\t\t\t\t<datestamp>%s</datestamp>\n\t\t\t</header>\n\t\t</record>\n"
)


def record(
    identifier: bytes, datestamp: bytes, metadata: bytes | None, set_specs: Sequence[str] = ()
) -> bytes:
    """One `<record>`: a header (identifier already escaped) naming the record's sets, the
    metadata bytes spliced in."""
    return record_with_lines(identifier, datestamp, metadata, set_spec_lines(tuple(set_specs)))


def record_with_lines(
    identifier: bytes, datestamp: bytes, metadata: bytes | None, spec_lines: bytes
) -> bytes:
    """`record` with its header's setSpec elements made already (`set_spec_lines`)."""
    if metadata is None:
        return _DELETED_RECORD % (identifier, datestamp)
    return _RECORD % (identifier, datestamp, spec_lines, metadata)


def record_pieces(
    identifier: bytes, datestamp: bytes, metadata: bytes | None, spec_lines: bytes
) -> tuple[bytes, ...]:
    """`record_with_lines` as pieces to join: a list's record bytes are then copied once, into
    the piece of the response they go out in."""
    if metadata is None:
        return (_DELETED_RECORD % (identifier, datestamp),)
    opening, after_identifier, after_datestamp, after_header, closing = _RECORD_PARTS
    return (
        opening,
        identifier,
        after_identifier,
        datestamp,
        after_datestamp,
        spec_lines,
        after_header,
        metadata,
        closing,
    )


_SPEC_OPEN = "\t\t\t\t<setSpec>"
_SPEC_CLOSE = "</setSpec>\n"


@lru_cache(maxsize=4096)
def set_spec_lines(set_specs: tuple[str, ...]) -> bytes:
    """A `record` header's setSpec elements, each combination of sets made once."""
    return "".join(_SPEC_OPEN + escape(spec) + _SPEC_CLOSE for spec in set_specs).encode()


def stored_set_spec_lines(encoded: str) -> bytes:
    """`set_spec_lines` of set specs as stored (`encode_set_specs`' compact JSON list). Records
    share too many combinations of LOWs for a cache; when no spec needs escaping in JSON or
    XML, the list's separators are replaced by the elements' in one pass instead."""
    if (
        encoded.isascii()
        and "\\" not in encoded
        and "&" not in encoded
        and "<" not in encoded
        and ">" not in encoded
        and encoded.startswith('["')
        and encoded.endswith('"]')
        # every quote stands at the list's ends or in a compact `","`: nothing else to decode
        and encoded.count('"') == 2 * encoded.count('","') + 2
    ):
        inner = encoded[2:-2].replace('","', _SPEC_CLOSE + _SPEC_OPEN)
        return (_SPEC_OPEN + inner + _SPEC_CLOSE).encode()
    return set_spec_lines(decode_set_specs(encoded))


def resumption_token(
    token: str, *, cursor: int, complete_list_size: int, expiration_date: str | None
) -> bytes:
    """`<resumptionToken>`; an empty one (no expiry) ends a list that was resumed."""
    expiry = f' expirationDate="{expiration_date}"' if expiration_date else ""
    size = f' completeListSize="{complete_list_size}"' if complete_list_size > 0 else ""
    return (
        f'\t\t<resumptionToken{expiry}{size} cursor="{cursor}">{escape(token)}</resumptionToken>\n'
    ).encode()
