"""Names, amounts and the other raw material of the demo pipeline, the
reps' profiles, and small helpers."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pipeline.models import Account, ActivityKind, Deal, Pipeline, Stage
from spm.models import Membership, Tenant

HISTORY_DAYS = 548  # about 18 months
SEGMENTS = ["SMB", "Mid-market", "Enterprise"]
INDUSTRIES = [
    "Software",
    "Manufacturing",
    "Retail",
    "Healthcare",
    "Financial services",
    "Logistics",
    "Education",
    "Energy",
]
COMPANY_A = [
    "Blue",
    "North",
    "Silver",
    "Bright",
    "Summit",
    "Cedar",
    "Harbor",
    "Iron",
    "Maple",
    "Nova",
    "Orbit",
    "Pine",
    "Quartz",
    "River",
    "Stone",
    "Terra",
    "Urban",
    "Vertex",
    "Willow",
    "Zenith",
]
COMPANY_B = [
    "Analytics",
    "Foods",
    "Logistics",
    "Health",
    "Systems",
    "Labs",
    "Energy",
    "Retail",
    "Works",
    "Bank",
    "Motors",
    "Media",
    "Robotics",
    "Pharma",
    "Textiles",
    "Networks",
]
SUFFIXES = ["Inc", "Ltd", "GmbH", "Group", "Co", "AG", "LLC", "SA"]
PRODUCT_LINES = ["Platform", "Analytics add-on", "Services", "Support plus"]
SOURCES = ["Inbound", "Outbound", "Partner", "Event", "Referral"]
CAMPAIGNS = ["Webinar series", "Trade show", "Paid search", "Newsletter", "Partner co-marketing"]
LOST_REASONS = ["Price", "Chose a competitor", "No budget", "No decision", "Timing"]
OUTCOMES = {
    ActivityKind.CALL: ["Connected", "Left voicemail", "No answer", "Follow-up booked"],
    ActivityKind.EMAIL: ["Sent", "Replied", "No reply"],
    ActivityKind.MEETING: ["Held", "Rescheduled", "Next steps agreed"],
    ActivityKind.DEMO: ["Positive", "Mixed", "Needs follow-up"],
}
FIRST = [
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Robin",
    "Jamie",
    "Avery",
    "Riley",
    "Drew",
    "Kai",
    "Noor",
    "Ilse",
    "Mateo",
    "Yara",
]
LAST = [
    "Keller",
    "Nguyen",
    "Santos",
    "Olsen",
    "Brandt",
    "Moreno",
    "Walsh",
    "Kim",
    "Haddad",
    "Ruiz",
    "Fontaine",
    "Berger",
    "Lund",
    "Ivanova",
]


@dataclass
class RepProfile:
    member: Membership
    win_rate: float
    size: float  # typical deal amount
    speed: float  # multiplier on days per stage
    deals_per_month: float


def at_time(day: dt.date, rng: random.Random) -> dt.datetime:
    return dt.datetime.combine(
        day, dt.time(9 + rng.randint(0, 8), rng.randint(0, 59)), tzinfo=dt.UTC
    )


def money(value: float) -> Decimal:
    return Decimal(int(round(value, -2))).quantize(Decimal("0.01"))


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def active_span(
    rep: Membership, *, start: dt.date, today: dt.date
) -> tuple[dt.date, dt.date] | None:
    """The days of the demo history the rep was on the team, or None."""
    first = max(start, rep.start_date)
    last = min(today, rep.end_date) if rep.end_date else today
    return (first, last) if last > first else None


def active_profiles(
    profiles: list[RepProfile], *, start: dt.date, today: dt.date
) -> Iterator[tuple[RepProfile, dt.date, dt.date]]:
    """Each profile whose rep was on the team during the demo history, with
    the first and last day they were (``active_span``)."""
    for profile in profiles:
        span = active_span(profile.member, start=start, today=today)
        if span is not None:
            yield profile, span[0], span[1]


def demo_deal(
    tenant: Tenant,
    *,
    name: str,
    account: Account,
    rep: Membership,
    amount: Decimal,
    pipeline: Pipeline,
    stage: Stage,
    **fields: Any,
) -> Deal:
    """A demo deal in the tenant's currency (rate 1, so ``base_amount`` is the
    amount) with its stage's probability and forecast category."""
    return Deal(
        tenant=tenant,
        name=name,
        account=account,
        owner=rep,
        amount=amount,
        currency=tenant.currency,
        exchange_rate=Decimal("1"),
        base_amount=amount,
        pipeline=pipeline,
        stage=stage,
        probability=stage.probability,
        forecast_category=stage.forecast_category,
        **fields,
    )
