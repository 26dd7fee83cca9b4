#!/usr/bin/env python3
"""Check SSSOM/TSV files with the reference SSSOM tool (`sssom` on PyPI).

For each file this does what `sssom parse FILE` and `sssom validate FILE` do, in one
process, and is stricter about one thing the CLI lets pass: the reference parser drops
rows whose CURIEs are not well-formed with only a log message (and `sssom validate`
still exits 0), so every data row of the file must survive parsing.

A file passes when
  1. `parse_sssom_table` reads it, without "not well-formed" messages, keeping every row;
  2. `validate` with the default validation types (JsonSchema, PrefixMapCompleteness,
     StrictCurieFormat) reports no error;
  3. the parsed set can be written back as SSSOM/TSV (what `sssom parse` prints), and
     that rewrite still declares every prefix its CURIEs use and parses again with the
     same number of rows (the reference tool decides which prefixes to keep with a
     narrower CURIE pattern than its parser accepts, so this is checked, not assumed).

Usage:

    python3 -m venv /tmp/sssomvenv && /tmp/sssomvenv/bin/pip install sssom
    /tmp/sssomvenv/bin/python scripts/check_sssom.py FILE.sssom.tsv...

The last line printed is `N passed, M failed`; the exit status is non-zero when a file
failed (or no file was given).
"""

import io
import logging
import sys


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def data_rows(path):
    """Rows of the table: non-comment, non-blank lines after the column header row."""
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\r\n") for l in f]
    body = [l for l in lines if not l.startswith("#") and l.strip()]
    return max(len(body) - 1, 0)


ENTITY_COLUMNS = ("subject_id", "predicate_id", "object_id", "mapping_justification")


def rewrite_problems(text, rows):
    """Problems of the reference tool's own rewrite of a file."""
    import os
    import tempfile

    import yaml
    from sssom.parsers import parse_sssom_table

    lines = text.splitlines()
    header = "\n".join(l.lstrip("#") for l in lines if l.startswith("#"))
    meta = yaml.safe_load(header) or {}
    prefixes = set((meta.get("curie_map") or {}).keys())
    table = [l.split("\t") for l in lines if not l.startswith("#") and l.strip()]
    problems = []
    if table:
        columns = table[0]
        for row in table[1:]:
            for name, value in zip(columns, row):
                if name in ENTITY_COLUMNS and value and "://" not in value and ":" in value:
                    prefix = value.split(":", 1)[0]
                    if prefix not in prefixes:
                        problems.append(f"rewrite: prefix {prefix!r} of {value!r} is not in its curie_map")
    fd, tmp = tempfile.mkstemp(suffix=".sssom.tsv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        again = parse_sssom_table(tmp)
        if len(again.df) != rows:
            problems.append(f"rewrite: parsing it again keeps {len(again.df)} of {rows} rows")
    finally:
        os.unlink(tmp)
    return sorted(set(problems))


def check(path):
    """Return a list of problems (empty when the file passes) and the row count."""
    from sssom.parsers import parse_sssom_table
    from sssom.validators import validate
    from sssom.writers import write_table

    problems = []
    handler = Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        try:
            msdf = parse_sssom_table(path)
        except Exception as e:  # the reference parser refused the file
            return [f"parse: {type(e).__name__}: {e}"], 0
        dropped = [r.getMessage() for r in handler.records if "not well-formed" in r.getMessage()]
        problems += [f"parse: {m}" for m in dropped]
        expected = data_rows(path)
        if len(msdf.df) != expected:
            problems.append(f"parse kept {len(msdf.df)} of {expected} rows")
        handler.records.clear()
        try:
            validate(msdf, fail_on_error=True)
        except Exception as e:
            problems.append(f"validate: {type(e).__name__}: {e}")
        problems += [
            f"validate: {r.getMessage()}"
            for r in handler.records
            if r.levelno >= logging.ERROR
        ]
        try:
            # As `sssom parse` does before writing.
            msdf.clean_prefix_map(strict=True)
            out = io.StringIO()
            write_table(msdf, out)
            problems += rewrite_problems(out.getvalue(), len(msdf.df))
        except Exception as e:
            problems.append(f"write: {type(e).__name__}: {e}")
        return problems, len(msdf.df)
    finally:
        root.removeHandler(handler)


def main(argv):
    files = argv[1:]
    if not files:
        print(__doc__.strip().splitlines()[0])
        print("usage: check_sssom.py FILE.sssom.tsv...")
        print("0 passed, 0 failed")
        return 2
    logging.getLogger().setLevel(logging.WARNING)
    passed = failed = 0
    for path in files:
        try:
            problems, rows = check(path)
        except Exception as e:
            problems, rows = [f"{type(e).__name__}: {e}"], 0
        if problems:
            failed += 1
            print(f"FAIL {path}")
            for p in problems:
                print(f"  {p}")
        else:
            passed += 1
            print(f"ok   {path} ({rows} mappings)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
