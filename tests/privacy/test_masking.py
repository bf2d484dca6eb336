"""Masked contact details never give away a whole name part, local part or number."""

import pytest

from privacy.core.masking import mask_email, mask_name, mask_phone, mask_text


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("Ann", "A•••"),
        ("Ann Lee", "A•••"),
        ("Lovelace", "L•••"),
        ("Ōta", "Ō•••"),
        ("Юлия", "Ю•••"),
        ("J", "•••"),
        ("J.", "•••"),
        ("J. Smith", "•••"),
        ("Li", "•••"),
        ("Al.", "•••"),
        ("李", "•••"),
        ("娜", "•••"),
        ("李娜", "•••"),
        ("秀华", "•••"),
        ("王秀华", "•••"),
        ("欧阳娜娜", "•••"),
        ("さくら", "•••"),
        ("サクラ", "•••"),
        ("山田太郎", "•••"),
        ("김", "•••"),
        ("민수", "•••"),
        ("김민수", "•••"),
        ("   ", "•••"),
        ("", ""),
        (None, ""),
    ],
    ids=[
        "latin-three-letters",
        "latin-two-words",
        "latin-long",
        "latin-accented",
        "cyrillic",
        "latin-initial",
        "latin-initial-with-dot",
        "latin-initial-then-name",
        "latin-two-letters",
        "latin-two-letters-and-dot",
        "cjk-one-character-family-name",
        "cjk-one-character-given-name",
        "cjk-two-characters",
        "cjk-two-character-given-name",
        "cjk-three-characters",
        "cjk-four-characters",
        "hiragana",
        "katakana",
        "kanji",
        "hangul-one-syllable",
        "hangul-two-syllables",
        "hangul-three-syllables",
        "blank",
        "empty",
        "none",
    ],
)
def test_a_masked_name_never_shows_a_whole_name_part(name, masked):
    assert mask_name(name) == masked


def test_a_one_character_family_and_given_name_together_reveal_nothing():
    # Given Li Na, stored as family name 李 and given name 娜 (the API masks each part)
    parts = [mask_name("李"), mask_name("娜"), mask_name("李娜")]

    # Then no masked part holds a character of the name
    assert parts == ["•••", "•••", "•••"]


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("ann@example.com", "a•••@example.com"),
        ("Ada@Example.org", "A•••@Example.org"),
        ("a@x.com", "•••@x.com"),
        ("li@x.com", "•••@x.com"),
        ("12345678@qq.com", "•••@qq.com"),
        ("李娜娜@例子.中国", "•••@例子.中国"),
        ("not-an-address", "n•••"),
        ("ab", "•••"),
        ("", ""),
        (None, ""),
    ],
    ids=[
        "latin",
        "capital",
        "one-character-local-part",
        "two-character-local-part",
        "digits",
        "cjk-local-part",
        "without-domain",
        "short-without-domain",
        "empty",
        "none",
    ],
)
def test_a_masked_email_never_shows_a_whole_local_part(email, masked):
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+4915123456789", "+49•••89"),
        ("+442079460958", "+44•••58"),
        ("+8613812345678", "+86•••78"),
        ("+44 20 7946 0000", "+44•••00"),
        ("+354123456", "•••"),
        ("+491234", "•••"),
        ("110", "•••"),
        ("", ""),
        (None, ""),
    ],
    ids=[
        "german-mobile",
        "british",
        "chinese-mobile",
        "with-spaces",
        "five-digits-hidden",
        "short",
        "emergency-number",
        "empty",
        "none",
    ],
)
def test_a_masked_phone_keeps_at_least_six_digits_hidden(phone, masked):
    assert mask_phone(phone) == masked


def test_masked_text_says_only_whether_there_is_any():
    assert (mask_text("Call after 6pm"), mask_text(""), mask_text(None)) == ("•••", "", "")
