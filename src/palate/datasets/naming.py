"""Stable, URL-safe identifiers derived from the free-text names in public datasets."""

from __future__ import annotations

import re
import unicodedata

import polars as pl

_NON_ALNUM_PATTERN = r"[^a-z0-9]+"
_NON_ALNUM = re.compile(_NON_ALNUM_PATTERN)


def slug(text: str) -> str:
    """Lower-case ASCII words joined by hyphens; accents are dropped, punctuation separates.

    >>> slug("Bar_Pub_Brewery"), slug("  FRZN ICE "), slug("BEERS/ALES"), slug("Potosí")
    ('bar-pub-brewery', 'frzn-ice', 'beers-ales', 'potosi')
    """
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ALNUM.sub("-", ascii_text.lower()).strip("-")


def slug_expr(column: str | pl.Expr) -> pl.Expr:
    """:func:`slug` as a polars expression, for whole columns at once.

    >>> pl.select(slug_expr(pl.lit("Cafe-Coffee_Shop Á"))).item()
    'cafe-coffee-shop-a'
    """
    expr = pl.col(column) if isinstance(column, str) else column
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(_NON_ALNUM_PATTERN, "-")
        .str.strip_chars("-")
    )


def words(text: str) -> str:
    """A code-like label as plain lower-case words, e.g. a cuisine name.

    >>> words("Cafe-Coffee_Shop"), words("chicken rice")
    ('cafe coffee shop', 'chicken rice')
    """
    return slug(text).replace("-", " ")
