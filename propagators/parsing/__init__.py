"""Element-set and state parsers: text in, ``ParseResult`` out.

No file I/O: callers read the file and pass its text with ``source`` (the
file name) so every ``RecordError`` says where it came from.

* ``tle``: two-line element sets (2-line and 3-line form);
* ``omm``: CCSDS OMM in KVN/XML, CelesTrak/Space-Track GP JSON and CSV;
* ``detect``: format sniffing and dispatch (``parse_element_text``).
"""

from propagators.parsing.detect import (
    parse_element_text,
    parse_packaged_tle_json,
    register_parser,
    sniff_format,
)
from propagators.parsing.omm import parse_omm_csv, parse_omm_json, parse_omm_kvn, parse_omm_xml
from propagators.parsing.tle import parse_tle_lines, parse_tle_text

__all__ = [
    "parse_element_text",
    "parse_omm_csv",
    "parse_omm_json",
    "parse_omm_kvn",
    "parse_omm_xml",
    "parse_packaged_tle_json",
    "parse_tle_lines",
    "parse_tle_text",
    "register_parser",
    "sniff_format",
]
