import csv
import io
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.export import FORMULA_STARTS, defuse, rows, to_csv
from bot.domain.scoring import ItemMeta, Response, score

ITEMS = {"A": ItemMeta("d1", True), "cus01": ItemMeta("d1", False)}


@given(st.text())
def test_no_cell_can_start_a_formula(text):
    assert not defuse(text).startswith(FORMULA_STARTS)


def test_the_export_has_figures_for_shown_groups_and_nothing_for_withheld_ones():
    answers = [Response(f"s{n}", "A", "sales", 2) for n in range(5)]
    answers += [Response(f"m{n}", "A", "marketing", 4) for n in range(2)]
    answers += [Response(f"s{n}", "cus01", "sales", 3) for n in range(5)]
    results = score(answers, ITEMS, threshold=3)
    table = rows(
        [(date(2026, 3, 9), results)], {"A": "Statement A", "cus01": '=HYPERLINK("x")'}, {"d1": "Dim"}
    )
    parsed = list(csv.DictReader(io.StringIO(to_csv(table))))
    marketing_a = next(r for r in parsed if r["group"] == "marketing" and r["id"] == "A")
    assert (marketing_a["mean"], marketing_a["respondents"], marketing_a["status"]) == ("", "", "withheld")
    # sales (5) is shown only if everyone − sales does not reveal marketing's two people: it would, so hidden
    sales_a = next(r for r in parsed if r["group"] == "sales" and r["id"] == "A")
    assert sales_a["status"] == "withheld"
    everyone_a = next(r for r in parsed if r["group"] == "everyone" and r["id"] == "A")
    assert (everyone_a["mean"], everyone_a["respondents"]) == (str(round(18 / 7, 3)), "7")
    custom = next(r for r in parsed if r["id"] == "cus01" and r["group"] == "sales")
    assert custom["name"] == '\'=HYPERLINK("x")'
    assert all(not value.startswith(FORMULA_STARTS) for row in parsed for value in row.values())
