"""The HTML reports as a reader's browser shows them (headless Chromium, no network).

Each report is copied with a small script appended that, after the page's
``load`` event, writes what it finds into a ``<pre id="wfhist-check">``: every
image's natural size, whether the verdict banner is visible, and any resource
the page would fetch from the network. ``chromium --dump-dom`` prints the DOM
after the scripts ran, and the test reads the result back. A screenshot of the
verification reports is kept under ``test-artifacts/``.

CI installs Chromium (Debian package ``chromium``); without it these tests skip
with a visible reason, and CI treats such a skip as a failure.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT
from reportruns import Run, executed_reports

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts"
_PROBE = """
<script>
window.addEventListener("load", function () {
  var images = Array.prototype.map.call(document.images, function (img) {
    return {width: img.naturalWidth, height: img.naturalHeight, complete: img.complete,
            src: (img.getAttribute("src") || "").slice(0, 22)};
  });
  var verdict = null, el = document.getElementById("wfhist-verdict");
  if (el) {
    var box = el.getBoundingClientRect(), style = getComputedStyle(el);
    verdict = {text: el.innerText, width: box.width, height: box.height, top: box.top,
               display: style.display, visibility: style.visibility,
               opacity: parseFloat(style.opacity)};
  }
  var external = Array.prototype.map.call(
    document.querySelectorAll("script[src], link[href], img[src], iframe[src]"),
    function (e) { return e.getAttribute("src") || e.getAttribute("href"); }
  ).filter(function (u) { return /^(https?:)?\\/\\//.test(u); });
  var pre = document.createElement("pre");
  pre.id = "wfhist-check";
  pre.textContent = JSON.stringify({images: images, verdict: verdict, external: external,
                                    title: document.title});
  document.body.appendChild(pre);
});
</script>
"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Chromium is not installed (Debian: apt-get install chromium); CI installs it")


def _browser(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


def probe(report: Path, tmp: Path) -> dict:
    """Load ``report`` in Chromium and return what the probe script saw."""
    page = tmp / f"probe-{report.name}"
    text = report.read_text(encoding="utf-8")
    assert text.count("</body>") == 1
    page.write_text(text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    done = _browser(tmp / "profile", "--virtual-time-budget=10000", "--dump-dom", page.as_uri())
    found = re.search(r'<pre id="wfhist-check">(.*?)</pre>', done.stdout, re.S)
    assert found, f"probe result missing from the DOM; chromium said: {done.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    _chromium()  # skip before the expensive part when there is no browser
    return executed_reports(tmp_path_factory.getbasetemp())


#: report -> figures it must show (each a PNG image)
FIGURES = {
    "temporal": 4,  # heatmap, success heatmap, cost/duration by hour, runs per day
    "scoring_two": 3,  # versions over time, distributions, median shift
    "all": 2,  # one version: versions over time and distributions, no shift plot
    "empty": 0,  # no runs selected: no chart at all
    "verify_pass": 0,
    "verify_plan_fail": 0,
    "verify_done_fail": 0,
}


def _screenshot(run: Run, tmp_path: Path) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{run.stem}.png"
    shot.unlink(missing_ok=True)
    _browser(
        tmp_path / "profile",
        "--hide-scrollbars",
        "--window-size=1280,2000",
        f"--screenshot={shot}",
        run.html.as_uri(),
    )
    return shot


@pytest.mark.parametrize("key", list(FIGURES))
def test_report_renders_offline_with_every_image_loaded(
    key: str, runs: dict[str, Run], tmp_path: Path
) -> None:
    found = probe(runs[key].html, tmp_path)
    assert found["external"] == [], "the report would fetch from the network"
    assert found["title"] and "/" not in found["title"]
    images = found["images"]
    assert len(images) == FIGURES[key]
    for img in images:
        assert img["src"].startswith("data:image/png"), img
        assert img["complete"] and img["width"] > 100 and img["height"] > 100, img
    shot = _screenshot(runs[key], tmp_path)
    assert shot.is_file() and shot.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("key", "verdict"),
    [("verify_pass", "PASS"), ("verify_plan_fail", "FAIL"), ("verify_done_fail", "FAIL")],
)
def test_verdict_banner_visible_near_the_top(
    key: str, verdict: str, runs: dict[str, Run], tmp_path: Path
) -> None:
    found = probe(runs[key].html, tmp_path)
    banner = found["verdict"]
    assert banner is not None, "no verdict banner in the report"
    assert banner["text"].startswith(f"{verdict} — ")
    assert banner["width"] > 300 and banner["height"] > 30
    assert banner["display"] != "none" and banner["visibility"] == "visible"
    assert banner["opacity"] == 1
    assert "FAIL" not in banner["text"] or banner["top"] < 400  # the verdict comes first
