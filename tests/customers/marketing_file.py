"""A customer file shaped like a real marketing-campaign export, generated at random (seeded).

One row per customer: an id, a year of birth, education and marital status, income (some
missing, some with a decimal comma), children at home, spend per product category, purchase
channel counts, responses to five earlier campaigns and to the last one (0/1). Written as a
spreadsheet in continental Europe saves it: ``;``-separated, UTF-8 with a byte-order mark.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

EDUCATION = ("Basic", "2n Cycle", "Graduation", "Master", "PhD")
MARITAL_STATUS = ("Single", "Together", "Married", "Divorced", "Widow")
SPEND_COLUMNS = (
    "MntWines",
    "MntFruits",
    "MntMeatProducts",
    "MntFishProducts",
    "MntSweetProducts",
    "MntGoldProds",
)
COUNT_COLUMNS = (
    "NumDealsPurchases",
    "NumWebPurchases",
    "NumCatalogPurchases",
    "NumStorePurchases",
    "NumWebVisitsMonth",
)
CAMPAIGN_COLUMNS = tuple(f"AcceptedCmp{number}" for number in range(1, 6))
HEADER = (
    "ID",
    "Year_Birth",
    "Education",
    "Marital_Status",
    "Income",
    "Kidhome",
    "Teenhome",
    "Dt_Customer",
    "Recency",
    *SPEND_COLUMNS,
    *COUNT_COLUMNS,
    *CAMPAIGN_COLUMNS,
    "Complain",
    "Response",
)


@dataclass(frozen=True)
class MarketingFile:
    content: bytes
    rows: list[dict[str, str]]  # as written, by column


def marketing_file(*, rows: int, seed: int) -> MarketingFile:
    rng = random.Random(seed)
    written: list[dict[str, str]] = []
    for number in range(rows):
        income = rng.randint(1_730, 160_000)
        if rng.random() < 0.05:
            income_text = ""  # not given, as in real exports
        elif rng.random() < 0.2:
            income_text = f"{income},{rng.randint(0, 9)}"  # a decimal comma
        else:
            income_text = str(income)
        row = {
            "ID": str(1000 + number * 7 + rng.randint(0, 6)),
            "Year_Birth": str(rng.randint(1940, 2000)),
            "Education": rng.choice(EDUCATION),
            "Marital_Status": rng.choice(MARITAL_STATUS),
            "Income": income_text,
            "Kidhome": str(rng.choice((0, 0, 1, 2))),
            "Teenhome": str(rng.choice((0, 1, 1, 2))),
            "Dt_Customer": f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(2012, 2014)}",
            "Recency": str(rng.randint(0, 99)),
            **{column: str(rng.randint(0, 1_500)) for column in SPEND_COLUMNS},
            **{column: str(rng.randint(0, 20)) for column in COUNT_COLUMNS},
            **{column: str(int(rng.random() < 0.1)) for column in CAMPAIGN_COLUMNS},
            "Complain": str(int(rng.random() < 0.02)),
            "Response": str(int(rng.random() < 0.15)),
        }
        written.append(row)
    lines = [";".join(HEADER)] + [";".join(row[column] for column in HEADER) for row in written]
    content = "\ufeff" + "\r\n".join(lines) + "\r\n"
    return MarketingFile(content=content.encode("utf-8"), rows=written)


def income_of(row: dict[str, str]) -> float | None:
    """The income a row says, read as a person reads it (decimal comma included)."""
    text = row["Income"]
    return float(text.replace(",", ".")) if text else None
