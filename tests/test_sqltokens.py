"""wfhist.sqltokens: SQL text cut into tokens exactly where SQLite's tokenizer cuts it.

Checked against SQLite itself: where statements end (``sqlite3.complete_statement``)
and what a quoted string or name stands for (SQLite evaluating it).
"""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfhist.sqltokens import COMMENT, IDENTIFIER, ILLEGAL, NUMBER, STRING, WORD, tokens, unquote


@pytest.mark.parametrize(
    ("sql", "kinds"),
    [
        ("'it''s; -- /*'", [(STRING, "'it''s; -- /*'")]),
        ('"a""b;"', [(IDENTIFIER, '"a""b;"')]),
        ("`x;y`", [(IDENTIFIER, "`x;y`")]),
        ("[a;b]", [(IDENTIFIER, "[a;b]")]),
        ("-- c ; /* \n", [(COMMENT, "-- c ; /* \n")]),
        ("/* a ; -- */", [(COMMENT, "/* a ; -- */")]),
        ("/* never closed ; COMMIT;", [(COMMENT, "/* never closed ; COMMIT;")]),
        ("x'0aFF'", [("blob", "x'0aFF'")]),
        ("x'0g'", [(ILLEGAL, "x'0g'")]),
        ("1.5e-3", [(NUMBER, "1.5e-3")]),
        ("0x1F", [(NUMBER, "0x1F")]),
        (".5", [(NUMBER, ".5")]),
        ("'unterminated; COMMIT;", [(ILLEGAL, "'unterminated; COMMIT;")]),
        ("a||b", [(WORD, "a"), ("punct", "||"), (WORD, "b")]),
        ("col->>'$.x'", [(WORD, "col"), ("punct", "->>"), (STRING, "'$.x'")]),
        ("?1 :name @v $t", None),
        ("über_größe", [(WORD, "über_größe")]),
        ("\v\f", [("space", "\v\f")]),
    ],
)
def test_tokens(sql: str, kinds: list[tuple[str, str]] | None) -> None:
    toks = tokens(sql)
    assert "".join(t.text for t in toks) == sql  # lossless
    assert [t.offset for t in toks] == [
        sum(len(u.text) for u in toks[:i]) for i in range(len(toks))
    ]
    if kinds is None:
        assert [t.kind for t in toks if t.kind != "space"] == ["variable"] * 4
    else:
        assert [(t.kind, t.text) for t in toks] == kinds


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab'\"`[]-/*;\n x0.", max_size=30))
def test_tokenizer_agrees_with_sqlite_on_where_strings_and_comments_end(text: str) -> None:
    """Differential: SQLite's own lexer (complete_statement) sees a final ';' exactly when we do.

    The one exception is SQLite's: complete_statement says "incomplete" for any text ending
    inside an unterminated ``/*`` comment.
    """
    toks = tokens(text)
    code = [t for t in toks if t.kind not in ("space", COMMENT)]
    open_comment = (
        bool(toks) and toks[-1].text.startswith("/*") and not toks[-1].text[2:].endswith("*/")
    )
    expected = bool(code) and code[-1].text == ";" and not open_comment
    assert sqlite3.complete_statement(text) == expected


# --- unquote: the value or name SQLite reads -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ('"a""b"', 'a"b'),
        ("`x``y`", "x`y"),
        ('[a""b]', 'a""b'),
        ("[a b]", "a b"),
        ("plain", "plain"),
    ],
)
def test_unquote_names(text: str, name: str) -> None:
    (tok,) = tokens(text)
    assert unquote(tok) == name


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab'\" ;`[]é", min_size=1, max_size=12))
def test_unquote_agrees_with_sqlite_on_strings_and_names(body: str) -> None:
    """A string literal means what SQLite evaluates it to; a quoted name is the column
    SQLite creates from it."""
    literal = "'" + body.replace("'", "''") + "'"
    (tok,) = tokens(literal)
    con = sqlite3.connect(":memory:")
    try:
        assert tok.kind == STRING and unquote(tok) == con.execute(f"SELECT {literal}").fetchone()[0]
        name = '"' + body.replace('"', '""') + '"'
        (tok,) = tokens(name)
        con.execute(f"CREATE TABLE t ({name} INTEGER)")
        created = con.execute("SELECT name FROM pragma_table_info('t')").fetchone()[0]
        assert tok.kind == IDENTIFIER and unquote(tok) == created
    finally:
        con.close()
