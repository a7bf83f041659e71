#!/usr/bin/env python3
"""Carry the hand-written subject and text of the cover letter into a fresh one.

git format-patch writes a cover letter with placeholders. This replaces them with
the subject, text and date of the cover letter already in patches/ (if any), and
makes sure the text names the base the series is cut against.

usage: cover_letter.py NEW OLD "BASE_PACKAGE BASE_VERSION"
"""
import re
import sys

SUBJECT_PH = "*** SUBJECT HERE ***"
BLURB_PH = "*** BLURB HERE ***"
SHORTLOG = re.compile(r"^\S.* \(\d+\):$")


def split(text):
    """Return (headers, subject, blurb, rest) of a format-patch cover letter."""
    head, _, body = text.partition("\n\n")
    m = re.search(r"^Subject: (\[[^]]*\] )?(.*(?:\n .*)*)", head, re.M)
    subject = re.sub(r"\n ", " ", m.group(2)) if m else ""
    lines = body.split("\n")
    for i, line in enumerate(lines):
        if SHORTLOG.match(line):
            return head, subject, "\n".join(lines[:i]).rstrip("\n"), "\n".join(lines[i:])
    return head, subject, body.rstrip("\n"), ""


def main():
    new_path, old_path, base = sys.argv[1:4]
    new = open(new_path).read()
    try:
        old = open(old_path).read()
    except FileNotFoundError:
        old = ""
    head, _, _, rest = split(new)
    old_head, subject, blurb, _ = split(old) if old else ("", SUBJECT_PH, BLURB_PH, "")
    # Keep the letter's date, so that an export with nothing changed changes nothing.
    date = re.search(r"^Date: .*$", old_head, re.M)
    if date:
        head = re.sub(r"^Date: .*$", lambda _: date.group(0), head, count=1, flags=re.M)
    base_line = f"Base: Debian {base}"
    if not re.search(r"^Base: ", blurb, re.M):
        blurb = blurb + "\n\n" + base_line
    else:
        blurb = re.sub(r"^Base: .*$", base_line, blurb, flags=re.M)
    head = head.replace(SUBJECT_PH, subject)
    open(new_path, "w").write(head + "\n\n" + blurb + "\n\n" + rest)


if __name__ == "__main__":
    main()
