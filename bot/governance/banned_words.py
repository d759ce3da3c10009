"""Banned words: a default list plus per-server changes, matched through simple evasions.

`BannedWords(defaults, added, removed).check(prompt)` raises `BannedPrompt` naming the word it
found; `find(prompt)` lists them. The caller passes the raw prompt, so the `--no` text is checked
too ("--no clothes" is a classic way round a "nude" ban).

How a text is read (in time linear in its length):
1. Unicode compatibility forms are folded (fullwidth and math letters become plain letters),
   accents, zero-width and other invisible format characters are dropped, case is folded.
2. Words are runs of letters and digits; `@` and `$` count as the letters a and s, and in a word
   that is not a plain number the digits 0 1 3 4 5 read as o i e a s (1 also as l).
3. A word matches an entry when it is the entry with letters repeated (`nuuude`) or with a
   plural `s`. Words only ever match whole, so "class" never matches "ass".
4. Two more readings catch letters pulled apart: the pieces of one space-free chunk joined
   (`n.s.f.w`, `s-e-x`), and runs of single letters joined (`n s f w`), searched inside.
   Parameter names (`--s`, `--c`) are never single letters of such a run, so `--ar 4:5 --s 5`
   stays innocent.
5. An entry of several words must appear as consecutive words, or as one joined word.
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources

from bot.errors import BannedPrompt, InvalidParameter

log = logging.getLogger(__name__)

MAX_ENTRY_LENGTH = 64
MIN_ENTRY_CHARACTERS = 2
MAX_NAMED_IN_ERROR = 5
DEFAULT_LIST = "wordlists/banned_words.txt"

_WORD = re.compile(r"[^\W_]+")
# Combining marks (accents, "zalgo"), enclosing marks and invisible format characters
# (zero-width space/joiner, soft hyphen, BOM): typing them between letters must not hide a word.
_DROPPED_CATEGORIES = frozenset({"Mn", "Me", "Cf"})
_SYMBOLS = str.maketrans({"@": "a", "$": "s"})
_LEET_I = str.maketrans("01345", "oieas")
_LEET_L = str.maketrans("01345", "oleas")


def normalise_text(text: str) -> str:
    """`text` folded for matching: compatibility forms, no accents or invisible characters, no case."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(char for char in decomposed if unicodedata.category(char) not in _DROPPED_CATEGORIES)
    return kept.casefold().translate(_SYMBOLS)


def _readings(word: str) -> tuple[str, ...]:
    """The ways a word can be read: leetspeak only in words that are not plain numbers."""
    if word.isdecimal():
        return (word,)
    as_i = word.translate(_LEET_I)
    if "1" not in word:
        return (as_i,)
    return (as_i, word.translate(_LEET_L))


def _squeeze(letters: str) -> tuple[str, tuple[int, ...]]:
    """`"nuuude"` → `("nude", (1, 3, 1, 1))`: the letters with repeats collapsed, and the run lengths."""
    runs = [(char, len(list(group))) for char, group in itertools.groupby(letters)]
    return "".join(char for char, _ in runs), tuple(count for _, count in runs)


def _covers(counts: tuple[int, ...], needed: tuple[int, ...]) -> bool:
    """Every letter run is at least as long as the entry's (`asss` covers `ass`, `as` does not)."""
    return all(have >= need for have, need in zip(counts, needed, strict=True))


def canonical_entry(word: str) -> str:
    """How a banned word or phrase is stored and shown: folded case, single spaces.

    Raises InvalidParameter if it is too long or has too few letters or digits to match safely.
    """
    shown = " ".join(word.casefold().split())
    if len(shown) > MAX_ENTRY_LENGTH:
        raise InvalidParameter(
            f"A banned word or phrase can be at most {MAX_ENTRY_LENGTH} characters long, this one has {len(shown)}."
        )
    letters = sum(len(part) for part in _WORD.findall(normalise_text(shown)))
    if letters < MIN_ENTRY_CHARACTERS:
        raise InvalidParameter(
            f"`{shown or word}` can't be a banned word: it needs at least {MIN_ENTRY_CHARACTERS} letters or digits."
        )
    return shown


def parse_word_list(text: str) -> list[str]:
    """Entries of a word-list file: one per line; blank lines and `#` comment lines are skipped."""
    entries = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            entries.append(stripped)
    return entries


def load_default_words() -> list[str]:
    """The built-in list shipped in bot/governance/wordlists/banned_words.txt."""
    text = resources.files("bot.governance").joinpath(DEFAULT_LIST).read_text(encoding="utf-8")
    return parse_word_list(text)


@dataclass(frozen=True)
class _Entry:
    shown: str
    words: tuple[tuple[str, tuple[int, ...]], ...]  # each word squeezed, with its run lengths


_Squeezed = tuple[str, tuple[int, ...]]


def _squeezed_readings(word: str) -> tuple[_Squeezed, ...]:
    return tuple(_squeeze(reading) for reading in _readings(word))


@dataclass(frozen=True, slots=True)
class _Token:
    index: int
    start: int
    end: int
    text: str
    readings: tuple[_Squeezed, ...]  # squeezed, see `_readings`
    single_letter: bool


@dataclass
class _Trie:
    """Squeezed entry spellings, for finding an entry inside a run of spelled-out letters."""

    children: dict[str, _Trie] = field(default_factory=dict)
    ends: list[tuple[_Entry, tuple[int, ...]]] = field(default_factory=list)

    def add(self, key: str, counts: tuple[int, ...], entry: _Entry) -> None:
        node = self
        for char in key:
            node = node.children.setdefault(char, _Trie())
        node.ends.append((entry, counts))


class BannedWords:
    """A server's banned words: `defaults` minus `removed`, plus `added` (all case-insensitive)."""

    def __init__(
        self, defaults: Iterable[str] = (), added: Iterable[str] = (), removed: Iterable[str] = ()
    ) -> None:
        added = list(added)
        removed_keys = {key for key in map(self._key, removed) if key}
        added_keys = {key for key in map(self._key, added) if key}
        entries: dict[tuple[str, ...], _Entry] = {}
        for word in [*defaults, *added]:
            key = self._key(word)
            # A word both removed and added is banned: adding is the explicit choice.
            if not key or key in entries or (key in removed_keys and key not in added_keys):
                continue
            entries[key] = _Entry(" ".join(word.casefold().split()), tuple(_squeeze(part) for part in key))
        self._entries = tuple(entries.values())
        # Whole words (and phrases written as one word), by squeezed spelling.
        self._whole: dict[str, list[tuple[_Entry, tuple[int, ...]]]] = {}
        # Phrases, by the squeezed spelling of their first word.
        self._phrases: dict[str, list[_Entry]] = {}
        self._trie = _Trie()
        for entry in self._entries:
            joined = _squeeze(self._spelled(entry))
            self._whole.setdefault(joined[0], []).append((entry, joined[1]))
            self._trie.add(joined[0], joined[1], entry)
            if len(entry.words) > 1:
                self._phrases.setdefault(entry.words[0][0], []).append(entry)

    @classmethod
    def with_defaults(cls, added: Iterable[str] = (), removed: Iterable[str] = ()) -> BannedWords:
        """The built-in list (bot/governance/wordlists/banned_words.txt) with a server's additions and removals."""
        return cls(load_default_words(), added, removed)

    @property
    def entries(self) -> tuple[str, ...]:
        """Every banned word and phrase in force, as shown to admins, sorted."""
        return tuple(sorted(entry.shown for entry in self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def check(self, text: str) -> None:
        """Raise BannedPrompt naming the banned words in `text` (prompt, `--no` list and all)."""
        found = self.find(text)
        if not found:
            return
        log.info("banned prompt: %s", ", ".join(found))
        named = ", ".join(f"`{word}`" for word in found[:MAX_NAMED_IN_ERROR])
        verb = "is" if len(found) == 1 else "are"
        raise BannedPrompt(
            f"{named} {verb} not allowed. Please keep your prompts within this server's rules; "
            "working around this filter can get your access removed."
        )

    def find(self, text: str) -> list[str]:
        """The banned words and phrases in `text`, in the order they first appear, each once."""
        if not self._entries:
            return []
        normalised = normalise_text(text)
        tokens = self._tokens(normalised)
        hits: list[tuple[int, str]] = []
        for token in tokens:
            hits.extend((token.index, shown) for shown in self._match_word(token.readings))
            hits.extend((token.index, shown) for shown in self._match_phrases(tokens, token.index))
        for index, readings in self._joined_chunks(normalised, tokens):
            hits.extend((index, shown) for shown in self._match_word(readings))
        for run in self._single_letter_runs(tokens):
            hits.extend(self._search_run(run))
        hits.sort(key=lambda hit: hit[0])
        return list(dict.fromkeys(shown for _, shown in hits))

    # ---- reading the text ----------------------------------------------------------------------

    @staticmethod
    def _key(word: str) -> tuple[str, ...]:
        """An entry's words as matched: normalised like any text, first leetspeak reading."""
        return tuple(_readings(part)[0] for part in _WORD.findall(normalise_text(word)))

    @staticmethod
    def _spelled(entry: _Entry) -> str:
        """The entry's letters with its repeats restored, words run together."""
        return "".join(
            "".join(char * count for char, count in zip(squeezed, counts, strict=True))
            for squeezed, counts in entry.words
        )

    @staticmethod
    def _tokens(text: str) -> list[_Token]:
        tokens = []
        seen: dict[str, tuple[_Squeezed, ...]] = {}  # prompts repeat words; read each once
        for index, match in enumerate(_WORD.finditer(text)):
            word, start = match.group(), match.start()
            # `--s`, `—c`: a parameter name, never a letter spelled out on its own.
            parameter = text[max(0, start - 2) : start] == "--" or text[start - 1 : start] == "—"
            single = len(word) == 1 and word.isalpha() and not parameter
            readings = seen.get(word) or seen.setdefault(word, _squeezed_readings(word))
            tokens.append(_Token(index, start, match.end(), word, readings, single))
        return tokens

    @staticmethod
    def _joined_chunks(text: str, tokens: list[_Token]) -> Iterable[tuple[int, tuple[_Squeezed, ...]]]:
        """Words separated only by punctuation, read as one word (`n.s.f.w` → nsfw)."""
        chunk: list[_Token] = []
        for token in [*tokens, None]:
            joined_to_last = (
                token is not None
                and chunk
                and not any(char.isspace() for char in text[chunk[-1].end : token.start])
            )
            if joined_to_last:
                chunk.append(token)
                continue
            joined = "".join(part.text for part in chunk)
            # Numbers stay apart: `--ar 14:88` is an aspect ratio, not one number.
            if len(chunk) > 1 and not joined.isdecimal():
                yield chunk[0].index, _squeezed_readings(joined)
            chunk = [token] if token is not None else []

    @staticmethod
    def _single_letter_runs(tokens: list[_Token]) -> Iterable[list[_Token]]:
        """Consecutive one-letter words (`n s f w`, `n. s. f. w.`), two or more."""
        for single, group in itertools.groupby(tokens, key=lambda token: token.single_letter):
            run = list(group)
            if single and len(run) > 1:
                yield run

    # ---- matching ------------------------------------------------------------------------------

    def _match_word(self, readings: tuple[_Squeezed, ...]) -> list[str]:
        found = []
        for key, counts in readings:
            candidates = [(key, counts)]
            if len(key) > 2 and key.endswith("s"):
                candidates.append((key[:-1], counts[:-1]))  # a plural: `nudes`
            for candidate, have in candidates:
                for entry, needed in self._whole.get(candidate, ()):
                    if _covers(have, needed):
                        found.append(entry.shown)
        return found

    def _match_phrases(self, tokens: list[_Token], index: int) -> list[str]:
        found = []
        first_words = {spelling for spelling, _ in tokens[index].readings}
        for first_word in first_words:
            for entry in self._phrases.get(first_word, ()):
                following = tokens[index : index + len(entry.words)]
                if len(following) == len(entry.words) and all(
                    any(
                        spelling == word[0] and _covers(counts, word[1])
                        for spelling, counts in token.readings
                    )
                    for token, word in zip(following, entry.words, strict=True)
                ):
                    found.append(entry.shown)
        return found

    def _search_run(self, run: list[_Token]) -> list[tuple[int, str]]:
        """Entries spelled inside a run of single letters, wherever they start in it."""
        runs = [(char, len(list(group))) for char, group in itertools.groupby(token.text for token in run)]
        run_starts = list(itertools.accumulate((count for _, count in runs), initial=0))
        found = []
        for first in range(len(runs)):
            # The walk stops where no entry continues, so it is at most an entry long.
            node = self._trie
            have: list[int] = []
            for position in range(first, len(runs)):
                char, count = runs[position]
                if char not in node.children:
                    break
                node = node.children[char]
                have.append(count)
                for entry, needed in node.ends:
                    if _covers(tuple(have), needed):
                        found.append((run[run_starts[first]].index, entry.shown))
        return found
