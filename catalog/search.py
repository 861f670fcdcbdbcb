"""Catalog search that a citizen can't fool (pure Python, no Flask, no database).

Each item becomes a :class:`SearchEntry` with normalised name and aliases (俗称, colloquial phrases),
their full pinyin and initials, and a segmented description. :class:`SearchIndex` keeps every field
of every entry in one joined "blob" per field, so a substring look-up is a single C-level scan
(``str.find``) instead of a Python loop over items, plus exact-match dictionaries, a bigram index for
character typos and a deletion index for pinyin typos (edit distance 1).

Ranking, best first: exact name > exact alias > name contains > alias contains / query contains
alias > pinyin (full, initials, prefix) > words found in name/aliases > description > typo matches.
The index is built in memory from the published catalog, so SQLite and PostgreSQL give the same
answers.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import rjieba
from pypinyin import Style, lazy_pinyin

_DROP = re.compile(r"[\s\u3000·,，。．.、;；:：!！?？'\"“”‘’()（）\[\]【】<>《》/\\|_\-—~～]+")
_ASCII = re.compile(r"^[a-z0-9]+$")
_HAN = re.compile(r"[\u4e00-\u9fff]")
SEP = "\x00"

# Words that carry no meaning in a query ("我想办个护照" → 护照).
STOPWORDS = frozenset(
    [
        "我",
        "我想",
        "想",
        "要",
        "我要",
        "想要",
        "怎么",
        "怎么办",
        "怎样",
        "如何",
        "办理",
        "办",
        "办个",
        "去",
        "的",
        "了",
        "吗",
        "呢",
        "啊",
        "在哪",
        "哪里",
        "需要",
        "什么",
        "手续",
        "流程",
        "一下",
        "可以",
        "能",
        "能否",
        "请问",
        "申请",
        "给",
    ]
)
# Characters that say nothing about *which* item is meant ("我的驾照到期了怎么办" → 驾照到期).
STOP_CHARS = frozenset("我的了吗呢啊吧呀怎么样办要想去给个在哪里能可以请问该")


# English (issue 23): the words a foreigner types, reduced so that singular and plural, -ing/-ed and
# British and American spellings meet ("visas expiring" ~ "visa expire", "enrolment" ~ "enrollment").
_EN_WORD = re.compile(r"[a-z0-9]+")
EN_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "it",
        "its",
        "is",
        "am",
        "are",
        "was",
        "be",
        "been",
        "to",
        "for",
        "of",
        "in",
        "on",
        "at",
        "by",
        "with",
        "and",
        "or",
        "how",
        "do",
        "does",
        "can",
        "could",
        "what",
        "where",
        "when",
        "which",
        "who",
        "need",
        "want",
        "get",
        "please",
        "help",
        "about",
        "from",
        "into",
        "this",
        "that",
        "there",
        "here",
        "have",
        "has",
        "just",
        "some",
    ]
)
_UK_US = {
    "enrolment": "enrollment",
    "enrol": "enroll",
    "enrolled": "enroll",
    "licence": "license",
    "dependant": "dependent",
    "dependants": "dependents",
    "organisation": "organization",
    "centre": "center",
    "programme": "program",
    "travelling": "traveling",
    "cancelled": "canceled",
    "favour": "favor",
}


def english_stem(word: str) -> str:
    """``permits`` → ``permit``, ``expiring``/``expired``/``expire`` → ``expir``, ``licence`` → ``licens``."""
    word = _UK_US.get(word, word)
    for suffix in ("ies", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def english_words(text: str) -> list[str]:
    """The meaningful English words of ``text``, stemmed (empty for Chinese text)."""
    words_ = _EN_WORD.findall(unicodedata.normalize("NFKC", text or "").lower())
    return [english_stem(w) for w in words_ if w not in EN_STOPWORDS and not w.isdigit()]


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), lower case, no spaces or punctuation."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text or "").lower())


@lru_cache(maxsize=65536)
def pinyin_full(text: str) -> str:
    """``护照`` → ``huzhao`` (non-Chinese characters kept as they are, lower-cased)."""
    return normalise("".join(lazy_pinyin(text, errors="default")))


@lru_cache(maxsize=65536)
def pinyin_initials(text: str) -> str:
    """``居民身份证`` → ``jmsfz``."""
    out = []
    for syllable in lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default"):
        syllable = normalise(syllable)
        if not syllable:
            continue
        # A run of non-Chinese characters comes back whole: keep it whole.
        out.append(syllable)
    return "".join(out)


def words(text: str) -> list[str]:
    """Meaningful words of a query or description (rjieba), without stopwords."""
    out = []
    for token in rjieba.cut(normalise(text)):
        token = token.strip()
        if not token or token in STOPWORDS:
            continue
        if len(token) == 1 and _HAN.match(token):
            continue
        out.append(token)
    return out


def bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} if len(text) > 1 else {text}


@dataclass(frozen=True)
class SearchEntry:
    """What the index knows about one item (or bundle)."""

    key: str
    name: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    name_norm: str = ""
    alias_norms: tuple[str, ...] = ()
    name_py: str = ""
    name_initials: str = ""
    alias_py: tuple[str, ...] = ()
    alias_initials: tuple[str, ...] = ()
    desc_norm: str = ""
    en_words: frozenset[str] = frozenset()


def build_entry(key: str, name: str, aliases: Sequence[str] = (), description: str = "") -> SearchEntry:
    alias_norms = tuple(a for a in (normalise(x) for x in aliases) if a)
    return SearchEntry(
        key=key,
        name=name,
        aliases=tuple(aliases),
        description=description,
        name_norm=normalise(name),
        alias_norms=alias_norms,
        name_py=pinyin_full(name),
        name_initials=pinyin_initials(name),
        alias_py=tuple(pinyin_full(a) for a in alias_norms),
        alias_initials=tuple(pinyin_initials(a) for a in alias_norms),
        desc_norm=normalise(description),
        en_words=frozenset(w for text in (name, *aliases) for w in english_words(text)),
    )


def search_text(entry: SearchEntry) -> str:
    """The precomputed text stored with each version (admin search, SQL LIKE look-ups)."""
    parts = [
        entry.name_norm,
        *entry.alias_norms,
        entry.name_py,
        entry.name_initials,
        *entry.alias_py,
        *entry.alias_initials,
        " ".join(words(entry.description)),
    ]
    return "|".join(p for p in parts if p)


class Hit:
    """One ranked result. ``terms`` — the Chinese strings worth highlighting — are worked out when first
    read (the search page reads them for its 20 results; the items API, which ranks every hit of a
    common word in a large catalog, never does)."""

    __slots__ = ("_given", "_terms", "key", "score")

    def __init__(
        self,
        key: str,
        score: float,
        terms: list[str] | None = None,
        given: Sequence[tuple[Collection[int], str]] = (),
        index: int = -1,
    ) -> None:
        self.key, self.score = key, score
        self._terms = terms
        self._given = (given, index)

    @property
    def terms(self) -> list[str]:
        if self._terms is None:
            given, i = self._given
            terms: list[str] = []
            for ids, term in given:
                if term not in terms and i in ids:
                    terms.append(term)
            self._terms = terms
        return self._terms

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hit):
            return NotImplemented
        return (self.key, self.score, self.terms) == (other.key, other.score, other.terms)

    def __repr__(self) -> str:
        return f"Hit(key={self.key!r}, score={self.score!r}, terms={self.terms!r})"


class _Blob:
    """All values of one field, with a posting set per character and per run of two and three characters.

    ``find_all(needle)`` is a set look-up for a needle of up to three characters and, for a longer one,
    the intersection of its three-character runs' postings (C-level set work) checked with ``in`` — no
    scan over every item per query. ``prefix_all`` bisects the sorted values. Both answer what a scan
    of the values joined with NUL would (``_scan``, kept for the odd needle holding a NUL)."""

    def __init__(self, values: Iterable[tuple[int, str]]) -> None:
        chunks: list[str] = []
        self.starts: list[int] = []
        self.owners: list[int] = []
        by_owner: dict[int, list[str]] = defaultdict(list)
        grams: dict[str, set[int]] = defaultdict(set)
        pos = 0
        for owner, value in values:
            self.starts.append(pos)
            self.owners.append(owner)
            chunks.append(value + SEP)
            pos += len(value) + 1
            by_owner[owner].append(value)
            for ch in value:
                grams[ch].add(owner)
            for k in range(len(value) - 1):
                grams[value[k : k + 2]].add(owner)
                grams[value[k : k + 3]].add(owner)
        self.text = "".join(chunks)
        #: each owner's values joined with NUL (a needle without NUL cannot match across two of them)
        self.owner_text = {owner: SEP.join(vals) for owner, vals in by_owner.items()}
        self.grams: dict[str, frozenset[int]] = {g: frozenset(ids) for g, ids in grams.items()}
        self.sorted_values = sorted((v, o) for o, vals in by_owner.items() for v in vals)

    def find_all(self, needle: str) -> set[int]:
        """The owners of the values containing ``needle`` (a new set the caller may keep)."""
        if not needle:
            return set()
        if SEP in needle:
            return self._scan(needle)
        if len(needle) <= 3:
            return set(self.grams.get(needle, ()))
        postings = []
        for k in range(len(needle) - 2):
            ids = self.grams.get(needle[k : k + 3])
            if not ids:
                return set()
            postings.append(ids)
        postings.sort(key=len)
        candidates = postings[0].intersection(*postings[1:])
        texts = self.owner_text
        return {i for i in candidates if needle in texts[i]}

    def prefix_all(self, needle: str) -> set[int]:
        """The owners of the values starting with ``needle``."""
        if not needle or SEP in needle:
            return self._scan(SEP + needle) | ({self.owners[0]} if self.text.startswith(needle) else set())
        values = self.sorted_values
        found: set[int] = set()
        k = bisect_left(values, (needle,))
        while k < len(values) and values[k][0].startswith(needle):
            found.add(values[k][1])
            k += 1
        return found

    def _scan(self, needle: str) -> set[int]:
        found: set[int] = set()
        text, find, starts, owners = self.text, self.text.find, self.starts, self.owners
        i = find(needle)
        while i != -1:
            slot = bisect_right(starts, i) - 1
            found.add(owners[slot])
            # jump to the next value: one hit per value is enough
            nxt = starts[slot + 1] if slot + 1 < len(starts) else len(text)
            i = find(needle, nxt)
        return found


class SearchIndex:
    """An immutable index over entries; ``search(query)`` returns ranked :class:`Hit` objects."""

    def __init__(self, entries: Sequence[SearchEntry]) -> None:
        self.entries = list(entries)
        e = self.entries
        self._exact_name: dict[str, list[int]] = defaultdict(list)
        self._exact_alias: dict[str, list[int]] = defaultdict(list)
        self._exact_py: dict[str, list[int]] = defaultdict(list)
        self._exact_initials: dict[str, list[int]] = defaultdict(list)
        self._bigrams: dict[str, set[int]] = defaultdict(set)
        self._en_words: dict[str, set[int]] = defaultdict(set)
        self._py_deletions: dict[str, set[int]] = defaultdict(set)
        for i, entry in enumerate(e):
            self._exact_name[entry.name_norm].append(i)
            for a in entry.alias_norms:
                self._exact_alias[a].append(i)
            for py in (entry.name_py, *entry.alias_py):
                self._exact_py[py].append(i)
                for d in _deletions(py):
                    self._py_deletions[d].add(i)
            for ini in (entry.name_initials, *entry.alias_initials):
                self._exact_initials[ini].append(i)
            for w in entry.en_words:
                self._en_words[w].add(i)
            for text in (entry.name_norm, *entry.alias_norms):
                for bg in bigrams(text):
                    self._bigrams[bg].add(i)
        self._names = _Blob((i, x.name_norm) for i, x in enumerate(e))
        self._aliases = _Blob((i, a) for i, x in enumerate(e) for a in x.alias_norms)
        self._py = _Blob((i, p) for i, x in enumerate(e) for p in (x.name_py, *x.alias_py))
        self._initials = _Blob((i, p) for i, x in enumerate(e) for p in (x.name_initials, *x.alias_initials))
        self._desc = _Blob((i, x.desc_norm) for i, x in enumerate(e))
        self._all_aliases = sorted(
            {a for x in e for a in x.alias_norms if len(a) >= 2}, key=len, reverse=True
        )
        # The characters of each entry's name and aliases, and of all of them together: a query's
        # characters outside an item's set (the 丢 of "驾驶证丢了") speak for another item.
        self._chars = [frozenset(x.name_norm).union(*x.alias_norms) for x in e]
        self._vocab = frozenset().union(*self._chars) - STOP_CHARS
        self._alias_set = frozenset(self._all_aliases)
        owners_of: dict[str, set[int]] = defaultdict(set)
        for i, chars in enumerate(self._chars):
            for ch in chars:
                owners_of[ch].add(i)
        self._char_owners = {ch: frozenset(ids) for ch, ids in owners_of.items()}
        self._char_owners_np = {ch: np.fromiter(ids, dtype=np.intp) for ch, ids in owners_of.items()}
        # each entry's place among equal scores: shorter name first, then key
        self._tiebreak = [0] * len(e)
        for rank, i in enumerate(sorted(range(len(e)), key=lambda i: (len(e[i].name), e[i].key))):
            self._tiebreak[i] = rank
        self._tiebreak_np = np.asarray(self._tiebreak, dtype=np.intp)

    # ------------------------------------------------------------------------------------------
    def search(self, query: str, limit: int | None = None) -> list[Hit]:
        scores, given = self._score(query, limit)
        # best score first, then shorter name, then key: two sorts on precomputed keys (the second is
        # stable, so equal scores keep the name/key order of the first)
        ranked = sorted(scores, key=self._tiebreak.__getitem__)
        ranked.sort(key=scores.__getitem__, reverse=True)
        if limit is not None:
            ranked = ranked[:limit]
        entries = self.entries
        return [Hit(entries[i].key, scores[i], None, given, i) for i in ranked]

    def scores(self, query: str) -> dict[int, float]:
        """Every matching entry's score by its position in ``entries`` — what ``search(query)`` ranks,
        without a :class:`Hit` per match (order them with :meth:`best`)."""
        return self._score(query, None)[0]

    def best(self, ids: np.ndarray, scores: np.ndarray, count: int | None = None) -> list[int]:
        """The entries ``ids`` (with their ``scores``) in ``search``'s order, only the first ``count``:
        the ``count``-th best score found by a partition, then only the entries at or above it sorted."""
        if count is not None and count < len(ids):
            if count <= 0:
                return []
            cut = np.partition(scores, len(scores) - count)[len(scores) - count]
            keep = scores >= cut
            ids, scores = ids[keep], scores[keep]
        order = np.lexsort((self._tiebreak_np[ids], -scores))
        return ids[order[:count] if count is not None else order].tolist()

    def _score(self, query: str, limit: int | None) -> tuple[dict[int, float], list]:
        q = normalise(query)
        scores: dict[int, float] = {}
        given: list[tuple[Collection[int], str]] = []
        if not q:
            return scores, given
        # given: (ids, term) in the order they were given: the terms to highlight are worked out only for
        # the hits returned, not for each of the thousands an everyday word matches in a large catalog

        def give(ids: Collection[int], score: float, term: str | None = None) -> None:
            if score > 0:
                get = scores.get
                for i in ids:
                    if score > get(i, 0):
                        scores[i] = score
            if term:
                given.append((ids, term))

        give(self._exact_name.get(q, ()), 1000, q)
        give(self._exact_alias.get(q, ()), 900, q)
        give(self._names.find_all(q), 800, q)
        give(self._aliases.find_all(q), 700, q)
        if _ASCII.match(q):
            self._search_pinyin(q, give)
        else:
            # the query contains a whole alias: "我的驾照到期了" ⊃ "驾照到期" — unless the rest of the
            # query names something the item lacks ("驾驶证丢了" is not 期满换证 for its 驾驶证 alias).
            # The query's substrings are looked up among the aliases, longest first (not every alias
            # tried against the query).
            if len(q) <= 40:
                seen: set[str] = set()
                for size in range(len(q) - 1, 1, -1):
                    for k in range(len(q) - size + 1):
                        alias = q[k : k + size]
                        if alias in seen or alias not in self._alias_set:
                            continue
                        seen.add(alias)
                        rest = set(q.replace(alias, "")) & self._vocab
                        owners = [i for i in self._exact_alias.get(alias, ()) if rest <= self._chars[i]]
                        give(owners, 600 + len(alias), alias)
            q_py = pinyin_full(q)
            if len(q_py) >= 4:  # homophone typos: 户籍证名 → hujizhengming
                give(self._exact_py.get(q_py, ()), 500)
                give(self._py.find_all(q_py), 450)
            self._search_words(q, give, scores, limit, english=bool(english_words(query)))
        self._search_english(query, scores)
        if not scores:
            self._search_typos(q, give)
        return scores, given

    def _search_english(self, query: str, scores: dict[int, float]) -> None:
        """English words in any order ("residence permit for international students"): an item whose
        English names hold more of the query's words ranks higher; one holding at least half of them
        is found even when no alias contains the whole phrase."""
        terms = set(english_words(query))
        if not terms:
            return
        matched: Counter[int] = Counter()
        for t in terms:
            for i in self._en_words.get(t, ()):
                matched[i] += 1
        for i, c in matched.items():
            cover = c / len(terms)
            if i in scores:
                scores[i] += 50 * cover
            elif cover >= 0.5:
                # below catalog.ask.engine.PLAIN_ENOUGH even at full cover: words in any order are not a
                # name, so the items API lets the 智能咨询 engine rank a sentence like "I lost my passport"
                scores[i] = 300 + 190 * cover

    def _search_pinyin(self, q: str, give) -> None:
        give(self._exact_py.get(q, ()), 600)
        give(self._exact_initials.get(q, ()), 590)
        give(self._py.prefix_all(q), 560)
        if len(q) >= 2:
            give(self._initials.prefix_all(q), 550)
            give(self._initials.find_all(q), 500)
        if len(q) >= 3:
            give(self._py.find_all(q), 520)

    def _search_words(self, q: str, give, scores: dict[int, float], limit: int | None, english: bool) -> None:
        # A one-word query (指纹) is looked up in descriptions too; its name and alias hits already
        # scored higher above, and ``give`` keeps the best score. Description hits (≤ 150, ≤ 200 with
        # the English bonus) rank below every other match (≥ 300), so they are skipped when the
        # caller's ``limit`` is already filled before the words — and not scored when it is filled by
        # the name and alias hits (unless English words may lift a description hit).
        skip_descriptions = limit is not None and len(scores) >= limit
        tokens = words(q)
        if not tokens:
            return
        # counted in numpy over every entry (thousands match an everyday word in a large catalog):
        # the same float operations as the per-hit rules, each entry keeping its best score
        size = len(self.entries)
        hits = np.zeros(size, dtype=np.intp)
        for t in tokens:
            in_names = self._names.find_all(t) | self._aliases.find_all(t)
            if in_names:
                hits[np.fromiter(in_names, dtype=np.intp, count=len(in_names))] += 1
            give(in_names, 0, t)
            if not skip_descriptions:
                # the term is highlighted for any hit whose description holds it, scored or not
                give(self._desc.find_all(t) if SEP in t else _Holds(self._desc.owner_text, t), 0, t)
        n = len(tokens)
        # Among items matching the same words, prefer the one whose name and aliases hold more of
        # the query's characters (驾驶证 + 丢 → 补领, whose alias is 驾照丢了): len(wanted &
        # self._chars[i]) for each hit, counted per wanted character.
        wanted = set(q) & self._vocab
        ids = np.flatnonzero(hits)
        if len(ids):
            c = hits[ids]
            if wanted:
                held = np.zeros(size, dtype=np.intp)
                for ch in wanted:
                    held[self._char_owners_np[ch]] += 1
                new = 300 + 100 * c / n + 40 * (held[ids] / len(wanted))
            else:
                new = 300 + 100 * c / n + 0
            _keep_best(scores, ids, new, size)
        if skip_descriptions or (limit is not None and len(scores) >= limit and not english):
            return
        desc_hits = np.zeros(size, dtype=np.intp)
        for t in tokens:
            found = self._desc.find_all(t)
            if found:
                desc_hits[np.fromiter(found, dtype=np.intp, count=len(found))] += 1
        ids = np.flatnonzero(desc_hits)
        if len(ids):
            _keep_best(scores, ids, 100 + 50 * desc_hits[ids] / n, size)

    def _search_typos(self, q: str, give) -> None:
        if _ASCII.match(q):
            if len(q) >= 4:
                ids: set[int] = set(self._py_deletions.get(q, set()))
                for d in _deletions(q):
                    ids |= self._py_deletions.get(d, set())
                    ids.update(self._exact_py.get(d, ()))
                give(ids, 80)
            return
        qb = bigrams(q)
        counts: Counter[int] = Counter()
        for bg in qb:
            for i in self._bigrams.get(bg, ()):
                counts[i] += 1
        for i in counts:
            entry = self.entries[i]
            best = max(
                (
                    2 * len(qb & bigrams(t)) / (len(qb) + len(bigrams(t)))
                    for t in (entry.name_norm, *entry.alias_norms)
                ),
                default=0,
            )
            if best >= 0.5:
                give([i], 60 * best)


def _keep_best(scores: dict[int, float], ids: np.ndarray, new: np.ndarray, size: int) -> None:
    """``scores[i] = max(scores.get(i, 0), new)`` for each of ``ids`` (a score of 0 is never kept)."""
    current = np.zeros(size)
    if scores:
        current[np.fromiter(scores.keys(), dtype=np.intp, count=len(scores))] = np.fromiter(
            scores.values(), dtype=float, count=len(scores)
        )
    better = new > current[ids]
    scores.update(zip(ids[better].tolist(), new[better].tolist(), strict=True))


class _Holds:
    """``i in _Holds(texts, needle)``: whether ``texts[i]`` contains ``needle`` (asked only of the hits
    returned, instead of building the set of every description holding a common word)."""

    __slots__ = ("needle", "texts")

    def __init__(self, texts: dict[int, str], needle: str) -> None:
        self.texts, self.needle = texts, needle

    def __contains__(self, i: object) -> bool:
        return self.needle in self.texts.get(i, "")  # type: ignore[call-overload]


def _deletions(word: str) -> set[str]:
    if len(word) > 24:
        return set()
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def highlight_spans(text: str, terms: Sequence[str]) -> list[tuple[str, bool]]:
    """Split ``text`` into (piece, highlighted) pairs for the given terms (for templates)."""
    terms = sorted({t for t in terms if t and t in text}, key=len, reverse=True)
    if not terms:
        return [(text, False)]
    pattern = re.compile("|".join(re.escape(t) for t in terms))
    out: list[tuple[str, bool]] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append((text[pos : m.start()], False))
        out.append((m.group(0), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out
