"""Banned words: the default list, evasions, whole-word matching, per-server changes, robustness."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import BannedPrompt, InvalidParameter
from bot.governance.banned_words import BannedWords, canonical_entry, load_default_words, parse_word_list

DEFAULTS = load_default_words()
BANNED = BannedWords(DEFAULTS)


def test_default_list_is_clean_and_loads() -> None:
    """The shipped list has no comments, blanks or duplicates, and every entry is a valid entry."""
    assert len(DEFAULTS) == len(set(DEFAULTS)) >= 50
    assert all(entry == canonical_entry(entry) for entry in DEFAULTS)
    assert len(BANNED) == len(DEFAULTS)
    assert BannedWords.with_defaults().entries == BANNED.entries


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a nsfw cat", ["nsfw"]),
        ("A NSFW CAT", ["nsfw"]),
        ("n.s.f.w photo", ["nsfw"]),
        ("N-S-F-W photo", ["nsfw"]),
        ("nu.de photo", ["nude"]),
        ("se-x", ["sex"]),
        ("p0r_n0", ["porno"]),
        ("n s f w photo", ["nsfw"]),
        ("a n s f w photo", ["nsfw"]),
        ("n. s. f. w.", ["nsfw"]),
        ("n\u200bs\u200cf\u200dw", ["nsfw"]),
        ("nu\u00adde", ["nude"]),
        ("nuuuude", ["nude"]),
        ("nudes", ["nude"]),
        ("ｎｕｄｅ", ["nude"]),
        ("nüde", ["nude"]),
        ("s3x", ["sex"]),
        ("$3x", ["sex"]),
        ("p0rn", ["porn"]),
        ("p0rn0", ["porno"]),
        ("a55", ["ass"]),
        ("@$$", ["ass"]),
        ("4ss", ["ass"]),
        ("@ $ $", ["ass"]),
        ("blow job", ["blow job"]),
        ("blowjob", ["blow job"]),
        ("blow-job", ["blow job"]),
        ("blooow   job", ["blow job"]),
        ("self-harm", ["self harm"]),
        ("ku klux klan", ["ku klux klan"]),
        ("a woman --no clothes", ["no clothes"]),
        ("a woman —no clothes", ["no clothes"]),
        ("a cat --no gore, blood", ["gore"]),
        ("a cat --ar 3:2 --no n.u.d.e", ["nude"]),
        ("hate 1488", ["1488"]),
        ("gore and then nsfw and gore again", ["gore", "nsfw"]),
    ],
)
def test_banned_words_are_found_through_simple_evasions(text: str, found: list[str]) -> None:
    """Case, punctuation, spaces, invisible characters, repeats, plurals and leetspeak don't hide a word."""
    assert BANNED.find(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "a classic class of assistants in the grass, playing bass in a passage",
        "an assassin with a compass, assessing assets at the embassy",
        "Scunthorpe and Penistone, two English towns",
        "my therapist eats grapes by the drapes; rapeseed fields",
        "Essex, Middlesex and Sussex; a brass sextant and a sextet",
        "cumulus clouds over a document about circumstances",
        "the annals of history, a snigger, a niggling doubt",
        "Lolita by Nabokov, a lollipop, a title on the shelf",
        "cocktail in the cockpit, Hitchcock film, Hancock",
        "gorgeous gorge, a gorilla, Gorey drawings",
        "a torturous road, tortoise shell, shiitake mushrooms",
        "a cat --ar 4:5 --s 5 --c 5 --q .5",
        "a cat --ar 14:88 --seed 12345",
        "a cat --no people, text, watermark",
        "no people, without text",
        "",
        "   ",
        "🐱 猫 кошка",
    ],
)
def test_innocent_words_that_contain_banned_words_pass(text: str) -> None:
    """Whole-word matching: "class" is not "ass", parameters are not spelled-out letters."""
    assert BANNED.find(text) == []
    BANNED.check(text)


def _evasions(entry: str) -> list[str]:
    letters = entry.replace(" ", "")
    forms = [f"a {entry} here", f"A {entry.upper()} HERE", f"{entry}{entry[-1] * 3}"]
    if letters.isalpha():
        forms += [
            " ".join(letters),
            ".".join(letters),
            "\u200b".join(letters),
            f"photo of a {'-'.join(letters)} thing",
        ]
    return forms


@pytest.mark.parametrize(
    ("entry", "text"), [(entry, text) for entry in DEFAULTS for text in _evasions(entry)]
)
def test_every_default_entry_is_caught_in_every_simple_disguise(entry: str, text: str) -> None:
    """Each default entry is found plain, shouted, with repeats, spaced, dotted and zero-width-split."""
    assert entry in BANNED.find(text)


@pytest.mark.parametrize(
    ("added", "removed", "text", "found"),
    [
        ((), ("gore",), "Al Gore giving a speech", []),
        ((), ("GORE",), "Al Gore giving a speech", []),
        ((), ("gore",), "a nsfw gore scene", ["nsfw"]),
        (("clown",), (), "a scary CL0WN", ["clown"]),
        (("clown",), (), "a c.l.o.w.n car", ["clown"]),
        (("red nose",), (), "a clown with a red nose", ["red nose"]),
        (("red nose",), (), "a rednose clown", ["red nose"]),
        (("red nose",), (), "a red, blue nose", []),
        (("gore",), ("gore",), "Al Gore", ["gore"]),
        ((), ("not-listed",), "a nsfw cat", ["nsfw"]),
        (("slut",), (), "s1ut", ["slut"]),
    ],
)
def test_server_additions_and_removals(added, removed, text: str, found: list[str]) -> None:
    """Admins add words (leet, dots and phrases still work) and remove defaults, case-insensitively."""
    assert BannedWords(DEFAULTS, added, removed).find(text) == found


def test_entries_shows_what_is_in_force() -> None:
    """`entries` lists the effective words, folded, sorted, without removed ones."""
    words = BannedWords(["Gore", "nsfw"], added=["Red   Nose", "gore"], removed=["nsfw"])
    assert words.entries == ("gore", "red nose")
    assert BannedWords().find("anything nsfw") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a nsfw cat", "`nsfw` is not allowed."),
        ("a nsfw gore cat", "`nsfw`, `gore` are not allowed."),
    ],
)
def test_check_raises_a_midjourney_style_error_naming_the_words(text: str, message: str) -> None:
    """The error is "Banned prompt detected" and names what was found, in order."""
    with pytest.raises(BannedPrompt) as caught:
        BANNED.check(text)
    assert caught.value.title == "Banned prompt detected"
    assert caught.value.message.startswith(message)
    assert "rules" in caught.value.message


@pytest.mark.parametrize(
    ("word", "expected"),
    [("  Red   NOSE ", "red nose"), ("n.s.f.w", "n.s.f.w"), ("Clown", "clown"), ("42", "42")],
)
def test_canonical_entry_folds_case_and_spaces(word: str, expected: str) -> None:
    """What an admin types is stored folded, with single spaces."""
    assert canonical_entry(word) == expected


@pytest.mark.parametrize(
    ("word", "match"),
    [("a", "at least 2"), ("!!!", "at least 2"), ("", "at least 2"), ("x" * 65, "at most 64")],
)
def test_canonical_entry_refuses_words_that_cannot_match_safely(word: str, match: str) -> None:
    """One letter would block half of all prompts; an endless entry is a mistake."""
    with pytest.raises(InvalidParameter, match=match):
        canonical_entry(word)


def test_parse_word_list_skips_comments_and_blanks() -> None:
    """Word-list files allow `#` comment lines and blank lines."""
    assert parse_word_list("# header\n\n  nsfw  \n# more\nred nose\n") == ["nsfw", "red nose"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("unit", "found"),
    [
        ("a cat in the grass ", []),
        ("a ", []),
        ("no ", []),
        ("n s f w ", ["nsfw"]),
        ("n.s.f.w.", ["nsfw"]),
        ("p o r n o g r a p h ", ["porn", "porno"]),
        ("s", []),
        ("\u200b", []),
        ("\ufdfa", []),
    ],
)
def test_long_inputs_are_read_in_one_pass(unit: str, found: list[str]) -> None:
    """100,000 characters of adversarial repetition finish (a hang guard, not a timing assertion)."""
    assert BANNED.find(unit * (100_000 // len(unit))) == found


PIECES = [
    " ", ".", "-", ",", "--no ", "--ar 4:5 ", "--s ", "5", "1", "0", "@", "$", "\u200b", "a", "s", "n",
    "f", "w", "ss", "nsfw", "gore", "class", "grass", "blow", "job", "no", "clothes", "é", "🐱", "Ｎ",
]  # fmt: skip
texts = st.one_of(st.text(max_size=400), st.lists(st.sampled_from(PIECES), max_size=80).map("".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts)
def test_any_text_is_either_clean_or_a_banned_prompt(text: str) -> None:
    """No input raises anything but BannedPrompt, and `check` agrees with `find`."""
    found = BANNED.find(text)
    assert set(found) <= set(BANNED.entries)
    try:
        BANNED.check(text)
    except BannedPrompt as error:
        assert found
        assert f"`{found[0]}`" in error.message
    else:
        assert not found


INNOCENT = [
    "class",
    "assistant",
    "grass",
    "Scunthorpe",
    "therapist",
    "grape",
    "Essex",
    "cumulus",
    "title",
    "cocktail",
]


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.sampled_from(INNOCENT), min_size=1, max_size=12),
    separators=st.lists(
        st.sampled_from([" ", ", ", "-", ".", " --no ", "\u200b "]), min_size=12, max_size=12
    ),
)
def test_innocent_words_stay_innocent_in_any_arrangement(words: list[str], separators: list[str]) -> None:
    """Innocent words joined by any separators never trip the filter."""
    text = "".join(word + separator for word, separator in zip(words, separators, strict=False))
    assert BANNED.find(text) == []
