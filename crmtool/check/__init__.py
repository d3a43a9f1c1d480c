"""`crmtool check`: validate an export/import file before it reaches a CRM (or in CI).

reader.py reads the file as the CRM will (text cells, spreadsheet line numbers),
layouts.py knows which columns a layout has, rules.py and duplicates.py find
problems, report.py decides pass/fail against the thresholds and renders
text, JSON and JUnit XML; runner.py strings them together per file.
"""
