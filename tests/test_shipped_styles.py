"""The shipped bundles: each loads, composes exactly what is asked, and styles/README.md tells its true figures."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.styles_table import SHIPPING_BAR, markdown, rows
from midigen.errors import MidigenError
from midigen.tasks.compose import ComposeRequest, compose

STYLES = Path(__file__).resolve().parent.parent / "styles"
SHIPPED = ("bach-chorales", "irish-folk", "fiddle", "german-folk", "chinese-folk", "jazz", "latin")


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_style_composes_exactly_the_bars_asked_for(name):
    takes = compose(name, ComposeRequest(bars=2, seed=0), styles_dir=STYLES)
    piece = takes[0].piece
    assert piece.n_bars == 2 and len(piece.notes) > 0
    assert (piece.notes[:, 0] + piece.notes[:, 1]).max() <= piece.end_steps  # nothing runs past the last bar line
    assert takes[0].provenance["style"] == name


def test_the_shipped_styles_are_found_without_a_styles_folder_option():
    from midigen.styles.registry import find_style

    assert find_style("bach-chorales") == STYLES / "bach-chorales"


def test_the_base_is_for_fine_tuning_not_for_composing():
    with pytest.raises(MidigenError, match="multi-style base"):
        compose("base", ComposeRequest(bars=2), styles_dir=STYLES)


def test_styles_readme_shows_the_bundles_own_figures_and_every_style_clears_the_bar():
    table = rows(STYLES)
    readme = (STYLES / "README.md").read_text()
    assert markdown(table) in readme  # regenerate with `python -m bench.styles_table` after retraining
    for row in table:  # the bar is for styles; the base is judged by what its fine-tunes reach (styles/README.md)
        if not row["style"].startswith("base"):
            assert -row["vs_ngram"] >= SHIPPING_BAR, row["style"]
    assert {r["style"] for r in table} >= set(SHIPPED)
