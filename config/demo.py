"""Deterministic demo data: teams, staff in every role, and (as their apps grow) records."""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from privacy import roles
from privacy.models import Team
from privacy.services import audit_record, team_create

DEMO_TEAMS = ("Retail", "E-commerce")
DEMO_STAFF = (
    # username, role, teams
    ("steward", roles.DATA_STEWARD, DEMO_TEAMS),
    ("marketer.retail", roles.MARKETER, ("Retail",)),
    ("marketer.online", roles.MARKETER, ("E-commerce",)),
    ("analyst", roles.ANALYST, DEMO_TEAMS),
)


@dataclass
class DemoResult:
    teams: int
    staff: dict[str, str]


def demo_is_loaded() -> bool:
    return Team.objects.exists()


@transaction.atomic
def demo_seed(*, seed: int) -> DemoResult:
    """Create the demo teams and staff. The same seed always gives the same data."""
    rng = random.Random(seed)
    teams = {name: team_create(name=name) for name in DEMO_TEAMS}
    user_model = get_user_model()
    staff: dict[str, str] = {}
    for username, role, team_names in DEMO_STAFF:
        password = "demo-" + "".join(rng.choices("abcdefghjkmnpqrstuvwxyz23456789", k=10))
        user = user_model.objects.create_user(username=username, password=password, is_staff=True)
        user.groups.add(Group.objects.get(name=role), *(teams[t].group for t in team_names))
        staff[username] = password
    audit_record(action="demo.seed", metadata={"seed": seed, "teams": len(teams)})
    return DemoResult(teams=len(teams), staff=staff)
