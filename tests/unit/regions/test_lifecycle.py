"""The period's life cycle: every status is reachable, every step has its flow, nothing else moves a period."""

from __future__ import annotations

import pytest

from ppdb import flows
from ppdb.accounts.models import Role
from ppdb.authz import Principal
from ppdb.errors import Conflict, Forbidden
from ppdb.regions import lifecycle
from ppdb.regions.lifecycle import ALLOWED, TABLE, Step
from ppdb.regions.models import Period, PeriodStatus

AGENCY = Principal(id=1, role=Role.AGENCY_ADMIN, region_id=1, school_id=None, email="a@b.test")
PARENT = Principal(id=2, role=Role.PARENT, region_id=None, school_id=None, email="p@b.test")


def test_every_status_is_reachable_from_draft_and_every_step_has_its_flow():
    seen, todo = {PeriodStatus.DRAFT}, [PeriodStatus.DRAFT]
    while todo:
        for to in ALLOWED[todo.pop()]:
            if to not in seen:
                seen.add(to)
                todo.append(to)
    assert seen == set(PeriodStatus)
    assert set(TABLE) == set(Step)
    for rule in TABLE.values():
        assert callable(getattr(flows, rule.flow))


def test_a_step_is_refused_in_any_other_status_with_its_own_code():
    period = Period(id=1, status=PeriodStatus.PUBLISHED)
    with pytest.raises(Conflict) as refused:
        lifecycle.check(period, Step.RUN_OFFICIAL, AGENCY)
    assert refused.value.code == "period_not_ready"
    with pytest.raises(Conflict) as refused:
        lifecycle.check(period, Step.CLOSE_REGISTRATION, AGENCY)
    assert refused.value.code == "invalid_transition" and "published" in refused.value.message
    assert lifecycle.check(period, Step.PUBLISH, AGENCY) is PeriodStatus.PUBLISHED  # a correction stays


def test_only_the_agency_or_the_named_system_jobs_trigger_steps():
    period = Period(id=1, status=PeriodStatus.REREGISTRATION)
    assert lifecycle.check(period, Step.RELEASE_UNCLAIMED, "system:deadline") is PeriodStatus.VACANCY
    with pytest.raises(Forbidden):
        lifecycle.check(period, Step.RELEASE_UNCLAIMED, PARENT)
    with pytest.raises(Forbidden):
        lifecycle.check(Period(id=1, status=PeriodStatus.SELECTED), Step.PUBLISH, "cli")


def test_transition_refuses_a_change_the_table_does_not_know():
    period = Period(id=1, status=PeriodStatus.DRAFT)
    with pytest.raises(Conflict) as refused:
        lifecycle.transition(None, period, PeriodStatus.PUBLISHED, "test")  # type: ignore[arg-type]
    assert refused.value.code == "invalid_transition" and period.status is PeriodStatus.DRAFT


def test_the_rule_change_policy_knows_every_rule():
    """A new field of the rule set must be placed in the policy (and named in Indonesian) before it can change."""
    from ppdb.regions.rules import PathRule, RuleSet

    fields = [f for f in RuleSet.__struct_fields__ if f not in ("preset", "paths", "lottery_seed")]
    fields += [f"paths.x.{f}" for f in PathRule.__struct_fields__ if f not in ("name", "quota")] + ["quotas.x"]
    for field in fields:
        assert lifecycle.rule_kind(field) in lifecycle.ALL_RULES, field
        assert lifecycle.rule_kind(field) in lifecycle.RULE_NAMES, field
    for allowed in lifecycle.RULE_CHANGES.values():
        assert allowed <= lifecycle.ALL_RULES
