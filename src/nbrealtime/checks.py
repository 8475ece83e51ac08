"""``check (…)`` constraints of the schema file: a small PostgreSQL expression language, parsed once, run in Python.

The PostgreSQL migration keeps the expression as written; the embedded server evaluates it on every inserted or
updated row with SQL's three-valued logic (a check fails only when it is *false*: NULL passes, as in PostgreSQL).

Understood: column names (of text, integer, numeric, floating-point and boolean columns), numbers, ``'strings'``,
``true``/``false``/``null``, ``+ - * / %``, ``||``, comparisons (``= <> != < <= > >=``), ``and``/``or``/``not``,
``is [not] null``, ``[not] in (…)``, ``[not] between … and …``, ``[not] like``/``ilike``, and the functions
``length``, ``char_length``, ``lower``, ``upper``, ``trim``, ``btrim``, ``abs``, ``coalesce``.  Anything else is
refused when the schema is read, naming what was not understood.  Pure logic: no SQL engine here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["CHECKABLE_TYPES", "Check", "CheckError", "parse_check"]

CHECKABLE_TYPES = ("text", "int2", "int4", "int8", "numeric", "float4", "float8", "bool")

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?)|'(?P<string>(?:[^']|'')*)'|(?P<word>[a-z_][a-z0-9_]*)"
    r"|(?P<op><>|!=|<=|>=|\|\||[-+*/%=<>(),]))",
    re.IGNORECASE,
)
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "length": len,
    "char_length": len,
    "character_length": len,
    "lower": str.lower,
    "upper": str.upper,
    "trim": str.strip,
    "btrim": str.strip,
    "abs": abs,
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a // b if isinstance(a, int) and isinstance(b, int) else a / b,
    "%": lambda a, b: a % b,
    "||": lambda a, b: f"{a}{b}",
}

Row = Mapping[str, Any]
Evaluator = Callable[[Row], Any]


class CheckError(ValueError):
    """A check expression the schema file cannot use; the message names what was not understood."""


@dataclass(frozen=True)
class Check:
    """A parsed check: :meth:`passes` on a JSON-form row."""

    text: str
    evaluate: Evaluator

    def passes(self, row: Row) -> bool:
        return self.evaluate(row) is not False


def _like(pattern: str, insensitive: bool) -> re.Pattern[str]:
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if insensitive else 0))


class _Parser:
    def __init__(self, text: str, columns: Mapping[str, str]) -> None:
        self.text, self.columns = text, columns
        self.tokens: list[tuple[str, Any]] = []
        position = 0
        while text[position:].strip():
            match = _TOKEN.match(text, position)
            if not match:
                raise CheckError(f"check ({text}): the schema file cannot express {text[position:].strip()!r}")
            position = match.end()
            if match.group("number") is not None:
                number = match.group("number")
                self.tokens.append(("value", Decimal(number) if "." in number else int(number)))
            elif match.group("string") is not None:
                self.tokens.append(("value", match.group("string").replace("''", "'")))
            elif match.group("word") is not None:
                self.tokens.append(("word", match.group("word").lower()))
            else:
                self.tokens.append(("op", match.group("op")))
        self.index = 0

    def fail(self, what: str) -> CheckError:
        return CheckError(f"check ({self.text}): the schema file cannot express {what}")

    def peek(self, offset: int = 0) -> tuple[str, Any]:
        index = self.index + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", None)

    def accept(self, kind: str, value: Any) -> bool:
        if self.peek() == (kind, value):
            self.index += 1
            return True
        return False

    def expect(self, kind: str, value: Any) -> None:
        if not self.accept(kind, value):
            raise self.fail(f"{self.peek()[1]!r} where {value!r} was expected")

    def parse(self) -> Evaluator:
        result = self.or_()
        if self.peek()[0] != "end":
            raise self.fail(repr(self.peek()[1]))
        return result

    def or_(self) -> Evaluator:
        items = [self.and_()]
        while self.accept("word", "or"):
            items.append(self.and_())
        return items[0] if len(items) == 1 else _any(items)

    def and_(self) -> Evaluator:
        items = [self.not_()]
        while self.accept("word", "and"):
            items.append(self.not_())
        return items[0] if len(items) == 1 else _all(items)

    def not_(self) -> Evaluator:
        if self.accept("word", "not"):
            return _negate(self.not_())
        return self.predicate()

    def predicate(self) -> Evaluator:
        left = self.sum()
        kind, value = self.peek()
        if kind == "op" and value in _COMPARE:
            self.index += 1
            return _binary(_COMPARE[value], left, self.sum())
        if self.accept("word", "is"):
            negate = self.accept("word", "not")
            kind, value = self.peek()
            if value not in ("null", "true", "false"):
                raise self.fail(f"is {value!r}")
            self.index += 1
            wanted = {"null": None, "true": True, "false": False}[value]
            test = _is(left, wanted)
            return _negate(test) if negate else test
        negate = self.peek() == ("word", "not") and self.peek(1)[1] in ("in", "between", "like", "ilike")
        if negate:
            self.index += 1
        if self.accept("word", "in"):
            self.expect("op", "(")
            items = [self.sum()]
            while self.accept("op", ","):
                items.append(self.sum())
            self.expect("op", ")")
            test = _in(left, items)
        elif self.accept("word", "between"):
            low = self.sum()
            self.expect("word", "and")
            test = _all([_binary(_COMPARE[">="], left, low), _binary(_COMPARE["<="], left, self.sum())])
        elif self.peek()[1] in ("like", "ilike"):
            insensitive = self.peek()[1] == "ilike"
            self.index += 1
            pattern = self.sum()
            test = _binary(lambda a, b: _like(b, insensitive).fullmatch(a) is not None, left, pattern)
        elif negate:
            raise self.fail("not here")
        else:
            return left
        return _negate(test) if negate else test

    def sum(self) -> Evaluator:
        return self.chain(self.product, ("+", "-", "||"))

    def product(self) -> Evaluator:
        return self.chain(self.factor, ("*", "/", "%"))

    def chain(self, operand: Callable[[], Evaluator], ops: tuple[str, ...]) -> Evaluator:
        """Left-associative ``operand (op operand)*`` for one precedence level."""
        left = operand()
        while self.peek()[0] == "op" and self.peek()[1] in ops:
            op = self.peek()[1]
            self.index += 1
            left = _binary(_ARITHMETIC[op], left, operand())
        return left

    def factor(self) -> Evaluator:
        kind, value = self.peek()
        self.index += 1
        if kind == "value":
            return lambda row: value
        if (kind, value) == ("op", "("):
            inner = self.or_()
            self.expect("op", ")")
            return inner
        if (kind, value) == ("op", "-"):
            operand = self.factor()
            return _unary(lambda a: -a, operand)
        if kind == "word" and value in ("true", "false", "null"):
            constant = {"true": True, "false": False, "null": None}[value]
            return lambda row: constant
        if kind == "word" and self.peek() == ("op", "("):
            return self.call(value)
        if kind == "word" and value in self.columns:
            if self.columns[value] not in CHECKABLE_TYPES:
                raise self.fail(f"checks on {value!r} (a {self.columns[value]} column)")
            return lambda row: _number(row.get(value))
        if kind == "word":
            raise self.fail(f"{value!r} (not a column of this table, nor a known function)")
        raise self.fail(repr(value))

    def call(self, name: str) -> Evaluator:
        self.expect("op", "(")
        args = [self.or_()]
        while self.accept("op", ","):
            args.append(self.or_())
        self.expect("op", ")")
        if name == "coalesce":
            return lambda row: next((v for v in (arg(row) for arg in args) if v is not None), None)
        if name not in _FUNCTIONS or len(args) != 1:
            raise self.fail(f"the function {name}()")
        return _unary(_FUNCTIONS[name], args[0])


def _number(value: Any) -> Any:
    return Decimal(str(value)) if isinstance(value, float) else value


def _unary(function: Callable[[Any], Any], operand: Evaluator) -> Evaluator:
    def run(row: Row) -> Any:
        value = operand(row)
        return None if value is None else function(value)

    return run


def _binary(function: Callable[[Any, Any], Any], left: Evaluator, right: Evaluator) -> Evaluator:
    def run(row: Row) -> Any:
        a, b = left(row), right(row)
        return None if a is None or b is None else function(a, b)

    return run


def _negate(test: Evaluator) -> Evaluator:
    return _unary(lambda value: not value, test)


def _is(operand: Evaluator, wanted: bool | None) -> Evaluator:
    return lambda row: operand(row) is wanted if wanted is None else operand(row) == wanted


def _in(left: Evaluator, items: list[Evaluator]) -> Evaluator:
    def run(row: Row) -> Any:
        value = left(row)
        if value is None:
            return None
        values = [item(row) for item in items]
        return True if value in values else (None if None in values else False)

    return run


def _all(items: list[Evaluator]) -> Evaluator:
    def run(row: Row) -> Any:
        results = [item(row) for item in items]
        return False if False in results else (None if None in results else True)

    return run


def _any(items: list[Evaluator]) -> Evaluator:
    def run(row: Row) -> Any:
        results = [item(row) for item in items]
        return True if True in results else (None if None in results else False)

    return run


def parse_check(text: str, columns: Mapping[str, str]) -> Check:
    """Parse ``text`` over ``columns`` (name → canonical type); raises :class:`CheckError` naming what it refused."""
    return Check(text, _Parser(text, columns).parse())
