"""Tell a file's format from its content, not its name.

Client folders are full of misnamed files: CSVs saved as .xls, vCards as
.txt, 1C exports without an extension. The first bytes decide; the
extension only breaks ties.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from crmtool.errors import SourceError
from crmtool.sources import encoding as enc

EXCEL, DELIMITED, VCARD, COMMERCEML = "excel", "delimited", "vcard", "commerceml"

_XML_ROOT = re.compile(r"<([^\s?!/>]+)[\s>]")
_XML_ENCODING = re.compile(rb"<\?xml[^>]*encoding=[\"']([A-Za-z0-9_.-]+)[\"']")


def sniff(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(64 * 1024)
    if not head:
        raise SourceError(str(path), "the file is empty")
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return EXCEL  # OLE2: a .xls workbook (calamine says so if it is a .doc instead)
    encoding = enc.detect(head, complete=len(head) < 64 * 1024)
    if not encoding.startswith(("utf-16", "utf-32")) and enc.looks_binary(head):
        raise SourceError(str(path), "binary data, not a contact file (no known format recognised)")
    _, bom = enc.bom_of(head)
    text = head[bom:].decode(encoding if encoding != "ascii" else "utf-8", errors="replace").lstrip()
    if text[:11].upper() == "BEGIN:VCARD":
        return VCARD
    if text.startswith("<"):
        declared = _XML_ENCODING.search(head[:200])
        if declared:
            try:
                as_declared = head[bom:].decode(declared.group(1).decode("ascii"), errors="replace")
            except LookupError:
                as_declared = "\ufffd"
            # A wrong declaration (cp1251 bytes said to be UTF-8) must not hide the root:
            # the reader then names the encoding problem and the option that fixes it.
            if "\ufffd" not in as_declared[:2048]:
                text = as_declared
        return _xml_kind(path, text)
    return DELIMITED


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile:
        return EXCEL  # a truncated workbook: let the Excel reader name the damage
    if any(n.startswith("xl/") for n in names) or "content.xml" in names:
        return EXCEL
    raise SourceError(str(path), "a ZIP archive, not an Excel workbook; unpack it and load the folder")


def _xml_kind(path: Path, text: str) -> str:
    lowered = text[:2048].lower()
    if lowered.startswith("<!doctype html") or lowered.startswith("<html"):
        raise SourceError(str(path), "an HTML page (a table saved as a web page?); save it as .xlsx or .csv")
    body = re.sub(r"<\?.*?\?>|<!--.*?-->", "", text[:8192], flags=re.S)
    m = _XML_ROOT.search(body)
    root = m.group(1).split(":")[-1] if m else ""
    if root in ("КоммерческаяИнформация", "Message"):
        return COMMERCEML  # the reader explains that EnterpriseData (Message) is not supported
    raise SourceError(str(path), f"XML, but not CommerceML (root <{root or '?'}>)")
