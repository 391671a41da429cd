#!/usr/bin/env python3
"""Builds the audio fingerprint evaluation set (see README.md here and ./setup).

Distinct clips, none made by the project:
  music    non-overlapping 10 s pieces of the three tracks of the Debian package
           asc-music (MP3 game music), quiet pieces left out;
  speech   real recorded speech: the voice prompts of asterisk-core-sounds-en-wav
           (one speaker, 8 kHz), consecutive prompts joined with 0.25 s pauses into
           clips of at least 8 s; every prompt is used once;
  espeak   speech synthesised with espeak-ng: 22 words drawn (seeded) from the
           vocabulary of the GPL-3 text, five English voices, three speeds.
Each clip ("orig", 16-bit WAV) gets edited copies made with ffmpeg:
  mp3_64k  MP3 at 64 kbit/s (LAME)      trim30  the first 30 % cut off
  gain-6   volume -6 dB                 all     trim30 + gain-6 + mp3_64k (the bar)
Writes OUT/manifest.csv: id,source,kind,variant,path.
"""
import argparse
import array
import csv
import os
import random
import re
import subprocess
import wave

ASTERISK = "/usr/share/asterisk/sounds/en_US_f_Allison"
MUSIC = "/usr/share/games/asc/music"
VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp"]


def ff(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def rms(path):
    with wave.open(path) as w:
        a = array.array("h", w.readframes(w.getnframes()))
    if not a:
        return 0.0
    return (sum(x * x for x in a[::7]) / len(a[::7])) ** 0.5 / 32768.0


def duration(path):
    with wave.open(path) as w:
        return w.getnframes() / w.getframerate()


def music_clips(tmp, seconds):
    out = []
    for f in sorted(os.listdir(MUSIC)):
        src = os.path.join(MUSIC, f)
        total = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", src],
                                     capture_output=True, text=True, check=True).stdout)
        start = 0.0
        while start + seconds <= total:
            p = os.path.join(tmp, "music-%s-%04d.wav" % (os.path.splitext(f)[0], int(start)))
            ff("-ss", str(start), "-t", str(seconds), "-i", src, "-ac", "2", "-ar", "44100", p)
            if rms(p) > 0.02:
                out.append(("music", "%s@%ds" % (f, start), p))
            start += seconds
    return out


def speech_clips(tmp, min_seconds):
    prompts = []
    for root, dirs, files in os.walk(ASTERISK):
        dirs[:] = sorted(d for d in dirs if d != "silence")
        for f in sorted(files):
            if f.endswith(".wav"):
                prompts.append(os.path.join(root, f))
    out, cur, cur_len, n = [], [], 0.0, 0
    params = None
    pause = b""

    def flush():
        nonlocal cur, cur_len, n
        p = os.path.join(tmp, "speech-%04d.wav" % n)
        with wave.open(p, "wb") as w:
            w.setparams(params)
            for i, (_, frames) in enumerate(cur):
                if i:
                    w.writeframes(pause)
                w.writeframes(frames)
        first = os.path.relpath(cur[0][0], ASTERISK)
        out.append(("speech", "%s+%d" % (first, len(cur) - 1), p))
        n += 1
        cur, cur_len = [], 0.0

    for path in prompts:
        with wave.open(path) as w:
            if params is None:
                params = w.getparams()
                pause = b"\0\0" * int(0.25 * params.framerate)
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (params.nchannels, params.sampwidth, params.framerate):
                continue
            frames = w.readframes(w.getnframes())
            cur.append((path, frames))
            cur_len += w.getnframes() / w.getframerate() + 0.25
        if cur_len >= min_seconds:
            flush()
    return out


def espeak_clips(tmp, count, words_per_clip, seed):
    text = open("/usr/share/common-licenses/GPL-3").read().lower()
    vocab = sorted(set(w for w in re.findall(r"[a-z]{3,}", text)))
    rng = random.Random(seed)
    out = []
    for i in range(count):
        words = " ".join(rng.choice(vocab) for _ in range(words_per_clip))
        voice = VOICES[i % len(VOICES)]
        speed = str([140, 160, 180][(i // len(VOICES)) % 3])
        p = os.path.join(tmp, "espeak-%04d.wav" % i)
        subprocess.run(["espeak-ng", "-v", voice, "-s", speed, "-w", p, words], check=True)
        out.append(("espeak", "%s/%s: %s" % (voice, speed, words[:40]), p))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--music-seconds", type=float, default=10.0)
    ap.add_argument("--speech-seconds", type=float, default=8.0)
    ap.add_argument("--espeak", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    d = os.path.join(a.out, "audio")
    os.makedirs(d, exist_ok=True)
    clips = music_clips(d, a.music_seconds) + speech_clips(d, a.speech_seconds) + espeak_clips(d, a.espeak, 22, a.seed)
    rows = []
    for n, (kind, source, orig) in enumerate(clips):
        ident = "%04d" % n
        base = os.path.join(d, ident)
        o = base + "-orig.wav"
        os.replace(orig, o)
        cut = "%.3f" % (0.3 * duration(o))
        ff("-i", o, "-c:a", "libmp3lame", "-b:a", "64k", base + "-mp3_64k.mp3")
        ff("-ss", cut, "-i", o, base + "-trim30.wav")
        ff("-i", o, "-af", "volume=-6dB", base + "-gain-6.wav")
        ff("-ss", cut, "-i", o, "-af", "volume=-6dB", "-c:a", "libmp3lame", "-b:a", "64k", base + "-all.mp3")
        for variant, path in [("orig", o), ("mp3_64k", base + "-mp3_64k.mp3"), ("trim30", base + "-trim30.wav"),
                              ("gain-6", base + "-gain-6.wav"), ("all", base + "-all.mp3")]:
            rows.append((ident, source, kind, variant, path))
    with open(os.path.join(a.out, "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "source", "kind", "variant", "path"])
        w.writerows(rows)
    kinds = {}
    for kind, _, _ in clips:
        kinds[kind] = kinds.get(kind, 0) + 1
    print("%d distinct clips (%s), %d files -> %s" % (len(clips), ", ".join("%s %d" % kv for kv in sorted(kinds.items())),
                                                    len(rows), os.path.join(a.out, "manifest.csv")))


if __name__ == "__main__":
    main()
