import re
from collections import Counter
from dataclasses import replace
from importlib import resources

import pytest

from bot.domain.question_bank import Dimension, Item, QuestionBank, check_bank, load_bank

PERSIAN = re.compile(r"[\u0600-\u06FF]")
DIMENSIONS = {
    "joint_planning",
    "culture_trust",
    "key_accounts",
    "information_sharing",
    "shared_language",
    "joint_meetings",
    "shared_metrics",
    "knowledge",
    "decision_rights",
}


@pytest.fixture(scope="module")
def bank() -> QuestionBank:
    return load_bank()


def make_item(id: str, theme: int | None = 1, **changes) -> Item:
    item = Item(id, "d", {"en": "A statement.", "fa": "یک جمله."}, scored=True, hbr_theme=theme, revision=1)
    return replace(item, **changes)


def test_the_packaged_bank_loads_without_problems(bank):
    assert check_bank(bank) == []
    assert {dimension.id for dimension in bank.dimensions} == DIMENSIONS


def test_twenty_scored_items_cover_each_hbr_theme_once(bank):
    scored = [item for item in bank.items if item.scored]
    assert sorted(item.hbr_theme for item in scored) == list(range(1, 21))
    assert all(re.fullmatch(r"hbr\d\d", item.id) for item in scored)
    assert all(item.hbr_theme is None for item in bank.items if not item.scored)


def test_every_dimension_has_at_least_two_items(bank):
    per_dimension = Counter(item.dimension for item in bank.items)
    assert all(per_dimension[dimension] >= 2 for dimension in DIMENSIONS)


def test_decision_rights_has_its_own_unscored_items(bank):
    power = [item for item in bank.items if item.dimension == "decision_rights"]
    assert len(power) >= 3
    assert not any(item.scored for item in power)


def test_texts_are_short_and_the_persian_is_persian(bank):
    for item in bank.items:
        assert all(len(text) <= 140 for text in item.texts.values()), item.id
        assert PERSIAN.search(item.text("fa")), item.id
        assert not PERSIAN.search(item.text("en")), item.id
        # The verb prefix and the plural suffix join with a ZWNJ, not a space (می‌کنیم, کانال‌ها).
        assert not re.search(r"(^|\s)ن?می\s|\sها(ی)?(\s|$)", item.text("fa")), item.id
    assert all(PERSIAN.search(dimension.names["fa"]) for dimension in bank.dimensions)


def test_items_start_at_revision_one(bank):
    assert all(item.revision == 1 for item in bank.items)


def test_the_default_anchor_is_the_rise_or_fall_together_item(bank):
    anchor = bank.default_anchor()
    assert anchor is not None and anchor.dimension == "culture_trust" and anchor.scored
    assert [item.id for item in bank.items if item.anchor] == [anchor.id]


def test_lookup_by_id(bank):
    assert bank.item("pow01").dimension == "decision_rights"
    assert bank.has_item("pow01") and not bank.has_item("nope")
    assert bank.dimension("knowledge").names["en"] == "Knowledge"
    with pytest.raises(KeyError):
        bank.item("nope")
    with pytest.raises(KeyError):
        bank.dimension("nope")


def test_text_falls_back_to_english_then_to_any_text():
    item = make_item("x", texts={"en": "English", "fa": "فارسی"})
    assert item.text("fa") == "فارسی"
    assert item.text("de") == "English"
    assert replace(item, texts={"fa": "فارسی"}).text("en") == "فارسی"


def test_with_custom_appends_statements_marked_custom(bank):
    statement = make_item(
        "cus01",
        dimension="joint_meetings",
        scored=False,
        hbr_theme=None,
        texts={"en": "We share one calendar."},
    )
    extended = bank.with_custom([statement])
    assert extended.items == bank.items + (replace(statement, custom=True),)
    assert extended.item("cus01").custom
    assert check_bank(extended) == []
    assert not bank.has_item("cus01")


def test_a_custom_statement_needs_at_least_one_text(bank):
    empty = make_item("cus01", None, dimension="joint_meetings", scored=False, texts={})
    assert check_bank(bank.with_custom([empty])) == ["item 'cus01' has no en/fa text"]


# ----- check_bank on small banks -----------------------------------------------------------------


def small_bank() -> QuestionBank:
    return QuestionBank(
        dimensions=(Dimension("d", {"en": "D", "fa": "د"}),),
        items=tuple(make_item(f"hbr{theme:02d}", theme) for theme in range(1, 21)),
    )


def with_items(bank: QuestionBank, *items: Item) -> QuestionBank:
    return replace(bank, items=bank.items + items)


def test_a_small_complete_bank_is_clean():
    assert check_bank(small_bank()) == []


@pytest.mark.parametrize(
    "broken, problem",
    [
        (lambda b: with_items(b, make_item("hbr01", None, scored=False)), "duplicate item id 'hbr01'"),
        (lambda b: replace(b, dimensions=b.dimensions * 2), "duplicate dimension id 'd'"),
        (
            lambda b: with_items(b, make_item("x", None, scored=False, dimension="zz")),
            "item 'x' has unknown dimension 'zz'",
        ),
        (
            lambda b: with_items(b, make_item("x", None, scored=False, texts={"en": "Hi"})),
            "item 'x' has no fa text",
        ),
        (
            lambda b: replace(b, dimensions=(Dimension("d", {"fa": "د"}),)),
            "dimension 'd' has no en text",
        ),
        (
            lambda b: with_items(b, make_item("x", None, scored=False, texts={"en": "x" * 151, "fa": "ی"})),
            "item 'x' en text is longer than 150 characters",
        ),
        (lambda b: replace(b, items=b.items[1:]), "HBR theme 1 is covered by 0 scored items instead of 1"),
        (lambda b: with_items(b, make_item("x", 2)), "HBR theme 2 is covered by 2 scored items instead of 1"),
        (lambda b: with_items(b, make_item("x", None)), "item 'x' is scored but has no hbr_theme"),
        (
            lambda b: with_items(b, make_item("x", 21, scored=False)),
            "item 'x' has hbr_theme 21, outside 1–20",
        ),
        (
            lambda b: with_items(b, make_item("x", None, scored=False, revision=0)),
            "item 'x' has revision 0; revisions start at 1",
        ),
        (
            lambda b: replace(
                b, items=tuple(replace(item, anchor=True) for item in b.items[:2]) + b.items[2:]
            ),
            "more than one anchor: hbr01, hbr02",
        ),
    ],
)
def test_check_bank_names_each_problem(broken, problem):
    assert check_bank(broken(small_bank())) == [problem]


def test_load_bank_refuses_a_bank_with_problems(tmp_path):
    path = tmp_path / "bank.toml"
    path.write_text(
        '[[dimensions]]\nid = "d"\nen = "D"\nfa = "د"\n\n'
        '[[items]]\nid = "hbr01"\ndimension = "d"\nhbr_theme = 1\nscored = true\nrevision = 1\nen = "Hi"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="item 'hbr01' has no fa text; HBR theme 2 is covered by 0"):
        load_bank(path)


def test_load_bank_names_a_missing_field(tmp_path):
    path = tmp_path / "bank.toml"
    path.write_text('[[items]]\nid = "x"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="an entry has no 'dimension'"):
        load_bank(path)


def test_load_bank_reads_a_given_file(tmp_path, bank):
    path = tmp_path / "copy.toml"
    path.write_text(
        (resources.files("bot.domain") / "question_bank.toml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    assert load_bank(path) == bank
