"""智能咨询: a question in plain words → the item(s) meant, the situation answers it implies, and at
most one clarifying question (pure Python over the catalog snapshot; no Flask, no database).

Retrieval is BM25 (bm25s, sparse matrices) over one token list per published item built from the
catalog only — name and aliases (weighted), FAQ questions, description, situation questions and
option labels, result name. A token list holds rjieba words, the Han bigrams (a missing or extra
character still shares most bigrams) and the toneless pinyin of each bigram (a homophone typo —
护昭 for 护照 — has the same pinyin). A question is first widened with the lexicon's near-synonyms
(data/lexicon.yaml: 驾照 → 驾驶证, 丢了 → 遗失/补领, English words → the catalog's Chinese), and
windows of three or more characters one edit away from a catalog word (looked up in an index of the
words with one character left out or replaced, built with the engine) add that word: 港奥通行证 →
港澳通行证, 户籍证名 → 户籍证明. The catalog's own search (:mod:`catalog.search`: whole aliases inside
the question, pinyin, initials) adds a bonus, so a question holding an alias exactly is never
outranked by loose word overlap.

Situations are inferred per question from each item's own option labels: an option is chosen when
the question names a concept of the lexicon whose label markers the option's label holds (女儿 →
"未满十六周岁"), or holds a meaningful word of the label itself, and no other option of that question
matches as well. Everything not inferred keeps the guide's default (its first option).

The clarifying question, when one is needed, is ONE of: "which of these two items?" (the top two
score close together), or the item's first situation question that is still open and changes the
documents or the fee (questions whose first option is the applicant in person are left to the form).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import rjieba
import yaml
from pypinyin import lazy_pinyin

from catalog.search import STOPWORDS, SearchIndex, normalise

LEXICON_PATH = Path(__file__).with_name("data") / "lexicon.yaml"
MAX_QUESTION = 200  # characters; longer is refused (400)
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_EN_WORD = re.compile(r"[a-z][a-z']+")
_WILD = "\x00"  # stands for any one character in the typo index (never in a normalised word)
# Label words that say nothing about which option is meant.
_GENERIC = frozenset(
    [
        "本人",
        "办理",
        "申请",
        "代办",
        "亲友",
        "委托",
        "是否",
        "还是",
        "或者",
        "以及",
        "情况",
        "证明",
        "登记",
        "相关",
        "其他",
        "需要",
        "已经",
        "一次",
        "有效",
    ]
)
# Bigrams of the question words that mean "how do I": they match every item's FAQ alike.
_FILLER_BIGRAMS = frozenset(
    [
        "怎么",
        "么办",
        "怎样",
        "如何",
        "可以",
        "能不",
        "不能",
        "能在",
        "哪里",
        "在哪",
        "需要",
        "什么",
        "要什",
        "么材",
        "材料",
        "办理",
        "理吗",
        "以吗",
        "请问",
        "一下",
        "我的",
        "我想",
        "想办",
        "了怎",
        "了还",
        "还没",
        "没有",
        "这边",
        "那边",
        "办吗",
        "去哪",
        "哪办",
        "里办",
        "要带",
        "带什",
    ]
)


# --------------------------------------------------------------------------------------------------
# The lexicon


@dataclass(frozen=True)
class Concept:
    name: str
    says: tuple[str, ...]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    expand_zh: dict[str, tuple[str, ...]]
    expand_en: dict[str, tuple[str, ...]]
    concepts: tuple[Concept, ...]


@lru_cache(maxsize=4)
def load_lexicon(path: str = str(LEXICON_PATH)) -> Lexicon:
    """The synonym and concept tables (read once per process)."""
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    zh: dict[str, tuple[str, ...]] = {}
    en: dict[str, tuple[str, ...]] = {}
    for key, values in (raw.get("expand") or {}).items():
        key = str(key)
        target = tuple(str(v) for v in values or ())
        if re.fullmatch(r"[a-z' ]+", key):
            en[key] = target
        else:
            zh[normalise(key)] = target
    concepts = tuple(
        Concept(
            str(c["name"]),
            tuple(str(s).lower() for s in c.get("says") or ()),
            tuple(str(s) for s in c.get("labels") or ()),
        )
        for c in raw.get("concepts") or ()
    )
    return Lexicon(zh, en, concepts)


# --------------------------------------------------------------------------------------------------
# Tokens


@lru_cache(maxsize=8192)
def _bigram_pinyin(bigram: str) -> str:
    return "~" + "".join(lazy_pinyin(bigram))


def tokens(text: str) -> list[str]:
    """rjieba words (no stopwords), Han bigrams and their pinyin, ASCII words."""
    t = normalise(text)
    out: list[str] = []
    for w in rjieba.cut(t):
        if not w or w in STOPWORDS:
            continue
        if len(w) >= 2:
            out.append(w)
    for run in _HAN_RUN.findall(t):
        for i in range(len(run) - 1):
            bg = run[i : i + 2]
            if bg in _FILLER_BIGRAMS:
                continue
            out.append(bg)
            out.append(_bigram_pinyin(bg))
    return out


def english_words(question: str) -> str:
    """The question's ASCII letters lower-cased with single spaces ("My Passport" → "my passport")."""
    return " ".join(_EN_WORD.findall(unicodedata.normalize("NFKC", question).lower()))


def expansions(question: str, lexicon: Lexicon) -> list[tuple[str, ...]]:
    """For each lexicon key the question holds, the catalog words it stands for."""
    q = normalise(question)
    out = [values for key, values in lexicon.expand_zh.items() if key in q]
    en = f" {english_words(question)} "
    if en.strip():
        out += [values for key, values in lexicon.expand_en.items() if f" {key} " in en]
    return out


def expand(question: str, lexicon: Lexicon) -> list[str]:
    """The catalog's words the question implies (near-synonyms, English), without duplicates."""
    return list(dict.fromkeys(w for values in expansions(question, lexicon) for w in values))


# --------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str
    score: float  # 0..1, the share of the best possible evidence
    situations: dict[str, str] = field(default_factory=dict)  # inferred answers only


@dataclass
class Answer:
    """What :meth:`AskEngine.ask` found for one question."""

    question: str
    candidates: list[Candidate]
    confident: bool
    clarify: dict[str, Any] | None = None
    #: the best-scoring item even below the threshold (for the admins' "closest item"), or None
    guess: tuple[str, float] | None = None

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True)
class _Doc:
    code: str
    name: str
    item: Any  # ItemView


class AskEngine:
    """Built once per catalog snapshot (see :func:`engine_for`); :meth:`ask` is thread-safe."""

    # below this combined score the best candidate is not an answer (logged as unanswered)
    MIN_SCORE = 0.5
    # below this a found answer is logged as low-confidence for the guide-fixes list
    SURE = 0.65
    # the second candidate this close to the first makes the question ambiguous between the two
    CLOSE = 0.85
    EXPANSION_WEIGHT = 0.5

    def __init__(self, items: Sequence[Any], index: SearchIndex, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or load_lexicon()
        self.index = index
        self.docs = [_Doc(i.code, i.name, i) for i in items]
        self._pos = {d.code: n for n, d in enumerate(self.docs)}
        corpus = [self._doc_tokens(d.item) for d in self.docs]
        self.bm25 = bm25s.BM25(k1=0.8, b=0.5)
        self._empty = not corpus
        if corpus:
            self.bm25.index(corpus, show_progress=False)
        self.vocab = {t for toks in corpus for t in toks}
        # catalog words (names, aliases) of 3+ characters, for one-edit typo repair
        words: set[str] = set()
        for d in self.docs:
            for text in (d.item.name, *d.item.aliases):
                n = normalise(text)
                if 3 <= len(n) <= 10 and _HAN.search(n):
                    words.add(n)
                for w in rjieba.cut(n):
                    if 3 <= len(w) <= 10:
                        words.add(w)
        self._typo_set = frozenset(words)
        # one-edit neighbours by look-up instead of a scan of every word per window: each word with
        # one character left out (a window missing that character finds it), and with one character
        # replaced by a placeholder (a window with that character wrong finds it)
        shorter: dict[str, set[str]] = {}
        wild: dict[str, set[str]] = {}
        for w in words:
            for i in range(len(w)):
                shorter.setdefault(w[:i] + w[i + 1 :], set()).add(w)
                wild.setdefault(w[:i] + _WILD + w[i + 1 :], set()).add(w)
        self._typo_shorter = {k: frozenset(v) for k, v in shorter.items()}
        self._typo_wild = {k: frozenset(v) for k, v in wild.items()}
        self._name_words = [sorted(_bigrams(normalise(d.item.name))) for d in self.docs]
        # the same, flat for numpy: (document, bigram id) pairs and each document's bigram count, so
        # rank() counts the name words a question says for every document in one bincount
        self._name_bigram_ids: dict[str, int] = {}
        pair_doc, pair_bigram = [], []
        for n, words_ in enumerate(self._name_words):
            for w in words_:
                pair_doc.append(n)
                pair_bigram.append(self._name_bigram_ids.setdefault(w, len(self._name_bigram_ids)))
        self._pair_doc = np.asarray(pair_doc, dtype=np.intp)
        self._pair_bigram = np.asarray(pair_bigram, dtype=np.intp)
        self._name_len = np.asarray([len(w) for w in self._name_words], dtype=float)
        self._has_name = self._name_len > 0
        self._aliases = [
            tuple(a for a in (normalise(x) for x in (d.item.name, *d.item.aliases)) if len(a) >= 3)
            for d in self.docs
        ]
        # the (document, alias) pairs flat, each alias's distinct characters counted, and the pairs
        # holding each character: rank() counts in one bincount which aliases have every character in
        # the question — the only ones the order-aware check can accept
        self._alias_pairs = [(n, a) for n, aliases in enumerate(self._aliases) for a in aliases]
        self._alias_nchars = np.asarray([len(set(a)) for _n, a in self._alias_pairs], dtype=np.intp)
        char_pairs: dict[str, list[int]] = {}
        for k, (_n, a) in enumerate(self._alias_pairs):
            for ch in set(a):
                char_pairs.setdefault(ch, []).append(k)
        self._char_pairs = {ch: np.asarray(ids, dtype=np.intp) for ch, ids in char_pairs.items()}
        # the catalog search's entries by document (-1: a bundle or an unknown item) and back
        self._entry_doc = np.asarray([self._pos.get(e.key, -1) for e in index.entries], dtype=np.intp)
        self.entry_of = {e.key: i for i, e in enumerate(index.entries) if e.key in self._pos}

    # ---------------------------------------------------------------------------------------------
    @staticmethod
    def _doc_tokens(item: Any) -> list[str]:
        parts: list[str] = []
        parts += [item.name] * 3
        for a in item.aliases:
            parts += [a] * 2
        parts += [f.get("q", "") for f in item.faq]
        parts.append(item.description)
        parts.append(item.result_name)
        for s in item.situations:
            parts.append(s.question)
            parts += [o.label for o in s.options]
        out: list[str] = []
        for p in parts:
            out += tokens(p)
        return out

    def repairs(self, question: str) -> list[str]:
        """Catalog words one edit away from a window of the question: a wrong character that sounds
        the same (港奥通行证 → 港澳通行证, 户籍证名 → 户籍证明; any wrong character in a window of five
        or more), or one missing character (港澳通证 → 港澳通行证, 驾证 → 驾驶证). Words are three
        characters or more, so a two-character homophone (护昭 for 护照) is found by its bigram's pinyin
        instead. A window that is a catalog word itself is left alone."""
        q = normalise(question)
        found: list[str] = []
        if not self._typo_set:
            return found
        seen: set[str] = set()
        for run in _HAN_RUN.findall(q):
            for size in range(2, min(len(run), 9) + 1):
                for i in range(len(run) - size + 1):
                    window = run[i : i + size]
                    if window in seen or window in self._typo_set or window in self.vocab:
                        continue
                    seen.add(window)
                    for word in self._one_edit(window):
                        if word in q or word in found:
                            continue
                        before = run[i - 1] if i > 0 else ""
                        after = run[i + size] if i + size < len(run) else ""
                        if _one_typo(window, word, before, after):
                            found.append(word)
        return found

    def _one_edit(self, window: str) -> list[str]:
        """The catalog words at Levenshtein distance one from ``window`` (not a catalog word itself),
        in word order, at most five: a word one character longer, one with a character replaced, one
        character shorter — O(len(window)) dictionary look-ups. The five are the ones rapidfuzz's
        ``process.extract(limit=5)`` over the sorted words chose before, so the repairs are the same;
        :func:`_one_typo` then decides which of them is a typo."""
        near = set(self._typo_shorter.get(window, ()))
        wild, words = self._typo_wild, self._typo_set
        for i in range(len(window)):
            near.update(wild.get(window[:i] + _WILD + window[i + 1 :], ()))
            cut = window[:i] + window[i + 1 :]
            if cut in words:
                near.add(cut)
        return sorted(near)[:5] if len(near) > 5 else sorted(near)

    def _bm25(self, toks: list[str]) -> np.ndarray:
        toks = [t for t in toks if t in self.vocab]
        if self._empty or not toks:
            return np.zeros(len(self.docs))
        return np.asarray(self.bm25.get_scores(toks), dtype=float)

    def _scores(
        self, question: str, scores: Mapping[int, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray, str, str]:
        """BM25 of the question's own words (and their typo repairs) plus half the BM25 of the
        near-synonyms it implies (they widen the question, they must not outweigh it); the catalog
        search's best score per document (0: not found). ``scores``: the catalog search's
        ``SearchIndex.scores`` of the question when the caller has them already."""
        extra = expand(question, self.lexicon)
        fixes = self.repairs(question)
        own = tokens(question)
        for w in fixes:
            own += tokens(w)
        # each word of the question that the lexicon knows counts once, by its best catalog word:
        # "expiring" (到期, 期满, 换领, 换发) must not outweigh "passport" (护照)
        wide = np.zeros(len(self.docs))
        for values in expansions(question, self.lexicon):
            wide += np.max([self._bm25(tokens(v)) for v in values], axis=0)
        weight = self.EXPANSION_WEIGHT if _HAN.search(question) else 1.0
        bm = self._bm25(own) + weight * wide
        plain = np.zeros(len(self.docs))
        texts = [question, *fixes]
        if not _HAN.search(question):  # English: the catalog words it implies are all there is
            texts += extra
        for text in texts:
            given = scores is not None and text is question and len(question) <= 60
            found = scores if given else self.index.scores(text[:60])
            if not found:
                continue
            ids = self._entry_doc[np.fromiter(found.keys(), dtype=np.intp, count=len(found))]
            values = np.fromiter(found.values(), dtype=float, count=len(found))
            ours = ids >= 0
            np.maximum.at(plain, ids[ours], values[ours])
        return bm, plain, normalise(question) + "|" + "|".join(fixes), "|".join(extra)

    def rank(
        self, question: str, limit: int = 5, scores: Mapping[int, float] | None = None
    ) -> list[tuple[str, float]]:
        """(code, score 0..1) best first: BM25 share of the best document, plus a bonus for what the
        catalog search found (a whole alias in the question counts most). ``scores``: the catalog
        search's ``SearchIndex.scores(question)`` when the caller has them already (searched once)."""
        bm, plain, said, implied = self._scores(question, scores)
        top = float(bm.max()) if len(bm) else 0.0
        if top <= 0 or limit <= 0:
            return []
        # absolute evidence matters too: one shared bigram is no answer however it ranks
        factor = min(1.0, top / 6.0)
        # only the documents with some BM25 evidence can score (s is 0 for the rest). The sums are
        # done for all of them at once in numpy, term by term in the order (and so with the same
        # floating-point results) of the per-document rules they stand for:
        evidence = np.flatnonzero(bm > 0)
        s = bm[evidence] / top * factor
        # what the catalog search found: a name or alias most, a word or pinyin less
        p = plain[evidence]
        s = s + np.where(p >= 600, 0.45, np.where(p >= 300, 0.2, np.where(p > 0, 0.05, 0.0)))
        # the words of the item's name the question says (or implies, at half weight)
        weight = np.zeros(len(self._name_bigram_ids) + 1)
        for text, w in ((implied, 0.5), (said, 1.0)):
            for bg in _bigrams(text):
                k = self._name_bigram_ids.get(bg)
                if k is not None:
                    weight[k] = w
        said_n = np.bincount(self._pair_doc, weights=weight[self._pair_bigram], minlength=len(self.docs))
        named = np.where(self._has_name, 0.35 * said_n / np.maximum(self._name_len, 1.0), 0.0)
        s = s + named[evidence]
        # a whole alias with other words in between (护照明年到期 holds 护照…到期): looked for only in
        # the aliases of documents with evidence whose every character the question has
        spread = np.zeros(len(self.docs))
        held = [ids for ch in set(said) if (ids := self._char_pairs.get(ch)) is not None]
        if held:
            counts = np.bincount(np.concatenate(held), minlength=len(self._alias_pairs))
            has_evidence = bm > 0
            pairs = self._alias_pairs
            for k in np.flatnonzero(counts == self._alias_nchars).tolist():
                n, alias = pairs[k]
                if has_evidence[n] and not spread[n] and _spread_in(alias, said):
                    spread[n] = 0.3
        s = s + spread[evidence]
        scores = np.minimum(s / 2.1, 1.0)
        if len(scores) > limit:  # the best `limit` and whatever ties with the last of them
            keep = scores >= np.partition(scores, len(scores) - limit)[len(scores) - limit]
            evidence, scores = evidence[keep], scores[keep]
        docs = self.docs
        ranked = sorted(
            zip([docs[n].code for n in evidence.tolist()], scores.tolist(), strict=True),
            key=lambda kv: (-kv[1], kv[0]),
        )
        return ranked[:limit]

    # ---------------------------------------------------------------------------------------------
    def infer(self, item: Any, question: str) -> dict[str, str]:
        """The situation answers ``question`` implies for ``item`` (only those it implies)."""
        q = normalise(question)
        q_en = f" {english_words(question)} "
        said = {
            c.name
            for c in self.lexicon.concepts
            if any((s in q) if _HAN.search(s) or s.isdigit() else (f" {s} " in q_en) for s in c.says)
        }
        concepts = {c.name: c for c in self.lexicon.concepts}
        own = _bigrams(normalise(item.name))  # 护照 in 护照损毁 names the item, not the situation
        out: dict[str, str] = {}
        for s in item.situations:
            marks: dict[str, int] = {}
            for o in s.options:
                label = normalise(o.label)
                score = 0
                for name in said:
                    c = concepts[name]
                    if any(m in label for m in c.labels) or o.value == name:
                        score += 2
                for w in rjieba.cut(label):
                    if len(w) >= 2 and w not in _GENERIC and w in q and not _bigrams(w) & own:
                        score += 1
                marks[o.value] = score
            best = max(marks.values(), default=0)
            winners = [v for v, m in marks.items() if m == best]
            if best > 0 and len(winners) == 1:
                out[s.key] = winners[0]
        return out

    @staticmethod
    def matters(item: Any, key: str) -> bool:
        """True when the answer to situation ``key`` changes the documents, form fields or fee."""
        sit = next((s for s in item.situations if s.key == key), None)
        if sit is None:
            return False
        if any(o.fee is not None for o in sit.options):
            return True
        return any(key in d.condition for d in item.documents) or any(key in f.condition for f in item.fields)

    def clarifying_situation(self, item: Any, answers: Mapping[str, str]) -> Any | None:
        """The first open situation question worth asking (see the module docstring)."""
        for s in item.situations:
            if s.key in answers or not self.matters(item, s.key):
                continue
            if "本人" in s.options[0].label:  # in person is the usual case: the form asks the rest
                continue
            return s
        return None

    def ask(
        self,
        question: str,
        *,
        item_code: str | None = None,
        answers: Mapping[str, str] | None = None,
        limit: int = 3,
    ) -> Answer:
        """Answer ``question``; ``item_code`` (a choice the citizen made between two items) and
        ``answers`` (situation answers given to a clarifying question) override what is inferred."""
        ranked = self.rank(question, limit=max(limit, 5))
        if item_code and item_code in self._pos:
            ranked = [(item_code, 1.0)] + [(c, s) for c, s in ranked if c != item_code]
        guess = ranked[0] if ranked else None
        # what has too little evidence is no candidate at all (a chosen item always is)
        ranked = [(c, s) for c, s in ranked if s >= self.MIN_SCORE or c == item_code]
        candidates = []
        for code, score in ranked[:limit]:
            item = self.docs[self._pos[code]].item
            candidates.append(Candidate(code, item.name, round(score, 3), self.infer(item, question)))
        confident = bool(candidates)
        clarify = None
        if confident and not item_code and len(candidates) > 1:
            close = [c for c in candidates if c.score >= self.CLOSE * candidates[0].score]
            if len(close) > 1:
                clarify = {
                    "kind": "item",
                    "question": "您想办理的是以下哪一项？",
                    "options": [{"value": c.code, "label": c.name} for c in close],
                }
        if confident and clarify is None:
            item = self.docs[self._pos[candidates[0].code]].item
            given = {**candidates[0].situations, **{k: v for k, v in (answers or {}).items() if v}}
            sit = self.clarifying_situation(item, given)
            if sit is not None:
                clarify = {
                    "kind": "situation",
                    "item": item.code,
                    "key": sit.key,
                    "question": sit.question,
                    "options": [{"value": o.value, "label": o.label} for o in sit.options],
                }
        return Answer(question, candidates, confident, clarify, guess)


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _spread_in(alias: str, question: str) -> bool:
    """Every character of ``alias`` in ``question``, in order, spread over at most twice its length
    plus four characters."""
    start = question.find(alias[0])
    while start != -1:
        pos = start
        for ch in alias[1:]:
            pos = question.find(ch, pos + 1)
            if pos == -1 or pos - start >= 2 * len(alias) + 4:
                break
        else:
            return True
        start = question.find(alias[0], start + 1)
    return False


@lru_cache(maxsize=8192)
def _sound(ch: str) -> str:
    return lazy_pinyin(ch)[0]


def _one_typo(window: str, word: str, before: str = "", after: str = "") -> bool:
    """``window`` is ``word`` with one character missing (the window three or more characters, or
    two that start the word), or with one wrong character that sounds the same (any wrong
    character inside a window of five or longer). A character "missing" at the window's edge while
    the question has a character right there is a wrong character, not a missing one (照过期 in
    护照过期 is no 驾照过期): the longer window decides that case."""
    if len(word) == len(window) + 1:
        if len(window) < 2 or (len(window) == 2 and word[0] != window[0]):
            return False
        for i in range(len(word)):
            if word[:i] + word[i + 1 :] != window:
                continue
            if (i == 0 and before) or (i == len(word) - 1 and after):
                continue
            return True
        return False
    if len(word) == len(window) and len(window) >= 3:
        diff = [i for i in range(len(word)) if word[i] != window[i]]
        if len(diff) != 1:
            return False
        if _sound(word[diff[0]]) == _sound(window[diff[0]]):
            return True
        # any other wrong character only inside a long window: at its edge the window is more
        # likely a whole word plus its neighbour (想办身份证 is 办身份证, not 补办身份证)
        return len(window) >= 5 and 0 < diff[0] < len(window) - 1
    return False


_LOCK = threading.Lock()


def engine_for(snap: Any) -> AskEngine:
    """The engine of a catalog snapshot, built on first use and kept with the snapshot (a new
    catalog revision brings a new snapshot, hence a new engine)."""
    engine = snap.__dict__.get("_ask_engine")
    if engine is None:
        with _LOCK:
            engine = snap.__dict__.get("_ask_engine")
            if engine is None:
                items = sorted(snap.items.values(), key=lambda i: i.code)
                engine = snap.__dict__["_ask_engine"] = AskEngine(items, snap.index)
    return engine


#: a plain catalog-search score at or above this (a name, alias or their pinyin, or an alias inside the query)
#: is trusted as it is: the items API answers it without the engine
PLAIN_ENOUGH = 500


def search_items(snap: Any, query: str, limit: int = 10) -> list[Any]:
    """The items API's search: the catalog search as it was when it found a name or alias (fast,
    unchanged order); otherwise — a sentence, a near-synonym, a typo — the engine's confident items
    first, then whatever the catalog search found besides."""
    return list(search_found(snap, query, limit))


def search_found(snap: Any, query: str, limit: int = 10) -> Found:
    """:func:`search_items` as a :class:`Found`: its length is exact, but only the slice read is
    ranked (a page of 20 out of the thousands of items an everyday word matches)."""
    index = snap.index
    scores = index.scores(query)
    ids = np.fromiter(scores.keys(), dtype=np.intp, count=len(scores))
    values = np.fromiter(scores.values(), dtype=float, count=len(scores))
    keep = snap.item_entries()[ids]
    ids, values = ids[keep], values[keep]
    top = index.best(ids, values, 1)
    if top and scores[top[0]] >= PLAIN_ENOUGH:
        return Found(snap, [], ids, values)
    ranked = [
        code
        for code, score in engine_for(snap).rank(query, limit=limit, scores=scores)
        if score >= AskEngine.MIN_SCORE
    ]
    first = [snap.items[c] for c in ranked if c in snap.items]
    if ranked:
        entry_of = engine_for(snap).entry_of
        keep = ~np.isin(ids, [entry_of[c] for c in ranked if c in entry_of])
        ids, values = ids[keep], values[keep]
    return Found(snap, first, ids, values)


class Found(Sequence):
    """The items a search found, best first: ``first`` (the engine's), then the catalog search's
    entries ``ids`` with their ``scores`` in its order — ranked only as far as a slice reads."""

    def __init__(self, snap: Any, first: list[Any], ids: np.ndarray, scores: np.ndarray) -> None:
        self._snap, self._first, self._ids, self._scores = snap, first, ids, scores

    def __len__(self) -> int:
        return len(self._first) + len(self._ids)

    def _plain(self, count: int | None) -> list[Any]:
        entries, items = self._snap.index.entries, self._snap.items
        return [items[entries[i].key] for i in self._snap.index.best(self._ids, self._scores, count)]

    def __iter__(self):
        yield from self._first
        yield from self._plain(None)

    def __getitem__(self, k):  # type: ignore[override]
        if not isinstance(k, slice):
            return list(self)[k]
        start, stop, step = k.indices(len(self))
        if step != 1:
            return list(self)[k]
        n = len(self._first)
        return (self._first + self._plain(max(stop - n, 0)))[start:stop]
