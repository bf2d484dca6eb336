"""Deterministic messy customer CSVs for the benchmarks (sizes S, M, L).

The file has the header and the kinds of mess of ``customers_messy.csv`` (the shared sample
data in ``../shared/data/``):
emails in mixed case with stray spaces; phones in E.164, international, national, dashed and
access-code (``00``, ``011`` for the US, ``010`` for Japan) forms, read through a ``country``
column written as an ISO code, a lower-case code or an English name; split or full names
(family name first, without a space, for Chinese and Japanese); birth dates in seven formats
(ISO, ``dd.mm.yyyy``, ``dd/mm/yyyy``, ``mm/dd/yyyy`` for US rows, ``1985年3月7日``,
``March 7, 1985``, ``7 March 1985``); the same person up to three times from different
channels, every duplicate sharing an email or a phone with the person's first row; about 0.7%
rows to reject (no valid identifier) and 0.7% rows imported with a warning (birth date in the
future, unparseable date, a payment card number in the notes).

Everything comes from ``random.Random(seed)``: the same size and seed give the same bytes.
Identifiers derive from a person's index, so the people of a file (indexes ``0..P-1``) never
collide with the already-stored customers a benchmark bulk-loads (``--population-start`` on).

    python bench/generate.py --size M            # writes .data/bench/customers_M_seed42.csv
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SIZES = {"S": 2_000, "M": 100_000, "L": 1_000_000}
DEFAULT_SEED = 42
DATA_DIR = Path(__file__).resolve().parent.parent / ".data" / "bench"
HEADER = [
    "source",
    "external_id",
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "country",
    "city",
    "birth_date",
    "gender",
    "company",
    "industry",
    "signup_date",
    "wechat_id",
    "tags",
    "marketing_opt_in",
    "notes",
]


def _words(text: str) -> list[str]:
    """Space-separated words; an underscore stands for a space inside one (West_Alison)."""
    return [word.replace("_", " ") for word in text.split()]


SOURCES = ("store", "web", "wechat", "event", "crm")
ID_PREFIX = {"store": "ST", "web": "WE", "wechat": "WE", "event": "EV", "crm": "CR"}
COUNTRIES = ("DE", "US", "CN", "JP", "FR", "GB")
COUNTRY_NAMES = {
    "DE": "Germany",
    "US": "United States",
    "CN": "China",
    "JP": "Japan",
    "FR": "France",
    "GB": "United Kingdom",
}
ROWS_PER_PERSON = ((1, 0.70), (2, 0.22), (3, 0.08))  # 1.38 rows per person, as in the messy file
_MEAN_ROWS = sum(n * w for n, w in ROWS_PER_PERSON)
# Odds per drawn item (a person's rows, or one odd row) giving ~0.7% of rows each.
REJECT_RATE = WARNING_RATE = 0.007 * _MEAN_ROWS
SHUFFLE_WINDOW = 50_000  # rows of one person land up to this far apart (many import chunks)

GIVEN = {
    "DE": "Lissy Ernestine Ludger Jaroslaw Carolin Claudius Elise Hans-Peter Gordana Bayram "
    "Lambert Sabine Jürgen Ursula Matthias Anke Dieter Katrin",
    "US": "Jason Kimberly Cory Laurie Joanna Autumn Phillip Judy Dawn Crystal Amy Darren "
    "Michael Jennifer Robert Linda",
    "FR": "Marianne Franck Alexandre Tristan Jacqueline Dominique Louise Céline Gérard Hélène",
    "GB": "Aimee Kirsty Elaine Jordan Maurice Colin Jayne Marc Bruce Anthony",
    "CN": "峰 琳 颖 平 秀珍 海燕 秀华 静 璐 凯 明 伟 芳 娜 敏 强 磊 洋 艳 勇 军 杰 涛 超",
    "JP": "春香 和也 学 里佳 亮介 知実 美加子 治 加奈 さゆり 翔太 健 大輔 陽子 直樹",
}
FAMILY = {
    "DE": "Krause Junken Caspar Lübs Juncken Steckel Patberg Hiller Kitzmann Gorlitz Müller "
    "Schmidt Schneider Fischer Weber Meyer Wagner Becker Groß",
    "US": "Rocha Carter Robinson Gonzalez Greer Jenkins Hunter Gonzales Elliott Blake Paul "
    "Wright Smith Johnson Williams Brown",
    "FR": "Hervé Hubert Bazin Fernandes Hamel Collin Chauvet Valentin Lefèvre Dupont",
    "GB": "Day Hayes Chapman Collins Cox Khan Hilton Wells O'Connor Ahmed",
    "CN": "曾 李 古 罗 杨 萧 王 伍 汤 聂 姜 任 张 刘 陈 赵 黄 周 吴 徐 孙 胡 朱 "
    "高 林 何 郭 马 欧阳",
    "JP": "遠藤 田中 渡辺 高橋 伊藤 斎藤 佐藤 石川 鈴木 山本 中村 小林 加藤 佐々木",
}
CITIES = {
    "DE": "Belzig Goslar Kitzingen Pegnitz Berlin Hamburg München Köln",
    "US": "Gregburgh West_Alison South_John North_Charleshaven Owensville Austinbury",
    "FR": "Saint_Vincent-la-Forêt Pinto-sur-Mer Paris Lyon Marseille",
    "GB": "London Leeds Bristol Manchester",
    "CN": "澳门县 秀芳市 玉兰市 重庆市 银川市 上海市 北京市",
    "JP": "千代田区 杉並区 武蔵野市 西多摩郡檜原村 八千代市 福生市 西東京市",
}
COMPANIES = {
    "DE": ("Jähn GbR", "Krause AG", "Becker & Söhne KG"),
    "US": ("Carter-Page", "Rocha LLC", "Hunter Group"),
    "FR": ("Bazin SA", "Hamel et Fils"),
    "GB": ("Day Ltd", "Cox & Khan plc"),
    "CN": ("济南亿次元网络有限公司", "维涛传媒有限公司"),
    "JP": ("中島運輸有限会社", "山本電気合同会社"),
}
EMAIL_WORDS = _words(
    "chauvetlouise freuter rromero wuming butlerjulie yanlai jsato ashley thomasapril sylwia "
    "jinoue chaodeng morisayuri satomikako hcarter tanakayuki nanami donald danielalan leiyan "
    "lishao nicole kfukuda"
)
EMAIL_DOMAINS = ("example.org", "example.com", "mail.example.net")
INDUSTRIES = ("", "", "retail", "healthcare", "software", "manufacturing", "finance")
TAGS = ("", "vip", "trade-show-2025", "newsletter", "newsletter;vip")
OPT_IN = ("", "yes", "1", "N", "0", "no", "true", "Y", "false")
GENDERS = ("", "male", "f", "other", "m", "female", "M", "F")
NOTES = ("", "", "", "prefers 中文 contact", "line one\nline two", "called back, prefers email")
MONTHS = _words(
    "January February March April May June July August September October November December"
)

GIVEN_NAMES = {code: _words(text) for code, text in GIVEN.items()}
FAMILY_NAMES = {code: _words(text) for code, text in FAMILY.items()}
CITY_NAMES = {code: _words(text) for code, text in CITIES.items()}


# --- Phones: every number is valid (checked against phonenumbers in the S smoke run). -----------
# (country code, national prefix after the trunk 0, subscriber digits, first-digit range)
_PHONE_PLAN = {
    "DE": ("49", "151", 8, (0, 10)),
    "US": ("1", "201", 7, (2, 10)),  # exchanges 200-999
    "CN": ("86", "131", 8, (0, 10)),
    "JP": ("81", "90", 8, (1, 10)),  # 090-1xxx-xxxx ... 090-9xxx-xxxx
    "FR": ("33", "61", 7, (0, 10)),  # 06 1x xx xx xx
    "GB": ("44", "74", 8, (0, 10)),
}


def _subscriber(country: str, serial: int) -> str:
    """A distinct subscriber number for each ``serial`` (a bijection onto the valid range)."""
    _code, _prefix, digits, (low, high) = _PHONE_PLAN[country]
    rest = 10 ** (digits - 1)
    capacity = (high - low) * rest
    if serial >= capacity:
        raise ValueError(f"too many people for {country} phone numbers")
    value = (serial * 7919 + 12345) % capacity  # 7919 is prime: coprime with 2**a * 3**b * 5**c
    return f"{low + value // rest}{value % rest:0{digits - 1}d}"


def phone_e164(country: str, subscriber: str) -> str:
    code, prefix, _digits, _range = _PHONE_PLAN[country]
    return f"+{code}{prefix}{subscriber}"


def _phone_forms(country: str, sub: str) -> dict[str, str]:
    """The ways people write one number: E.164, international, national, dashed, access code."""
    code, prefix, _digits, _range = _PHONE_PLAN[country]
    e164 = f"+{code}{prefix}{sub}"
    access = {"US": "011", "JP": "010"}.get(country, "00")
    if country == "DE":
        national = f"0{prefix}{sub[0]} {sub[1:]}"
        dashed = f"0{prefix}{sub[0]}-{sub[1:]}"
        international = f"+{code} {prefix}{sub[0]} {sub[1:]}"
    elif country == "US":
        national = f"({prefix}) {sub[:3]}-{sub[3:]}"
        dashed = f"({prefix})-{sub[:3]}-{sub[3:]}"
        international = f"+{code} {prefix}-{sub[:3]}-{sub[3:]}"
    elif country == "CN":
        national = f"{prefix} {sub[:4]} {sub[4:]}"
        dashed = f"{prefix}-{sub[:4]}-{sub[4:]}"
        international = f"+{code} {prefix} {sub[:4]} {sub[4:]}"
    elif country == "JP":
        national = f"0{prefix} {sub[:4]} {sub[4:]}"
        dashed = f"0{prefix}-{sub[:4]}-{sub[4:]}"
        international = f"+{code} {prefix}-{sub[:4]}-{sub[4:]}"
    elif country == "FR":
        digits = f"0{prefix}{sub}"
        pairs = [digits[i : i + 2] for i in range(0, 10, 2)]
        national, dashed = " ".join(pairs), "-".join(pairs)
        international = f"+{code} {digits[1]} " + " ".join(pairs[1:])
    else:  # GB
        national = f"0{prefix}{sub[:2]} {sub[2:]}"
        dashed = f"0{prefix}{sub[:2]}-{sub[2:]}"
        international = f"+{code} {prefix}{sub[:2]} {sub[2:]}"
    return {
        "e164": e164,
        "international": international,
        "national": national,
        "dashed": dashed,
        "access": f"{access}{code}{prefix}{sub}",
    }


# --- People ---------------------------------------------------------------------------------------
@dataclass
class Person:
    """One person's true (normalised) details; rows of the file are messy renderings of it."""

    index: int
    country: str
    given: str
    family: str
    email: str | None
    subscriber: str | None
    birth_date: datetime.date | None
    gender: str
    city: str
    company: str
    industry: str
    signup_date: datetime.date
    wechat_id: str
    tags: str
    opt_in: str
    notes: str
    rows: list[str] = field(default_factory=list)

    @property
    def phone(self) -> str | None:
        return phone_e164(self.country, self.subscriber) if self.subscriber else None

    def external_id(self, source: str) -> str:
        return f"{ID_PREFIX[source]}-{self.index + 1000}"


def people(seed: int, start: int, count: int) -> Iterator[Person]:
    """``count`` people with indexes ``start..start+count-1``, drawn from ``Random(seed)``."""
    rng = random.Random(seed)
    for index in range(start, start + count):
        country = COUNTRIES[index % len(COUNTRIES)]
        has_email, has_phone = rng.random() < 0.92, rng.random() < 0.92
        if not (has_email or has_phone):
            has_email = True
        email = None
        if has_email:
            word = rng.choice(EMAIL_WORDS)
            email = f"{word}{index}@{rng.choice(EMAIL_DOMAINS)}"
        birth = None
        if rng.random() < 0.7:
            birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(25_000))
        wechat_odds = {"CN": 0.6, "JP": 0.05}.get(country, 0.03)
        wechat = f"wx_{rng.choice(EMAIL_WORDS)}{index}" if rng.random() < wechat_odds else ""
        yield Person(
            index=index,
            country=country,
            given=rng.choice(GIVEN_NAMES[country]),
            family=rng.choice(FAMILY_NAMES[country]),
            email=email,
            subscriber=_subscriber(country, index // len(COUNTRIES)) if has_phone else None,
            birth_date=birth,
            gender=rng.choice(GENDERS),
            city=rng.choice(CITY_NAMES[country]),
            company=rng.choice(COMPANIES[country]) if rng.random() < 0.3 else "",
            industry=rng.choice(INDUSTRIES),
            signup_date=datetime.date(2020, 1, 1) + datetime.timedelta(days=rng.randrange(2190)),
            wechat_id=wechat,
            tags=rng.choice(TAGS),
            opt_in=rng.choice(OPT_IN),
            notes=rng.choice(NOTES),
        )


# --- Messy renderings ----------------------------------------------------------------------------
def _messy_email(rng: random.Random, email: str) -> str:
    roll = rng.random()
    if roll < 0.2:
        email = email[0].upper() + email[1:]
    elif roll < 0.25:
        email = email.upper()
    if rng.random() < 0.05:
        email = f" {email} "
    return email


def _messy_country(rng: random.Random, country: str) -> str:
    return rng.choice((country, country.lower(), COUNTRY_NAMES[country]))


def _messy_date(rng: random.Random, value: datetime.date, country: str) -> str:
    day, month, year = value.day, value.month, value.year
    formats = ["iso"] * 8 + ["month_first"] * 2 + ["day_first"]
    formats += {
        "DE": ["dotted"] * 5 + ["slashed"] * 4,
        "US": ["us"] * 9,
        "CN": ["cjk"] * 6 + ["slashed"] * 3,
        "JP": ["cjk"] * 6 + ["slashed"] * 3,
    }.get(country, ["slashed"] * 9)
    kind = rng.choice(formats)
    if kind == "iso":
        return value.isoformat()
    if kind == "dotted":
        return f"{day:02d}.{month:02d}.{year}"
    if kind == "slashed":
        return f"{day:02d}/{month:02d}/{year}"
    if kind == "us":
        return f"{month:02d}/{day:02d}/{year}"
    if kind == "cjk":
        return f"{year}年{month}月{day}日"
    if kind == "month_first":
        return f"{MONTHS[month - 1]} {day}, {year}"
    return f"{day} {MONTHS[month - 1]} {year}"


def _names(rng: random.Random, person: Person) -> tuple[str, str, str]:
    """(first_name, last_name, full_name) columns: split with stray spaces, or one full name."""
    if rng.random() < 0.55:
        given = f" {person.given}  " if rng.random() < 0.05 else person.given
        return given, person.family, ""
    if person.country in {"CN", "JP"}:
        return "", "", f"{person.family}{person.given}"
    return "", "", f"{person.given} {person.family}"


def _person_row(
    rng: random.Random, person: Person, source: str, *, email: bool, phone: bool
) -> list[str]:
    blank_country = rng.random() < 0.015
    country = "" if blank_country else _messy_country(rng, person.country)
    phone_text = ""
    if phone and person.subscriber:
        forms = _phone_forms(person.country, person.subscriber)
        if blank_country:  # without a country only +... and 00... numbers can be read
            phone_text = forms["e164"] if rng.random() < 0.5 else "00" + forms["e164"][1:]
        else:
            phone_text = forms[
                rng.choices(
                    ("e164", "international", "national", "dashed", "access"),
                    (25, 20, 25, 15, 15),
                )[0]
            ]
    birth = ""
    if person.birth_date:
        birth = (
            person.birth_date.isoformat()
            if blank_country
            else _messy_date(rng, person.birth_date, person.country)
        )
    first, last, full = _names(rng, person)
    return [
        source,
        person.external_id(source) if rng.random() < 0.99 else "",
        first,
        last,
        full,
        _messy_email(rng, person.email) if email and person.email else "",
        phone_text,
        country,
        person.city,
        birth,
        person.gender,
        person.company,
        person.industry,
        person.signup_date.isoformat(),
        person.wechat_id if person.wechat_id and rng.random() < 0.7 else "",
        person.tags,
        rng.choice(OPT_IN),
        person.notes,
    ]


def person_rows(rng: random.Random, person: Person) -> list[list[str]]:
    """1-3 rows from distinct channels; each later row shares the email or the phone."""
    count = rng.choices([n for n, _w in ROWS_PER_PERSON], [w for _n, w in ROWS_PER_PERSON])[0]
    sources = rng.sample(SOURCES, count)
    rows = [_person_row(rng, person, sources[0], email=True, phone=True)]
    for source in sources[1:]:
        email = bool(person.email) and rng.random() < 0.75
        phone = bool(person.subscriber) and (rng.random() < 0.75 or not email)
        if not (email or phone):
            email = bool(person.email)
        rows.append(_person_row(rng, person, source, email=email, phone=phone))
    return rows


_REJECTS = (
    ("invalid email", lambda n: [f"Nobody{n}", "", "", "a b@example.com", ""]),
    ("invalid email", lambda n: [f"Nobody{n}", "", "", "foo@@example.com", ""]),
    ("invalid email", lambda n: [f"Nobody{n}", "", "", "john@", ""]),
    ("invalid phone", lambda n: ["", f"Nophone{n}", "", "", "phone"]),
    ("invalid phone", lambda n: ["", f"Nophone{n}", "", "", "12"]),
    ("no identifier", lambda n: ["Anon", f"Ymous{n}", "", "", ""]),
)


def reject_row(rng: random.Random, serial: int) -> list[str]:
    _reason, make = rng.choice(_REJECTS)
    first, last, full, email, phone = make(serial)
    city = "Berlin" if not (email or phone) else ""
    return ["web", "", first, last, full, email, phone, "", city] + [""] * 9


def warning_row(rng: random.Random, serial: int) -> list[str]:
    """A new person imported with one warning; its email is unique to the row."""
    kind = rng.choice(("Future", "Baddate", "Card"))
    birth = {"Future": "2091-01-01", "Baddate": "31/31/1990"}.get(kind, "")
    notes = "card 4111 1111 1111 1111 exp 12/29" if kind == "Card" else ""
    email = f"{kind.lower()}{serial}@example.com"
    row = ["web", "", f"{kind}{serial}", "", "", email, "", "", "", birth] + [""] * 8
    row[17] = notes
    return row


@dataclass
class Truth:
    """What a correct import of the file produces."""

    rows: int
    persons: int  # distinct customers after de-duplication
    rejected_rows: int
    warning_rows: int
    people_indexes: int  # people 0..people_indexes-1 are used by the file
    # Rows of people whose numeric birth date fits both readings (04/06/2008): a warning each
    # when the file's birth date column proves no single order (it mixes US and other rows).
    ambiguous_date_rows: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _is_ambiguous_date(text: str) -> bool:
    parts = re.fullmatch(r"(\d\d)[./](\d\d)[./]\d{4}", text)
    return bool(parts) and parts[1] != parts[2] and max(int(parts[1]), int(parts[2])) <= 12


def generate_rows(rows: int, seed: int = DEFAULT_SEED) -> tuple[Iterator[list[str]], Truth]:
    """The data rows of a file of ``rows`` rows (a lazy iterator) and, once it is exhausted,
    the filled-in ``Truth``."""
    truth = Truth(rows=rows, persons=0, rejected_rows=0, warning_rows=0, people_indexes=0)

    def produce() -> Iterator[list[str]]:
        rng = random.Random(seed)
        population = people(seed + 1, 0, rows)
        emitted = 0
        while emitted < rows:
            roll = rng.random()
            if roll < REJECT_RATE:
                batch = [reject_row(rng, emitted)]
                truth.rejected_rows += 1
            elif roll < REJECT_RATE + WARNING_RATE:
                batch = [warning_row(rng, emitted)]
                truth.warning_rows += 1
                truth.persons += 1
            else:
                person = next(population)
                truth.people_indexes = person.index + 1
                batch = person_rows(rng, person)[: rows - emitted]
                truth.ambiguous_date_rows += sum(_is_ambiguous_date(row[9]) for row in batch)
                truth.persons += 1
            emitted += len(batch)
            yield from batch

    def shuffled() -> Iterator[list[str]]:
        rng = random.Random(seed + 2)
        window: list[list[str]] = []
        for row in produce():
            if len(window) < SHUFFLE_WINDOW:
                window.append(row)
                continue
            position = rng.randrange(len(window))
            yield window[position]
            window[position] = row
        rng.shuffle(window)
        yield from window

    return shuffled(), truth


def write_csv(path: Path, rows: int, seed: int = DEFAULT_SEED) -> Truth:
    """Write the file (UTF-8 with BOM, like the messy export) and a ``.truth.json`` beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data, truth = generate_rows(rows, seed)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(data)
    partial.replace(path)
    path.with_suffix(".truth.json").write_text(json.dumps(truth.as_dict(), indent=2))
    return truth


def dataset(rows: int, seed: int = DEFAULT_SEED, data_dir: Path = DATA_DIR) -> tuple[Path, Truth]:
    """The file of ``rows`` rows for ``seed`` (generated on first use, then reused)."""
    path = data_dir / f"customers_{rows}_seed{seed}.csv"
    truth_path = path.with_suffix(".truth.json")
    if path.exists() and truth_path.exists():
        saved = json.loads(truth_path.read_text())
        if "ambiguous_date_rows" in saved:  # else written before it was counted: write again
            return path, Truth(**saved)
    return path, write_csv(path, rows, seed)


def check(path: Path, truth: Truth) -> list[str]:
    """Normalise every row with the product's rules (no database) and compare with ``truth``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django
    from django.conf import settings

    if not settings.configured:  # the rules need no database, only Django's translation layer
        settings.configure()
        django.setup()
    from customers.normalisation import normalise_customer_row

    today = datetime.date.today()
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    rejected = warned = 0
    unexpected: list[str] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            raw = {("given_name" if k == "first_name" else k): v for k, v in row.items()}
            raw["family_name"] = raw.pop("last_name")
            record = normalise_customer_row(raw, today=today)
            if record.rejection:
                rejected += 1
                continue
            if record.warnings:
                warned += 1
                guessed = record.ambiguous_fields == ["birth_date"] and len(record.warnings) == 1
                if not (guessed or row["first_name"].startswith(("Future", "Baddate", "Card"))):
                    unexpected.append(f"row {line}: {record.warnings}")
            keys = [f"x:{c}:{i}" for c, i in record.external_ids]
            keys += [f"{k}:{record.fields[k]}" for k in ("email", "phone") if record.fields[k]]
            for key in keys[1:]:
                parent[find(key)] = find(keys[0])
            find(keys[0])
    persons = len({find(node) for node in parent})
    problems = unexpected[:10]
    for name, got, want in (
        ("rejected rows", rejected, truth.rejected_rows),
        ("warning rows", warned, truth.warning_rows + truth.ambiguous_date_rows),
        ("distinct persons", persons, truth.persons),
    ):
        if got != want:
            problems.append(f"{name}: normalisation gives {got}, the generator says {want}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, default="S")
    parser.add_argument("--rows", type=int, help="any number of rows instead of a size")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, help="file to write (default: under .data/bench)")
    parser.add_argument(
        "--check", action="store_true", help="normalise every row and compare with the truth"
    )
    options = parser.parse_args(argv)
    rows = options.rows or SIZES[options.size]
    if options.out:
        truth = write_csv(options.out, rows, options.seed)
        path = options.out
    else:
        path, truth = dataset(rows, options.seed)
    print(path)
    print(json.dumps(truth.as_dict(), indent=2))
    if options.check:
        problems = check(path, truth)
        print("\n".join(problems) if problems else "check: the product's normalisation agrees")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
