"""GET /api/v1/catalog.jsonld: the published catalog in the EU CPSV-AP vocabulary, valid JSON-LD
(expanded and turned into RDF by pyld, with nothing fetched from the network)."""

from __future__ import annotations

import pytest
from pyld import jsonld

CPSV = "http://purl.org/vocab/cpsv#"
CV = "http://data.europa.eu/m8g/"
DCT = "http://purl.org/dc/terms/"
URL = "/api/v1/catalog.jsonld"


@pytest.fixture(scope="module")
def answer(api_app):
    return api_app.test_client().get(URL)


@pytest.fixture(scope="module")
def expanded(answer):
    def no_network(url, options=None):
        raise AssertionError(f"the document must not need {url}")

    return jsonld.expand(answer.get_json(), {"documentLoader": no_network})


def _services(expanded):
    return [n for n in expanded if f"{CPSV}PublicService" in n.get("@type", [])]


def _values(node, predicate):
    return [v.get("@value", v.get("@id")) for v in node.get(predicate, [])]


def test_it_is_json_ld_with_an_inline_context(answer):
    assert answer.status_code == 200 and answer.mimetype == "application/ld+json"
    body = answer.get_json()
    assert isinstance(body["@context"], dict) and len(body["@graph"]) == 79


def test_every_term_used_is_defined_so_nothing_is_dropped(answer):
    context = answer.get_json()["@context"]

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                assert key.startswith("@") or key in context, key
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(answer.get_json()["@graph"])


def test_every_item_is_a_public_service_with_cpsv_ap_parts(expanded):
    services = _services(expanded)
    assert len(services) == 79
    for service in services:
        code = _values(service, f"{DCT}identifier")[0]
        assert service["@id"].endswith(f"/items/{code}")
        assert _values(service, f"{DCT}title"), code
        assert service[f"{CV}hasCompetentAuthority"][0]["@type"] == [f"{CV}PublicOrganisation"]
        costs = service[f"{CV}hasCost"]
        assert all(c["@type"] == [f"{CV}Cost"] for c in costs), code
        assert all(
            c[f"{CV}currency"][0]["@id"].endswith("/currency/CNY")
            and c[f"{CV}value"][0]["@type"] == "http://www.w3.org/2001/XMLSchema#decimal"
            for c in costs
        ), code
        channels = service[f"{CV}hasChannel"]
        assert {ch["@type"][0] for ch in channels} == {f"{CV}Channel"}, code
        duration = service[f"{CV}processingTime"][0]
        assert duration["@type"] == "http://www.w3.org/2001/XMLSchema#duration"
        assert duration["@value"].startswith("P") and duration["@value"].endswith("D"), code


def test_the_passport_as_another_portal_reads_it(expanded):
    passport = next(s for s in _services(expanded) if _values(s, f"{DCT}identifier") == ["LJ-CR-001"])
    assert _values(passport, f"{DCT}title") == ["普通护照签发"]
    assert _values(passport, f"{CV}processingTime") == ["P5D"]
    assert "120.00" in [c[f"{CV}value"][0]["@value"] for c in passport[f"{CV}hasCost"]]
    requirements = passport[f"{CV}holdsRequirement"]
    evidence = [e for r in requirements for e in r.get(f"{CV}hasSupportingEvidence", [])]
    assert evidence and all(e["@type"] == [f"{CV}Evidence"] for e in evidence)
    assert {e["@id"] for e in evidence} <= {e["@id"] for e in passport[f"{CPSV}hasInput"]}
    channel_types = {ch[f"{DCT}type"][0]["@value"] for ch in passport[f"{CV}hasChannel"]}
    assert {"online", "counter"} <= channel_types


def test_it_converts_to_rdf(answer):
    quads = jsonld.to_rdf(answer.get_json(), {"format": "application/n-quads"})
    lines = quads.splitlines()
    assert sum(f"<{CPSV}PublicService>" in line for line in lines) == 79
    assert len(lines) > 79 * 20


def test_it_is_cacheable_and_open_to_any_origin(api_app):
    client = api_app.test_client()
    first = client.get(URL)
    assert "public" in first.headers["Cache-Control"] and first.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get(URL, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
