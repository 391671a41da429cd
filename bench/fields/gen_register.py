#!/usr/bin/env python3
"""A synthetic membership register whose strongest evidence sits in columns SPIRIT has
no built-in kind for.

Usage:
    python gen_register.py N OUT.csv [--seed 7]

Writes N records with columns
    ref, cluster, name, birth_year, organisation, role, associates, vehicle, joined
`cluster` is the ground truth. Names come from a small pool (many people share one), so
names alone cannot tell people apart; the birth year, the organisation, the vehicle plate,
the list of associates and the date joined can. Duplicates get 1-3 corruptions: name
typos and initials, a year one off, a missing or changed organisation, a plate typo,
associates dropped, added or reordered, a date in another format, missing values.
Only the standard library is used; the same seed gives the same file.
"""
import argparse
import csv
import random
import string

GIVEN = ["ali", "maria", "john", "anna", "omar", "li", "ivan", "sara", "david", "fatima",
         "jose", "elena", "ahmed", "olga", "peter", "nina", "mark", "lea", "paul", "eva"]
FAMILY = ["smith", "garcia", "khan", "novak", "chen", "silva", "petrov", "ali", "brown",
          "muller", "rossi", "kowalski", "nguyen", "jensen", "moreau", "haddad"]
ROLES = ["member", "treasurer", "driver", "courier", "organiser", "recruiter", "guard",
         "supplier", "lookout", "accountant"]


def typo(s, rng):
    if len(s) < 3:
        return s
    i = rng.randrange(len(s))
    op = rng.randrange(3)
    c = rng.choice(string.ascii_lowercase)
    if op == 0:
        return s[:i] + c + s[i + 1:]
    if op == 1:
        return s[:i] + s[i + 1:]
    return s[:i] + c + s[i:]


def plate(rng):
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(2)) + \
        "".join(rng.choice(string.digits) for _ in range(2)) + " " + \
        "".join(rng.choice(string.ascii_uppercase) for _ in range(3))


def date_text(y, m, d, rng):
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return rng.choice([f"{y:04d}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y:04d}",
                       f"{d} {months[m - 1]} {y}"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    orgs = [f"{rng.choice(['north', 'east', 'red', 'iron', 'blue', 'old'])} "
            f"{rng.choice(['harbour', 'market', 'garage', 'club', 'lane', 'yard'])} "
            f"{rng.choice(['ltd', 'group', 'crew', 'co', 'company'])} {i}"
            for i in range(max(10, a.n // 40))]
    people = max(1, a.n // 2)
    pool = [f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}" for _ in range(max(50, people // 4))]
    rows = []
    ref = 0
    for p in range(people):
        if len(rows) >= a.n:
            break
        person = {
            "name": f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}",
            "birth_year": rng.randint(1950, 2004),
            "organisation": rng.choice(orgs),
            "role": rng.choice(ROLES),
            "associates": rng.sample(pool, rng.randint(1, 4)),
            "vehicle": plate(rng) if rng.random() < 0.7 else "",
            "joined": (rng.randint(2005, 2024), rng.randint(1, 12), rng.randint(1, 28)),
        }
        copies = 1 + (rng.random() < 0.6) * rng.randint(1, 3)
        for c in range(copies):
            if len(rows) >= a.n:
                break
            r = dict(person)
            r["associates"] = list(person["associates"])
            if c > 0:
                for _ in range(rng.randint(1, 3)):
                    k = rng.randrange(7)
                    if k == 0:
                        g, f = r["name"].split(" ", 1)
                        r["name"] = rng.choice([f"{typo(g, rng)} {f}", f"{g[0]}. {f}",
                                                f"{g} {typo(f, rng)}", f"{f} {g}"])
                    elif k == 1:
                        r["birth_year"] += rng.choice([-1, 1])
                    elif k == 2:
                        r["organisation"] = rng.choice(["", rng.choice(orgs)])
                    elif k == 3 and r["vehicle"]:
                        r["vehicle"] = rng.choice(["", typo(r["vehicle"], rng).upper()])
                    elif k == 4:
                        if len(r["associates"]) > 1 and rng.random() < 0.5:
                            r["associates"].pop(rng.randrange(len(r["associates"])))
                        else:
                            r["associates"].append(rng.choice(pool))
                    elif k == 5:
                        r["role"] = rng.choice(ROLES + [""])
                    else:
                        r["joined"] = None
            y, m, d = person["joined"]
            rng.shuffle(r["associates"])
            rows.append([
                ref, p, r["name"].title(), r["birth_year"], r["organisation"].title(),
                r["role"], rng.choice(["; ", " | ", ", "]).join(x.title() for x in r["associates"]),
                r["vehicle"], date_text(y, m, d, rng) if r["joined"] else "",
            ])
            ref += 1
    rng.shuffle(rows)
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ref", "cluster", "name", "birth_year", "organisation", "role",
                    "associates", "vehicle", "joined"])
        w.writerows(rows)


if __name__ == "__main__":
    main()
