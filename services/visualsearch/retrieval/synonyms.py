"""A shop's synonyms, in the Solr/Elasticsearch format, and the keyword query they expand.

One rule a line; ``#`` starts a comment. ``couch, sofa, settee`` is an equivalence group: each
term finds all of them. ``sneakers, trainers => running shoes`` is an explicit mapping: the
terms on the left are searched as those on the right (the left ones no longer count unless the
right side names them too). A term may be several words ("running shoes", matched as a phrase).
Terms are normalised as query words are (lower case, letters and digits only), so a rule cannot
smuggle tsquery syntax into the keyword query.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from visualsearch.exceptions import ValidationError

MAX_WORDS = 16
MAX_WORD_LENGTH = 40
MAX_RULES_BYTES = 256 * 1024
"""Most text one synonyms file (or ``PUT /synonyms``) may hold."""
_WORD = re.compile(r"[^\W_]+")

Phrase = tuple[str, ...]


def query_words(text: str | None) -> list[str]:
    """Lower-case words of letters and digits, at most ``MAX_WORDS`` of ``MAX_WORD_LENGTH``."""
    if not text:
        return []
    return [w[:MAX_WORD_LENGTH] for w in _WORD.findall(text.lower())][:MAX_WORDS]


@dataclass(frozen=True)
class Term:
    """One unit of the keyword query: a query word (or a phrase a synonym rule matched) and
    the phrases it may match; ``text`` is the shopper's own words."""

    text: str
    alternatives: tuple[Phrase, ...]
    prefix: bool = False

    @property
    def fuzzy(self) -> str:
        """What typos are matched against: the shopper's words, unless a mapping replaced them
        (then its first phrase)."""
        if tuple(self.text.split(" ")) in self.alternatives:
            return self.text
        return " ".join(self.alternatives[0])

    def tsquery(self) -> str:
        """PostgreSQL tsquery text; valid because every word holds letters and digits only."""
        if self.prefix:
            return f"'{self.text}':*"
        parts = [" <-> ".join(f"'{w}'" for w in phrase) for phrase in self.alternatives]
        return " | ".join(f"({p})" for p in parts)


@dataclass(frozen=True)
class SynonymRules:
    """Parsed rules: each term (a phrase) and the phrases it is searched as."""

    expansions: dict[Phrase, tuple[Phrase, ...]] = field(default_factory=dict)
    rules: int = 0

    @classmethod
    def parse(cls, text: str) -> SynonymRules:
        """Parse the Solr/Elasticsearch synonyms format; a :class:`ValidationError` (422) names
        the first bad line."""
        if len(text.encode()) > MAX_RULES_BYTES:
            raise ValidationError(f"synonyms: at most {MAX_RULES_BYTES // 1024} KiB of rules.")
        if "\x00" in text:
            raise ValidationError("synonyms: NUL bytes are not allowed.")
        found: dict[Phrase, list[Phrase]] = {}
        rules = 0
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            sides = line.split("=>")
            if len(sides) > 2:
                raise ValidationError(f"synonyms line {number}: more than one '=>' in {raw!r}.")
            if len(sides) == 2:
                left, right = _terms(sides[0], number, raw), _terms(sides[1], number, raw)
                for term in left:
                    _add(found, term, right)
            else:
                group = _terms(line, number, raw)
                if len(group) < 2:
                    raise ValidationError(
                        f"synonyms line {number}: {raw!r} names one term; an equivalence group "
                        "needs two or more separated by commas (or use 'a => b')."
                    )
                for term in group:
                    _add(found, term, group)
            rules += 1
        return cls({k: tuple(v) for k, v in found.items()}, rules)

    @property
    def longest(self) -> int:
        return max((len(k) for k in self.expansions), default=0)

    def terms(self, words: Sequence[str]) -> list[Term]:
        """The keyword query for these words: runs of words a rule names (longest first) become
        one term with the rule's phrases; the last other word also matches as a prefix."""
        terms: list[Term] = []
        i, longest = 0, self.longest
        while i < len(words):
            for n in range(min(longest, len(words) - i), 0, -1):
                phrase = tuple(words[i : i + n])
                if phrase in self.expansions:
                    terms.append(Term(" ".join(phrase), self.expansions[phrase]))
                    i += n
                    break
            else:
                last = i == len(words) - 1
                terms.append(Term(words[i], ((words[i],),), prefix=last))
                i += 1
        return terms


NO_SYNONYMS = SynonymRules()


def _terms(side: str, number: int, raw: str) -> list[Phrase]:
    terms = []
    for part in side.split(","):
        words = tuple(_WORD.findall(part.lower()))
        if not words:
            raise ValidationError(
                f"synonyms line {number}: {raw!r} has an empty term (or one without letters "
                "or digits); separate terms with commas, e.g. 'couch, sofa'."
            )
        if len(words) > MAX_WORDS or any(len(w) > MAX_WORD_LENGTH for w in words):
            raise ValidationError(
                f"synonyms line {number}: a term may have at most {MAX_WORDS} words of "
                f"{MAX_WORD_LENGTH} characters."
            )
        terms.append(words)
    return terms


def _add(found: dict[Phrase, list[Phrase]], term: Phrase, phrases: Sequence[Phrase]) -> None:
    known = found.setdefault(term, [])
    known.extend(p for p in phrases if p not in known)
