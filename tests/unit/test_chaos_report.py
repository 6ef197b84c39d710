"""The fault matrix's results table is rendered from the suite's JUnit report."""

from __future__ import annotations

from xml.etree import ElementTree

from tests.chaos import report

JUNIT = """<testsuites><testsuite name="pytest">
<testcase classname="tests.chaos.test_data_faults" name="test_wrong_password_fails_once"
time="12.4"/>
<testcase classname="tests.chaos.test_control_faults" name="test_etcd_restarted[small]" time="30.1">
<failure message="boom">trace</failure></testcase>
</testsuite></testsuites>"""


def test_each_case_is_a_row_with_its_result() -> None:
    block = report.render(ElementTree.fromstring(JUNIT))

    assert "| test_data_faults | wrong password fails once | passed | 12 |" in block
    assert "| test_control_faults | etcd restarted [small] | failed | 30 |" in block
    assert "1 of 2 passed" in block


def test_the_block_replaces_the_previous_results_only() -> None:
    document = f"# Reliability\n\nintro\n\n{report.START}\nold\n{report.END}\n\n## After\n"

    updated = report.replace_block(document, f"{report.START}\nnew\n{report.END}")

    assert "old" not in updated and "new" in updated
    assert updated.startswith("# Reliability\n\nintro") and updated.endswith("## After\n")


def test_a_document_without_markers_gets_the_block_appended() -> None:
    updated = report.replace_block("# Reliability\n", "BLOCK")

    assert updated == "# Reliability\n\nBLOCK\n"
