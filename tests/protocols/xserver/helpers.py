"""Plain-HTTP X-server client helpers for the tests: oai_marc documents and reply parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import aiohttp
from lxml import etree

SUCCESS = re.compile(r"^\[0018\] Document: (\d{9}) was updated successfully\.$")

Subfields = list[tuple[str, str]]


@dataclass
class OaiMarc:
    """A record as a cataloguing client holds it: leader, control fields, data fields."""

    leader: str
    controls: list[tuple[str, str]] = field(default_factory=list)
    fields: list[tuple[str, str, str, Subfields]] = field(default_factory=list)

    def to_xml(self) -> str:
        parts = [f'<fixfield id="LDR">{escape(self.leader.replace(" ", "^"))}</fixfield>']
        for tag, value in self.controls:
            parts.append(
                f"<fixfield id={quoteattr(tag)}>{escape(value.replace(' ', '^'))}</fixfield>"
            )
        for tag, i1, i2, subfields in self.fields:
            subs = "".join(
                f"<subfield label={quoteattr(code)}>{escape(value)}</subfield>"
                for code, value in subfields
            )
            attributes = f"id={quoteattr(tag)} i1={quoteattr(i1)} i2={quoteattr(i2)}"
            parts.append(f"<varfield {attributes}>{subs}</varfield>")
        return "<oai_marc>" + "".join(parts) + "</oai_marc>"

    def find_doc(self) -> str:
        """The `xml_full_req` form Aleph's docs describe: a find-doc document."""
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<find-doc><record><metadata>{self.to_xml()}</metadata></record></find-doc>"
        )

    def tags(self, tag: str) -> list[Subfields]:
        return [subs for t, _, _, subs in self.fields if t == tag]

    def without(self, tag: str, predicate: Any = None) -> OaiMarc:
        kept = [
            f for f in self.fields if f[0] != tag or (predicate is not None and not predicate(f))
        ]
        return OaiMarc(self.leader, list(self.controls), kept)

    def with_field(self, tag: str, i1: str, i2: str, subfields: Subfields) -> OaiMarc:
        return OaiMarc(self.leader, list(self.controls), [*self.fields, (tag, i1, i2, subfields)])


def parse_oai_marc(element: etree._Element) -> OaiMarc:
    leader = ""
    controls: list[tuple[str, str]] = []
    fields: list[tuple[str, str, str, Subfields]] = []
    for child in element:
        if child.tag == "fixfield":
            value = (child.text or "").replace("^", " ")
            if child.get("id") == "LDR":
                leader = value
            else:
                controls.append((child.get("id", ""), value))
        elif child.tag == "varfield":
            subs = [(sf.get("label", ""), sf.text or "") for sf in child.iter("subfield")]
            fields.append((child.get("id", ""), child.get("i1", " "), child.get("i2", " "), subs))
    return OaiMarc(leader, controls, fields)


def book(title: str, *, isbn: str, lows: tuple[str, ...] = (), extra: Any = ()) -> OaiMarc:
    """A complete new book record that passes Melinda's validation."""
    fields: list[tuple[str, str, str, Subfields]] = [
        ("020", " ", " ", [("a", isbn)]),
        ("040", " ", " ", [("a", "FI-NL")]),
        ("100", "1", " ", [("a", "Kivi, Aleksis.")]),
        ("245", "1", "0", [("a", title)]),
        ("264", " ", "1", [("a", "Helsinki :"), ("b", "Otava,"), ("c", "2020.")]),
        ("300", " ", " ", [("a", "300 sivua")]),
        ("336", " ", " ", [("a", "teksti"), ("b", "txt"), ("2", "rdacontent")]),
        ("337", " ", " ", [("a", "käytettävissä ilman laitetta"), ("b", "n"), ("2", "rdamedia")]),
        ("338", " ", " ", [("a", "nide"), ("b", "nc"), ("2", "rdacarrier")]),
        *extra,
        *[("LOW", " ", " ", [("a", code)]) for code in lows],
    ]
    return OaiMarc(
        "00000nam a2200000 i 4500",
        [("008", "200101s2020    fi " + "|" * 17 + "fin d")],
        fields,
    )


@dataclass
class Reply:
    root: etree._Element
    status: int

    @property
    def name(self) -> str:
        return str(self.root.tag)

    @property
    def errors(self) -> list[str]:
        return [e.text or "" for e in self.root.findall("error")]

    def text(self, tag: str) -> str:
        found = self.root.find(tag)
        assert found is not None, f"no <{tag}> in {etree.tostring(self.root)[:500]!r}"
        return found.text or ""

    @property
    def session_id(self) -> str:
        return self.text("session-id")

    def records(self) -> list[tuple[etree._Element, OaiMarc]]:
        out = []
        for record in self.root.findall("record"):
            oai = record.find("metadata/oai_marc")
            assert oai is not None
            out.append((record, parse_oai_marc(oai)))
        return out


class XClient:
    """A plain HTTP client of `/X` that keeps its cookies, as a browser-like client does."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.url = f"{base_url}/X"

    async def get(self, **params: str) -> Reply:
        async with self.http.get(self.url, params=params) as response:
            return Reply(etree.fromstring(await response.read()), response.status)

    async def post(self, **params: str) -> Reply:
        async with self.http.post(self.url, data=params) as response:
            return Reply(etree.fromstring(await response.read()), response.status)

    async def update(
        self,
        doc_num: str,
        record: OaiMarc | None,
        *,
        user: str,
        password: str,
        action: str = "UPDATE",
    ) -> Reply:
        params = {
            "op": "update-doc",
            "library": "FIN01",
            "doc_action": action,
            "doc_num": doc_num,
            "user_name": user,
            "user_password": password,
        }
        if record is not None:
            params["xml_full_req"] = record.find_doc()
        return await self.post(**params)

    async def find_doc(self, doc_num: str, base: str = "fin01") -> OaiMarc:
        reply = await self.get(op="find-doc", doc_num=doc_num, base=base)
        assert not reply.errors, reply.errors
        ((_, record),) = reply.records()
        return record


def saved_id(reply: Reply) -> str:
    """The doc number of a successful update-doc; fails the test with the reply otherwise."""
    assert reply.name == "update-doc"
    last = reply.errors[-1] if reply.errors else ""
    match = SUCCESS.match(last)
    assert match, reply.errors
    return match.group(1)
