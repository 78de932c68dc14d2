"""Candidate characters for the on-screen hanzi keyboard: a pinyin prefix in, ordered characters out, offline.

A Pi touchscreen has no input method, so the gate offers one: the volunteer types toneless pinyin (ü as ``v``)
and picks a character from a candidate bar. The order decides how many taps a name takes, so it comes from the
best evidence first:

1. the community's own roster (the gate's registry replica: residents, visitor passes, volunteers): the first
   character of a name counts towards a surname order, the rest towards a given-name order;
2. a shipped ranked list of the most common surnames and given-name characters (data/common_name_chars.txt,
   whose header says where its order comes from);
3. a general frequency order.

For (3) the source is pypinyin's own phrase dictionary (about 47,000 common words with the reading of each
character in context), already a dependency for the voice prompts: a character's weight for a syllable is the
number of those words in which it is read so. That is a proxy, chosen deliberately over adding a corpus
frequency package: jieba's dictionary (5 MB, last released 2020) or wordfreq (its data is frozen since 2021 and it
needs jieba for Chinese) would add megabytes to a Pi image for an order that only needs to be roughly right
after (1) and (2); the phrase counts also weigh readings, so 长 comes under chang and zhang but a rare reading of
a common character (a "rare reading": one used in fewer than a fifth of its words and not its first dictionary
reading) comes after every usual one. Only GB2312 characters are offered from (3), level 1 (the 3,755 characters
of common use) before level 2, so no rare or traditional variant comes first; a roster name's character outside
GB2312 is still offered, from (1).

The base (pypinyin's data scanned once, in a child process so the gate keeps only the result; about a second
here) is built lazily and cached for the process;
the roster overlay is cheap and rebuilt by ``CandidateSource`` when the registry's version changes.
"""

from __future__ import annotations

import enum
import functools
import io
import logging
import os
import re
import subprocess
import sys
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

MAX_LETTERS = 8
"""The longest pinyin accepted: the longest syllable (zhuang, shuang) plus a little, never a whole sentence."""
PAGE_SIZE = 10
"""Candidates on one page of the bar (what fits 800 px with the paging keys)."""
MAX_PAGE_SIZE = 30
MAX_PAGES = 50
"""A page beyond this is refused: nobody pages 50 times, and it bounds the work of one request."""
RARE_READING_SHARE = 0.2

log = logging.getLogger(__name__)

DATA_FILE = Path(__file__).parent / "data" / "common_name_chars.txt"
_PINYIN_RE = re.compile(rf"[a-z]{{1,{MAX_LETTERS}}}")
# Tone-marked ü (and ê) as pypinyin writes them → the letters typed on the keyboard.
_LETTERS = str.maketrans({"ü": "v", "ǖ": "v", "ǘ": "v", "ǚ": "v", "ǜ": "v", "ê": "e"})


class Slot(str, enum.Enum):
    """Where the characters go: which order counts first."""

    SURNAME = "surname"  # the first character of a name
    GIVEN = "given"      # the rest of a name
    NAME = "name"        # somewhere in a name (surname and given-name orders together)
    TEXT = "text"        # anything else ("coming from": a building, a village, a company): general order only


class PinyinError(ValueError):
    """Input that is not 1–8 letters a–z (ü typed as v); ``code`` is what the API answers."""

    code = "pinyin_format"


def normalise(text: object) -> str:
    """Typed pinyin as the index spells it: lower case, ü → v; PinyinError for anything else."""
    if not isinstance(text, str):
        raise PinyinError("pinyin must be text")
    letters = text.strip().lower().translate(_LETTERS)
    if not _PINYIN_RE.fullmatch(letters):
        raise PinyinError(f"pinyin must be 1 to {MAX_LETTERS} letters a-z (ü typed as v)")
    # lue/nue are common spellings of lüe/nüe (and what several input methods accept).
    return re.sub(r"^([ln])ue", r"\1ve", letters)


@functools.lru_cache(maxsize=4096)  # a few thousand toned readings in all, each met many times in the phrases
def toneless(reading: str) -> str:
    """A pypinyin reading (zhāng, lǜ, ǹg) as typed: zhang, lv, ng."""
    decomposed = unicodedata.normalize("NFD", reading.translate(_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def gb2312_level(char: str) -> int | None:
    """1 for GB2312's common characters, 2 for its second level, None outside GB2312 (or not a hanzi)."""
    try:
        encoded = char.encode("gb2312")
    except UnicodeEncodeError:
        return None
    if len(encoded) != 2:
        return None
    if 0xB0 <= encoded[0] <= 0xD7:
        return 1
    if 0xD8 <= encoded[0] <= 0xF7:
        return 2
    return None  # symbols and punctuation rows


@dataclass(frozen=True)
class NameChars:
    """The shipped order of common surnames and given-name characters (rank 0 = most common)."""

    surnames: dict[str, int]
    given: dict[str, int]
    surname_readings: dict[str, str]  # a polyphonic surname's reading (曾 → zeng)


def load_name_chars(path: Path = DATA_FILE) -> NameChars:
    """Read data/common_name_chars.txt (sections [surnames] and [given]; one character a line, optional reading)."""
    sections: dict[str, dict[str, int]] = {"surnames": {}, "given": {}}
    readings: dict[str, str] = {}
    current: dict[str, int] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections[line.strip("[]")]
            continue
        if current is None:
            raise ValueError(f"{path}: a character before any [section]: {line!r}")
        char, *reading = line.split()
        current.setdefault(char, len(current))
        if reading and current is sections["surnames"]:
            readings[char] = normalise(reading[0])
    return NameChars(sections["surnames"], sections["given"], readings)


@dataclass(frozen=True)
class _Reading:
    """One character under one toneless syllable, with its general weight."""

    char: str
    band: int    # 0 usual reading of a level-1 character, 1 usual reading of a level-2 one, 2 a rare reading
    weight: int  # words of pypinyin's phrase dictionary in which the character is read so


def scan_pypinyin() -> dict[str, dict]:
    """pypinyin's data reduced to what the index keeps, as JSON-able dicts (``readings``, ``usual``, ``by_syllable``).

    The scan holds pypinyin's whole phrase dictionary (about 55 MB of Python objects) while it runs, and freed
    objects leave the process's heap fragmented: done in the gate itself it left ~45 MB behind for good. So
    ``base()`` runs it in a child process (``python -m kiosk.gate.hanzi_candidates``) and keeps only the result.
    """
    from pypinyin.phrases_dict import phrases_dict
    from pypinyin.pinyin_dict import pinyin_dict

    counts: Counter[tuple[str, str]] = Counter()
    for phrase, readings in phrases_dict.items():
        for char, options in zip(phrase, readings, strict=False):
            if options:
                counts[(char, toneless(options[0]))] += 1
    every: dict[str, list[str]] = {}
    usual_of: dict[str, list[str]] = {}
    by_syllable: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for code, listed in pinyin_dict.items():
        char = chr(code)
        syllables = list(dict.fromkeys(toneless(r) for r in listed.split(",") if r))
        syllables = [s for s in syllables if s.isascii() and s.isalpha()]
        if not syllables:
            continue
        total = sum(counts[(char, s)] for s in syllables)
        usual = [s for i, s in enumerate(syllables)
                 if i == 0 or (counts[(char, s)] > 0 and counts[(char, s)] >= RARE_READING_SHARE * total)]
        every[char] = syllables
        usual_of[char] = usual
        level = gb2312_level(char)
        if level is None:
            continue
        for s in syllables:
            band = (level - 1) if s in usual else 2
            by_syllable[s].append((char, band, counts[(char, s)]))
    return {"readings": every, "usual": usual_of, "by_syllable": dict(by_syllable)}


def _scan_lines(scanned: dict[str, dict]) -> Iterable[str]:
    """The scan as lines (what the child writes): ``R char readings usual`` and ``S syllable char band weight``."""
    usual = scanned["usual"]
    for char, listed in scanned["readings"].items():
        yield f"R {char} {','.join(listed)} {','.join(usual[char])}\n"
    for syllable, entries in scanned["by_syllable"].items():
        for char, band, weight in entries:
            yield f"S {syllable} {char} {band} {weight}\n"


class _CharTable(Mapping[str, tuple[str, ...]]):
    """character → its toneless readings (dictionary order), for every character pypinyin knows; ``usual(char)``:
    the readings that are not rare.

    GB2312's characters and the shipped name characters are kept as objects; the other ~34,000 (met only in a
    roster name outside GB2312, when an index is built) as one UTF-8 text searched when asked: ~1 MB, not ~6.
    """

    def __init__(self, common: dict[str, tuple[tuple[str, ...], frozenset[str]]], rest: bytes) -> None:
        self._common = common
        self._rest = rest  # b"\n" then one b"char\treadings\tusual\n" line per character

    def _entry(self, char: object) -> tuple[tuple[str, ...], frozenset[str]] | None:
        found = self._common.get(char) if isinstance(char, str) else None
        if found is not None or not isinstance(char, str) or len(char) != 1:
            return found
        at = self._rest.find(b"\n" + char.encode("utf-8", "surrogatepass") + b"\t")
        if at < 0:
            return None
        _, every, usual = self._rest[at + 1:self._rest.index(b"\n", at + 1)].decode().split("\t")
        return tuple(every.split(",")), frozenset(usual.split(","))

    def __getitem__(self, char: str) -> tuple[str, ...]:
        found = self._entry(char)
        if found is None:
            raise KeyError(char)
        return found[0]

    def __contains__(self, char: object) -> bool:
        return self._entry(char) is not None

    def __iter__(self) -> Iterator[str]:
        yield from self._common
        for line in self._rest.split(b"\n"):
            if line:
                yield line.split(b"\t", 1)[0].decode()

    def __len__(self) -> int:
        return len(self._common) + self._rest.count(b"\n") - 1

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _CharTable):
            return self._common == other._common and self._rest == other._rest
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]  # a mapping: unhashable, like dict

    def usual(self, char: str) -> frozenset[str]:
        """The readings of ``char`` that are not rare (empty for a character pypinyin does not know)."""
        found = self._entry(char)
        return found[1] if found is not None else frozenset()


def _parse_scan(lines: Iterable[str]) -> dict[str, Any]:
    """The scan's lines (``_scan_lines``) back as the index keeps them; equal lists shared. ValueError if malformed.

    Read line by line: each line's text is freed before the next is read, so what stays is laid out compactly
    (parsing one big JSON text here left ~20 MB of fragmented heap behind).
    """
    names = load_name_chars()
    keep = set(names.surnames) | set(names.given)
    common: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {}
    rest = io.BytesIO()
    rest.write(b"\n")
    by_syllable: dict[str, list[_Reading]] = defaultdict(list)
    tuples: dict[str, tuple[str, ...]] = {}
    sets: dict[str, frozenset[str]] = {}
    for line in lines:
        kind, *fields = line.split()
        if kind == "R":
            char, every, usual = fields
            if gb2312_level(char) is None and char not in keep:
                rest.write(f"{char}\t{every}\t{usual}\n".encode("utf-8", "surrogatepass"))
                continue
            # Equal lists shared: a few thousand distinct ones among the characters kept.
            common[char] = (tuples.get(every) or tuples.setdefault(every, tuple(every.split(","))),
                            sets.get(usual) or sets.setdefault(usual, frozenset(usual.split(","))))
        elif kind == "S":
            syllable, char, band, weight = fields
            by_syllable[syllable].append(_Reading(sys.intern(char), int(band), int(weight)))
        else:
            raise ValueError(f"unexpected line kind {kind!r}")
    return {"readings": _CharTable(common, rest.getvalue()), "by_syllable": dict(by_syllable)}


def _scan_in_child(timeout_s: float = 120.0, *, save_to: Path | None = None) -> dict[str, Any] | None:
    """``scan_pypinyin()`` in a child Python (None if that fails: the caller scans in-process).

    ``save_to``: also keep the child's lines there (``CACHE_ENV``), written whole or not at all.
    """
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    with _SavedScan(save_to) as saving:
        try:
            with subprocess.Popen([sys.executable, "-m", "kiosk.gate.hanzi_candidates"], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
                                  encoding="utf-8") as child:
                timer = threading.Timer(timeout_s, child.kill)
                timer.start()
                try:
                    assert child.stdout is not None
                    scanned = _parse_scan(saving.tee(child.stdout))
                finally:
                    timer.cancel()
            if child.returncode != 0:
                raise subprocess.CalledProcessError(child.returncode, child.args)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            log.warning("hanzi index: scanning pypinyin in a child process failed (%s); scanning here", exc)
            return None
        saving.commit()
    return scanned


CACHE_ENV = "KIOSK_HANZI_CACHE_DIR"
"""A folder in which the scan's result is kept between processes (unset: every process scans, in a child).

The browser tests set it: each test starts a gate, and each gate's warm-up would otherwise spend a second of CPU
scanning pypinyin again beside the page being tested. The file is named by pypinyin's version and this module's
text, so a changed scan or a new pypinyin never reads an old one."""
MAX_CACHE_BYTES = 20 * 2**20  # the scan is ~0.8 MB; a bigger file is not one of ours


def _cache_path() -> Path | None:
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        return None
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    try:
        pypinyin = version("pypinyin")
        code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    except (OSError, PackageNotFoundError):
        return None
    return Path(folder) / f"hanzi-scan-{pypinyin}-{code}.txt"


class _SavedScan:
    """The scan's lines written to ``path`` as they stream by, with an ``E <count>`` end line; ``commit()`` puts
    the file in place (a reader sees all of it or nothing); without it, or when writing fails, nothing is kept."""

    def __init__(self, path: Path | None):
        self.path, self.count = path, 0
        self.out: TextIO | None = None
        self.temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp") if path else None

    def __enter__(self) -> _SavedScan:
        if self.path is not None and self.temporary is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.out = self.temporary.open("w", encoding="utf-8")
            except OSError as exc:  # a cache only: the index is built all the same
                log.warning("hanzi index: cannot keep the scan in %s (%s)", self.path, exc)
        return self

    def tee(self, lines: Iterable[str]) -> Iterable[str]:
        """``lines``, each also written to the file."""
        for line in lines:
            if self.out is not None:
                try:
                    self.out.write(line)
                except OSError:
                    self._drop()
            self.count += 1
            yield line

    def commit(self) -> None:
        """Finish the file and move it into place."""
        if self.out is None or self.path is None or self.temporary is None:
            return
        try:
            self.out.write(f"E {self.count}\n")
            self.out.close()
            os.replace(self.temporary, self.path)
        except OSError as exc:
            log.warning("hanzi index: cannot keep the scan in %s (%s)", self.path, exc)
        self._drop()

    def _drop(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
        if self.temporary is not None:
            self.temporary.unlink(missing_ok=True)

    def __exit__(self, *exc_info: object) -> None:
        self._drop()


def _read_saved_scan(path: Path) -> dict[str, Any] | None:
    """A scan kept by ``_SavedScan``; None when missing, too large, cut short or malformed (then scanned anew)."""
    try:
        if path.stat().st_size > MAX_CACHE_BYTES:
            return None
        with path.open(encoding="utf-8") as lines:
            counted = 0
            end: list[int] = []

            def body() -> Iterable[str]:
                nonlocal counted
                for line in lines:
                    if line.startswith("E "):
                        end.append(int(line[2:]))
                        return
                    counted += 1
                    yield line

            scanned = _parse_scan(body())
        if end != [counted] or not scanned["readings"]:
            raise ValueError("cut short")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        log.warning("hanzi index: the kept scan %s is unusable (%s); scanning anew", path, exc)
        return None
    return scanned


def _compact(scanned: dict[str, dict]) -> dict[str, Any]:
    """``scan_pypinyin()``'s result as the index keeps it (what a child's lines give, exactly)."""
    return _parse_scan(_scan_lines(scanned))


class _Base:
    """pypinyin's data scanned once: every syllable, its GB2312 characters, each character's usual readings.

    ``scanned`` is the scan as ``_compact`` gives it (by default read from a child process); the index keeps
    about 5 MB of it.
    """

    def __init__(self, scanned: dict[str, Any] | None = None) -> None:
        if scanned is None:
            cache = _cache_path()
            scanned = ((_read_saved_scan(cache) if cache else None) or _scan_in_child(save_to=cache)
                       or _compact(scan_pypinyin()))
        self.readings: _CharTable = scanned["readings"]  # character → toneless readings, in order; .usual(char)
        self.by_syllable: dict[str, list[_Reading]] = scanned["by_syllable"]
        self.syllables = sorted(self.by_syllable)
        self.names = load_name_chars()

    def name_readings(self, char: str, *, surname: bool) -> AbstractSet[str]:
        """The syllables a name character is put first under: its usual readings, or a surname's own reading."""
        if surname and char in self.names.surname_readings:
            return {self.names.surname_readings[char]}  # 曾 as a surname is zeng, never ceng
        return self.readings.usual(char)


_base_lock = threading.Lock()


@functools.cache
def _cached_base() -> _Base:
    return _Base()


def base() -> _Base:
    """The process's one scan of pypinyin's data (built on first use; thread-safe)."""
    with _base_lock:
        return _cached_base()


@dataclass(frozen=True)
class Page:
    """One page of the candidate bar: ``matched`` is the letters the candidates spell (see ``lookup``)."""

    pinyin: str
    matched: str
    candidates: tuple[str, ...]
    more: bool
    page: int


def _ranks(counter: Counter[str]) -> dict[str, int]:
    """Most counted first (ties by code point, so the order is stable)."""
    return {ch: i for i, (ch, _) in enumerate(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))}


class CandidateIndex:
    """Candidates for one roster: the base's order with the community's own name characters first."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.base = base()
        surnames: Counter[str] = Counter()
        given: Counter[str] = Counter()
        for name in names:
            chars = [ch for ch in (name or "").strip() if ch in self.base.readings]
            if chars:
                surnames[chars[0]] += 1
                given.update(chars[1:])
        self.roster_size = sum(surnames.values())
        shipped = self.base.names
        either: dict[str, int] = {}
        for ch, rank in shipped.surnames.items():
            either[ch] = min(either.get(ch, 2 * rank), 2 * rank)
        for ch, rank in shipped.given.items():
            either[ch] = min(either.get(ch, 2 * rank + 1), 2 * rank + 1)
        roster_surnames, roster_given, roster_any = _ranks(surnames), _ranks(given), _ranks(surnames + given)
        # Each slot's orders, best evidence first; a character takes its place from the first order holding it.
        self._tiers: dict[Slot, list[tuple[dict[str, int], bool]]] = {
            Slot.SURNAME: [(roster_surnames, True), (shipped.surnames, True), (roster_given, False),
                           (shipped.given, False)],
            Slot.GIVEN: [(roster_given, False), (shipped.given, False), (roster_surnames, True),
                         (shipped.surnames, True)],
            Slot.NAME: [(roster_any, True), (either, True)],
            Slot.TEXT: [],
        }
        # Roster characters outside GB2312 (喆, 堃 …) still get offered, under their name readings.
        self._extra: dict[str, list[_Reading]] = defaultdict(list)
        for ch in set(surnames) | set(given):
            if gb2312_level(ch) is None:
                for s in self.base.name_readings(ch, surname=ch in surnames):
                    self._extra[s].append(_Reading(ch, 3, 0))
        self._orders: dict[tuple[str, Slot], list[tuple[tuple, str]]] = {}
        self._cache: dict[tuple[str, Slot], tuple[str, tuple[str, ...]]] = {}
        self._cache_lock = threading.Lock()

    def _syllable_order(self, syllable: str, slot: Slot) -> list[tuple[tuple, str]]:
        """(sort key, character) for one syllable, best first; keys compare across syllables (see ``lookup``)."""
        found = self._orders.get((syllable, slot))
        if found is None:  # at most 4 slots × ~410 syllables: kept, so a one-letter prefix sorts each only once
            found = self._orders[(syllable, slot)] = self._sort_syllable(syllable, slot)
        return found

    def _sort_syllable(self, syllable: str, slot: Slot) -> list[tuple[tuple, str]]:
        tiers = self._tiers[slot]
        base = self.base

        def key(reading: _Reading) -> tuple:
            for i, (order, surname) in enumerate(tiers):
                rank = order.get(reading.char)
                if rank is not None and syllable in base.name_readings(reading.char, surname=surname):
                    return (i, rank, 0, "")
            return (len(tiers), reading.band, -reading.weight, reading.char)

        readings = base.by_syllable.get(syllable, []) + self._extra.get(syllable, [])
        return sorted((key(r), r.char) for r in readings)

    def lookup(self, pinyin: str, slot: Slot = Slot.NAME) -> tuple[str, tuple[str, ...]]:
        """(matched letters, every candidate in order) for typed pinyin (PinyinError if it is not pinyin).

        The characters of the exact syllable come first, then those of longer syllables starting with the letters
        (li → 李 力 … then lian, liang, liu … merged into one order). Letters that start no syllable but begin
        with one (zhangw) give that leading syllable's characters, and ``matched`` says which letters they spell,
        so the keyboard keeps the rest pending after a tap.
        """
        letters = normalise(pinyin)
        slot = Slot(slot)
        with self._cache_lock:
            hit = self._cache.get((letters, slot))
        if hit is not None:
            return hit
        matched = letters
        syllables = [s for s in self.base.syllables if s.startswith(letters)]
        if not syllables:
            leading = [letters[:n] for n in range(len(letters) - 1, 0, -1) if letters[:n] in self.base.by_syllable]
            matched = leading[0] if leading else ""
            syllables = [matched] if matched else []
        found: dict[str, None] = {}
        if matched in syllables:
            found.update(dict.fromkeys(ch for _, ch in self._syllable_order(matched, slot)))
        # Longer syllables' characters in one order (zh → 张 周 赵 …, not every zha character first).
        merged = [item for s in syllables if s != matched for item in self._syllable_order(s, slot)]
        found.update(dict.fromkeys(ch for _, ch in sorted(merged)))
        result = (matched, tuple(found))
        with self._cache_lock:
            if len(self._cache) > 4096:  # bounded: typed prefixes are few, but a hostile caller's are not
                self._cache.clear()
            self._cache[(letters, slot)] = result
        return result

    def page(self, pinyin: str, page: int = 0, *, size: int = PAGE_SIZE, slot: Slot = Slot.NAME) -> Page:
        """One page of candidates (``more``: a next page exists); PinyinError for bad pinyin, ValueError for a bad page."""
        if not 0 <= page < MAX_PAGES:
            raise ValueError(f"page must be 0 to {MAX_PAGES - 1}")
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"size must be 1 to {MAX_PAGE_SIZE}")
        matched, found = self.lookup(pinyin, slot)
        start = page * size
        return Page(normalise(pinyin), matched, found[start:start + size], len(found) > start + size, page)


class CandidateSource:
    """The gate's candidate index, rebuilt when the registry replica's version changes (thread-safe).

    ``names`` gives every name the gate holds; ``version`` the registry version (read on each look-up: one small
    SQLite query, so a synced roster shows in the next candidate bar).
    """

    def __init__(self, names: Callable[[], Iterable[str]], version: Callable[[], int]) -> None:
        self._names = names
        self._version = version
        self._index: CandidateIndex | None = None
        self._built_for: int | None = None
        self._lock = threading.Lock()

    def index(self) -> CandidateIndex:
        """The index for the registry as it is now."""
        version = self._version()
        with self._lock:
            if self._index is None or self._built_for != version:
                self._index = CandidateIndex(self._names())
                self._built_for = version
            return self._index


if __name__ == "__main__":
    # The child of _scan_in_child: the scan's result on stdout.
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    sys.stdout.writelines(_scan_lines(scan_pypinyin()))
