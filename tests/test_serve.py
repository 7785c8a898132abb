"""``midigen serve``'s JSON API through Starlette's test client, on the tiny style: the takes are the
library's (the same bytes as the CLI's), errors are one line of JSON with a 4xx, and the server only
answers its own page, keeps its files in its own folder and never mixes two tabs' takes."""
from __future__ import annotations

import io
import json
import shlex
import signal
import threading
import urllib.request
import wave

import mido
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from bench.serve_bench import Server
from midigen.cli import main
from midigen.errors import MidigenError
from midigen.serve.app import create_app
from midigen.serve.describe import command_line
from midigen.serve.guard import allowed_hosts
from midigen.serve.server import bind
from midigen.serve.store import TakeRecord, TakeStore
from midigen.serve.studio import Studio, upload_label
from tests.midi_events import make_file, notes

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
STYLE = "tiny-bach"


@pytest.fixture
def studio(tiny_style, tmp_path):
    styles, _ = tiny_style
    store = TakeStore(tmp_path / "takes")
    yield Studio(store, styles_dir=str(styles))
    store.close()


@pytest.fixture
def client(studio):
    with TestClient(create_app(studio, allowed_hosts("127.0.0.1", PORT)), base_url=BASE, raise_server_exceptions=False) as c:
        yield c


def compose(client, **fields) -> list[dict]:
    response = client.post("/api/compose", json={"style": STYLE, "bars": 4, **fields})
    assert response.status_code == 200, response.text
    return response.json()["takes"]


def midi_of(client, take) -> mido.MidiFile:
    response = client.get(take["midi_url"])
    assert response.status_code == 200 and response.headers["content-type"] == "audio/midi"
    assert take["download_name"] in response.headers["content-disposition"]
    return mido.MidiFile(file=io.BytesIO(response.content))


def test_info_and_style_cards(client):
    info = client.get("/api/info").json()
    assert info["limits"] == {"bars": 512, "variations": 64, "infill_bars": 16, "upload_bytes": 16 * 2**20}
    assert "G major" in info["keys"] and "6/8" in info["meters"] and info["synth"] in ("fluidsynth", "sine")
    cards = {c["name"]: c for c in client.get("/api/styles").json()["styles"]}
    card = cards[STYLE]
    assert card["composable"] and card["pieces"] == 3 and card["defaults"]["time_sig"] == "4/4"
    assert [p["name"] for p in card["parts"]] and all(set(p) >= {"name", "program", "drum", "range"} for p in card["parts"])
    if "base" in cards:  # the shipped multi-style base is listed, but not to compose in
        assert not cards["base"]["composable"] and "defaults" not in cards["base"]


def test_compose_is_the_cli_take_byte_for_byte(client, tiny_style, tmp_path):
    (take,) = compose(client, key="D minor", tempo_bpm=90, seed=5)
    midi = midi_of(client, take)
    conductor = midi.tracks[0]
    assert [m.key for m in conductor if m.type == "key_signature"] == ["Dm"]
    assert [round(mido.tempo2bpm(m.tempo)) for m in conductor if m.type == "set_tempo"] == [90]
    assert [(m.numerator, m.denominator) for m in conductor if m.type == "time_signature"] == [(4, 4)]
    bar_ticks = 4 * midi.ticks_per_beat
    assert max(n[3] for n in file_notes(client, take)) <= 4 * bar_ticks
    roll = take["roll"]
    assert take["bars"] == 4 and len(roll["bar_starts"]) == 5 and roll["notes"] and roll["key"] == "D minor"
    assert take["provenance"]["seed"] == 5 and take["provenance"]["style"] == STYLE
    # the command line the page shows writes the very same file
    command = shlex.split(take["command"])
    assert command[:2] == ["midigen", "compose"] and command[-2:] == ["-o", "take.mid"]
    out = tmp_path / "take.mid"
    result = CliRunner().invoke(main, command[1:-1] + [str(out), "--styles-dir", str(tiny_style[0])])
    assert result.exit_code == 0, result.output
    served = client.get(take["midi_url"]).content
    if "max_copy_note" not in take["provenance"]:
        assert out.read_bytes() == served
    else:  # the server found no copy index: the same notes, and a record that says why it was off
        assert file_bytes_notes(out.read_bytes()) == file_bytes_notes(served)
        assert provenance_of(out.read_bytes()) == {k: v for k, v in take["provenance"].items() if k != "max_copy_note"}


def file_bytes_notes(data: bytes) -> list:
    return [(i, m.time, m.bytes()) for i, track in enumerate(mido.MidiFile(file=io.BytesIO(data)).tracks) for m in track
            if m.type in ("note_on", "note_off")]


def provenance_of(data: bytes) -> dict:
    text = next(m.text for m in mido.MidiFile(file=io.BytesIO(data)).tracks[0] if m.type == "text")
    return json.loads(text.removeprefix("midigen "))


def file_notes(client, take) -> list[tuple]:
    """(chunk, channel, start tick, end tick, pitch) of every note of the take's MIDI file."""
    out = []
    for c, chunk in enumerate(mido.MidiFile(file=io.BytesIO(client.get(take["midi_url"]).content)).tracks):
        tick, sounding = 0, {}
        for msg in chunk:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                sounding[(msg.channel, msg.note)] = tick
            elif msg.type in ("note_on", "note_off") and (msg.channel, msg.note) in sounding:
                out.append((c, msg.channel, sounding.pop((msg.channel, msg.note)), tick, msg.note))
    return sorted(out)


def test_regenerate_bars_keeps_the_others_and_continue_adds_bars(client):
    (take,) = compose(client, seed=1)
    before = file_notes(client, take)
    response = client.post("/api/infill", json={"style": STYLE, "take": take["id"], "bars": "2-3", "seed": 2})
    assert response.status_code == 200, response.text
    (new,) = response.json()["takes"]
    assert new["kind"] == "infill" and new["parent"] == take["id"] and new["bars"] == 4
    after = file_notes(client, new)
    bar = 4 * 480

    def outside(ns):
        return [n for n in ns if not bar <= n[2] < 3 * bar]

    assert outside(after) == outside(before) and after != before
    assert shlex.split(new["command"])[:3] == ["midigen", "infill", take["download_name"]]

    response = client.post("/api/continue", json={"style": STYLE, "take": take["id"], "bars": 2, "variations": 2})
    assert response.status_code == 200, response.text
    longer = response.json()["takes"]
    assert [t["bars"] for t in longer] == [6, 6] and [t["provenance"]["variation"] for t in longer] == [1, 2]
    assert longer[1]["command"].endswith("# this take: take-2.mid")


def test_upload_then_harmonize_and_bad_uploads(client, tmp_path):
    melody = [(i * 96, (i + 1) * 96 - 8, 67 + (i % 5), 90) for i in range(16)]
    path = make_file(tmp_path / "my tune.mid", [("Flute", 0, 73, melody)], tpq=96)
    response = client.post("/api/upload?name=../../my%20tune.mid", content=path.read_bytes())
    assert response.status_code == 200, response.text
    (upload,) = response.json()["takes"]
    assert upload["kind"] == "upload" and upload["label"] == "my tune.mid" and upload["bars"] == 4
    assert upload["download_name"].startswith("upload-")
    response = client.post("/api/harmonize", json={"style": STYLE, "take": upload["id"]})
    assert response.status_code == 200, response.text
    (harmony,) = response.json()["takes"]
    assert len(harmony["roll"]["parts"]) > 1 and harmony["kind"] == "harmonize"
    kept = [n[2:5] for n in notes(path)]
    assert [n[2:5] for n in file_notes(client, harmony) if n[0] == 1] == kept

    bad = client.post("/api/upload?name=x.mid", content=b"not midi at all")
    assert bad.status_code == 400 and bad.json() == {"error": "x.mid: not a Standard MIDI File (no MThd header)"}
    big = client.post("/api/upload", content=b"\0" * (16 * 2**20 + 1))
    assert big.status_code == 413 and "at most 16777216" in big.json()["error"]
    # harmonize needs one melodic track: a four-part take is refused, naming it as the page shows it
    (chorale,) = compose(client)
    refused = client.post("/api/harmonize", json={"style": STYLE, "take": chorale["id"]})
    assert refused.status_code == 400 and refused.json()["error"].startswith(chorale["download_name"] + ":")


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"bars": 4}, 400, "'style' is required"),
    ({"style": STYLE}, 400, "'bars' is required"),
    ({"style": STYLE, "bars": "4"}, 400, "'bars' must be a whole number"),
    ({"style": STYLE, "bars": True}, 400, "'bars' must be a whole number"),
    ({"style": STYLE, "bars": 513}, 400, "--bars must be between 1 and 512, got 513"),
    ({"style": STYLE, "bars": 4, "variations": 65}, 400, "--variations must be between 1 and 64, got 65"),
    ({"style": STYLE, "bars": 4, "seed": -1}, 400, "'seed' must be between"),
    ({"style": STYLE, "bars": 4, "key": "H major"}, 400, "not a key: 'H major'"),
    ({"style": STYLE, "bars": 4, "parts": ["soprano", "kazoo"]}, 400, "kazoo"),
    ({"style": STYLE, "bars": 4, "bogus": 1}, 400, "unknown field: bogus"),
    ({"style": "../../etc", "bars": 4}, 400, "invalid style name"),
    ({"style": "nope", "bars": 4}, 400, "no style called 'nope'"),
])
def test_bad_compose_requests_are_one_line_errors(client, body, status, message):
    response = client.post("/api/compose", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert message in error and "\n" not in error and "Traceback" not in error


def test_other_errors_are_json_with_a_4xx_and_never_a_traceback(client, studio, monkeypatch):
    assert client.post("/api/compose", content=b"bars=4", headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 415
    assert client.post("/api/compose", content=b"{", headers={"content-type": "application/json"}).status_code == 400
    assert client.post("/api/compose", content=b"[1]", headers={"content-type": "application/json"}).status_code == 400
    assert client.post("/api/compose", content=b'{"bars": NaN}', headers={"content-type": "application/json"}).status_code == 400
    huge = client.post("/api/compose", content=b" " * 70_000, headers={"content-type": "application/json"})
    assert huge.status_code == 413
    for path in ("/api/takes/nope", "/api/takes/nope/midi", "/api/takes/..%2F..%2Fetc%2Fpasswd/midi", "/nothing"):
        response = client.get(path)
        assert response.status_code == 404 and set(response.json()) == {"error"}, path
    assert client.get("/api/compose").status_code == 405
    infill = client.post("/api/infill", json={"style": STYLE, "take": "tiny-bach-000000000000", "bars": "1-2"})
    assert infill.status_code == 404
    monkeypatch.setattr("midigen.serve.studio.compose", lambda bundle, request: 1 / 0)
    crash = client.post("/api/compose", json={"style": STYLE, "bars": 4})
    assert crash.status_code == 500 and crash.json() == {"error": "internal error (ZeroDivisionError): see the server's log"}


def test_audio_is_a_wav_of_the_take_s_length_and_mutes_parts(client, studio):
    studio.audio.synth, studio.audio.soundfont = "sine", None  # fast, and the same on every machine
    (take,) = compose(client, tempo_bpm=120)
    response = client.get(take["audio_url"])
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(4 * 2.0 + 1.0, abs=0.01)  # 4 bars of 4/4 at 120 + release
    assert take["roll"]["audio_s"] == pytest.approx(9.0)
    muted = client.get(take["audio_url"] + "?mute=0,1")
    assert muted.status_code == 200 and muted.content != response.content
    assert client.get(take["audio_url"] + "?mute=9").status_code == 400
    assert client.get(take["audio_url"] + "?mute=x").status_code == 400
    assert sorted(p.name for p in studio.store.folder.iterdir()) == sorted(
        [f"{take['id']}.mid", f"{take['id']}.wav", f"{take['id']}-mute-0_1.wav"])


def test_audio_previews_are_bounded(client, tmp_path):
    """A file of 301 bars at 120 bpm lasts over ten minutes: no WAV of it, a one-line reason instead."""
    path = make_file(tmp_path / "long.mid", [("Piano", 0, 0, [(0, 96, 60, 80), (300 * 4 * 96, 301 * 4 * 96, 62, 80)])])
    (upload,) = client.post("/api/upload?name=long.mid", content=path.read_bytes()).json()["takes"]
    response = client.get(upload["audio_url"])
    assert response.status_code == 400 and "too long to preview" in response.json()["error"]


@pytest.mark.parametrize(("headers", "ok"), [
    ({}, True),
    ({"origin": BASE}, True),
    ({"origin": f"http://localhost:{PORT}", "host": f"localhost:{PORT}"}, True),
    ({"host": f"evil.example:{PORT}"}, False),  # DNS rebinding: the page's own origin, another name
    ({"host": "127.0.0.1:9999"}, False),
    ({"origin": "http://evil.example"}, False),
    ({"origin": "null"}, False),
    ({"sec-fetch-site": "cross-site"}, False),
])
def test_only_this_server_s_own_page_is_answered(client, headers, ok):
    response = client.get("/api/info", headers=headers)
    assert response.status_code == (200 if ok else 403)
    if not ok:
        assert set(response.json()) == {"error"}


def test_allowed_hosts():
    assert allowed_hosts("127.0.0.1", 8765) == {"127.0.0.1:8765", "localhost:8765", "[::1]:8765"}
    assert "localhost" in allowed_hosts("127.0.0.1", 80)
    assert "[::1]:5000" in allowed_hosts("::1", 5000)
    assert "studio.lan:5000" in allowed_hosts("studio.lan", 5000)


def test_page_and_assets_are_served_with_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200 and "midigen studio" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("roll.js", "studio.js", "studio.css"):
        assert client.get(f"/static/{asset}").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_concurrent_tabs_never_mix_takes(client):
    results: dict[int, list[dict]] = {}

    def tab(seed: int) -> None:
        results[seed] = compose(client, seed=seed, variations=2)

    threads = [threading.Thread(target=tab, args=(seed,)) for seed in (11, 12, 13)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [t["id"] for takes in results.values() for t in takes]
    assert len(set(ids)) == 6
    for seed, takes in results.items():
        assert [t["provenance"]["seed"] for t in takes] == [seed, seed]
        assert [t["provenance"]["variation"] for t in takes] == [1, 2]
        for t in takes:  # each file holds its own take's provenance
            assert provenance_of(client.get(t["midi_url"]).content) == t["provenance"]


def test_the_store_names_files_itself_and_stays_bounded(tmp_path):
    store = TakeStore(tmp_path / "takes", max_takes=2)
    paths = [store.new_out_path("tiny-bach") for _ in range(3)]
    for path in paths:
        path.write_bytes(b"x")
        path.with_suffix(".wav").write_bytes(b"x")
        store.add(TakeRecord(id=path.stem, kind="compose", path=path))
    assert len(store) == 2 and not paths[0].exists() and not paths[0].with_suffix(".wav").exists() and paths[2].exists()
    with pytest.raises(MidigenError, match="no take"):
        store.get(paths[0].stem)
    with pytest.raises(ValueError):
        store.new_out_path("../x")
    with pytest.raises(ValueError):
        store.add(TakeRecord(id="x", kind="compose", path=tmp_path / "x.mid"))
    store.close()
    assert not (tmp_path / "takes").exists()
    # and bounded in bytes: the oldest go first, never the take just made
    store = TakeStore(tmp_path / "sized", max_bytes=2500)
    paths = [store.new_out_path("upload") for _ in range(3)]
    for path in paths:
        path.write_bytes(b"x" * 1000)
        store.add(TakeRecord(id=path.stem, kind="upload", path=path))
    assert [p.exists() for p in paths] == [False, True, True] and len(store) == 2
    big = store.new_out_path("upload")
    big.write_bytes(b"x" * 5000)
    store.add(TakeRecord(id=big.stem, kind="upload", path=big))
    assert [p.exists() for p in paths] == [False, False, False] and big.exists() and len(store) == 1
    store.close()


def test_upload_labels_are_names_not_paths():
    assert upload_label("../../etc/passwd") == "passwd"
    assert upload_label("C:\\Users\\me\\tune <1>.mid") == "tune _1_.mid"
    assert upload_label("") == upload_label(None) == "upload.mid"


def test_command_line_of_a_derived_take():
    provenance = {"command": "infill", "style": "irish-folk", "bars": "2-3", "tracks": [2], "key": "G major",
                  "key_from": "key signature", "range": [60, 72], "seed": 4, "temperature": 0.9, "top_p": 1.0,
                  "strict_key": True, "variation": 1}
    assert command_line(provenance, variations=1, input_name="my take.mid") == (
        "midigen infill 'my take.mid' --bars 2-3 --tracks 2 --style irish-folk --range 60-72 --seed 4 --temperature 0.9 "
        "--top-p 1 --strict-key -o take.mid")


def test_a_port_in_use_is_one_clear_error():
    sock = bind("127.0.0.1", 0)
    try:
        with pytest.raises(MidigenError, match="the port is in use"):
            bind("127.0.0.1", sock.getsockname()[1])
        result = CliRunner().invoke(main, ["serve", "--port", str(sock.getsockname()[1])])
        assert result.exit_code == 2 and result.output.startswith("Error: cannot listen on 127.0.0.1:")
    finally:
        sock.close()


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_the_real_server_answers_only_its_own_host_and_cleans_up(stop):
    """``midigen serve --port 0`` as a process: it answers, refuses another Host, and Ctrl-C or ``kill``
    stops it with its take folder removed."""
    with Server(stop_signal=stop) as server:
        with urllib.request.urlopen(server.url + "api/info") as response:
            assert json.load(response)["midigen"]
        request = urllib.request.Request(server.url + "api/info", headers={"Host": "rebound.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert refused.value.code == 403
        assert server.folder.is_dir()
    assert not server.folder.exists()
    assert server.returncode == 128 + stop, server.log  # as the CLI ends on Ctrl-C (130), and on kill (143)
