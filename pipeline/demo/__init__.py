"""Demo data of the pipeline pillar: about 18 months of leads, deals, stage
history, splits and activities for a tenant, deterministic for a given rng
and day. Called by ``spm.demo.seed_demo`` inside the tenant's context.

Everything is built in memory and written with ``bulk_create`` (one insert
per table and batch), so a tenant of ~25 reps seeds in a few seconds.
"""

from __future__ import annotations

import datetime as dt
import random

from pipeline import services
from pipeline.demo.data import HISTORY_DAYS, RepProfile
from pipeline.demo.deals import current_pipeline, past_deals
from pipeline.demo.forecast import seed_forecasts
from pipeline.demo.records import (
    accounts_create,
    activities_create,
    customers_mark,
    leads_create,
    splits_create,
    stage_history_create,
)
from pipeline.models import Deal, Stage
from spm.demo import DemoPeople
from spm.models import Tenant


def seed(tenant: Tenant, *, rng: random.Random, today: dt.date, people: DemoPeople) -> None:
    """Create the tenant's pipeline history (see the module docstring). The
    steps draw from ``rng`` in a fixed order, so a seed gives the same data."""
    new_business = services.pipeline_create_default(tenant)
    renewals = services.pipeline_create(tenant, name="Renewals", actor=None)
    stages_by_pipeline = {
        p.pk: list(Stage.objects.filter(tenant=tenant, pipeline=p).order_by("position"))
        for p in (new_business, renewals)
    }
    start = today - dt.timedelta(days=HISTORY_DAYS)
    reps = people.reps
    team_size_factor: dict[int | None, float] = {
        team.pk: 0.7 + 0.25 * index for index, team in enumerate(people.teams)
    }
    profiles = [
        RepProfile(
            member=rep,
            win_rate=rng.uniform(0.18, 0.48),
            size=rng.uniform(9000, 42000) * team_size_factor.get(rep.team_id, 1.0),
            speed=rng.uniform(0.7, 1.5),
            deals_per_month=rng.uniform(2.5, 5.0),
        )
        for rep in reps
    ]
    accounts, accounts_by_owner = accounts_create(tenant, rng=rng, profiles=profiles)
    deals, paths, first_win = past_deals(
        tenant,
        rng=rng,
        today=today,
        start=start,
        profiles=profiles,
        accounts_by_owner=accounts_by_owner,
        pipelines=(new_business, renewals),
        stages_by_pipeline=stages_by_pipeline,
    )
    for deal, path in current_pipeline(
        tenant,
        rng=rng,
        today=today,
        profiles=profiles,
        accounts_by_owner=accounts_by_owner,
        pipelines=(new_business, renewals),
        stages_by_pipeline=stages_by_pipeline,
        first_number=len(deals) + 1,
    ):
        deals.append(deal)
        paths.append(path)
    Deal.objects.bulk_create(deals, batch_size=2000)
    stage_history_create(tenant, rng=rng, deals=deals, paths=paths)
    splits_create(tenant, rng=rng, deals=deals, reps=reps)
    customers_mark(rng=rng, today=today, accounts=accounts, first_win=first_win)
    leads = leads_create(tenant, rng=rng, today=today, start=start, profiles=profiles, deals=deals)
    activities_create(tenant, rng=rng, today=today, deals=deals, paths=paths, leads=leads)
    seed_forecasts(tenant, rng=rng, today=today, deals=deals, paths=paths)
