"""Keyword rules: regular expressions per category, read from `nlp/data/rules.tsv`."""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.categories import Category, parse_category
from nlp.text import CLAUSE_BREAK_RE, directly_negated, in_spans

logger = logging.getLogger(__name__)

RULES_PATH = Path(__file__).resolve().parent / "data" / "rules.tsv"
PRECEDENCE_PATH = Path(__file__).resolve().parent / "data" / "precedence.tsv"

# One category's evidence saturates: five synonyms of "late" are not five times as late.
_EVIDENCE_CAP = 4.0
# Complainants state the main problem first and add the rest with 而且/还/另外; only
# the main category (the first mentioned, unless the labelling convention's precedence
# names another) keeps its full weight.
_LATER_MENTION_FACTOR = 0.8
# "主要是X" / "就是X" / "而是X" point at the real problem, often right after a denial.
_FOCUS_RE = re.compile(r"主要是|关键是|问题是|投诉的是|反映的是|就是|而是|只是")
_FOCUS_FACTOR = 1.3
# Where one problem ends and the next begins: punctuation or a connective.
_CLAUSE_RE = re.compile(
    r"(?:[,.;:!?，。；：！？\n]+\s*)?(?:而且|并且|另外|还有|同时|况且|加上)|[,.;:!?，。；：！？\n]+"
)
# A denied keyword ("不是丢了") counts a little against its category.
_DENIED_FACTOR = -0.5


@dataclass(frozen=True)
class Rule:
    category: Category
    weight: float
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class RuleHit:
    category: Category
    weight: float
    start: int
    end: int
    text: str
    negated: bool
    rule_index: int


class RulesError(ValueError):
    """A rules file line that cannot be read; the message names the file and line."""


class KeywordRules:
    """Evidence for each category from the keywords found in a (normalised) text;
    `precedence` holds (winner, loser) pairs: when a text states both, the winner is its
    main problem wherever it is named."""

    def __init__(
        self, rules: Sequence[Rule], precedence: Iterable[tuple[Category, Category]] = ()
    ) -> None:
        self._rules = tuple(rules)
        self._precedence = frozenset(precedence)

    def __len__(self) -> int:
        return len(self._rules)

    @classmethod
    def load(cls, path: Path | None = None, precedence: Path | None = None) -> KeywordRules:
        rules_path = path or RULES_PATH
        precedence_path = precedence or PRECEDENCE_PATH
        return cls(
            parse_rules(rules_path.read_text(encoding="utf-8").splitlines(), str(rules_path)),
            parse_precedence(
                precedence_path.read_text(encoding="utf-8").splitlines(), str(precedence_path)
            ),
        )

    def hits(self, text: str, negated: list[tuple[int, int]]) -> list[RuleHit]:
        """Every keyword found in `text`, in text order; `negated` are denied ranges."""
        found: list[RuleHit] = []
        for index, rule in enumerate(self._rules):
            for match in rule.pattern.finditer(text):
                start, end = match.span()
                if start == end:
                    continue
                denied = in_spans(start, end, negated) or directly_negated(text, start)
                found.append(
                    RuleHit(rule.category, rule.weight, start, end, match.group(), denied, index)
                )
        found.sort(key=lambda hit: (hit.start, -hit.end))
        return found

    def evidence(self, text: str, negated: list[tuple[int, int]]) -> Evidence:
        """Weighted evidence per category and where each was first affirmed."""
        hits = self.hits(text, negated)
        clause_starts = [m.end() for m in _CLAUSE_RE.finditer(text)]
        first_clause: dict[Category, int] = {}
        for hit in hits:
            if not hit.negated:
                first_clause.setdefault(hit.category, bisect_right(clause_starts, hit.start))
        named = main_first(list(first_clause), self._precedence)
        main = named[0] if named else None
        return Evidence(score_hits(text, hits, main), first_clause, self._precedence)


@dataclass(frozen=True)
class Evidence:
    """Rule evidence: a score per category (negative when only denied), the clause (0,
    1, …) of each category's first affirmed keyword and the precedence of the labelling
    convention, which together order two-problem complaints."""

    scores: Mapping[Category, float]
    first_clause: Mapping[Category, int]
    precedence: frozenset[tuple[Category, Category]] = frozenset()

    def score(self, category: Category) -> float:
        return self.scores.get(category, 0.0)

    def main_first(self, categories: Sequence[Category]) -> tuple[Category, ...]:
        """`categories`, main problem first, by the precedence."""
        return main_first(categories, self.precedence)


def main_first(
    categories: Sequence[Category], precedence: frozenset[tuple[Category, Category]]
) -> tuple[Category, ...]:
    """`categories` (in the order the text names them) with each one the precedence puts
    above an earlier one moved in front of it; the others keep their order."""
    ordered = list(categories)
    for _ in range(len(ordered)):
        moved = False
        for later in range(1, len(ordered)):
            earlier = next(
                (i for i in range(later) if (ordered[later], ordered[i]) in precedence), None
            )
            if earlier is not None:
                ordered.insert(earlier, ordered.pop(later))
                moved = True
        if not moved:
            break
    return tuple(ordered)


def score_hits(
    text: str, hits: Sequence[RuleHit], main: Category | None = None
) -> dict[Category, float]:
    """Combine hits into evidence: each rule line counts once, at its strongest; `main`
    (default: the first affirmed category) keeps its full weight, the others less."""
    focus = _focus_ranges(text)
    first_category = main or next((hit.category for hit in hits if not hit.negated), None)
    best: dict[tuple[Category, int], float] = {}
    for hit in hits:
        if hit.negated:
            weight = _DENIED_FACTOR * hit.weight
        else:
            weight = hit.weight
            if hit.category != first_category:
                weight *= _LATER_MENTION_FACTOR
            if in_spans(hit.start, hit.end, focus):
                weight *= _FOCUS_FACTOR
        key = (hit.category, hit.rule_index)
        previous = best.get(key)
        # A rule that is both affirmed and denied in one text is affirmed.
        if previous is None or weight > previous:
            best[key] = weight
    evidence: dict[Category, float] = {}
    for (category, _), weight in best.items():
        evidence[category] = evidence.get(category, 0.0) + weight
    return {
        category: max(-_EVIDENCE_CAP, min(_EVIDENCE_CAP, value))
        for category, value in evidence.items()
        if value != 0.0
    }


def _focus_ranges(text: str) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for match in _FOCUS_RE.finditer(text):
        end_match = CLAUSE_BREAK_RE.search(text, match.end())
        ranges.append((match.end(), end_match.start() if end_match else len(text)))
    return ranges


def parse_rules(lines: Sequence[str], source: str = "<rules>") -> list[Rule]:
    rules: list[Rule] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise RulesError(f"{source}:{number}: expected 'category<TAB>weight<TAB>regex'")
        code, weight_text, pattern = parts
        try:
            category = parse_category(code)
            weight = float(weight_text)
            compiled = re.compile(pattern)
        except (ValueError, re.error) as exc:
            raise RulesError(f"{source}:{number}: {exc}") from None
        if weight <= 0:
            raise RulesError(f"{source}:{number}: weight must be positive")
        rules.append(Rule(category, weight, compiled))
    return rules


def parse_precedence(
    lines: Sequence[str], source: str = "<precedence>"
) -> list[tuple[Category, Category]]:
    """(winner, loser) pairs from `winner<TAB>loser` lines; # comments and blanks skipped."""
    pairs: list[tuple[Category, Category]] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise RulesError(f"{source}:{number}: expected 'winner<TAB>loser'")
        try:
            winner, loser = (parse_category(code) for code in parts)
        except ValueError as exc:
            raise RulesError(f"{source}:{number}: {exc}") from None
        if winner is loser or (loser, winner) in pairs:
            raise RulesError(f"{source}:{number}: {winner.value} and {loser.value} contradict")
        pairs.append((winner, loser))
    return pairs


def describe(evidence: Mapping[Category, float]) -> str:
    """Compact evidence for debug logs."""
    return ", ".join(f"{c.value}={v:.1f}" for c, v in sorted(evidence.items()))
