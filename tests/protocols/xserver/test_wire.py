"""X-server replies over the wire: shapes as in the real replies, and errors the way Aleph gives them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
import pytest
from lxml import etree

from gateway.emulator.host import Gateway
from tests.conftest import shared_fixture
from tests.protocols.xserver.helpers import Reply, XClient, book, saved_id

PASSWORD = "helka-salasana"
AUTH = {"user": "HELKA", "password": PASSWORD}


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[XClient]:
    await gateway.catalog.add_library("HELKA", password=PASSWORD, lows=["HELKA"])
    async with aiohttp.ClientSession() as http:
        yield XClient(http, gateway.http_url)


def child_names(element: etree._Element) -> list[str]:
    return [str(child.tag) for child in element]


def load_fixture(name: str) -> etree._Element:
    return etree.parse(str(shared_fixture("xserver", name))).getroot()


async def test_user_auth_reply_has_the_shape_of_alephs(client: XClient) -> None:
    real = load_fixture("user-auth-response1.xml")
    reply = await client.get(
        op="user-auth", library="usr00", staff_user="HELKA", staff_pass=PASSWORD
    )
    assert child_names(reply.root) == child_names(real)
    z66, real_z66 = reply.root.find("z66"), real.find("z66")
    assert z66 is not None and real_z66 is not None
    assert child_names(z66) == child_names(real_z66)
    assert z66.findtext("z66-erm-password") == ""


async def test_failed_user_auth_is_alephs_error_text(client: XClient) -> None:
    real = load_fixture("user-auth-response2.xml")
    reply = await client.get(
        op="user-auth", library="usr00", staff_user="HELKA", staff_pass="wrong"
    )
    assert reply.status == 200
    assert child_names(reply.root) == child_names(real)
    assert reply.errors == [real.findtext("error")]


async def test_find_doc_record_has_the_oai_marc_shape_of_alephs(client: XClient) -> None:
    real = load_fixture("find-doc-oai_marc-authority.xml")
    doc = saved_id(await client.update("000000000", book("Kalevala", isbn="9789510000001"), **AUTH))
    reply = await client.get(op="find-doc", doc_num=doc, base="fin01")
    assert child_names(reply.root) == ["record", "session-id"]
    oai = reply.root.find("record/metadata/oai_marc")
    assert oai is not None
    assert oai[0].tag == "fixfield" and oai[0].get("id") == "LDR"
    assert oai[1].get("id") == "001" and oai[1].text == doc
    assert set(child_names(oai)) == set(child_names(real)) == {"fixfield", "varfield"}
    for ours, theirs in ((oai, real),):
        our_var = ours.find("varfield[@id='245']")
        real_var = theirs.find("varfield")
        assert our_var is not None and real_var is not None
        assert list(our_var.attrib) == list(real_var.attrib) == ["id", "i1", "i2"]
        assert child_names(our_var) == ["subfield"] and our_var[0].get("label") == "a"
    leader = oai[0].text or ""
    assert " " not in leader and "^" in leader  # blanks written as ^, as Aleph does
    assert reply.root.findtext("record/doc_number") == doc


async def test_find_and_present_reply_shapes(client: XClient) -> None:
    docs = []
    for n in range(8):
        docs.append(
            saved_id(
                await client.update(
                    "000000000", book(f"Kanteletar {n}", isbn=f"97895100000{n}2"), **AUTH
                )
            )
        )
    reply = await client.get(op="find", request="WTI=kanteletar")
    assert child_names(reply.root) == ["set_number", "no_records", "no_entries", "session-id"]
    assert reply.text("no_records") == "000000008" == reply.text("no_entries")
    set_number = reply.text("set_number")
    assert len(set_number) == 6 and set_number.isdigit()

    reply = await client.get(op="present", set_no=set_number, set_entry="000000002-000000003")
    records = reply.root.findall("record")
    assert child_names(reply.root) == ["record", "record", "session-id"]
    assert child_names(records[0]) == ["record_header", "doc_number", "metadata"]
    assert [r.findtext("record_header/set_entry") for r in records] == ["000000002", "000000003"]

    single = await client.get(op="present", set_number=set_number, set_entry="1")
    assert len(single.root.findall("record")) == 1
    everything = await client.get(op="present", set_number=set_number, set_entry="1-15")
    assert [r.findtext("doc_number") for r in everything.root.findall("record")] == docs


async def test_present_ranges_past_the_set(client: XClient) -> None:
    saved_id(await client.update("000000000", book("Yksinäinen", isbn="9789510000101"), **AUTH))
    found = await client.get(op="find", request="WTI=yksinäinen")
    number = found.text("set_number")
    clamped = await client.get(op="present", set_number=number, set_entry="1-15")
    assert len(clamped.root.findall("record")) == 1
    bad = await client.get(op="present", set_number=number, set_entry="3-1")
    assert bad.errors == ["set_entry 3-1 is not valid: expected e.g. 1-15"]
    beyond = await client.get(op="present", set_number=number, set_entry="5")
    assert beyond.name == "present" and "no entry number 5" in beyond.errors[0]
    unknown = await client.get(op="present", set_number="999998", set_entry="1")
    assert unknown.errors == ["Set number 999998 does not exist in this session"]


async def test_result_sets_are_kept_per_session(gateway: Gateway, client: XClient) -> None:
    saved_id(await client.update("000000000", book("Oma joukko", isbn="9789510000200"), **AUTH))
    mine = await client.get(op="find", request="WTI=joukko")
    number, session = mine.text("set_number"), mine.session_id
    ok = await client.get(op="present", set_number=number, set_entry="1", session_id=session)
    assert not ok.errors and ok.session_id == session
    other = (await client.get(op="find", request="WTI=nothingmatches")).session_id
    assert other != session
    refused = await client.get(op="present", set_number=number, set_entry="1", session_id=other)
    assert refused.errors and "does not exist in this session" in refused.errors[0]


async def test_empty_find_is_alephs_empty_set(client: XClient) -> None:
    reply = await client.get(op="find", request="WRD=zzzyyyxxx")
    assert reply.name == "find" and reply.errors == ["empty set"]
    assert reply.session_id


@pytest.mark.parametrize(
    ("params", "root", "message"),
    [
        ({"op": "frobnicate"}, "frobnicate", "Operation frobnicate is not defined"),
        ({}, "x-server", "Missing input: op"),
        ({"op": "find"}, "find", "Missing input: request"),
        ({"op": "find", "request": "XYZ=1"}, "find", "Search code XYZ is not defined"),
        ({"op": "find", "request": "WTI=(a"}, "find", "unbalanced parentheses"),
        ({"op": "find", "request": "a", "base": "fin99"}, "find", "Base FIN99 is not defined"),
        ({"op": "present", "set_entry": "1"}, "present", "Missing input: set_number"),
        (
            {"op": "present", "set_number": "abc", "set_entry": "1"},
            "present",
            "Set number abc is not valid",
        ),
        ({"op": "find-doc"}, "find-doc", "Missing input: doc_num"),
        ({"op": "find_doc", "doc_num": "12a"}, "find-doc", "Doc number 12a is not valid"),
        (
            {"op": "find-doc", "doc_num": "424242"},
            "find-doc",
            "Doc number 000424242 does not exist",
        ),
        ({"op": "user-auth", "staff_user": "HELKA"}, "user-auth", "Missing input: staff_pass"),
    ],
)
async def test_bad_requests_get_an_error_in_the_ops_root(
    client: XClient, params: dict[str, str], root: str, message: str
) -> None:
    reply = await client.get(**params)
    assert reply.status == 200
    assert reply.name == root
    assert len(reply.errors) == 1 and message in reply.errors[0], reply.errors
    assert reply.session_id


async def test_update_doc_missing_parameters(client: XClient) -> None:
    reply = await client.post(op="update-doc", library="FIN01", doc_num="000000000")
    assert reply.name == "update-doc" and reply.errors == ["Missing input: doc_action"]
    reply = await client.post(
        op="update-doc", library="FIN01", doc_action="UPDATE", doc_num="000000000",
        user_name="HELKA", user_password=PASSWORD,
    )  # fmt: skip
    assert reply.errors == ["Missing input: xml_full_req"]
    reply = await client.post(
        op="update-doc", library="FIN01", doc_action="MERGE", doc_num="1",
        user_name="HELKA", user_password=PASSWORD,
    )  # fmt: skip
    assert "Doc action MERGE is not supported" in reply.errors[0]


async def test_update_doc_with_wrong_password_saves_nothing(
    gateway: Gateway, client: XClient
) -> None:
    reply = await client.update(
        "000000000", book("Ei", isbn="9789510000300"), user="HELKA", password="x"
    )
    assert reply.errors == [
        "[0400] No such staff member exist. Make sure both user and password are correct."
    ]
    assert await gateway.catalog.record_counts() == (0, 0)


async def test_malformed_xml_full_req_names_line_and_column(client: XClient) -> None:
    reply = await client.post(
        op="update-doc", library="FIN01", doc_action="UPDATE", doc_num="000000000",
        user_name="HELKA", user_password=PASSWORD,
        xml_full_req="<find-doc>\n<record><oai_marc>\n<varfield id='245'>\n</find-doc>",
    )  # fmt: skip
    assert reply.name == "update-doc"
    (error,) = reply.errors
    assert error.startswith("[0070] xml_full_req is not a valid record: line 4:")
    reply = await client.post(
        op="update-doc", library="FIN01", doc_action="UPDATE", doc_num="000000000",
        user_name="HELKA", user_password=PASSWORD, xml_full_req="<find-doc><record/></find-doc>",
    )  # fmt: skip
    assert reply.errors == ["[0070] xml_full_req is not a valid record: no <oai_marc> record in it"]


async def test_overlong_xml_full_req_is_refused(gateway: Gateway, client: XClient) -> None:
    limit = gateway.settings.xserver_max_request_chars
    record = book("Pitkä", isbn="9789510000400", extra=[("500", " ", " ", [("a", "x" * limit)])])
    reply = await client.update("000000000", record, **AUTH)
    assert reply.name == "update-doc"
    assert reply.errors[0].startswith("[0071] xml_full_req has ")
    assert f"at most {limit} are accepted" in reply.errors[0]
    assert await gateway.catalog.record_counts() == (0, 0)
    huge = await client.post(op="update-doc", xml_full_req="y" * (limit * 13 + 20_000))
    assert huge.name == "update-doc"
    assert huge.errors == [
        f"The request is longer than {limit} characters (setting xserver_max_request_chars)"
    ]


async def test_update_chk_saves_only_a_record_without_problems(
    gateway: Gateway, client: XClient
) -> None:
    clean = book("Tarkistettu", isbn="9789510000500")
    doc = saved_id(await client.update("000000000", clean, action="UPDATE-CHK", **AUTH))
    assert (await gateway.catalog.record_counts())[0] == 1
    broken = clean.without("245")
    reply = await client.update("000000000", broken, action="UPDATE-CHK", **AUTH)
    assert any(e.startswith("[0110] 245") and e.endswith("- mandatory error") for e in reply.errors)
    assert reply.errors[-1].startswith("[0050]"), reply.errors
    reply = await client.update(doc, broken, **AUTH)
    assert reply.errors[-1].startswith("[0050]"), reply.errors
    assert (await gateway.catalog.record_counts())[0] == 1


async def test_update_of_an_unknown_doc_number(client: XClient) -> None:
    reply = await client.update("000777777", book("Ei ole", isbn="9789510000600"), **AUTH)
    assert reply.errors == [
        "[0060] Doc number 000777777 does not exist. To insert a new document use doc number 000000000."
    ]


async def test_passwords_never_reach_the_log(
    client: XClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    await client.get(op="user-auth", staff_user="HELKA", staff_pass="wrong-password-123")
    await client.update(
        "000000000", book("Loki", isbn="9789510000700"), user="HELKA", password="pw-456"
    )
    await client.update("000000000", book("Loki", isbn="9789510000700"), **AUTH)
    logged = caplog.text
    assert "wrong-password-123" not in logged and "pw-456" not in logged and PASSWORD not in logged


async def test_warnings_come_back_with_a_save_and_stop_update_chk(
    gateway: Gateway, client: XClient
) -> None:
    doc = saved_id(await client.update("000000000", book("Varoitus", isbn="9789510000800"), **AUTH))
    without_300 = (await client.find_doc(doc)).without("300")
    checked = await client.update(doc, without_300, action="UPDATE-CHK", **AUTH)
    assert checked.errors[0].startswith("[0131] 300") and checked.errors[0].endswith("- warning")
    assert checked.errors[-1].startswith("[0051]"), checked.errors
    assert (await client.find_doc(doc)).tags("300")  # UPDATE-CHK saved nothing
    saved = await client.update(doc, without_300, **AUTH)
    assert saved.errors[0].startswith("[0131] 300") and saved.errors[0].endswith("- warning")
    assert saved_id(saved) == doc
    assert not (await client.find_doc(doc)).tags("300")


async def test_find_by_each_aleph_code(client: XClient) -> None:
    record = book(
        "Sota ja rauha",
        isbn="978-951-0-00090-1",
        lows=("HELKA",),
        extra=[
            ("022", " ", " ", [("a", "1234-5679")]),
            ("SID", " ", " ", [("c", "77001"), ("b", "helka")]),
        ],
    )
    doc = saved_id(await client.update("000000000", record, **AUTH))
    saved_id(await client.update("000000000", book("Rauha", isbn="9789510009002"), **AUTH))
    for request in (
        f"SYS={doc}",
        f"MIDRR={doc}",
        "IBN=9789510000901",
        "ISBN=978-951-0-00090-1",
        "ISS=1234-5679",
        "SIDA=77001helka",
        "LOW=HELKA",
        "WAU=kivi AND WTI=sota",
        "WTI=sot?",
        "WRD=sota rauha",
        "WTI=rauha NOT WTI=sota",
    ):
        reply = await client.get(op="find", request=request)
        assert not reply.errors, (request, reply.errors)
        number = reply.text("set_number")
        presented = await client.get(op="present", set_number=number, set_entry="1-15")
        docs = [r.findtext("doc_number") for r in presented.root.findall("record")]
        expected = [doc] if "NOT" not in request else [f"{int(doc) + 1:09d}"]
        assert docs == expected, (request, docs)
    phrase = await client.get(op="find", request="sota ja rauha", code="WTI", adjacent="Y")
    assert phrase.text("no_records") == "000000001"
    both = await client.get(op="find", request="WTI=rauha")
    assert both.text("no_records") == "000000002"


async def test_insert_needs_no_doc_number_and_never_overwrites(client: XClient) -> None:
    record = book("Lisäys", isbn="9789510001001")
    reply = await client.post(
        op="update-doc", library="FIN01", doc_action="INSERT",
        user_name="HELKA", user_password=PASSWORD, xml_full_req=record.find_doc(),
    )  # fmt: skip
    first = saved_id(reply)
    second = saved_id(await client.update(first, record, action="INSERT", **AUTH))
    assert int(second) == int(first) + 1


async def test_form_charset_is_honoured_and_bad_bytes_refused(
    gateway: Gateway, client: XClient
) -> None:
    record = book("Äänikirja", isbn="9789510001101")
    body = urlencode(
        {"op": "update-doc", "library": "FIN01", "doc_action": "UPDATE", "doc_num": "000000000",
         "user_name": "HELKA", "user_password": PASSWORD, "xml_full_req": record.find_doc()},
        encoding="latin-1",
    )  # fmt: skip
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=ISO-8859-1"}
    async with client.http.post(client.url, data=body, headers=headers) as response:
        reply = Reply(etree.fromstring(await response.read()), response.status)
    doc = saved_id(reply)
    assert (await client.find_doc(doc)).tags("245") == [[("a", "Äänikirja")]]
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with client.http.post(
        client.url, data=b"op=find&request=%FF%FE", headers=headers
    ) as response:
        bad = Reply(etree.fromstring(await response.read()), response.status)
    assert bad.status == 200 and bad.errors == ["The request is not valid utf-8"]


async def test_the_session_cookie_is_set_on_every_reply_and_carries_the_session(
    gateway: Gateway,
) -> None:
    await gateway.catalog.add_library("HELKA", password=PASSWORD, lows=["HELKA"])
    jar = aiohttp.CookieJar(unsafe=True)  # cookies from 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        url = f"{gateway.http_url}/X"
        async with http.get(url, params={"op": "user-auth", "staff_user": "HELKA",
                                         "staff_pass": PASSWORD}) as response:  # fmt: skip
            login = Reply(etree.fromstring(await response.read()), response.status)
            assert response.headers.getall("Set-Cookie") == [
                f"ALEPH_SESSION_ID={login.session_id}; HttpOnly; Path=/X"
            ]
        # the cookie alone names the session: the next reply is in it, and says so again
        async with http.get(url, params={"op": "find", "request": "WTI=kalevala"}) as response:
            again = Reply(etree.fromstring(await response.read()), response.status)
            assert again.session_id == login.session_id
            assert response.cookies["ALEPH_SESSION_ID"].value == login.session_id
            assert response.cookies["ALEPH_SESSION_ID"]["path"] == "/X"
            assert response.cookies["ALEPH_SESSION_ID"]["httponly"] is True
