"""What was known when: the tenant's deals and stage visits as of a day, read
from the stage and category history in a few set-based statements into
pandas frames (the inputs of ``pipeline.forecast.forecast``, the snapshots
and the backtest).

As of day D (end of D in the tenant's time zone): a deal exists if created on
or before D; it is won or lost if its close date is on or before D, else open;
its stage is the last it entered by D and its category the last set by D
(else its stage's). Amounts and expected close dates have no history: they
are today's values; a deal with no stage entry by D (loaded later without
its history) stands in its stage of today since its creation day
(docs/architecture.md, "Forecasting").
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from django.db import connection

from pipeline.models import DealStatus
from spm.models import Tenant

STAGE_VISITS_SQL = """
WITH moves AS (
    SELECT s.deal_id, s.to_stage_id,
           (s.changed_at AT TIME ZONE %(tz)s)::date AS entered,
           LEAD((s.changed_at AT TIME ZONE %(tz)s)::date)
               OVER (PARTITION BY s.deal_id ORDER BY s.changed_at, s.id) AS left_on
    FROM pipeline_stagechange s
    WHERE s.tenant_id = %(tenant)s AND s.changed_at < %(cutoff)s
)
SELECT m.deal_id, m.to_stage_id AS stage_id, m.entered, m.left_on,
       d.owner_id, d.base_amount::float8 AS amount, d.status, d.close_date
FROM moves m
JOIN pipeline_stage st ON st.tenant_id = %(tenant)s AND st.id = m.to_stage_id
JOIN pipeline_deal d ON d.tenant_id = %(tenant)s AND d.id = m.deal_id
WHERE NOT st.is_won AND NOT st.is_lost AND m.entered >= %(since)s
"""

DEALS_AS_OF_SQL = """
WITH stage_at AS (
    SELECT DISTINCT ON (s.deal_id) s.deal_id, s.to_stage_id,
           (s.changed_at AT TIME ZONE %(tz)s)::date AS entered
    FROM pipeline_stagechange s
    WHERE s.tenant_id = %(tenant)s AND s.changed_at < %(cutoff)s {deal_filter_s}
    ORDER BY s.deal_id, s.changed_at DESC, s.id DESC
), category_at AS (
    SELECT DISTINCT ON (c.deal_id) c.deal_id, c.to_category
    FROM pipeline_categorychange c
    WHERE c.tenant_id = %(tenant)s AND c.changed_at < %(cutoff)s {deal_filter_c}
    ORDER BY c.deal_id, c.changed_at DESC, c.id DESC
)
SELECT d.id AS deal_id, d.owner_id, d.base_amount::float8 AS amount, d.created_on,
       d.expected_close_date, d.close_date,
       CASE WHEN d.close_date IS NOT NULL AND d.close_date <= %(day)s THEN d.status
            ELSE %(open)s END AS status,
       st.id AS stage_id, COALESCE(sa.entered, d.created_on) AS entered,
       st.probability::float8 AS stage_probability, st.is_won AS stage_won,
       st.is_lost AS stage_lost, COALESCE(ca.to_category, st.forecast_category) AS category
FROM pipeline_deal d
LEFT JOIN stage_at sa ON sa.deal_id = d.id
JOIN pipeline_stage st ON st.tenant_id = %(tenant)s AND st.id = COALESCE(sa.to_stage_id, d.stage_id)
LEFT JOIN category_at ca ON ca.deal_id = d.id
WHERE d.tenant_id = %(tenant)s AND d.created_on <= %(day)s {deal_filter_d}
  AND (d.close_date IS NULL OR d.close_date >= %(from_day)s)
"""


def day_end(tenant: Tenant, day: dt.date) -> dt.datetime:
    """The first instant after ``day`` in the tenant's time zone."""
    zone = ZoneInfo(tenant.time_zone)
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)


def _frame(sql: str, params: dict[str, Any]) -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description or []]
        return pd.DataFrame(cursor.fetchall(), columns=columns)


def stage_visits(tenant: Tenant, *, day: dt.date, since: dt.date) -> pd.DataFrame:
    """Every stay of a deal in an open stage entered between ``since`` and
    ``day``, with the day it left (NaT: still there, or left after ``day``)
    and the deal's owner, amount, final status and close date (columns
    deal_id, stage_id, entered, left_on, owner_id, amount, status, close_date)."""
    params = {"tenant": tenant.pk, "tz": tenant.time_zone, "cutoff": day_end(tenant, day)}
    frame = _frame(STAGE_VISITS_SQL, {**params, "since": since})
    for column in ("entered", "left_on", "close_date"):
        frame[column] = pd.to_datetime(frame[column])
    frame.loc[frame["left_on"] > pd.Timestamp(day), "left_on"] = pd.NaT
    return frame


def deals_as_of(
    tenant: Tenant,
    *,
    day: dt.date,
    from_day: dt.date,
    deal_ids: list[int] | None = None,
) -> pd.DataFrame:
    """The deals as they stood at the end of ``day``, leaving out those closed
    before ``from_day`` (columns deal_id, owner_id, amount, created_on,
    expected_close_date, close_date, status, stage_id, entered,
    stage_probability, stage_won, stage_lost, category)."""
    filters = {"deal_filter_s": "", "deal_filter_c": "", "deal_filter_d": ""}
    params: dict[str, Any] = {
        "tenant": tenant.pk,
        "tz": tenant.time_zone,
        "cutoff": day_end(tenant, day),
        "day": day,
        "from_day": from_day,
        "open": DealStatus.OPEN,
    }
    if deal_ids is not None:
        params["deal_ids"] = deal_ids
        filters = {
            "deal_filter_s": "AND s.deal_id = ANY(%(deal_ids)s)",
            "deal_filter_c": "AND c.deal_id = ANY(%(deal_ids)s)",
            "deal_filter_d": "AND d.id = ANY(%(deal_ids)s)",
        }
    frame = _frame(DEALS_AS_OF_SQL.format(**filters), params)
    for column in ("created_on", "expected_close_date", "close_date", "entered"):
        frame[column] = pd.to_datetime(frame[column])
    return frame
