"""The published catalog as open data: JSON-LD in the EU's Core Public Service Vocabulary Application
Profile (CPSV-AP), so that other portals can import our items.

Each published item is a ``cpsv:PublicService`` with its competent authority (``cv:PublicOrganisation``),
requirements (``cv:Requirement``, one per document, each with the ``cv:Evidence`` that satisfies it),
costs (``cv:Cost`` in CNY), channels (``cv:Channel``: online, counter, post), processing time
(``cv:processingTime``, an ISO 8601 duration of the promised days), legal basis and output.
The context is inline, so a consumer needs nothing from the network to expand it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from catalog.labels import label
from catalog.queries import CatalogSnapshot, ItemView
from core.api import Field

CPSV = "http://purl.org/vocab/cpsv#"
CV = "http://data.europa.eu/m8g/"
CNY = "http://publications.europa.eu/resource/authority/currency/CNY"
LANGUAGE_ZH = "http://publications.europa.eu/resource/authority/language/ZHO"

CONTEXT: dict[str, Any] = {
    "cpsv": CPSV,
    "cv": CV,
    "dct": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "PublicService": "cpsv:PublicService",
    "PublicOrganisation": "cv:PublicOrganisation",
    "Requirement": "cv:Requirement",
    "Evidence": "cv:Evidence",
    "Cost": "cv:Cost",
    "Channel": "cv:Channel",
    "Output": "cv:Output",
    "LegalResource": "http://data.europa.eu/eli/ontology#LegalResource",
    "identifier": "dct:identifier",
    "name": {"@id": "dct:title", "@language": "zh-CN"},
    "description": {"@id": "dct:description", "@language": "zh-CN"},
    "keyword": {"@id": "dcat:keyword", "@language": "zh-CN", "@container": "@set"},
    "thematicArea": {"@id": "cv:thematicArea", "@language": "zh-CN"},
    "serviceType": {"@id": "dct:type", "@language": "zh-CN"},
    "language": {"@id": "dct:language", "@type": "@id"},
    "processingTime": {"@id": "cv:processingTime", "@type": "xsd:duration"},
    "hasCompetentAuthority": "cv:hasCompetentAuthority",
    "holdsRequirement": {"@id": "cv:holdsRequirement", "@container": "@set"},
    "hasSupportingEvidence": {"@id": "cv:hasSupportingEvidence", "@container": "@set"},
    "hasInput": {"@id": "cpsv:hasInput", "@container": "@set"},
    "produces": {"@id": "cpsv:produces", "@container": "@set"},
    "hasCost": {"@id": "cv:hasCost", "@container": "@set"},
    "hasChannel": {"@id": "cv:hasChannel", "@container": "@set"},
    "hasLegalResource": {"@id": "cv:hasLegalResource", "@container": "@set"},
    "value": {"@id": "cv:value", "@type": "xsd:decimal"},
    "currency": {"@id": "cv:currency", "@type": "@id"},
    "channelType": {"@id": "dct:type", "@language": "en"},
    "openingHours": {"@id": "cv:openingHours", "@language": "zh-CN"},
    "telephone": {"@id": "cv:telephone"},
    "landingPage": {"@id": "dcat:landingPage", "@type": "@id"},
    "onlineDepth": {"@id": "urn:lj-portal:onlineDepth", "@type": "xsd:integer"},
    "visitsRequired": {"@id": "urn:lj-portal:visitsRequired", "@type": "xsd:integer"},
}


class Node(BaseModel):
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_serialization_defaults_required=True
    )

    id: str = Field(alias="@id", serialization_alias="@id", description="IRI of the node")


class OrganisationLD(Node):
    type: Literal["PublicOrganisation"] = Field(
        "PublicOrganisation", alias="@type", serialization_alias="@type"
    )
    name: str


class EvidenceLD(Node):
    type: Literal["Evidence"] = Field("Evidence", alias="@type", serialization_alias="@type")
    name: str
    description: str


class RequirementLD(Node):
    type: Literal["Requirement"] = Field("Requirement", alias="@type", serialization_alias="@type")
    name: str
    description: str
    hasSupportingEvidence: list[EvidenceLD]


class CostLD(Node):
    type: Literal["Cost"] = Field("Cost", alias="@type", serialization_alias="@type")
    value: str = Field(pattern=r"^\d+(\.\d+)?$", description="xsd:decimal")
    currency: Literal["http://publications.europa.eu/resource/authority/currency/CNY"] = CNY
    description: str


class ChannelLD(Node):
    type: Literal["Channel"] = Field("Channel", alias="@type", serialization_alias="@type")
    channelType: Literal["online", "counter", "post"]
    description: str
    openingHours: str | None = None
    telephone: str | None = None


class OutputLD(Node):
    type: Literal["Output"] = Field("Output", alias="@type", serialization_alias="@type")
    name: str


class LegalResourceLD(Node):
    type: Literal["LegalResource"] = Field("LegalResource", alias="@type", serialization_alias="@type")
    description: str


class PublicServiceLD(Node):
    type: Literal["PublicService"] = Field("PublicService", alias="@type", serialization_alias="@type")
    identifier: str
    name: str
    description: str
    keyword: list[str]
    thematicArea: str
    serviceType: str
    language: list[str]
    landingPage: str
    processingTime: str = Field(
        pattern=r"^P\d+D$", description="承诺时限（ISO 8601；工作日或自然日见 description）"
    )
    onlineDepth: int = Field(ge=1, le=5)
    visitsRequired: int = Field(ge=0, le=2)
    hasCompetentAuthority: OrganisationLD
    holdsRequirement: list[RequirementLD]
    hasInput: list[EvidenceLD]
    hasCost: list[CostLD]
    hasChannel: list[ChannelLD]
    produces: list[OutputLD]
    hasLegalResource: list[LegalResourceLD]


class CatalogLD(BaseModel):
    """The whole published catalog, one JSON-LD document."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    context: dict[str, Any] = Field(alias="@context", serialization_alias="@context")
    graph: list[PublicServiceLD] = Field(alias="@graph", serialization_alias="@graph")


def catalog_document(snap: CatalogSnapshot, base: str) -> CatalogLD:
    """Every published item of ``snap`` as CPSV-AP; ``base`` is the portal's absolute URL (no slash)."""
    return CatalogLD(
        context=CONTEXT,
        graph=[_service(item, base) for item in sorted(snap.items.values(), key=lambda i: i.code)],
    )


def _service(item: ItemView, base: str) -> PublicServiceLD:
    iri = f"{base}/items/{item.code}"
    days = "工作日" if item.day_kind == "working" else "自然日"
    evidence = [
        EvidenceLD(
            id=f"{iri}#evidence-{n}",
            name=d.name,
            description="；".join(
                x
                for x in (
                    f"{label('form', d.form)} {d.copies} 份",
                    str(label("source", d.source)),
                    d.issuer and f"出具单位：{d.issuer}",
                    d.notes,
                )
                if x
            ),
        )
        for n, d in enumerate(item.documents, 1)
    ]
    requirements = [
        RequirementLD(
            id=f"{iri}#requirement-{n}",
            name=f"提交{d.name}",
            description=f"{label('requirement', d.requirement)}"
            + (
                ""
                if not d.condition
                else "；适用情形：" + "；".join(f"{k}={'/'.join(v)}" for k, v in d.condition.items())
            ),
            hasSupportingEvidence=[ev],
        )
        for n, (d, ev) in enumerate(zip(item.documents, evidence, strict=True), 1)
    ]
    if item.conditions:
        requirements.insert(
            0,
            RequirementLD(
                id=f"{iri}#conditions", name="受理条件", description=item.conditions, hasSupportingEvidence=[]
            ),
        )
    costs = [
        CostLD(
            id=f"{iri}#cost",
            value=f"{item.fee:.2f}",
            description=item.fee_note or ("免费" if item.fee == 0 else "收费标准"),
        )
    ]
    costs += [
        CostLD(
            id=f"{iri}#cost-{s.key}-{o.value}", value=f"{o.fee:.2f}", description=f"{s.question}：{o.label}"
        )
        for s in item.situations
        for o in s.options
        if o.fee is not None
    ]
    channels = [
        ChannelLD(
            id=f"{iri}#online",
            channelType="online",
            description=f"网上办理（网办深度 ★{item.online_depth}：{label('depth', item.online_depth)}）",
        )
    ]
    if item.visits > 0 or item.counters:
        channels.append(
            ChannelLD(
                id=f"{iri}#counter",
                channelType="counter",
                description=item.counters or "窗口办理",
                openingHours=item.hours or None,
                telephone=item.phone or None,
            )
        )
    if "mail" in item.delivery:
        channels.append(ChannelLD(id=f"{iri}#post", channelType="post", description="结果免费邮寄"))
    return PublicServiceLD(
        id=iri,
        identifier=item.code,
        name=item.name,
        description=(item.description or item.name)
        + f"（承诺时限 {item.promised_days} 个{days}，法定时限 {item.legal_days} 个{days}）",
        keyword=list(item.aliases),
        thematicArea=item.category.name,
        serviceType=str(label("item_type", item.item_type)),
        language=[LANGUAGE_ZH],
        landingPage=iri,
        processingTime=f"P{item.promised_days}D",
        onlineDepth=item.online_depth,
        visitsRequired=item.visits,
        hasCompetentAuthority=OrganisationLD(
            id=f"urn:lj-portal:unit-kind:{item.unit_kind}", name=str(label("unit_kind", item.unit_kind))
        ),
        holdsRequirement=requirements,
        hasInput=evidence,
        hasCost=costs,
        hasChannel=channels,
        produces=[OutputLD(id=f"{iri}#output", name=item.result_name)] if item.result_name else [],
        hasLegalResource=[LegalResourceLD(id=f"{iri}#legal-basis", description=item.legal_basis)]
        if item.legal_basis
        else [],
    )
