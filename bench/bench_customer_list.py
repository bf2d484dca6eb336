"""Customer list API: ours vs a bare ``.values()`` view, scoped vs superuser, query counts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python \\
        bench/bench_customer_list.py --size M
    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/bench_customer_list.py

N customers (N = 2k, 100k or 1M for S, M, L; stored as the product stores them, bulk-loaded
with COPY) belong 50% to team A, 49% to team B, 1% to team C, interleaved. Requests go through
Django's test ``Client`` in-process (the whole middleware stack, token authentication,
throttle, DRF, cursor pagination, serializer with masking), in bounded loops, interleaved in
rounds:

- ``GET /api/v1/customers/?page_size=50`` as a Marketer of team A (token) vs a bare Django
  view (defined here, routed by a urlconf override) returning
  ``list(Customer.objects.filter(team A, active).values(...)[:50])`` as JSON, the same rows.
  Target: ours >= 1/3 of the bare view's requests/s.
- the same request as the Marketer (row scoping in SQL) vs as a superuser (no scoping).
  Target: the Marketer's time <= 1.25x the superuser's.
- queries per request at ``page_size=10`` and ``page_size=200``: must be equal.

For information (no target), a Marketer of a small team C owning 1% of the customers, spread
evenly among the others, and the bare view for those rows.
"""

from __future__ import annotations

import json

import common
from generate import SIZES

ROUNDS = 7
REQUESTS_PER_ROUND = 40
WARMUP = 20
LIST_FIELDS = (  # the serializer's model fields (display_name is computed)
    "id",
    "owner_team",
    "email",
    "phone",
    "given_name",
    "family_name",
    "postal_address",
    "postal_code",
    "country",
    "city",
    "birth_date",
    "age_band",
    "gender",
    "language",
    "company",
    "industry",
    "job_title",
    "source_channel",
    "signup_date",
    "tags",
    "attributes",
    "lifecycle_status",
    "email_domain",
    "order_count",
    "total_spend",
    "average_order_value",
    "lifetime_value",
    "first_purchase_at",
    "last_purchase_at",
    "rfm_recency",
    "rfm_frequency",
    "rfm_monetary",
    "rfm_group",
    "created_at",
    "updated_at",
)


def bare_customers(request):
    """The baseline: no DRF, no access layer, no serializer; one query and JSON."""
    from django.core.serializers.json import DjangoJSONEncoder
    from django.http import JsonResponse

    from customers.models import Customer

    size = int(request.GET.get("page_size", 50))
    rows = Customer.objects.filter(merged_into__isnull=True).order_by("-pk")
    if request.GET.get("team"):
        rows = rows.filter(owner_team_id=int(request.GET["team"]))
    return JsonResponse(
        {"results": list(rows.values(*LIST_FIELDS)[:size])}, encoder=DjangoJSONEncoder, safe=False
    )


def _urlpatterns():
    from django.urls import include, path

    return [
        # Under /api/ so the staff-UI login gate lets it through, like the real API.
        path("api/bench/bare-customers/", bare_customers),
        path("", include("config.urls")),
    ]


def _small_team():
    """Team C and a Marketer in it, with an API token."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from privacy.core import roles
    from privacy.core.services.accounts import api_token_create
    from privacy.core.services.staff import team_create

    team = team_create(name="Bench team C")
    user = get_user_model().objects.create_user("bench-marketer-c", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.MARKETER), team.group)
    return team, api_token_create(actor=None, user=user, name="Bench")[1]


def measure(client, url: str, headers: dict, count: int) -> float:
    """Seconds per request over ``count`` requests (each must answer 200)."""
    with common.timed() as timing:
        for _n in range(count):
            response = client.get(url, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code} {response.content[:300]!r}")
    return timing.wall / count


def main() -> int:
    options = common.arguments(__doc__.split("\n\n")[0])
    count = SIZES[options.size]
    with common.bench_database(keep=options.keep):
        import sys

        from django.db import connection
        from django.test import Client, override_settings
        from django.test.utils import CaptureQueriesContext

        machine = common.machine_summary()
        accounts = common.accounts()
        small_team, small_token = _small_team()
        # Customer i belongs to teams[i % 100]: A 50%, B 49%, C 1%, interleaved.
        teams = [accounts.team_a, accounts.team_b] * 49 + [accounts.team_a, small_team]
        common.say(f"bulk-loading {count:,} customers: 50% team A, 49% team B, 1% team C")
        with common.timed() as load:
            common.bulk_load_customers(teams=teams, start=0, count=count, seed=options.seed)
        common.vacuum_analyze("customers_customer", "customers_identity")
        common.say(f"loaded in {load.wall:.1f}s")

        module = sys.modules[__name__]
        module.urlpatterns = _urlpatterns()
        client = Client()
        marketer = {"Authorization": f"Token {accounts.marketer_token}"}
        superuser = {"Authorization": f"Token {accounts.superuser_token}"}
        team_a = accounts.team_a.pk
        variants = {
            "API, Marketer (team A)": ("/api/v1/customers/?page_size=50", marketer),
            "bare view, team A rows": (f"/api/bench/bare-customers/?team={team_a}", {}),
            "API, superuser": ("/api/v1/customers/?page_size=50", superuser),
            "bare view, all rows": ("/api/bench/bare-customers/", {}),
            "API, Marketer of 1% team C": (
                "/api/v1/customers/?page_size=50",
                {"Authorization": f"Token {small_token}"},
            ),
            "bare view, team C rows": (f"/api/bench/bare-customers/?team={small_team.pk}", {}),
        }
        problems = []
        with override_settings(ROOT_URLCONF=module):
            # The same rows: the API page and the bare page list the same customers.
            api_page = client.get(variants["API, Marketer (team A)"][0], headers=marketer)
            api_ids = [row["id"] for row in api_page.json()["results"]]
            bare_ids = [
                row["id"]
                for row in json.loads(client.get(variants["bare view, team A rows"][0]).content)[
                    "results"
                ]
            ]
            if api_ids != bare_ids or len(api_ids) != 50:
                problems.append("the API and the bare view do not list the same 50 customers")

            common.say(f"warming up, then {ROUNDS} rounds of {REQUESTS_PER_ROUND} requests each")
            for url, headers in variants.values():
                measure(client, url, headers, WARMUP)
            seconds = {name: [] for name in variants}
            for _round in range(ROUNDS):
                for name, (url, headers) in variants.items():
                    seconds[name].append(measure(client, url, headers, REQUESTS_PER_ROUND))
            # The best round is the least disturbed by other work on the machine (as timeit
            # does); the median is printed beside it.
            per_request = {name: min(values) for name, values in seconds.items()}
            typical = {name: common.median(values) for name, values in seconds.items()}

            # Queries and database time per request (debug cursor on; not in the timings).
            queries, db_share, sql = {}, {}, {}
            for label, headers in (("Marketer", marketer), ("superuser", superuser)):
                for size in (10, 50, 200):
                    url = f"/api/v1/customers/?page_size={size}"
                    with CaptureQueriesContext(connection) as captured:
                        response = client.get(url, headers=headers)
                    results = response.json()["results"]
                    if len(results) != size:
                        problems.append(f"{label} page_size={size} gave {len(results)} rows")
                    if label == "Marketer" and {r["owner_team"] for r in results} != {team_a}:
                        problems.append("the Marketer saw customers of another team")
                    queries[(label, size)] = len(captured.captured_queries)
                    db_share[(label, size)] = sum(
                        float(q["time"]) for q in captured.captured_queries
                    )
                    sql[label] = [q["sql"] for q in captured.captured_queries]

    # --- Report -----------------------------------------------------------------------------
    ours, bare = per_request["API, Marketer (team A)"], per_request["bare view, team A rows"]
    scoped, unscoped = ours, per_request["API, superuser"]
    print()
    print(
        f"Customer list benchmark, size {options.size} ({count:,} customers: "
        "team A 50%, B 49%, C 1%)"
    )
    for line in machine:
        print(f"  {line}")
    print(
        f"  {ROUNDS} interleaved rounds x {REQUESTS_PER_ROUND} requests per variant; "
        "ratios use the best round"
    )
    common.print_table(
        "Requests (in-process test Client, page_size=50)",
        ["variant", "ms/request (best)", "requests/s (best)", "ms/request (median)"],
        [
            [name, f"{value * 1000:.2f}", f"{1 / value:,.0f}", f"{typical[name] * 1000:.2f}"]
            for name, value in per_request.items()
        ],
    )
    common.print_table(
        "Results",
        ["benchmark", "ours", "baseline", "ratio", "target", "verdict"],
        [
            [
                "API list vs bare .values() view",
                f"{1 / ours:,.0f} req/s",
                f"{1 / bare:,.0f} req/s",
                f"{bare / ours:.2f} (1/{ours / bare:.1f})",
                ">= 1/3 = 0.33",
                common.verdict(bare / ours >= 1 / 3),
            ],
            [
                "Marketer (scoped) vs superuser",
                f"{scoped * 1000:.2f} ms",
                f"{unscoped * 1000:.2f} ms",
                f"{scoped / unscoped:.2f}x the time",
                "<= 1.25x",
                common.verdict(scoped / unscoped <= 1.25),
            ],
            [
                "queries, page_size 10 vs 200",
                f"Marketer {queries[('Marketer', 10)]} / {queries[('Marketer', 200)]}",
                f"superuser {queries[('superuser', 10)]} / {queries[('superuser', 200)]}",
                "",
                "equal",
                common.verdict(
                    queries[("Marketer", 10)] == queries[("Marketer", 200)]
                    and queries[("superuser", 10)] == queries[("superuser", 200)]
                ),
            ],
        ],
    )
    common.print_table(
        "Queries and SQL time per request (debug cursor)",
        ["user", "page_size", "queries", "SQL ms"],
        [
            [label, str(size), str(queries[(label, size)]), f"{db_share[(label, size)] * 1000:.1f}"]
            for label in ("Marketer", "superuser")
            for size in (10, 50, 200)
        ],
    )
    for label, statements in sql.items():
        print(f"\n{label}'s queries at page_size=200:")
        for statement in statements:
            print(f"  {statement[:400]}")
    if problems:
        print("\nCHECKS FAILED:\n  " + "\n  ".join(problems))
    else:
        print("\nChecks: same rows in the API and the bare view; page sizes and scoping hold.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
