"""What people take away from a report: the SVG chart (well-formed, titled, labelled,
the same bytes each time), CSV, XLSX and JSON read back, and the command line."""

from __future__ import annotations

import argparse
import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from frontdoor import reports
from frontdoor.reports import charts, export
from frontdoor.reports import cli as report_cli
from frontdoor.reports.base import ReportInputError, Window
from models import annex_a as spec
from models.database import init_db, session
from tests import report_data
from tests.report_data import NOW, WINDOW

SVG = "{http://www.w3.org/2000/svg}"
W = Window(*WINDOW, now=NOW)


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('outputs') / 'outputs.db'}"
    init_db(url)
    with session(url) as s:
        report_data.build(s)
    return url


def result(url: str, name: str, w: Window = W) -> reports.ReportResult:
    with session(url) as s:
        return reports.run(s, name, w)


@pytest.mark.parametrize("name", list(reports.REPORTS))
def test_each_chart_is_well_formed_svg_with_a_title_and_labelled_axes(url, name):
    r = result(url, name)
    svg = charts.render_svg(r)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("aria-labelledby") == "chart-title"
    first = list(root)[0]
    assert first.tag == f"{SVG}title" and first.text == r.report.chart.title
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for label in (r.report.chart.title.split(",")[0], r.report.chart.x_label, r.report.chart.y_label):
        assert label in texts, label
    assert "<script" not in svg and "http://" not in svg.replace("http://www.w3.org", "").replace("http://purl.org", "").replace(
        "http://creativecommons.org", "").replace("http://matplotlib.org", "")
    assert svg == charts.render_svg(result(url, name)), "the same figures give the same bytes"
    assert "<dc:date>" not in svg


def test_an_empty_range_draws_a_chart_that_says_so(url):
    svg = charts.render_svg(result(url, "timeliness", Window(date(2021, 1, 1), date(2021, 1, 31), now=NOW)))
    ET.fromstring(svg)
    assert "No figures in this range" in svg


def test_csv_of_one_table_and_of_every_table(url):
    r = result(url, "police-delay")
    one = list(csv.reader(io.StringIO(export.to_csv(r, "by_month"))))
    assert one == [
        ["Month", "Notifications", "Median hours", "90th percentile hours", "Over 24 hours", "% over 24 hours"],
        ["2019-01", "2", "10.0", "30.0", "1", "50.0"],
        ["2019-02", "1", "50.0", "50.0", "1", "100.0"],
    ]
    every = list(csv.reader(io.StringIO(export.to_csv(r))))
    for t in r.tables:
        at = every.index([t.title])
        assert every[at - 1] == [] and every[at + 1] == [c.label for c in t.columns]
    longest = list(csv.reader(io.StringIO(export.to_csv(r, "longest"))))
    assert longest[1] == ["C6", "10/02/2019 09:00", "50.0"]  # local time, dd/mm/yyyy


def test_xlsx_has_an_about_sheet_and_a_sheet_per_table(url):
    r = result(url, "timeliness")
    wb = load_workbook(io.BytesIO(export.to_xlsx(r)))
    assert wb.sheetnames[0] == "About" and len(wb.sheetnames) == len(r.tables) + 1
    assert wb["About"]["A1"].value == r.report.title
    weeks = list(wb[wb.sheetnames[2]].iter_rows(values_only=True))
    assert weeks[0] == tuple(c.label for c in r.table("by_week").columns)
    assert weeks[1][0].date() == date(2019, 1, 7) and weeks[1][1:4] == (2, 2, 100.0)
    cell = wb[wb.sheetnames[2]]["A2"]
    assert cell.number_format == "dd/mm/yyyy"


def test_json_is_plain_data(url):
    body = export.to_json(result(url, "volumes"))
    again = json.loads(json.dumps(body))
    assert again["name"] == "volumes" and again["from"] == "2019-01-01" and again["to"] == "2019-03-31"
    summary = next(t for t in again["tables"] if t["name"] == "summary")
    assert summary["rows"][0] == {"measure": "Contacts received", "value": 9}
    months = next(t for t in again["tables"] if t["name"] == "by_month_source")
    assert [row["month"] for row in months["rows"]] == ["2019-01", "2019-02", "2019-03"]


# ---------------------------------------------------------------------- the command line
@pytest.fixture
def cli(url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("FRONTDOOR_VAR_DIR", str(tmp_path / "var"))
    parser = argparse.ArgumentParser(prog="frontdoor")
    report_cli.register(parser.add_subparsers(dest="cmd", required=True))

    def run(*argv: str) -> int:
        args = parser.parse_args(list(argv))
        return int(args.func(args) or 0)

    run.parser = parser  # type: ignore[attr-defined]
    return run


def test_cli_report_as_a_table_with_a_progress_line(cli, capsys):
    assert cli("report", "timeliness", "--from", "2019-01-01", "--to", "2019-03-31") == 0
    out, err = capsys.readouterr()
    assert "Timeliness of management decisions: 01/01/2019 to 31/03/2019" in out
    assert "Management decisions made" in out and "w/c 07/01/2019" in out
    assert "frontdoor: Timeliness of management decisions, 01/01/2019 to 31/03/2019 ..." in err and "computed in" in err


def test_cli_report_formats(cli, capsys, tmp_path):
    cli("report", "police-delay", "--from", "2019-01-01", "--to", "2019-03-31", "--format", "json")
    body = json.loads(capsys.readouterr().out)
    assert body["tables"][0]["rows"][0] == {"measure": "Police notifications received", "value": 3}
    cli("report", "police-delay", "--from", "2019-01-01", "--to", "2019-03-31", "--format", "csv", "--table", "longest")
    assert capsys.readouterr().out.splitlines()[1] == "C6,10/02/2019 09:00,50.0"
    out, chart = tmp_path / "v.xlsx", tmp_path / "v.svg"
    cli("report", "volumes", "--from", "2019-01-01", "--to", "2019-03-31", "--format", "xlsx", "--out", str(out), "--chart", str(chart))
    assert load_workbook(out).sheetnames[0] == "About"
    ET.fromstring(chart.read_text())


def test_cli_refuses_what_it_cannot_do_and_says_why(cli):
    with pytest.raises(ReportInputError, match="from: .* is after to"):
        cli("report", "timeliness", "--from", "2019-03-01", "--to", "2019-01-01")
    with pytest.raises(ReportInputError, match="--out"):
        cli("report", "timeliness", "--format", "xlsx")
    with pytest.raises(ReportInputError, match="no table"):
        cli("report", "timeliness", "--from", "2019-01-01", "--to", "2019-03-31", "--format", "csv", "--table", "nope")
    with pytest.raises(SystemExit):
        cli("report", "no-such-report")


def test_cli_help_lists_every_report(cli, capsys):
    with pytest.raises(SystemExit):
        cli("report", "--help")
    out = capsys.readouterr().out
    for r in reports.REPORTS.values():
        assert r.name in out and r.title in out


def test_cli_annex_a(cli, capsys, tmp_path):
    out = tmp_path / "annex.xlsx"
    assert cli("annex-a", "--list", "all", "--from", "2019-01-01", "--to", "2019-03-31", "--out", str(out)) == 0
    err = capsys.readouterr().err
    assert "List 1 Contacts" in err and "9 rows" in err
    assert load_workbook(out).sheetnames == list(spec.LIST_TITLES.values())
    one = tmp_path / "list3.csv"
    cli("annex-a", "--list", "3", "--from", "2019-01-01", "--to", "2019-03-31", "--out", str(one))
    rows = list(csv.reader(one.open(newline="")))
    assert rows[0] == list(spec.LIST_COLUMNS[3]) and len(rows) == 8
    with pytest.raises(ReportInputError, match="one list"):
        cli("annex-a", "--list", "all", "--out", str(tmp_path / "all.csv"))
    assert not Path(tmp_path / "all.csv").exists()
