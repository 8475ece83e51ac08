"""Full-text search for the ``fts``/``plfts``/``phfts``/``wfts`` filters: PostgreSQL's ``text @@ tsquery`` in Python.

PostgREST turns ``col=fts(cfg).q`` into ``"col" @@ to_tsquery('cfg', 'q')`` (``plainto_``, ``phraseto_``,
``websearch_to_tsquery`` for the others).  On a ``text`` column PostgreSQL vectorises the column with the *database's*
``default_text_search_config`` — ``english`` on Supabase — whatever configuration the query names; so does this
module.  It runs as one SQLite function (:func:`matches`) and in the change feed, so both back ends agree.

Where it differs from PostgreSQL (documented in the README):

* The parser splits text into runs of letters and digits.  PostgreSQL's parser also knows e-mail addresses, URLs,
  file paths, hyphenated words (``foo-bar`` gives ``foo-bar``, ``foo`` and ``bar``) and numbers with signs or
  decimals; here those are just their letter/digit runs.
* Two configurations exist: ``simple`` (lower-case) and ``english`` (PostgreSQL's English stop words, then the
  Snowball English stemmer, as ``english_stem`` does).  Any other is refused with ``42704``.
* Weights: every lexeme of a plain text column has weight D, as ``to_tsvector`` gives; ``word:AB`` never matches.
* ``!`` directly inside a phrase (``a <-> !b``) is refused (``0A000``) rather than approximated.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

import snowballstemmer

from nbrealtime.server.storage import DatabaseError

__all__ = ["CONFIGS", "Query", "matches", "parse_query"]

#: ``$(pg_config --sharedir)/tsearch_data/english.stop`` of PostgreSQL 15.
_ENGLISH_STOP_WORDS = """
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
herself it its itself they them their theirs themselves what which who whom this that these those am is are
was were be been being have has had having do does did doing a an the and but if or because as until while of
at by for with about against between into through during before after above below to from up down in out on
off over under again further then once here there when where why how all any both each few more most other
some such no nor not only own same so than too very s t can will just don should now
"""
_ENGLISH_STOP = frozenset(_ENGLISH_STOP_WORDS.split())
CONFIGS = ("simple", "english")
DOCUMENT_CONFIG = "english"
"""The configuration a text column is vectorised with (Supabase's ``default_text_search_config``)."""

_WORD = re.compile(r"[^\W_]+")
_stemmer = snowballstemmer.stemmer("english")


def _config(name: str | None) -> str:
    config = (name or DOCUMENT_CONFIG).lower().removeprefix("pg_catalog.")
    if config not in CONFIGS:
        raise DatabaseError(
            "42704",
            f'text search configuration "{name}" does not exist',
            hint="nbrealtime's embedded server knows the simple and english text search configurations.",
        )
    return config


def _lexeme(token: str, config: str) -> str | None:
    """A token's lexeme, or None for a stop word (which still takes a position)."""
    word = token.lower()
    if config == "simple" or not word.isalpha():
        return word  # PostgreSQL's english config sends numbers and letter+digit words to the simple dictionary
    return None if word in _ENGLISH_STOP else _stemmer.stemWord(word)


@functools.lru_cache(maxsize=1024)
def _vector(text: str) -> Mapping[str, frozenset[int]]:
    """``to_tsvector`` of a text column: lexeme → positions (1-based; stop words take a position too)."""
    positions: dict[str, set[int]] = {}
    for position, match in enumerate(_WORD.finditer(text), start=1):
        lexeme = _lexeme(match.group(), DOCUMENT_CONFIG)
        if lexeme is not None:
            positions.setdefault(lexeme, set()).add(position)
    return {lexeme: frozenset(found) for lexeme, found in positions.items()}


# ---------------------------------------------------------------------------------------------------- the query


@dataclass(frozen=True)
class Term:
    lexeme: str
    prefix: bool = False
    weights: str = ""


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class Binary:
    """``&``, ``|`` or a phrase (``op == "<N>"`` with ``distance`` N)."""

    op: str
    left: Node
    right: Node
    distance: int = 0


Node = Term | Not | Binary


@dataclass(frozen=True)
class Query:
    """A parsed tsquery; ``root`` is None when every word was a stop word (matches nothing, as in PostgreSQL)."""

    root: Node | None

    def matches(self, text: str) -> bool:
        return self.root is not None and bool(_ends(self.root, _vector(text)))


def _ends(node: Node, vector: Mapping[str, frozenset[int]]) -> frozenset[int]:
    """Where ``node`` matches, as the positions its matches end at (any non-empty set is a match)."""
    if isinstance(node, Term):
        if node.weights and "d" not in node.weights:
            return frozenset()
        if node.prefix:
            return frozenset(p for lexeme, found in vector.items() if lexeme.startswith(node.lexeme) for p in found)
        return vector.get(node.lexeme, frozenset())
    if isinstance(node, Not):
        return frozenset() if _ends(node.item, vector) else frozenset({0})
    left, right = _ends(node.left, vector), _ends(node.right, vector)
    if node.op == "&":
        return left | right if left and right else frozenset()
    if node.op == "|":
        return left | right
    width = _width(node.right)
    return frozenset(end for end in right if end - width - node.distance in left)


def _width(node: Node) -> int:
    """How many positions a phrase spans after its first word (0 for a word)."""
    if isinstance(node, Binary) and node.op == "<N>":
        return _width(node.left) + node.distance + _width(node.right)
    if isinstance(node, Binary):
        return max(_width(node.left), _width(node.right))
    return 0


def _and(items: list[Node], op: str = "&", distances: list[int] | None = None) -> Node | None:
    result: Node | None = None
    for index, item in enumerate(items):
        result = item if result is None else Binary(op, result, item, distances[index] if distances else 0)
    return result


def _words(text: str, config: str, *, prefix: bool = False, weights: str = "") -> Node | None:
    """The words of ``text`` as a phrase (stop words widen the gap, as ``phraseto_tsquery`` does)."""
    items: list[Node] = []
    distances: list[int] = []
    gap = 1
    for match in _WORD.finditer(text):
        lexeme = _lexeme(match.group(), config)
        if lexeme is None:
            gap += 1
            continue
        distances.append(gap)
        items.append(Term(lexeme, prefix, weights))
        gap = 1
    return _and(items, "<N>", distances)


# ---------------------------------------------------------------------------------------------------- to_tsquery

_TOKEN = re.compile(
    r"\s*(?:(?P<op>[&|!()])|(?P<phrase><->|<\d+>)|'(?P<quoted>(?:[^']|'')*)'|(?P<word>[^\s&|!()<':]+))"
    r"(?P<suffix>:[*a-dA-D]+)?"
)


def _syntax_error(text: str) -> DatabaseError:
    return DatabaseError("42601", f'syntax error in tsquery: "{text}"')


class _Parser:
    """``to_tsquery``'s grammar: ``|`` < ``&`` < phrase (``<->``, ``<N>``) < ``!``, with parentheses."""

    def __init__(self, text: str, config: str) -> None:
        self.text, self.config = text, config
        self.tokens: list[tuple[str, str, str]] = []
        position = 0
        while text[position:].strip():
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise _syntax_error(text)
            position = match.end()
            kind = "op" if match.group("op") else "phrase" if match.group("phrase") else "word"
            value = match.group("op") or match.group("phrase") or match.group("word") or ""
            if match.group("quoted") is not None:
                value = match.group("quoted").replace("''", "'")
            self.tokens.append((kind, value, (match.group("suffix") or "")[1:]))
        self.index = 0

    def parse(self) -> Query:
        if not self.tokens:
            return Query(None)
        root = self._or()
        if self.index != len(self.tokens):
            raise _syntax_error(self.text)
        return Query(root)

    def _peek(self) -> tuple[str, str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _binary(self, op: str, operand: str) -> Node | None:
        parse = getattr(self, operand)
        left = parse()
        while (token := self._peek()) is not None and token[1] == op:
            self.index += 1
            right = parse()
            left = right if left is None else left if right is None else Binary(op, left, right)
        return left

    def _or(self) -> Node | None:
        return self._binary("|", "_and_")

    def _and_(self) -> Node | None:
        return self._binary("&", "_phrase")

    def _phrase(self) -> Node | None:
        left = self._unary()
        while (token := self._peek()) is not None and token[0] == "phrase":
            self.index += 1
            right = self._unary()
            distance = 1 if token[1] == "<->" else int(token[1][1:-1])
            if isinstance(left, Not) or isinstance(right, Not):
                raise DatabaseError("0A000", "nbrealtime does not support ! inside a tsquery phrase")
            left = right if left is None else left if right is None else Binary("<N>", left, right, distance)
        return left

    def _unary(self) -> Node | None:
        token = self._peek()
        if token is None:
            raise _syntax_error(self.text)
        self.index += 1
        kind, value, suffix = token
        if kind == "op" and value == "!":
            item = self._unary()
            return None if item is None else Not(item)
        if kind == "op" and value == "(":
            inner = self._or()
            closing = self._peek()
            if closing is None or closing[1] != ")":
                raise _syntax_error(self.text)
            self.index += 1
            return inner
        if kind != "word":
            raise _syntax_error(self.text)
        return _words(value, self.config, prefix="*" in suffix, weights=suffix.replace("*", "").lower())


def _websearch(text: str, config: str) -> Node | None:
    """``websearch_to_tsquery``: ``"quoted phrases"``, ``or``, ``-negation``; everything else is ANDed."""
    alternatives: list[list[Node]] = [[]]
    for match in re.finditer(r'(-?)"([^"]*)"?|(\S+)', text):
        negate, phrase, word = match.group(1), match.group(2), match.group(3)
        if word is not None and word.lower() == "or":
            if alternatives[-1]:
                alternatives.append([])
            continue
        if word is not None and word.startswith("-"):
            negate, word = "-", word[1:]
        node = _words(phrase if phrase is not None else word or "", config)
        if node is not None:
            alternatives[-1].append(Not(node) if negate else node)
    groups = [group for group in (_and(items) for items in alternatives) if group is not None]
    return _and(groups, "|") if groups else None  # type: ignore[arg-type]


@functools.lru_cache(maxsize=256)
def parse_query(kind: str, text: str, config: str | None = None) -> Query:
    """The query of an ``fts`` (``to_tsquery``), ``plfts``, ``phfts`` or ``wfts`` filter; raises ``DatabaseError``."""
    name = _config(config)
    if kind == "fts":
        return _Parser(text, name).parse()
    if kind == "plfts":
        items = [Term(lexeme) for match in _WORD.finditer(text) if (lexeme := _lexeme(match.group(), name))]
        return Query(_and(items))  # type: ignore[arg-type]
    if kind == "phfts":
        return Query(_words(text, name))
    if kind == "wfts":
        return Query(_websearch(text, name))
    raise ValueError(kind)


def matches(value: str | None, kind: str, config: str | None, text: str) -> int | None:
    """``value @@ <kind>_tsquery(config, text)`` in SQL's terms (NULL stays NULL)."""
    if value is None:
        return None
    return int(parse_query(kind, text, config).matches(value))
