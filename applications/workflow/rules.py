"""Editing the routing rules (分派规则) that :mod:`applications.workflow.routing` applies: the admin's
use cases, audited. Flush, never commit."""

from __future__ import annotations

from applications.models import RoutingRule
from auth.models import Unit
from catalog.models import Category, ServiceItem
from core import audit
from core.db import db
from core.errors import FieldError, NotFound
from core.i18n import N_


def create_rule(
    *,
    position: int,
    unit_id: int,
    item_id: int | None = None,
    category_id: int | None = None,
    district: str | None = None,
    approving_unit_id: int | None = None,
    note: str = "",
) -> RoutingRule:
    """Add a rule: item or category × district → accepting (and approving) unit. Raises
    :class:`FieldError` at the field naming an item, category or unit that does not exist."""
    for field, model, value in (
        ("item", ServiceItem, item_id),
        ("category", Category, category_id),
        ("unit", Unit, unit_id),
        ("approving_unit", Unit, approving_unit_id),
    ):
        if value is not None and db.session.get(model, value) is None:
            raise FieldError(field, N_("所选项目不存在，请刷新页面后重新选择"))
    rule = RoutingRule(
        position=position,
        item_id=item_id,
        category_id=category_id,
        district=district or None,
        unit_id=unit_id,
        approving_unit_id=approving_unit_id,
        note=note,
    )
    db.session.add(rule)
    db.session.flush()
    audit.record(
        "routing.rule_create",
        object_type="routing_rule",
        object_id=rule.id,
        details={
            "position": rule.position,
            "item": rule.item_id,
            "category": rule.category_id,
            "district": rule.district,
            "unit": rule.unit_id,
        },
    )
    return rule


def toggle_rule(rule_id: int) -> RoutingRule:
    """Switch a rule on or off (audited). Raises :class:`NotFound` for an unknown id."""
    rule = db.session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound()
    before = rule.active
    rule.active = not rule.active
    audit.record(
        "routing.rule_toggle",
        object_type="routing_rule",
        object_id=rule.id,
        details={"before": before, "after": rule.active},
    )
    return rule
