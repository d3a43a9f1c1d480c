"""Company clustering rules on hand-made records: ИНН, КПП branches, names that must not chain."""

from __future__ import annotations

import polars as pl

from crmtool.match.companies import company_groups

COLUMNS = ("record_id", "inn", "kpp", "name_key", "opf", "branch", "phones", "emails", "city")


def records(*rows) -> pl.DataFrame:
    return pl.DataFrame(
        [dict(zip(COLUMNS, r)) for r in rows],
        schema={"record_id": pl.Int64, "inn": pl.String, "kpp": pl.String, "name_key": pl.String, "opf": pl.String,
                "branch": pl.Boolean, "phones": pl.List(pl.String), "emails": pl.List(pl.String), "city": pl.String},
    )


def together(groups: pl.DataFrame, a: int, b: int) -> bool:
    g = dict(groups.iter_rows())
    return g[a] == g[b]


def test_inn_kpp_branches_and_names():
    groups = company_groups(records(
        (1, "7714123459", "771401001", "ромашка", "ООО", False, [], [], "москва"),
        (2, "7714123459", None, "ромашка", "ООО", False, [], [], None),  # КПП not given: the ИНН's only one
        (4, None, None, "ромашка", "ООО", False, [], [], None),  # name only → the only ИНН group with it
        (5, "6952077880", "695201001", "лютик", "ООО", False, ["+74822111111"], [], "тверь"),
        (6, None, None, "лютик", None, False, ["+74822111111"], [], None),  # shares the company's phone
        (7, None, None, "лютик", None, False, ["+74822000000"], [], None),  # another phone: a namesake or a branch
    ))
    assert together(groups, 1, 2) and together(groups, 1, 4)
    assert together(groups, 5, 6)
    assert not together(groups, 5, 7)


def test_two_kpp_under_one_inn_are_two_companies():
    groups = company_groups(records(
        (1, "7714123459", "771401001", "ромашка", "ООО", False, [], [], "москва"),
        (2, "7714123459", "695201001", "ромашка тверь", "ООО", False, [], [], "тверь"),
        (3, "7714123459", None, "ромашка", "ООО", False, [], [], None),
    ))
    assert not together(groups, 1, 2)
    # Without a КПП, which of the two it is cannot be told: it is not merged into either.
    assert not together(groups, 3, 1) and not together(groups, 3, 2)


def test_different_inn_never_merge_and_a_shared_name_does_not_chain():
    groups = company_groups(records(
        (1, "7714123459", "771401001", "ромашка", "ООО", False, [], [], "москва"),
        (2, "6952077880", "695201001", "ромашка", "ООО", False, [], [], "тверь"),
        (3, None, None, "ромашка", "ООО", False, [], [], None),
    ))
    assert not together(groups, 1, 2)
    # the name points to two ИНН: the record without one joins neither
    assert not together(groups, 3, 1) and not together(groups, 3, 2)


def test_other_phones_legal_forms_and_branch_words_keep_companies_apart():
    groups = company_groups(records(
        (1, "5580592967", "558001001", "уралмастер", "ООО", False, ["+73832000000"], ["info@uralmaster.ru"], None),
        (2, "5580592967", None, "уралмастер новосибирск филиал", "ООО", True, [], [], None),
        (3, None, None, "уралмастер", "ООО", False, ["+74950000000"], [], None),  # same name, other phone
        (4, None, None, "новаерла север", "АО", False, [], [], None),
        (5, None, None, "новаерла север", "ООО", False, [], [], None),
        (6, None, None, "новаерла север", None, False, [], [], None),
    ))
    assert not together(groups, 1, 2)  # a branch without its КПП is not the head office
    assert not together(groups, 1, 3)
    assert not together(groups, 4, 5)
    assert not together(groups, 6, 4) and not together(groups, 6, 5)  # two forms: no way to tell


def test_branch_marks_and_head_office_channels():
    groups = company_groups(records(
        (1, "7712590200", "771201001", "италва", "ООО", False, ["+74951110000"], ["office@italva.ru"], None),
        (2, "7712590200", "771243001", "италва", "ООО", False, [], [], None),  # КПП reason code 43: a branch
        (3, "7712590200", None, "италва", "ООО", False, ["+78636692670"], ["rostov@italva.ru"], None),  # other channels
        (4, "7712590200", None, "италва", "ООО", False, ["+74951110000"], [], None),  # the head office's phone
    ))
    assert not together(groups, 1, 2)
    assert not together(groups, 1, 3)  # all its channels differ from the head office's
    assert together(groups, 1, 4)


def test_branch_marked_by_bracketed_city_or_mailbox():
    from crmtool.match.companies import branch_marked

    frame = pl.DataFrame({
        "name": ["ООО «Италва» (Ростов-на-Дону)", "ООО «Италва»", "ООО «Италва» (старая база)", "ООО «Италва»"],
        "emails": [[], ["kazan@italva.ru"], ["info@italva.ru"], ["filial2@italva.ru"]],
    })
    marked = frame.select(branch_marked(pl.col("name"), pl.col("emails")))["name"].to_list()
    assert marked == [True, True, False, True]
