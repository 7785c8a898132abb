"""``midigen serve`` end to end, in real headless Chromium driven by selenium, on the tiny style: load the
page, compose 4 bars, see the roll, play it (a WAV of the take's length), download the MIDI (bars, key,
tempo checked with mido), drag-out data, regenerate bars 2-3 (bars 1 and 4 unchanged), drop a file.

Slow (a browser and a server process start): ``make test-slow``. Skipped, saying why, where Chromium,
chromedriver or selenium is missing (``.ci/run`` installs them from Debian's packages).
"""
from __future__ import annotations

import io
import time
import urllib.request

import mido
import pytest

from bench.serve_bench import Server, chromium_driver, chromium_paths, click_and_wait, open_page, select_bars, set_form
from tests.midi_events import make_file

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_paths() is None, reason="needs chromium and chromedriver (apt-get install chromium chromium-driver)"),
]
pytest.importorskip("selenium", reason="needs selenium (pip install -e '.[dev]')")

STYLE = "tiny-bach"


def wait_for(predicate, timeout_s: float = 30, what: str = "the page"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def note_list(data: bytes) -> list[tuple[int, int, int, int]]:
    """(chunk, start tick, end tick, pitch) of every note of a MIDI file's bytes."""
    out = []
    for c, chunk in enumerate(mido.MidiFile(file=io.BytesIO(data)).tracks):
        tick, sounding = 0, {}
        for msg in chunk:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                sounding[(msg.channel, msg.note)] = tick
            elif msg.type in ("note_on", "note_off") and (msg.channel, msg.note) in sounding:
                out.append((c, sounding.pop((msg.channel, msg.note)), tick, msg.note))
    return sorted(out)


@pytest.fixture
def page(tiny_style, tmp_path):
    styles, _ = tiny_style
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with Server("--styles-dir", str(styles)) as server:
        driver = chromium_driver(downloads)
        try:
            open_page(driver, server.url)
            yield driver, server, downloads
        finally:
            logs = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            driver.quit()
    assert not server.folder.exists(), "the server's take folder outlives it"
    assert not logs, logs


def test_compose_play_download_regenerate_in_chromium(page, tmp_path):
    from selenium.webdriver.common.by import By

    driver, server, downloads = page
    set_form(driver, style=STYLE, bars=4, seed=7)
    timing = click_and_wait(driver, "#compose")
    assert timing["action"] == "compose" and timing["takes"] == 1
    card = driver.find_element(By.CSS_SELECTOR, ".take")
    take_id = card.get_attribute("data-take-id")
    # the roll: a canvas with the take's notes drawn on it (coloured pixels, not only the grid)
    canvas = card.find_element(By.CSS_SELECTOR, "canvas")
    assert int(canvas.get_attribute("data-notes")) > 0 and canvas.size["width"] > 300
    coloured = driver.execute_script(
        "const c = arguments[0]; const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;"
        "for (let i = 0; i < d.length; i += 4) if (Math.max(d[i], d[i+1], d[i+2]) - Math.min(d[i], d[i+1], d[i+2]) > 60) n++;"
        "return n;", canvas)
    assert coloured > 100
    take = driver.execute_script("return window.midigenStudio.takes.get(arguments[0]).take", take_id)

    # play: the audio element gets the take's WAV, its bars plus the 1 s release
    card.find_element(By.CSS_SELECTOR, ".play").click()
    duration = wait_for(lambda: driver.execute_script(
        "const a = arguments[0]; return a.readyState >= 1 && isFinite(a.duration) ? a.duration : null;",
        card.find_element(By.CSS_SELECTOR, "audio")), what="the audio")
    assert duration == pytest.approx(take["roll"]["audio_s"], abs=0.05)
    assert card.find_element(By.CSS_SELECTOR, ".play").text == "■ Stop"
    card.find_element(By.CSS_SELECTOR, ".play").click()
    assert card.find_element(By.CSS_SELECTOR, ".play").text == "▶ Play"

    # download: the file the browser saves is 4 bars in the asked-for key and tempo
    card.find_element(By.CSS_SELECTOR, "a.download").click()
    saved = downloads / take["download_name"]
    wait_for(lambda: saved.is_file() and not list(downloads.glob("*.crdownload")), what="the download")
    midi = mido.MidiFile(str(saved))
    conductor = midi.tracks[0]
    bar_ticks = 4 * midi.ticks_per_beat
    assert max(end for _, _, end, _ in note_list(saved.read_bytes())) <= 4 * bar_ticks
    assert max(start for _, start, _, _ in note_list(saved.read_bytes())) >= 3 * bar_ticks  # bar 4 sounds
    key = take["provenance"]["key"]
    assert [m.key for m in conductor if m.type == "key_signature"] == [key.replace(" major", "").replace(" minor", "m")]
    assert [mido.tempo2bpm(m.tempo) for m in conductor if m.type == "set_tempo"] == [pytest.approx(take["provenance"]["tempo_bpm"])]
    assert duration == pytest.approx(4 * 4 * 60 / take["provenance"]["tempo_bpm"] + 1.0, abs=0.05)

    # drag-out: Chromium's DownloadURL names the file and the take's absolute address
    drag = driver.execute_script(
        "const dt = new DataTransfer(); arguments[0].dispatchEvent(new DragEvent('dragstart', {dataTransfer: dt}));"
        "return dt.getData('DownloadURL');", card.find_element(By.CSS_SELECTOR, "a.drag"))
    assert drag == f"audio/midi:{take['download_name']}:{server.url}api/takes/{take_id}/midi"

    # regenerate bars 2-3: select them on the roll, click; bars 1 and 4 keep every note
    select_bars(driver, card, 2, 3)
    regenerate = card.find_element(By.CSS_SELECTOR, "button.infill")
    assert regenerate.text == "Regenerate bars 2–3" and regenerate.is_enabled()
    timing = click_and_wait(driver, f".take[data-take-id='{take_id}'] button.infill")
    assert timing["action"] == "infill"
    new = driver.find_element(By.CSS_SELECTOR, ".take")
    assert new.get_attribute("data-kind") == "infill" and new.get_attribute("data-take-id") != take_id
    with urllib.request.urlopen(server.url + f"api/takes/{new.get_attribute('data-take-id')}/midi") as response:
        regenerated = note_list(response.read())
    original = note_list(saved.read_bytes())

    def outer_bars(notes):
        return [n for n in notes if not bar_ticks <= n[1] < 3 * bar_ticks]

    assert outer_bars(regenerated) == outer_bars(original) and regenerated != original
    assert "midigen infill" in new.find_element(By.CSS_SELECTOR, ".command").text

    # a file from the desktop (the file picker; a drop takes the same path): its card, then harmonize it
    melody = make_file(tmp_path / "tune.mid", [("Flute", 0, 73, [(i * 96, (i + 1) * 96 - 8, 67 + i % 5, 90) for i in range(8)])])
    picker = driver.find_element(By.ID, "file")
    driver.execute_script("arguments[0].hidden = false;", picker)
    picker.send_keys(str(melody))
    upload = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".take[data-kind='upload']"), what="the upload")[0]
    assert "tune.mid" in upload.text
    click_and_wait(driver, ".take[data-kind='upload'] button.harmonize")
    assert driver.find_element(By.CSS_SELECTOR, ".take").get_attribute("data-kind") == "harmonize"
