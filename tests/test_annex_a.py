"""Ofsted Annex A: every header and every code's spelling against the table in
../shared/DATA_STANDARDS.md, the lists built from the hand-made case record, and the CSV
and XLSX files read back."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from frontdoor.reports import annex_a
from frontdoor.reports.base import ReportInputError, Window
from models import annex_a as spec
from models.database import init_db, session
from tests import report_data
from tests.report_data import NOW, WINDOW

STANDARDS = Path(__file__).resolve().parents[2] / "shared" / "DATA_STANDARDS.md"


def _standards() -> str:
    if not STANDARDS.exists():
        pytest.skip(f"{STANDARDS} is not here (it sits beside the repository in the shared folder)")
    return STANDARDS.read_text()


def _section(doc: str, heading: str) -> str:
    start = doc.index(heading)
    end = doc.find("\n## ", start + 1)
    return doc[start:end if end > 0 else None]


def _ticked(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


class Standard:
    """What DATA_STANDARDS.md says about Annex A and the CIN sources."""

    def __init__(self) -> None:
        doc = _standards()
        annex = _section(doc, "## Ofsted ILACS Annex A")
        common = annex[annex.index("Every list starts with:"):annex.index("| list |")]
        self.common = _ticked(common)
        self.lists: dict[int, list[str]] = {}
        for line in annex.splitlines():
            m = re.match(r"\|\s*(\d)\s+\w[\w ]*\|(.*)\|\s*$", line)
            if m:
                self.lists[int(m.group(1))] = self.common + _ticked(m.group(2))
        self.date_format = "dd/mm/yyyy" if "(dd/mm/yyyy)" in common else None
        spellings = annex[annex.index("Annex A value spellings:"):]
        gender = spellings[spellings.index("Gender"):spellings.index("Ethnicity")]
        self.genders = _ticked(gender)
        ethnicity = spellings[spellings.index("Ethnicity"):spellings.index("source")]
        self.ethnicity_example = _ticked(ethnicity)[0]
        codes = ethnicity[ethnicity.index("codes:") + len("codes:"):ethnicity.index(")", ethnicity.index("codes:"))]
        self.ethnicity_codes = codes.split()
        source = spellings[spellings.index("source"):spellings.index("Sources:")]
        self.source_examples = _ticked(source)
        cin = _section(doc, "## DfE CIN census: source of contact / referral")
        self.cin_sources = [m.group(1) for m in re.finditer(r"^\|\s*(\w+)\s*\|", cin, re.M) if m.group(1) != "code"]
        self.nfa = re.search(r"`Referral NFA\?` \(([^)]+)\)", annex).group(1).split("/")  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def standard() -> Standard:
    return Standard()


def test_every_list_has_exactly_the_columns_of_the_standard_in_order(standard):
    assert standard.common == ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)"]
    assert sorted(standard.lists) == [1, 2, 3]
    for number, columns in standard.lists.items():
        assert list(spec.LIST_COLUMNS[number]) == columns, number
    assert standard.date_format == "dd/mm/yyyy" and spec.DATE_FORMAT == "%d/%m/%Y"
    assert [spec.YES, spec.NO] == standard.nfa == ["Yes", "No"]


def test_gender_spellings(standard):
    assert standard.genders == ["a) Male", "b) Female", "c) Not stated/recorded", "d) Neither"]
    assert set(spec.GENDER.values()) | {spec.GENDER_NEITHER} == set(standard.genders)
    assert (spec.gender("M"), spec.gender("F"), spec.gender("U"), spec.gender(None)) == (
        "a) Male", "b) Female", "c) Not stated/recorded", "c) Not stated/recorded",
    )


def test_ethnicity_spellings(standard):
    assert len(standard.ethnicity_codes) == 20 and standard.ethnicity_example == "a) WBRI"
    expected = {code: f"{chr(ord('a') + i)}) {code}" for i, code in enumerate(standard.ethnicity_codes)}
    assert spec.ETHNICITY == expected
    assert spec.ETHNICITY["WBRI"] == standard.ethnicity_example
    assert spec.ethnicity(None) == "t) NOBT"


def test_source_spellings(standard):
    # the CIN list has 22 codes; Annex A's 21 sources a) to u) are all of them but 5D
    assert len(standard.cin_sources) == 22 and "5D" in standard.cin_sources
    annex_codes = [c for c in standard.cin_sources if c != "5D"]
    for i, code in enumerate(annex_codes):
        assert spec.SOURCE[code].startswith(f"{chr(ord('a') + i)}) {code}: "), code
    for example in standard.source_examples:  # `a) 1A: Individual`, `q) 6: Police`, `u) 10: Unknown`
        code = example.split(") ", 1)[1].split(":", 1)[0]
        assert spec.SOURCE[code] == example
    assert spec.SOURCE["5D"] == spec.SOURCE_5D == "p1) 5D: LA services"  # the documented exception
    assert set(spec.SOURCE) == set(standard.cin_sources)


# ---------------------------------------------------------------------- the lists
@pytest.fixture(scope="module")
def lists(tmp_path_factory) -> dict[int, list[list]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('annex') / 'annex.db'}"
    init_db(url)
    with session(url) as s:
        report_data.build(s)
        w = Window(*WINDOW, now=NOW)
        return {n: annex_a.build(s, n, w) for n in annex_a.LISTS}


def _rows(lists, number):
    return [dict(zip(spec.LIST_COLUMNS[number], row, strict=True)) for row in lists[number]]


def test_list_1_has_a_row_per_child_per_contact(lists):
    rows = _rows(lists, 1)
    assert len(rows) == 9
    ben = [r for r in rows if r["Child Unique ID"] == "CH-B"]  # Ben in C2 (police) and C3 (school)
    assert [(r["Date of Contact"], r["Contact Source"]) for r in ben] == [
        (date(2019, 1, 8), "q) 6: Police"), (date(2019, 1, 15), "e) 2A: Schools"),
    ]
    amy = [r for r in rows if r["Child Unique ID"] == "CH-A"]  # C5 named Amy by NHS number only: the same child
    assert len(amy) == 2 and {r["Gender"] for r in amy} == {"b) Female"}
    assert amy[0]["Age of Child (Years)"] == 11 and amy[0]["Date of Birth"] == date(2007, 3, 2)
    step_up = [r for r in rows if r["Contact Source"] == spec.SOURCE_5D]
    assert [r["Child Unique ID"] for r in step_up] == ["CH-H"]
    unborn = next(r for r in rows if r["Child Unique ID"] == "CH-F")
    assert unborn["Date of Birth"] is None and unborn["Age of Child (Years)"] is None
    dan = next(r for r in rows if r["Contact Source"] == "q) 6: Police" and r["Date of Contact"] == date(2019, 2, 10))
    assert dan["Child Unique ID"].startswith("FD-") and "Dan" not in dan["Child Unique ID"]  # no local id: a key, no name
    assert dan["Gender"] == "c) Not stated/recorded" and dan["Ethnicity"] == "t) NOBT"


def test_list_3_counts_the_childs_referrals_in_the_previous_12_months(lists):
    rows = _rows(lists, 3)
    assert len(rows) == 7
    amy = [(r["Date of referral"], r["Number of Referrals in Last 12 Months"]) for r in rows if r["Child Unique ID"] == "CH-A"]
    assert amy == [(date(2019, 1, 7), 1), (date(2019, 2, 3), 2)]  # C0b before C1; C0b and C1 before C5 (C0 is too old)
    ben = [r for r in rows if r["Child Unique ID"] == "CH-B"]  # C3 was advice, not a referral
    assert len(ben) == 1 and ben[0]["Number of Referrals in Last 12 Months"] == 0
    assert ben[0]["Referral NFA?"] == "Yes" and ben[0]["Allocated Team"] == spec.NO_TEAM
    first = rows[0]
    assert (first["Referral Source"], first["Referral NFA?"], first["Allocated Team"], first["Allocated Worker"]) == (
        "q) 6: Police", "No", "Assessment team", "sam",
    )
    assert {r["Referral NFA?"] for r in rows} == {"Yes", "No"}
    fay = next(r for r in rows if r["Child Unique ID"] == "CH-F")
    assert fay["Allocated Worker"] == spec.NO_WORKER and fay["Age of Child (Years)"] is None


def test_list_2_has_each_early_help_assessment(lists):
    rows = _rows(lists, 2)
    assert [(r["Child Unique ID"], r["Assessment start date"], r["Assessment completion date"]) for r in rows] == [
        ("CH-E", date(2019, 2, 20), date(2019, 2, 26)),
        ("CH-G", date(2019, 3, 10), date(2019, 3, 11)),
        ("CH-H", date(2019, 3, 12), date(2019, 3, 13)),
    ]
    assert {r["Organisation completing assessment"] for r in rows} == {"Early help hub"}
    assert rows[0]["Age of Child (Years)"] == 10  # born 29/02/2008: not yet 11 on 20/02/2019


def test_every_value_is_a_spelling_of_the_standard(lists, standard):
    genders, ethnicities = set(standard.genders), {f"{chr(97 + i)}) {c}" for i, c in enumerate(standard.ethnicity_codes)}
    for number in annex_a.LISTS:
        for row in _rows(lists, number):
            assert row["Gender"] in genders and row["Ethnicity"] in ethnicities
            for key in ("Contact Source", "Referral Source"):
                if key in row:
                    assert row[key] in set(spec.SOURCE.values())


def test_ages_in_whole_years():
    assert annex_a.age_on(date(2007, 3, 2), date(2019, 3, 1)) == 11
    assert annex_a.age_on(date(2007, 3, 2), date(2019, 3, 2)) == 12
    assert annex_a.age_on(date(2020, 2, 29), date(2021, 2, 28)) == 0
    assert annex_a.age_on(date(2020, 2, 29), date(2021, 3, 1)) == 1
    assert annex_a.age_on(date(2019, 6, 1), date(2019, 3, 5)) is None  # not born yet
    assert annex_a.age_on(None, date(2019, 3, 5)) is None


# ---------------------------------------------------------------------- files
def test_csv_round_trip_has_the_headers_and_dd_mm_yyyy_dates(lists, standard):
    for number in annex_a.LISTS:
        text = annex_a.to_csv(number, lists[number])
        read = list(csv.reader(io.StringIO(text)))
        assert read[0] == standard.lists[number]
        assert len(read) == len(lists[number]) + 1
        for row in read[1:]:
            record = dict(zip(read[0], row, strict=True))
            for name, value in record.items():
                if "date" in name.lower() or name == "Date of Birth":
                    assert value == "" or re.fullmatch(r"\d\d/\d\d/\d{4}", value), (name, value)
                    if value:
                        datetime.strptime(value, "%d/%m/%Y")
    first = list(csv.reader(io.StringIO(annex_a.to_csv(1, lists[1]))))[1]
    assert first[:7] == ["CH-A", "b) Female", "a) WBRI", "02/03/2007", "11", "07/01/2019", "q) 6: Police"]


def test_xlsx_has_a_sheet_per_list_with_date_cells_shown_dd_mm_yyyy(lists, standard):
    data = annex_a.to_xlsx(lists)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["List 1 Contacts", "List 2 Early Help", "List 3 Referrals"]
    for number, name in zip(annex_a.LISTS, wb.sheetnames, strict=True):
        ws = wb[name]
        rows = list(ws.iter_rows(values_only=True))
        assert list(rows[0]) == standard.lists[number]
        assert len(rows) == len(lists[number]) + 1
        for cells in ws.iter_rows(min_row=2):
            for header, cell in zip(rows[0], cells, strict=True):
                if cell.value is not None and ("date" in header.lower() or header == "Date of Birth"):
                    assert isinstance(cell.value, datetime) and cell.number_format == "dd/mm/yyyy", (header, cell.value)
    list3 = list(wb["List 3 Referrals"].iter_rows(values_only=True))
    assert list3[1][5] == datetime(2019, 1, 7) and list3[1][8] == 1 and list3[1][7] == "No"


def test_lists_are_asked_for_by_number_or_all():
    assert annex_a.parse_lists("all") == [1, 2, 3] and annex_a.parse_lists(" 2 ") == [2]
    with pytest.raises(ReportInputError) as exc:
        annex_a.parse_lists("4")
    assert exc.value.field == "list"
