"""``midigen serve`` as a musician meets it: start-up, idle memory, and click-to-first-roll in Chromium.

    python -m bench.serve_bench [--style irish-folk] [--bars 16] [--repeats 3] [--screenshot docs/serve.png]

1. Start-up: from starting ``midigen serve --port 0`` (a fresh process) to its first answer.
2. Memory: the server's resident set size idle (nothing loaded), then after the first take (one style
   bundle loaded and one take held).
3. Click-to-first-roll in headless Chromium: from the Compose click to the first take's piano roll drawn
   (``window.midigenTimings``, measured by the page itself), for one ``--bars`` take and for 4 variations;
   the first (cold: the bundle is loaded) and the median of ``--repeats`` warm ones (new seeds).
4. ``--screenshot PATH``: the page with two takes (the band style's, then the style's), as in the README.

Needs ``chromium`` and ``chromium-driver`` (Debian) and selenium; ``.ci/run`` installs them. The browser
helpers here are also what tests/test_serve_browser.py drives the page with.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

CHROMIUM_BINARIES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_BINARIES = ("chromedriver",)
READY_TIMEOUT_S = 60


def chromium_paths() -> tuple[str, str] | None:
    """(browser, driver) programs, or None when either is missing."""
    browser = next((shutil.which(b) for b in CHROMIUM_BINARIES if shutil.which(b)), None)
    driver = next((shutil.which(d) for d in DRIVER_BINARIES if shutil.which(d)), None)
    return (browser, driver) if browser and driver else None


def chromium_driver(download_dir: Path | None = None, width: int = 1400, height: int = 1000):
    """Headless Chromium under selenium, audio allowed without a gesture, downloads into ``download_dir``."""
    from selenium import webdriver

    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}",
                "--autoplay-policy=no-user-gesture-required", "--mute-audio", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if download_dir is not None:
        options.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                                  "download.prompt_for_download": False})
    chrome = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    if download_dir is not None:
        chrome.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    return chrome


class Server:
    """``midigen serve --port 0`` in a fresh process; ``url`` once it answers, ``startup_s`` how long that took."""

    def __init__(self, *args: str, env: dict | None = None, stop_signal: int = signal.SIGINT):
        self.args = args
        self.env = env
        self.stop_signal = stop_signal  # SIGINT: Ctrl-C; SIGTERM: `kill`. Either way the take folder goes.

    def __enter__(self) -> Server:
        started = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "midigen", "serve", "--port", "0", *self.args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env)
        line = self.process.stdout.readline()
        match = re.search(r"(http://\S+/)", line)
        if not match:
            self.process.kill()
            raise RuntimeError(f"midigen serve did not start: {line}{self.process.stdout.read()}")
        self.url = match.group(1)
        self.folder = Path(re.search(r"kept in (\S+) until", self.process.stdout.readline()).group(1))
        self.log: list[str] = []  # what the server says later (its errors), read so that the pipe never fills
        threading.Thread(target=lambda: self.log.extend(self.process.stdout), daemon=True).start()
        while True:
            try:
                with urllib.request.urlopen(self.url + "api/info", timeout=5) as response:
                    response.read()
                break
            except OSError:
                if time.perf_counter() - started > READY_TIMEOUT_S:
                    raise
                time.sleep(0.02)
        self.startup_s = time.perf_counter() - started
        return self

    def rss_mb(self) -> float:
        """The server process's resident set size."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def __exit__(self, *exc) -> None:
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.returncode = self.process.returncode


def open_page(driver, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, READY_TIMEOUT_S).until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))


def set_form(driver, **values) -> None:
    """Fill the compose form: ``style`` picks a style (and its defaults), the rest set inputs by id."""
    if "style" in values:
        driver.execute_script("const s = document.getElementById('style'); s.value = arguments[0];"
                              "s.dispatchEvent(new Event('change'));", values.pop("style"))
    for name, value in values.items():
        driver.execute_script("document.getElementById(arguments[0]).value = arguments[1];", name.replace("_", "-"), str(value))


def click_and_wait(driver, button_css: str, timeout_s: float = 300) -> dict:
    """Click a button that sends an operation; the page's timing record of it once its takes are drawn."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    before = driver.execute_script("return window.midigenTimings.length")
    driver.find_element(By.CSS_SELECTOR, button_css).click()

    def done(d):
        error = d.execute_script("const e = document.getElementById('error'); return e.hidden ? null : e.firstElementChild.textContent")
        if error:
            raise RuntimeError(f"the page says: {error}")
        return d.execute_script("return window.midigenTimings.length") > before

    WebDriverWait(driver, timeout_s, poll_frequency=0.05).until(done)
    return driver.execute_script("return window.midigenTimings[window.midigenTimings.length - 1]")


def compose_timings(driver, style: str, bars: int, variations: int, repeats: int) -> dict:
    """Click-to-first-roll of one cold and ``repeats`` warm compositions (seeds 0, 1, …)."""
    set_form(driver, style=style, bars=bars, variations=variations)
    runs = []
    for seed in range(repeats + 1):
        set_form(driver, seed=seed)
        runs.append(click_and_wait(driver, "#compose")["ms"] / 1000)
    return {"first_s": round(runs[0], 2), "warm_median_s": round(statistics.median(runs[1:]), 2) if repeats else None,
            "warm_s": [round(r, 2) for r in runs[1:]]}


def select_bars(driver, card, first: int, last: int) -> None:
    """Drag across bars ``first``..``last`` (from 1) of a take card's roll, as a musician does."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = card.find_element(By.CSS_SELECTOR, "canvas")
    xs = driver.execute_script(
        "const roll = window.midigenStudio.takes.get(arguments[0]).roll; const s = roll.data.bar_starts;"
        "return [roll.x((s[arguments[1]] + s[arguments[1] + 1]) / 2), roll.x((s[arguments[2]] + s[arguments[2] + 1]) / 2),"
        " roll.width, roll.height];", card.get_attribute("data-take-id"), first - 1, last - 1)
    x0, x1, width, height = xs
    ActionChains(driver).move_to_element_with_offset(canvas, int(x0 - width / 2), 0).click_and_hold() \
        .move_to_element_with_offset(canvas, int(x1 - width / 2), 0).release().perform()


def screenshot(url: str, path: Path, style: str, band_style: str) -> None:
    """The page with two takes: 8 bars of ``band_style``, then 16 of ``style`` with bars 5-6 selected."""
    from selenium.webdriver.common.by import By

    driver = chromium_driver(width=1400, height=1180)
    try:
        open_page(driver, url)
        set_form(driver, style=band_style, bars=8, variations=1, seed=1)
        click_and_wait(driver, "#compose")
        set_form(driver, style=style, bars=16, seed=3)
        click_and_wait(driver, "#compose")
        select_bars(driver, driver.find_element(By.CSS_SELECTOR, ".take"), 5, 6)
        path.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(path))
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--style", default="irish-folk")
    parser.add_argument("--band-style", default="jazz", help="the second take of the screenshot")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="warm compositions after the first")
    parser.add_argument("--screenshot", type=Path, help="also save the page with two takes here (e.g. docs/serve.png)")
    parser.add_argument("--json", type=Path, help="write the figures here (default: bench/results/serve.json)")
    args = parser.parse_args()
    if chromium_paths() is None:
        sys.exit("needs chromium and chromedriver: sudo apt-get install chromium chromium-driver")

    result = {"style": args.style, "bars": args.bars, "cpu_count": os.cpu_count(),
              "load_average": [round(x, 2) for x in os.getloadavg()]}
    with Server() as server:
        result["startup_s"] = round(server.startup_s, 2)
        time.sleep(1.0)
        result["idle_rss_mb"] = round(server.rss_mb(), 1)
        driver = chromium_driver()
        try:
            open_page(driver, server.url)
            result["one_take"] = compose_timings(driver, args.style, args.bars, 1, args.repeats)
            result["rss_after_takes_mb"] = round(server.rss_mb(), 1)
            result["four_variations"] = compose_timings(driver, args.style, args.bars, 4, args.repeats)
        finally:
            driver.quit()
        if args.screenshot:
            screenshot(server.url, args.screenshot, args.style, args.band_style)
            result["screenshot"] = str(args.screenshot)
    print(json.dumps(result, indent=1))
    from bench.common import save

    print(f"saved {save('serve', result, args.json)}")


if __name__ == "__main__":
    main()
