"""Screenshots of the pages for the README: the results, a unit's dossier, a disputed score's timeline and a council
member's queue, in Vietnamese with ICT times, on the browser tests' prepared round (tests/browser/harness.py).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Plays the round into a temporary data folder, serves it with `council serve`, and drives Debian's Chromium
(/usr/bin/chromium, or COUNCIL_TEST_CHROMIUM) headless through Playwright; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import harness  # noqa: E402


def shoot(out: Path) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="par-council-screens-") as folder:
        prepared = harness.prepare_round(Path(folder))
        server = harness.Server(prepared.data_dir).start()
        try:
            with harness.browser() as chromium:
                key, decided = prepared.key, prepared.decided
                shots = [  # who signs in, the page, the file, the window's width, the whole page or its first screen
                    ("secretariat", f"/rounds/{key}/results", "results.png", 1280, True),
                    ("officer_01", f"/rounds/{key}/units/{decided.unit}/dossier", "dossier.png", 1280, False),
                    ("inspector", decided.timeline(key), "timeline.png", 1280, True),
                    ("council", "/queue", "queue.png", 1280, True),
                ]
                saved = []
                for who, path, name, width, full_page in shots:
                    context = harness.new_context(chromium, server, viewport={"width": width, "height": 900})
                    page = harness.login(context.new_page(), prepared.tokens[who], path)
                    page.wait_for_load_state("networkidle")
                    saved.append(out / name)
                    page.screenshot(path=str(saved[-1]), full_page=full_page)
                    context.close()
                return saved
        finally:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the PNGs go")
    args = parser.parse_args()
    reason = harness.missing_chromium()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for path in shoot(args.out):
        print(path)
    print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
