"""OAI-PMH over the wire: Melinda's response structure, every error condition, the verbs' content."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from lxml import etree

from gateway.emulator.app import running_gateway
from gateway.emulator.generator import generate_records
from gateway.emulator.host import Gateway
from gateway.model import View
from gateway.records.aleph import mark_deleted, set_melinda_id
from protocols.oaipmh.tokens import ListState, TokenSigner
from tests.conftest import shared_fixture, shared_schema
from tests.conftest import test_settings as gateway_settings
from tests.protocols.oaipmh.support import NS, PREFIX, ask, error_code, fetch, identifiers, seed

FIXTURES = (
    "GetRecord-001",
    "GetRecord-006",
    "Identify-001",
    "ListIdentifiers-001",
    "ListMetadataFormats-01",
    "ListRecords-001",
)


def shape(element: etree._Element, *, request_attributes: bool = True) -> tuple[object, ...]:
    """Element names, attribute names and nesting: the structure, data and dates aside."""
    children = [child for child in element if isinstance(child.tag, str)]
    name = etree.QName(element).localname
    if name == "OAI-PMH":
        # Melinda's provider writes <request> before <responseDate>; the schema wants the reverse
        children.sort(key=lambda child: etree.QName(child).localname != "responseDate")
    attributes = sorted(element.attrib) if request_attributes or name != "request" else []
    if name == "metadata":
        children = []  # a record's own fields are data
    return (
        name,
        tuple(attributes),
        tuple(shape(child, request_attributes=request_attributes) for child in children),
    )


@pytest.mark.parametrize("name", FIXTURES)
async def test_structure_equals_melindas(tmp_path: Path, name: str) -> None:
    expected = etree.parse(str(shared_fixture("oai-pmh-responses", f"{name}.xml"))).getroot()
    meta = json.loads(
        shared_fixture("oai-pmh-responses", f"{name}.request.json").read_text("utf-8")
    )
    settings = gateway_settings(tmp_path / "data", oai_identifier_prefix="oai:foo.bar/")
    async with running_gateway(settings) as gateway:
        record = next(generate_records(1, 1))
        set_melinda_id(record, 12345)
        mark_deleted(record)
        await gateway.catalog.load([record])
        for request in meta["requests"]:
            status, body = await fetch(gateway, request["requestParams"], method=request["method"])
            assert status == request["status"]
            ours = etree.fromstring(body)
            # badVerb/badArgument answers echo no arguments (OAI-PMH 2.0, 3.2); Melinda's do
            hides = error_code(ours) in ("badVerb", "badArgument")
            assert shape(ours, request_attributes=not hides) == shape(
                expected, request_attributes=not hides
            )
            if hides:
                assert dict(ours.find(f"{{{NS['o']}}}request").attrib) == {}


async def test_list_metadata_formats_match_melindas_exactly(gateway: Gateway) -> None:
    expected = etree.parse(
        str(shared_fixture("oai-pmh-responses", "ListMetadataFormats-01.xml"))
    ).getroot()
    ours = await ask(gateway, {"verb": "ListMetadataFormats"})
    path = "o:ListMetadataFormats/o:metadataFormat/*/text()"
    assert ours.xpath(path, namespaces=NS) == expected.xpath(path, namespaces=NS)


def oai_schema() -> etree.XMLSchema:
    """The OAI-PMH 2.0 schema from ../shared/schemas, its wildcards made lax: the records
    inside are checked against MARC21slim.xsd on their own."""
    document = etree.parse(str(shared_schema("OAI-PMH.xsd")))
    for wildcard in document.iter("{http://www.w3.org/2001/XMLSchema}any"):
        wildcard.set("processContents", "lax")
    return etree.XMLSchema(document)


async def test_responses_are_schema_valid(gateway: Gateway) -> None:
    schema = oai_schema()
    marc = etree.XMLSchema(etree.parse(str(shared_schema("MARC21slim.xsd"))))
    await seed(gateway.catalog, 5, deleted=[2])
    for params in (
        {"verb": "Identify"},
        {"verb": "ListSets"},
        {"verb": "ListMetadataFormats"},
        {"verb": "ListIdentifiers", "metadataPrefix": "marc21"},
        {"verb": "ListRecords", "metadataPrefix": "oai_dc"},
        {"verb": "ListRecords", "metadataPrefix": "melinda_marc"},
        {"verb": "GetRecord", "metadataPrefix": "marc21", "identifier": PREFIX + "1"},
        {"verb": "GetRecord", "metadataPrefix": "marc21", "identifier": PREFIX + "2"},
        {"verb": "Nonsense"},
        {"verb": "ListRecords", "metadataPrefix": "marc21", "from": "2999-01-01"},
    ):
        root = await ask(gateway, params)
        schema.assertValid(root)
        for record in root.xpath("//m:record", namespaces=NS):
            marc.assertValid(etree.ElementTree(record))


# --- every error condition ------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        [],
        [("verb", "Foo")],
        [("verb", "Identify"), ("verb", "Identify")],
        [("verb", "listrecords"), ("metadataPrefix", "marc21")],
    ],
)
async def test_bad_verb_echoes_only_the_base_url(
    gateway: Gateway, params: list[tuple[str, str]]
) -> None:
    root = await ask(gateway, params)
    assert error_code(root) == "badVerb"
    request = root.find(f"{{{NS['o']}}}request")
    assert request is not None and dict(request.attrib) == {}
    assert request.text == gateway.http_url + "/oai-pmh/bib"


@pytest.mark.parametrize(
    "params",
    [
        [("verb", "Identify"), ("foo", "bar")],
        [("verb", "GetRecord"), ("metadataPrefix", "marc21")],
        [("verb", "ListRecords")],
        [("verb", "ListRecords"), ("metadataPrefix", "marc21"), ("metadataPrefix", "marc21")],
        [("verb", "ListRecords"), ("metadataPrefix", "marc21"), ("resumptionToken", "abc")],
        [("verb", "ListRecords"), ("metadataPrefix", "marc21"), ("from", "2020-01-01T00:00")],
        [
            ("verb", "ListRecords"),
            ("metadataPrefix", "marc21"),
            ("from", "2020-01-01"),
            ("until", "2020-01-02T00:00:00Z"),
        ],
        [
            ("verb", "ListRecords"),
            ("metadataPrefix", "marc21"),
            ("from", "2020-02-01"),
            ("until", "2020-01-01"),
        ],
        [("verb", "ListIdentifiers"), ("metadataPrefix", "marc21"), ("set", "nosuchset")],
        [("verb", "ListSets"), ("metadataPrefix", "marc21")],
    ],
)
async def test_bad_argument(gateway: Gateway, params: list[tuple[str, str]]) -> None:
    root = await ask(gateway, params)
    assert error_code(root) == "badArgument"
    request = root.find(f"{{{NS['o']}}}request")
    assert request is not None and dict(request.attrib) == {}


async def test_bad_resumption_token(gateway: Gateway) -> None:
    await seed(gateway.catalog, 3)
    expired = TokenSigner(b"test-secret").issue(
        ListState("ListRecords", "fin01", "marc21", None, None, None, 1, 1, 3, int(time.time()) - 1)
    )
    for verb, token in (
        ("ListRecords", "not-a-token"),
        ("ListRecords", expired),
        ("ListIdentifiers", expired.replace("1", "2", 1)),
        ("ListSets", "anything"),
    ):
        root = await ask(gateway, {"verb": verb, "resumptionToken": token})
        assert error_code(root) == "badResumptionToken"
        request = root.find(f"{{{NS['o']}}}request")
        assert request is not None and request.get("resumptionToken") == token


async def test_cannot_disseminate_format(gateway: Gateway) -> None:
    for params in (
        {"verb": "ListRecords", "metadataPrefix": "foo"},
        {"verb": "ListIdentifiers", "metadataPrefix": "marcxml"},
        {"verb": "GetRecord", "metadataPrefix": "mods", "identifier": PREFIX + "1"},
    ):
        root = await ask(gateway, params)
        assert error_code(root) == "cannotDisseminateFormat"
        assert root.find(f"{{{NS['o']}}}request").get("metadataPrefix") == params["metadataPrefix"]


async def test_id_does_not_exist(gateway: Gateway) -> None:
    await seed(gateway.catalog, 2)
    for params in (
        {"verb": "GetRecord", "metadataPrefix": "marc21", "identifier": PREFIX + "999"},
        {"verb": "GetRecord", "metadataPrefix": "marc21", "identifier": "oai:elsewhere/1"},
        {"verb": "GetRecord", "metadataPrefix": "marc21", "identifier": PREFIX + "x1"},
        {"verb": "ListMetadataFormats", "identifier": PREFIX + "000000999"},
    ):
        assert error_code(await ask(gateway, params)) == "idDoesNotExist"


async def test_no_metadata_formats_for_a_deleted_record(gateway: Gateway) -> None:
    await seed(gateway.catalog, 3, deleted=[2])
    root = await ask(gateway, {"verb": "ListMetadataFormats", "identifier": PREFIX + "2"})
    assert error_code(root) == "noMetadataFormats"
    live = await ask(gateway, {"verb": "ListMetadataFormats", "identifier": PREFIX + "3"})
    assert len(live.xpath("//o:metadataFormat", namespaces=NS)) == 3


async def test_no_records_match(gateway: Gateway) -> None:
    empty = await ask(gateway, {"verb": "ListRecords", "metadataPrefix": "marc21"})
    assert error_code(empty) == "noRecordsMatch"
    await seed(gateway.catalog, 3)
    for params in (
        {"verb": "ListRecords", "metadataPrefix": "marc21", "from": "2999-01-01"},
        {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "until": "2000-01-01T00:00:00Z"},
        {"verb": "ListIdentifiers", "metadataPrefix": "marc21", "set": "low:NOBODY"},
    ):
        assert error_code(await ask(gateway, params)) == "noRecordsMatch"


# --- the verbs --------------------------------------------------------------------------


async def test_identify(gateway: Gateway) -> None:
    await seed(gateway.catalog, 2)
    earliest = await gateway.catalog.earliest_datestamp()
    assert earliest is not None
    root = await ask(gateway, {"verb": "Identify"})
    text = {etree.QName(el).localname: el.text for el in root.find(f"{{{NS['o']}}}Identify")}
    assert text["baseURL"] == gateway.http_url + "/oai-pmh/bib"
    assert text["protocolVersion"] == "2.0"
    assert text["deletedRecord"] == "transient"
    assert text["granularity"] == "YYYY-MM-DDThh:mm:ssZ"
    assert text["adminEmail"] == gateway.settings.oai_admin_email
    assert text["earliestDatestamp"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(earliest))
    assert root.findtext(f"{{{NS['o']}}}request") == gateway.http_url + "/oai-pmh/bib"


async def test_post_answers_like_get(gateway: Gateway) -> None:
    await seed(gateway.catalog, 4)
    params = {"verb": "ListIdentifiers", "metadataPrefix": "marc21"}
    by_get = await ask(gateway, params)
    by_post = await ask(gateway, params, method="POST")
    assert identifiers(by_post) == identifiers(by_get) == [f"{PREFIX}{n:09d}" for n in range(1, 5)]
    assert dict(by_post.find(f"{{{NS['o']}}}request").attrib) == params


async def test_list_sets_has_named_and_low_sets(gateway: Gateway) -> None:
    await seed(gateway.catalog, 50)
    specs = (await ask(gateway, {"verb": "ListSets"})).xpath("//o:setSpec/text()", namespaces=NS)
    assert {"fennica", "viola", "arto", "musa", "monographic", "serial", "helmet"} <= set(specs)
    assert any(spec.startswith("low:") for spec in specs)


async def test_get_record_forms(gateway: Gateway) -> None:
    await seed(gateway.catalog, 3, deleted=[3])
    marc21 = await ask(
        gateway, {"verb": "GetRecord", "metadataPrefix": "marc21", "identifier": PREFIX + "1"}
    )
    record = marc21.xpath("//o:metadata/m:record", namespaces=NS)[0]
    tags = record.xpath("m:controlfield/@tag|m:datafield/@tag", namespaces=NS)
    assert tags and all(tag.isdigit() for tag in tags)
    assert record.xpath("m:controlfield[@tag='003']/text()", namespaces=NS) == ["FI-MELINDA"]
    assert record.xpath("m:datafield[@tag='035']/m:subfield[@code='a']/text()", namespaces=NS)[
        0
    ] == ("(FI-MELINDA)000000001")
    assert not record.xpath(".//m:subfield[@code='9']", namespaces=NS)
    assert identifiers(marc21) == [PREFIX + "000000001"]
    melinda = await ask(
        gateway,
        {"verb": "GetRecord", "metadataPrefix": "melinda_marc", "identifier": PREFIX + "000000001"},
    )
    assert melinda.xpath("//m:datafield[@tag='LOW']", namespaces=NS)
    assert not melinda.xpath("//m:datafield[@tag='CAT']", namespaces=NS)
    dc = await ask(
        gateway, {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": PREFIX + "1"}
    )
    assert dc.xpath("//dc:title/text()", namespaces=NS)
    deleted = await ask(
        gateway, {"verb": "GetRecord", "metadataPrefix": "marc21", "identifier": PREFIX + "3"}
    )
    assert deleted.xpath("//o:header/@status", namespaces=NS) == ["deleted"]
    assert not deleted.xpath("//o:metadata", namespaces=NS)


async def test_cat_only_for_a_privileged_authenticated_harvester(gateway: Gateway) -> None:
    await seed(gateway.catalog, 1)
    await gateway.catalog.add_library("KVP", password="salasana", privileged=True)
    await gateway.catalog.add_library("HELKA", password="helkapw", lows=["HELKA"])
    params = {"verb": "GetRecord", "metadataPrefix": "melinda_marc", "identifier": PREFIX + "1"}
    cat = "//m:datafield[@tag='CAT']"
    privileged = await ask(gateway, params, auth=("kvp", "salasana"))
    assert privileged.xpath(cat, namespaces=NS)
    ordinary = await ask(gateway, params, auth=("HELKA", "helkapw"))
    assert not ordinary.xpath(cat, namespaces=NS)
    status, _ = await fetch(gateway, params, auth=("KVP", "wrong"))
    assert status == 401
    listed = await ask(
        gateway,
        {"verb": "ListRecords", "metadataPrefix": "melinda_marc"},
        method="POST",
        auth=("KVP", "salasana"),
    )
    assert listed.xpath(cat, namespaces=NS)


async def test_alma_endpoint_serves_the_alma_view(gateway: Gateway) -> None:
    await seed(gateway.catalog, 2)
    alma = await gateway.catalog.get(1, View.FIN01ALMA)
    fin01 = await gateway.catalog.get(1, View.FIN01)
    assert alma.xml != fin01.xml
    root = await ask(
        gateway,
        {"verb": "GetRecord", "metadataPrefix": "melinda_marc", "identifier": PREFIX + "1"},
        path="/oai-pmh/fin01alma",
    )
    served = root.xpath("//m:record", namespaces=NS)[0]
    stored = etree.fromstring(alma.xml)
    field_024 = "m:datafield[@tag='024']/m:subfield[@code='a']/text()"
    assert served.xpath(field_024, namespaces=NS) == stored.xpath(field_024, namespaces=NS)
    assert root.findtext(f"{{{NS['o']}}}request") == gateway.http_url + "/oai-pmh/fin01alma"
