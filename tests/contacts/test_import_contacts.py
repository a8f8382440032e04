"""manage.py import_contacts with a real CSV file, bad rows included."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from contacts.models import Contact
from tests.factories import ContactFactory

CSV = (
    "Email,firstName,plan,city\n"
    "alice@example.com,Alice,pro,Oslo\n"
    "BOB@Example.com,Bob,,Paris\n"
    "not-an-email,Nobody,free,\n"
    '"carol@example.com\nBcc: evil@example.com",Carol,free,\n'
    "dave@example.com,Dave,team,Berlin,extra-cell\n"
    ",Empty,free,\n"
    "zoë@bücher.de,Zoë,pro,Zürich\n"
    "zoe@bücher.de,Zoë,pro,Zürich\n"
    "alice@EXAMPLE.com,,team,\n"
)


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("import_contacts", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_good_rows_and_reports_the_bad_ones(organisation, csv_file):
    ContactFactory(organisation=organisation, email="bob@example.com", properties={"plan": "free", "vip": True})
    out, err = run(csv_file, "--organisation", organisation.id)
    assert "2 new, 1 updated" in out and "5 rejected" in out
    assert "[" in err and "]" in err  # the progress bar
    contacts = {c.email.lower(): c.properties for c in Contact.objects.filter(organisation=organisation)}
    assert contacts["alice@example.com"] == {"firstName": "Alice", "plan": "team", "city": "Oslo"}  # later row wins
    assert contacts["bob@example.com"] == {"plan": "free", "vip": True, "firstName": "Bob", "city": "Paris"}
    assert contacts["zoe@bücher.de"] == {"firstName": "Zoë", "plan": "pro", "city": "Zürich"}
    report = (csv_file.parent / "contacts.csv.rejected.csv").read_text(encoding="utf-8")
    assert "not a valid email address" in report and "more cells than the header" in report
    assert "is not a single email address" in report and "An email address is required" in report
    assert "zoë@bücher.de" in report  # a non-ASCII local part cannot be sent through SES


def test_running_it_again_changes_nothing(organisation, csv_file):
    run(csv_file, "--organisation", organisation.id)
    before = sorted(Contact.objects.values_list("email", "properties"))
    out, _ = run(csv_file, "--organisation", organisation.id)
    assert "0 new, 0 updated, 3 unchanged" in out
    assert sorted(Contact.objects.values_list("email", "properties")) == before


def test_a_dry_run_writes_nothing(organisation, csv_file, tmp_path):
    out, _ = run(csv_file, "--organisation", organisation.id, "--dry-run", "--report", tmp_path / "r.csv")
    assert "Would import 3 contacts" in out and not Contact.objects.exists()


def test_small_batches_give_the_same_result(organisation, csv_file):
    run(csv_file, "--organisation", organisation.id, "--batch-size", "2")
    assert Contact.objects.filter(organisation=organisation).count() == 3


def test_bad_files(organisation, tmp_path):
    no_email = tmp_path / "x.csv"
    no_email.write_text("name\nAlice\n")
    with pytest.raises(CommandError, match="'email' column"):
        run(no_email, "--organisation", organisation.id)
    with pytest.raises(CommandError, match="No file"):
        run(tmp_path / "missing.csv", "--organisation", organisation.id)
    with pytest.raises(CommandError, match="No organisation"):
        run(no_email, "--organisation", "Nobody")


def test_cells_the_database_cannot_store_reject_their_row_and_a_header_the_file(organisation, tmp_path):
    # A NUL in a cell was a 500-style crash from PostgreSQL (DataError) half-way through a batch
    path = tmp_path / "nul.csv"
    path.write_text("email,name\nann@example.com,Ann\nnul@example.com,N\x00ul\nbo\x00b@example.com,Bob\n")
    out, _ = run(path, "--organisation", organisation.id)
    assert "1 new" in out and "2 rejected" in out
    report = (tmp_path / "nul.csv.rejected.csv").read_text(encoding="utf-8")
    assert "the 'name' cell contains a NUL character" in report and "the 'email' cell contains a NUL" in report
    assert list(Contact.objects.values_list("email", flat=True)) == ["ann@example.com"]
    header = tmp_path / "header.csv"
    header.write_text("email,na\x00me\nann@example.com,Ann\n")
    with pytest.raises(CommandError, match=r"The CSV header 'na\\u0000me' contains a NUL character"):
        run(header, "--organisation", organisation.id)


def test_the_rejects_report_keeps_whole_rows_and_imports_once_fixed(organisation, csv_file):
    out, _ = run(csv_file, "--organisation", organisation.id)
    assert "1 rows repeated an address of an earlier row" in out  # alice@EXAMPLE.com again
    report = csv_file.parent / "contacts.csv.rejected.csv"
    lines = report.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Email,firstName,plan,city,rejected_line,rejected_reason"
    assert lines[1].startswith("not-an-email,Nobody,free,,4,")
    report.write_text(report.read_text(encoding="utf-8").replace("not-an-email", "nobody@example.com"))
    out, _ = run(report, "--organisation", organisation.id)
    assert "1 new" in out
    assert Contact.objects.get(email="nobody@example.com").properties == {"firstName": "Nobody", "plan": "free"}


def test_a_dry_run_writes_no_report(organisation, csv_file):
    out, _ = run(csv_file, "--organisation", organisation.id, "--dry-run")
    assert "would be written to" in out and "line 4: " in out
    assert not (csv_file.parent / "contacts.csv.rejected.csv").exists()


def test_progress_counts_rows_and_draws_nothing_for_an_empty_file(organisation, csv_file, tmp_path):
    _, err = run(csv_file, "--organisation", organisation.id)
    assert "10/10" in err and err.count("10/10") == 1 and "\x1b[" not in err  # rows, once, no colour
    empty = tmp_path / "empty.csv"
    empty.write_text("email,name\n")
    out, err = run(empty, "--organisation", organisation.id)
    assert err == "" and "Imported 0 contacts" in out


def test_semicolon_files_and_utf16_files_get_a_way_out(organisation, tmp_path):
    semicolons = tmp_path / "excel.csv"
    semicolons.write_text("email;firstName\nann@example.com;Ann\n")
    with pytest.raises(CommandError, match=r"separated by ';'.*--delimiter ';'"):
        run(semicolons, "--organisation", organisation.id)
    out, _ = run(semicolons, "--organisation", organisation.id, "--delimiter", ";")
    assert "1 new" in out
    utf16 = tmp_path / "unicode.csv"
    utf16.write_text("email,name\nbo@example.com,Bo\n", encoding="utf-16")
    with pytest.raises(CommandError, match=r"UTF-16.*CSV UTF-8"):
        run(utf16, "--organisation", organisation.id)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("email,name\nzo@example.com,Zoë\n".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8 text"):
        run(latin1, "--organisation", organisation.id)
