"""SQL text cut into tokens exactly where SQLite's own tokenizer (``tokenize.c``) cuts it.

The one lexer of wfhist: :mod:`wfhist.sqlscript` cuts statements and guards
migrations with it, :mod:`wfhist.model` reads ``CREATE`` statements with it. It
never decides anything about meaning; it only says where each string,
identifier, comment and ``;`` begins and ends, so that nothing inside a string or
a comment is ever mistaken for code -- and nothing after a comment is ever lost.

Rules followed from SQLite: ``'…'`` strings with ``''`` escapes; ``"…"``,
```…``` (doubled-quote escapes) and ``[…]`` identifiers; ``--`` comments to the end
of the line; ``/* */`` comments, an unterminated one running to the end of the
text; ``x'…'`` blobs; decimal, real and ``0x`` numbers; ``?N``/``:a``/``@a``/``$a``
variables; multi-character operators. What SQLite would reject (an unterminated
string, a stray character) is an ``illegal`` token, so that the text still
reaches SQLite, which then reports its own error.
"""

from __future__ import annotations

from dataclasses import dataclass

# Token kinds.
SPACE = "space"
COMMENT = "comment"
STRING = "string"  # '...'
IDENTIFIER = "identifier"  # "...", `...`, [...]
WORD = "word"  # a bare keyword or identifier
BLOB = "blob"  # x'...'
NUMBER = "number"
VARIABLE = "variable"  # ?1 :name @name $name
PUNCT = "punct"  # operators, parentheses, comma, dot, ';'
ILLEGAL = "illegal"  # what SQLite would reject: unterminated string, stray character

_OPERATORS = ("->>", "||", "<=", ">=", "<>", "!=", "==", "<<", ">>", "->")
_SINGLE_PUNCT = set("();+-*/%=<>,&~|.")


@dataclass(frozen=True)
class Token:
    """One token: its kind (see the module constants), its exact text and its offset."""

    kind: str
    text: str
    offset: int

    @property
    def upper(self) -> str:
        """The text in upper case (keywords compare case-insensitively)."""
        return self.text.upper()


def _is_id_char(ch: str) -> bool:
    """SQLite's IdChar: letters, digits, ``_``, ``$`` and every non-ASCII character."""
    return ch.isalnum() or ch in "_$" or ord(ch) >= 0x80


def _quoted_end(sql: str, start: int, close: str, doubled: bool) -> int:
    """Offset just past the closing quote of a quoted token, or -1 when it never closes."""
    i = start + 1
    n = len(sql)
    while i < n:
        if sql[i] == close:
            if doubled and i + 1 < n and sql[i + 1] == close:
                i += 2
                continue
            return i + 1
        i += 1
    return -1


def _number_end(sql: str, i: int) -> int:
    """Offset just past a numeric literal starting at ``i`` (decimal, real or 0x hex)."""
    n = len(sql)
    if sql.startswith(("0x", "0X"), i) and i + 2 < n and sql[i + 2] in "0123456789abcdefABCDEF":
        i += 2
        while i < n and sql[i] in "0123456789abcdefABCDEF":
            i += 1
        return i
    while i < n and sql[i].isdigit():
        i += 1
    if i < n and sql[i] == ".":
        i += 1
        while i < n and sql[i].isdigit():
            i += 1
    if i < n and sql[i] in "eE":
        j = i + 1
        if j < n and sql[j] in "+-":
            j += 1
        if j < n and sql[j].isdigit():
            i = j
            while i < n and sql[i].isdigit():
                i += 1
    return i


def _next_token(sql: str, i: int) -> tuple[str, int]:
    """Kind and end offset of the token starting at ``i`` (mirrors ``sqlite3GetToken``)."""
    n = len(sql)
    ch = sql[i]
    nxt = sql[i + 1] if i + 1 < n else ""
    if ch in " \t\n\v\f\r":
        j = i + 1
        while j < n and sql[j] in " \t\n\v\f\r":
            j += 1
        return SPACE, j
    if ch == "-" and nxt == "-":
        j = sql.find("\n", i)
        return COMMENT, n if j < 0 else j + 1
    if ch == "/" and nxt == "*":
        j = sql.find("*/", i + 2)
        return COMMENT, n if j < 0 else j + 2  # unterminated: runs to the end, as in SQLite
    if ch in "xX" and nxt == "'":
        end = _quoted_end(sql, i + 1, "'", doubled=False)
        if end < 0:
            return ILLEGAL, n
        body = sql[i + 2 : end - 1]
        hex_ok = len(body) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in body)
        return (BLOB if hex_ok else ILLEGAL), end
    if ch in "'\"`[":
        close = "]" if ch == "[" else ch
        end = _quoted_end(sql, i, close, doubled=ch != "[")
        if end < 0:
            return ILLEGAL, n
        return (STRING if ch == "'" else IDENTIFIER), end
    if ch.isdigit() or (ch == "." and nxt.isdigit()):
        return NUMBER, _number_end(sql, i)
    if ch == "?":
        j = i + 1
        while j < n and sql[j].isdigit():
            j += 1
        return VARIABLE, j
    if ch in "$:@#":
        j = i + 1
        while j < n and _is_id_char(sql[j]):
            j += 1
        return (VARIABLE if j > i + 1 else ILLEGAL), j
    if _is_id_char(ch):
        j = i + 1
        while j < n and _is_id_char(sql[j]):
            j += 1
        return WORD, j
    for op in _OPERATORS:
        if sql.startswith(op, i):
            return PUNCT, i + len(op)
    if ch in _SINGLE_PUNCT or ch == ";":
        return PUNCT, i + 1
    return ILLEGAL, i + 1


def tokens(sql: str) -> list[Token]:
    """Every token of ``sql`` in order, whitespace and comments included (they join to ``sql``)."""
    out: list[Token] = []
    i = 0
    while i < len(sql):
        kind, end = _next_token(sql, i)
        out.append(Token(kind, sql[i:end], i))
        i = end
    return out


def unquote(tok: Token) -> str:
    """The name a name token stands for: ``"a""b"`` is ``a"b``, ``[x]`` is ``x``."""
    text = tok.text
    if tok.kind in (IDENTIFIER, STRING) and len(text) >= 2:
        if text[0] == "[":
            return text[1:-1]
        return text[1:-1].replace(text[0] * 2, text[0])
    return text
