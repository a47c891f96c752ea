"""Voice kept: how long ffmpeg takes to turn one WeChat voice message (AMR-NB 8 kHz) into the MP3 the console
plays, for a short (5 s) and the longest (60 s) message, and the sizes. The conversion runs once per message in
the media download job (reminders/media.py), so this is the added cost per voice message.

    .venv/bin/python bench/voice.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reminders.media import ffmpeg_path, playable_voice  # noqa: E402

FRAME = bytes([0x3C]) + bytes(31)  # one 20 ms AMR-NB 12.2 kbit/s frame (RFC 4867 §5 storage format)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if ffmpeg_path() is None:
        sys.exit("ffmpeg missing: apt-get install -y ffmpeg")
    with tempfile.TemporaryDirectory() as tmp:
        for seconds in (5, 60):
            times = []
            for i in range(args.runs):
                src = Path(tmp) / f"v{seconds}-{i}.amr"
                src.write_bytes(b"#!AMR\n" + FRAME * (50 * seconds))
                t = time.perf_counter()
                out, why = playable_voice(src, "audio/amr")
                times.append(time.perf_counter() - t)
                assert out is not None, why
            print(
                f"{seconds:>2} s voice: AMR {src.stat().st_size:,} B -> MP3 {out.stat().st_size:,} B; "
                f"convert median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
                f"({args.runs} runs)"
            )
    print(f"command: .venv/bin/python bench/voice.py --runs {args.runs}")


if __name__ == "__main__":
    main()
