"""The guide: turn a citizen's situation answers into exactly their documents, fee and form fields.

Pure Python over the snapshot views. Unanswered questions take their first option, so the list is
always concrete; an answer that is not an option of its question is ignored (treated as unanswered).
A chosen option's ``fee`` replaces the item's fee; when several chosen options carry a fee, the one of
the last question wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from catalog.queries import DocumentView, FieldView, ItemView, SituationView


def applies(condition: Mapping[str, tuple[str, ...]], answers: Mapping[str, str]) -> bool:
    """True when every situation named in ``condition`` is answered with one of its values."""
    return all(answers.get(key) in values for key, values in condition.items())


def resolve_answers(item: ItemView, raw: Mapping[str, str]) -> dict[str, str]:
    """Valid answers for every question (defaults: the first option)."""
    out: dict[str, str] = {}
    for s in item.situations:
        value = raw.get(s.key)
        out[s.key] = value if s.option(value) is not None else s.options[0].value
    return out


@dataclass(frozen=True)
class Guide:
    item: ItemView
    answers: dict[str, str]
    documents: tuple[DocumentView, ...]
    fields: tuple[FieldView, ...]
    fee: Decimal

    @property
    def chosen(self) -> list[tuple[SituationView, str]]:
        """(question, chosen label) pairs for the one-time notice."""
        out = []
        for s in self.item.situations:
            option = s.option(self.answers.get(s.key))
            out.append((s, option.label if option else ""))
        return out

    @property
    def to_bring(self) -> tuple[DocumentView, ...]:
        """Documents the applicant provides (government-issued ones are fetched, never asked)."""
        return tuple(d for d in self.documents if d.source == "applicant")

    @property
    def fetched(self) -> tuple[DocumentView, ...]:
        return tuple(d for d in self.documents if d.source == "government")


def repeats_standard(f: FieldView, delivery: tuple[str, ...]) -> bool:
    """True for an item field that asks again for what every application form asks already (its
    standard part, catalog.application_form): the contact phone (联系电话, prefilled from the account),
    the result's mailing address (邮寄地址) when the item mails its result (the delivery part asks for
    it when 邮寄 is chosen), 领证方式 when the item offers both mail and counter (the delivery part's
    choice) and, on an item that asks them only of a 亲友代办 (``when: {applicant: proxy}``), the
    principal's name and ID number (the 亲友代办 part asks them). A field for something
    else (a paper copy's address, another person's phone) is kept. Such a field is left out of the
    guide, so nobody is asked twice (issue 17, item 7) — also on applications pinned to a version
    that still defines it."""
    if f.type == "mobile" and (f.key in ("mobile", "contact_mobile") or f.label == "联系电话"):
        return True
    if f.type == "address" and f.label == "邮寄地址" and "mail" in delivery:
        return True
    if f.key in ("principal_name", "principal_id") and f.condition.get("applicant") == ("proxy",):
        return True
    return f.type == "select" and f.key == "pickup" and {"mail", "counter"} <= set(delivery)


def build_guide(item: ItemView, raw_answers: Mapping[str, str] | None = None) -> Guide:
    """Everything one citizen needs for ``item`` given their answers."""
    answers = resolve_answers(item, raw_answers or {})
    fee = item.fee
    for s in item.situations:
        option = s.option(answers[s.key])
        if option is not None and option.fee is not None:
            fee = option.fee
    return Guide(
        item=item,
        answers=answers,
        documents=tuple(d for d in item.documents if applies(d.condition, answers)),
        fields=tuple(
            f
            for f in item.fields
            if applies(f.condition, answers) and not repeats_standard(f, tuple(item.delivery))
        ),
        fee=fee,
    )
