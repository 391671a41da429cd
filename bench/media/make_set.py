#!/usr/bin/env python3
"""Builds the near-duplicate evaluation set from real photographs shipped by Debian
wallpaper packages (see ./setup).

There are only ~37 distinct photographs in those packages, so the *distinct images* of the
set are non-overlapping square tiles cut from them (at most --per-photo per photograph,
tiles with almost no texture left out). Tiles of one photograph are different pictures
but share light, colour and subject, so they are harder negatives than unrelated photos.

Each tile ("orig") gets ten edited copies:
  resize50   half width and height (bilinear)
  jpeg30     JPEG quality 30
  crop10     5% cut from every side (10% of each dimension)
  bright+20  brightness x1.2        bright-20  brightness x0.8
  mirror     horizontal flip
  rotate3    3 degrees, same canvas (black corners)
  watermark  a semi-transparent handle and date over the lower part
  gray       greyscale
  png        lossless PNG of the same pixels
Originals and edits (except jpeg30 and png) are saved as JPEG quality 90.
Writes OUT/manifest.csv: id,source,variant,path.
"""
import argparse
import csv
import os
import random
import subprocess

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps, ImageStat

PACKAGES = ["mate-backgrounds", "ukui-wallpapers", "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04"]
# Smaller copies of one photo in mate-backgrounds: keep only the largest.
SKIP = {"Elephants.jpg", "Elephants_3840x2160.jpg"}


def photos():
    out = []
    for p in PACKAGES:
        files = subprocess.run(["dpkg", "-L", p], capture_output=True, text=True, check=True).stdout.split("\n")
        for f in files:
            # JPEG only: the PNGs of these packages are drawn artwork, not photographs.
            if f.lower().endswith((".jpg", ".jpeg")) and os.path.basename(f) not in SKIP and os.path.isfile(f):
                out.append(f)
    return sorted(set(out))


def tiles(img, size):
    w, h = img.size
    for y in range(0, h - size + 1, size):
        for x in range(0, w - size + 1, size):
            yield (x, y, x + size, y + size)


def watermark(img, rng):
    out = img.convert("RGBA")
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    size = max(12, out.size[0] // 12)
    font = ImageFont.load_default(size=size)
    text = "@user_%04d  2024-05-01" % rng.randrange(10000)
    d.text((out.size[0] // 20, out.size[1] * 3 // 4), text, fill=(255, 255, 255, 170), font=font)
    return Image.alpha_composite(out, layer).convert("RGB")


def variants(img, rng):
    w, h = img.size
    return {
        "resize50": img.resize((w // 2, h // 2), Image.BILINEAR),
        "jpeg30": img,
        "crop10": img.crop((w // 20, h // 20, w - w // 20, h - h // 20)),
        "bright+20": ImageEnhance.Brightness(img).enhance(1.2),
        "bright-20": ImageEnhance.Brightness(img).enhance(0.8),
        "mirror": ImageOps.mirror(img),
        "rotate3": img.rotate(3, resample=Image.BICUBIC, expand=False),
        "watermark": watermark(img, rng),
        "gray": ImageOps.grayscale(img),
        "png": img,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tile", type=int, default=384)
    ap.add_argument("--per-photo", type=int, default=60)
    ap.add_argument("--min-std", type=float, default=12.0, help="grey-level standard deviation below which a tile is left out")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.out, "img"), exist_ok=True)
    rows = []
    n = 0
    srcs = photos()
    for src in srcs:
        img = Image.open(src).convert("RGB")
        boxes = list(tiles(img, a.tile))
        rng.shuffle(boxes)
        kept = 0
        for box in boxes:
            if kept >= a.per_photo:
                break
            tile = img.crop(box)
            if ImageStat.Stat(tile.convert("L")).stddev[0] < a.min_std:
                continue
            kept += 1
            ident = "%05d" % n
            n += 1
            path = os.path.join(a.out, "img", ident + "-orig.jpg")
            tile.save(path, quality=90)
            rows.append((ident, os.path.basename(src), "orig", path))
            for name, v in variants(tile, rng).items():
                if name == "png":
                    p = os.path.join(a.out, "img", ident + "-png.png")
                    v.save(p)
                elif name == "jpeg30":
                    p = os.path.join(a.out, "img", ident + "-jpeg30.jpg")
                    v.save(p, quality=30)
                else:
                    p = os.path.join(a.out, "img", ident + "-" + name + ".jpg")
                    v.save(p, quality=90)
                rows.append((ident, os.path.basename(src), name, p))
    with open(os.path.join(a.out, "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "source", "variant", "path"])
        w.writerows(rows)
    print("%d photographs, %d distinct tiles, %d files -> %s" % (len(srcs), n, len(rows), os.path.join(a.out, "manifest.csv")))


if __name__ == "__main__":
    main()
