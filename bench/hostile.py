"""The hostile students of ``python -m bench.load --hostile``: a class where some try to hurt everyone.

Of the 20 sessions, 13 are well-behaved (one short run each, flipping a setting while they wait, as
in the plain load bench), and
- 3 upload oversized images on Try a model (real Chromium tabs, at idle priority): a 12,000x12,000
  PNG (about 150 kB on disk) and a 20,000x20,000 decompression bomb, again and again;
- 2 open injection links (a Markdown phishing link in ``/details?run=`` and a remote image in
  ``/?hidden=``), a fresh page load each time;
- 1 queues ten runs at once (the flood);
- 1 asks for the largest network (4096x4096x4096x4096), is refused, and trains the largest allowed
  one for as long as it may (the time limit stops it).
The server runs as a teacher would start it for a class (``CLASS_ENV``). What is measured: every
response time (p95), the peak memory of the server and its workers, runs lost, and how long each
well-behaved student's run waited, against the length of one short run and how many of the flood's
runs started while it waited.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from pathlib import Path

from bench.st_client import Session

CLASS_ENV = {"MNIST_TEACHER_PASSWORD": "bench-teacher", "MNIST_MAX_PARAMS": "1000000", "MNIST_MAX_EPOCHS": "30",
             "MNIST_MAX_RUN_SECONDS": "20",
             # Ten, so the flood's ten runs really wait in the queue and the turns are what protect the
             # others (the default, 3, would refuse seven of them at once).
             "MNIST_MAX_QUEUED_PER_USER": "10",
             # The training worker measured 1,215-1,246 MB during short runs here, just past the default
             # 1,200: it was replaced (and warmed up again, 90-110 s on this loaded machine) after nearly
             # every run, which is not what this bench is about. 2,000 keeps one worker.
             "MNIST_WORKER_MAX_MB": "2000"}
FLOOD = "epochs=1&train_examples=2000&seed=1000"
HUGE = "hidden=4096-4096-4096-4096&epochs=1&train_examples=2000&seed=2000"
LARGEST_ALLOWED = "hidden=1000-100&epochs=30&seed=2001"  # 886,110 parameters: under the limit, over the time
INJECTIONS = [("details", "run=[Your session expired, log in here](https://evil.example)"),
              ("", "hidden=![i](https://evil.example/x.png)&activation=<img src=x onerror=alert(1)>")]
RENDERED = re.compile(r"(?<!\\)\]\(|(?<!\\)<img")  # Markdown link/image or an HTML tag, unescaped
ROLES = ["upload"] * 3 + ["inject"] * 2 + ["flood", "huge"]


def role(i: int, sessions: int) -> str:
    """Session i's part: the last seven are the hostile ones, the rest well-behaved."""
    hostile = len(ROLES)
    return ROLES[i - (sessions - hostile)] if i >= sessions - hostile else "student"


def oversized_images(folder: Path) -> list[Path]:
    """A 12,000x12,000 PNG of black with one white stroke (150 kB on disk, 144 MB decoded) and a
    20,000x20,000 one past Pillow's own decompression-bomb limit. Made once, kept in ``folder``."""
    from PIL import Image, ImageDraw

    out = []
    for side in (12000, 20000):
        path = folder / f"oversized-{side}.png"
        if not path.exists():
            Image.MAX_IMAGE_PIXELS = None
            img = Image.new("L", (side, side), 0)
            ImageDraw.Draw(img).line([(side // 3, side // 4), (side // 2, 3 * side // 4)], fill=255, width=side // 30)
            img.save(path, optimize=True)
            del img
        out.append(path)
    return out


async def _timed_page(url: str, page: str, query: str, timeout: float = 30.0) -> tuple[float, list[str]]:
    """A fresh page load over the websocket protocol: seconds until the script run finished, and the texts."""
    async with Session(url, query, page=page) as s:
        t = time.perf_counter()
        await s.rerun_and_wait(timeout)
        return time.perf_counter() - t, [text for _, text in s.texts]


async def injector(url: str, i: int, stats: dict, until: asyncio.Event, think: float) -> None:
    """Open an injection link again and again; every answer is timed and read for rendered links."""
    page, query = INJECTIONS[i % len(INJECTIONS)]
    while not until.is_set():
        try:
            seconds, texts = await _timed_page(url, page, query)
            stats["latencies"].append(seconds)
            stats["inject"].append(seconds)
            # Text shown literally arrives escaped (\], \(, \<); a link or tag the page would render, bare.
            stats["rendered_injections"] += sum(bool(RENDERED.search(t)) for t in texts if "evil" in t or "img" in t)
        except TimeoutError:
            stats["unanswered"].append(f"inject {i}")
        await asyncio.sleep(random.uniform(0.5, 1.5) * think)


async def flood(url: str, stats: dict) -> None:
    """One browser presses Train ten times as fast as the page lets it."""
    async with Session(url, FLOOD) as s:
        await s.rerun()
        while ("button", "Train") not in s.ids:
            await asyncio.sleep(0.05)
        for _ in range(10):
            before = s.query
            t = time.perf_counter()
            await s.click("Train")
            while s.query == before and time.perf_counter() - t < 30:
                await asyncio.sleep(0.05)
            stats["latencies"].append(time.perf_counter() - t)
        stats["flood_queued_in"] = time.perf_counter() - stats["t0"]


async def huge(url: str, stats: dict) -> None:
    """Asks for the largest network: refused with a sentence; then trains the largest allowed one."""
    async with Session(url, HUGE) as s:
        t = time.perf_counter()
        await s.rerun()
        stats["huge_refusal"] = await _text_containing(s, "more than this server allows", t)
        stats["latencies"].append(time.perf_counter() - t)
        await s.click("Train")  # a crafted click on the disabled button: the queue refuses it too
        await asyncio.sleep(2)
    async with Session(url, LARGEST_ALLOWED) as s:
        await s.rerun()
        await s.train()


async def _text_containing(s: Session, fragment: str, since: float) -> str:
    await s.wait_for_text(fragment, since, 30)
    return next(text for t, text in reversed(s.texts) if fragment in text)


async def uploader(browser, url: str, i: int, stats: dict, until: asyncio.Event, images: list[Path],
                   think: float, has_model) -> None:
    """A real tab on Try a model, uploading oversized pictures; each answer is timed."""
    while not has_model():  # Try a model needs a run with a saved model: the first short run's
        await asyncio.sleep(0.5)
    ctx = await browser.new_context(viewport={"width": 1300, "height": 900})
    pg = await ctx.new_page()
    pg.set_default_timeout(120_000)
    await pg.goto(f"{url}/try")
    await pg.get_by_role("tab", name="Upload").click()
    n = 0
    while not until.is_set() and n < 6:
        image = images[n % len(images)]
        alerts = await pg.locator("[data-testid='stAlert']").count()
        t = time.perf_counter()
        await pg.locator("input[type='file']").set_input_files(str(image))
        try:
            await pg.wait_for_function(
                f"() => document.querySelectorAll(\"[data-testid='stAlert']\").length > {alerts}"
                " || document.querySelectorAll(\"[data-testid='stImage']\").length > 0", timeout=60_000)
            stats["latencies"].append(time.perf_counter() - t)
            stats["upload"].append(time.perf_counter() - t)
            stats["upload_answers"].add((await pg.locator("[data-testid='stAlert']").last.inner_text())[:160])
        except Exception:  # noqa: BLE001 - counted, not fatal
            stats["unanswered"].append(f"upload {i}")
        n += 1
        await pg.reload()
        await pg.get_by_role("tab", name="Upload").click()
        await asyncio.sleep(random.uniform(0.5, 1.5) * think)
    await ctx.close()
