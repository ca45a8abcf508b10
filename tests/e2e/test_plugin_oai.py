"""OAI-PMH end to end through the pytest plugin's `melinda_gateway` fixture: Sickle and pyoai."""

from __future__ import annotations

import pytest

from gateway.emulator.pytest_plugin import MelindaGateway

pytestmark = pytest.mark.e2e


def test_sickle_harvests_every_seeded_record(melinda_gateway: MelindaGateway) -> None:
    sickle = pytest.importorskip("sickle")
    ids = melinda_gateway.seed(250, seed=5)  # more than two pages of 100
    harvester = sickle.Sickle(melinda_gateway.oai_pmh_url)
    headers = list(harvester.ListIdentifiers(metadataPrefix="marc21"))
    harvested = sorted(int(h.identifier.rsplit("/", 1)[1]) for h in headers)
    assert harvested == ids
    resumed = [e for e in melinda_gateway.requests("oai-pmh") if "resumptionToken" in e.parameters]
    assert len(resumed) == 2


def test_pyoai_reads_identify_and_a_record(melinda_gateway: MelindaGateway) -> None:
    client_module = pytest.importorskip("oaipmh.client")
    metadata = pytest.importorskip("oaipmh.metadata")
    (record_id,) = melinda_gateway.seed(1, seed=9)
    registry = metadata.MetadataRegistry()
    registry.registerReader("oai_dc", metadata.oai_dc_reader)
    client = client_module.Client(melinda_gateway.oai_pmh_url, registry)
    identify = client.identify()
    assert identify.repositoryName() == melinda_gateway.settings.oai_repository_name
    header, _metadata, _about = client.getRecord(
        identifier=f"{melinda_gateway.settings.oai_identifier_prefix}{record_id:09d}",
        metadataPrefix="oai_dc",
    )
    assert header.identifier().endswith(f"{record_id:09d}")
    assert [e.operation for e in melinda_gateway.requests("oai-pmh")] == ["Identify", "GetRecord"]
