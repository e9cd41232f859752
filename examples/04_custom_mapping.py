"""A new source without code: write a mapping for its columns and formats.

A hypothetical "schuldhulp" (debt counselling) export: semicolon-separated, names as
"Berg, van den, Jan", birth dates as 17.05.1980. (Its address column, postcode and house
number in one cell, is left unmapped here: it would need its own parser.)

Run: python examples/04_custom_mapping.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pplink

EXPORT = """\
dossier;naam;geboren;adres;hulpvorm
S-001;Berg, van den, Jan;17.05.1980;7511 AB 12a;budgetbeheer
S-002;Vries, de, Anna;03.11.1975;7522 CD 4;schuldregeling
S-003;Yilmaz, Mehmet;31.02.1990;7533 EF 7;budgetbeheer
S-003;Jansen, Piet;01.01.1960;7544 GH 1;budgetbeheer
"""

MAPPING = """\
version = 1

[source]
name = "schuldhulp"
record_id = "dossier"
delimiter = ";"

[fields.full_name]
column = "naam"
parser = "full_name"
order = "last_first"
first_only = true

[fields.birth_date]
column = "geboren"
parser = "date"
format = "%d.%m.%Y"

[attributes]
service = "hulpvorm"
"""


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "schuldhulp.csv").write_text(EXPORT, encoding="utf-8")
    (out / "schuldhulp.toml").write_text(MAPPING, encoding="utf-8")
    mapping = pplink.load_mapping(out / "schuldhulp.toml")
    std = pplink.mapping.standardize_frame(pplink.io.read_source(out / "schuldhulp.csv", delimiter=";"), mapping)
    print("standardised (stays with the data holder):")
    print(std.fields.assign(record_id=std.record_ids).to_string(index=False))
    print("\nissues (row numbers are data rows, header excluded):")
    print(std.issues[["row", "field", "reason", "action"]].to_string(index=False))
    result = pplink.encode(out / "schuldhulp.csv", mapping=mapping, secret=pplink.Secret.generate())
    print(f"\nencoded {result.encoded.n_records} of {result.n_input} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
