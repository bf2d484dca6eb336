"""What Art. 15 asks to tell the person besides the data: purposes, categories, recipients,
retention, sources, rights; as ``information.json`` and as the ``README.txt`` of the package."""

from __future__ import annotations

import datetime
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings

from privacy.core.processing import CATEGORIES, NOT_PERSONAL, RETENTION_CLASSES
from privacy.models import ConsentPurpose, RetentionPolicy, Team
from privacy.requests.package.registry import VERSION, DataSource, ExportCategory

INFORMATION_FORMAT = "marketbase-subject-information"


# --- What Art. 15 asks to tell besides the data ---------------------------------------------------

_RIGHTS = (
    (
        "access",
        "GDPR Art. 15",
        "To know whether we process data about you and to get a copy of it: this package.",
    ),
    (
        "rectification",
        "GDPR Art. 16",
        "To have inaccurate data about you corrected and incomplete data completed.",
    ),
    (
        "erasure",
        "GDPR Art. 17",
        "To have your data erased, for example when it is no longer needed or you withdraw the "
        "consent it relies on.",
    ),
    (
        "restriction",
        "GDPR Art. 18",
        "To have the processing of your data restricted: we then keep it but no longer use it, "
        "for example while its accuracy is checked.",
    ),
    (
        "objection",
        "GDPR Art. 21",
        "To object to processing based on legitimate interests and, at any time and without "
        "giving reasons, to direct marketing and the profiling done for it.",
    ),
    (
        "withdraw_consent",
        "GDPR Art. 7(3)",
        "To withdraw a consent at any time, as easily as it was given; processing before the "
        "withdrawal stays lawful.",
    ),
    (
        "portability",
        "GDPR Art. 20",
        "To receive the data you gave us in a machine-readable format (data.json and the CSV "
        "files of this package) and to have it sent to another company.",
    ),
    (
        "complaint",
        "GDPR Art. 77",
        "To lodge a complaint with a supervisory authority, in particular in the country where "
        "you live or work or where you think your rights were infringed.",
    ),
)

# Categories that later features will add; the package says they are not there yet.
_PLANNED_CATEGORIES = {
    "segment_memberships": "Segment memberships (the audience groups you belong to)",
    "campaign_messages": "Campaign messages (what was sent to you and what you did with it)",
}

_AUTOMATED_DECISIONS = (
    "Your purchases are scored (recency, frequency and monetary value) and you are given a "
    "lifecycle status and a customer group, to choose which marketing to send you. No decision "
    "with legal or similarly significant effects on you is taken by automated means."
)


def package_information(
    *,
    team: Team,
    generated_at: datetime.datetime,
    request_reference: str | None,
    customer_ids: list[int],
    categories: Sequence[ExportCategory],
    counts: Mapping[str, int],
    sources: Sequence[DataSource],
    purposes: Sequence[ConsentPurpose],
    policies: Sequence[RetentionPolicy],
) -> dict[str, Any]:
    recipients = [str(name) for name in settings.PRIVACY_RECIPIENTS if name]
    exported = {category.name for category in categories}
    return {
        "format": INFORMATION_FORMAT,
        "version": VERSION,
        "generated_at": generated_at,
        "team": team.slug,
        "request_reference": request_reference,
        "customer_ids": customer_ids,
        "holds_data": any(counts.values()),
        "categories": [
            {
                "name": category.name,
                "title": category.title,
                "description": category.description,
                "rows": counts.get(category.name, 0),
                "csv_file": f"{category.name}.csv",
            }
            for category in categories
        ],
        "purposes": [
            {
                "code": purpose.code,
                "name": purpose.name,
                "description": purpose.description,
                "channels": list(purpose.channels),
                "lawful_basis": "consent",
                "is_active": purpose.is_active,
            }
            for purpose in purposes
        ],
        "personal_data_categories": [
            {"code": code, "description": description}
            for code, description in CATEGORIES.items()
            if code not in NOT_PERSONAL
        ],
        "recipients": recipients,
        "recipients_statement": (
            "Your data is disclosed to these recipients: " + "; ".join(recipients) + "."
            if recipients
            else "Your data is not disclosed to any recipient outside the company."
        ),
        "retention": [
            {"class": code, "description": description}
            for code, description in RETENTION_CLASSES.items()
            if code not in NOT_PERSONAL and code != "staff_account"
        ],
        "retention_policies": [
            {
                "category": policy.category,
                "title": str(policy.get_category_display()),
                "retain_days": policy.retain_days,
                "purged_automatically": policy.is_active,
            }
            for policy in policies
        ],
        "sources": [
            {
                "category": source.category,
                "source": source.source,
                "description": source.description,
                "rows": source.rows,
                "fields": list(source.fields),
            }
            for source in sources
        ],
        "automated_decisions": _AUTOMATED_DECISIONS,
        "rights": [
            {"right": code, "legal_basis": article, "description": description}
            for code, article, description in _RIGHTS
        ],
        "not_yet_included": [
            description for name, description in _PLANNED_CATEGORIES.items() if name not in exported
        ],
    }


def package_readme(information: Mapping[str, Any]) -> str:
    """The human-readable version of ``information``."""
    lines: list[str] = ["Your personal data: a copy and what we do with it", "=" * 50, ""]
    lines += [
        f"Made on {information['generated_at']:%d %B %Y at %H:%M} UTC by the team "
        f"\u201c{information['team']}\u201d."
    ]
    if information["request_reference"]:
        lines.append(f"Your request: {information['request_reference']}.")
    if information["holds_data"]:
        numbers = ", ".join(f"#{pk}" for pk in information["customer_ids"])
        lines.append(f"Customer records about you: {numbers or 'none'}.")
    else:
        lines.append("We hold no personal data about you: every file of this package is empty.")
    lines += [
        "",
        "Files",
        "-----",
        "data.json         all your data, for computers (data portability)",
        "schema.json       describes data.json: each category and column",
        "information.json  this text's information, for computers",
        "*.csv             one table per category, for spreadsheet programs (UTF-8)",
        "",
        "Cells of the CSV files that start with = + - or @ begin with an apostrophe, so that a",
        "spreadsheet program shows them rather than running them as formulas.",
        "",
        "Your data, by category",
        "----------------------",
    ]
    for category in information["categories"]:
        lines += _wrapped(
            f"{category['title']} ({category['csv_file']}, {_rows(category['rows'])}): "
            f"{category['description']}"
        )
    for description in information["not_yet_included"]:
        lines += _wrapped(
            f"{description}: Marketbase does not hold these yet; they are included in this "
            "package once those features exist."
        )
    lines += ["", "Why we process your data (purposes)", "-----------------------------------"]
    for purpose in information["purposes"]:
        channels = ", ".join(purpose["channels"])
        text = f"{purpose['name']} ({channels}), with your consent"
        text += f": {purpose['description']}" if purpose["description"] else "."
        lines += _wrapped(text)
    lines += _wrapped(
        "To keep your customer record, your purchases and what you did (events) so that we can "
        "serve you, and to measure our marketing."
    )
    lines += ["", "Kinds of personal data", "----------------------"]
    for category in information["personal_data_categories"]:
        lines += _wrapped(f"{category['code']}: {category['description']}")
    lines += ["", "Profiling and automated decisions", "---------------------------------"]
    lines += _wrapped(information["automated_decisions"])
    lines += ["", "Who receives your data", "----------------------"]
    lines += _wrapped(information["recipients_statement"])
    lines += ["", "How long we keep it", "-------------------"]
    for retention in information["retention"]:
        lines += _wrapped(retention["description"])
    if information["retention_policies"]:
        lines.append("Periods set for the automatic purge:")
    for policy in information["retention_policies"]:
        automatic = "purged automatically" if policy["purged_automatically"] else "purged by hand"
        lines += _wrapped(f"{policy['title']}: {policy['retain_days']:,} days ({automatic}).")
    lines += ["", "Where your data came from", "-------------------------"]
    if information["sources"]:
        for source in information["sources"]:
            lines += _wrapped(source["description"])
    else:
        lines.append("Nothing: we hold no data about you.")
    lines += ["", "Your rights", "-----------"]
    for right in information["rights"]:
        lines += _wrapped(f"{right['description']} ({right['legal_basis']})")
    lines += [
        "",
        "To use any of these rights, answer the message this package came with.",
        "",
    ]
    return "\n".join(lines)


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _wrapped(text: str, width: int = 92) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent="- ", subsequent_indent="  ")
