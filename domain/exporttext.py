"""Text as files other programs open (Word, Excel, WPS) may hold it (issue 18): one home for
the two rules every export follows.

* :func:`xml_safe`: DOCX and XLSX are XML, which cannot hold C0 control characters (but tab,
  line feed and carriage return), U+FFFE/U+FFFF or lone surrogates; each becomes U+FFFD
  (visible, so a reader sees that something was there). What people typed is stored as typed;
  only the exported copy changes.
* :func:`spreadsheet_cell`: text a spreadsheet would run as a formula (starting with ``=``,
  ``+``, ``-``, ``@``, tab or CR) gets a leading apostrophe (OWASP CSV injection), and is
  :func:`xml_safe`.
"""
from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 cannot hold replaced by U+FFFD."""
    return _XML_ILLEGAL.sub(REPLACEMENT, text)


def spreadsheet_cell(value: object) -> object:
    """``value`` as a cell: text defused and :func:`xml_safe`; numbers and None unchanged."""
    if not isinstance(value, str):
        return value
    if value[:1] in _FORMULA_START:
        value = "'" + value
    return xml_safe(value)
