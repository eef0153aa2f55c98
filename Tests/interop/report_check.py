"""Renders OsteoCT explanation pages in headless Chromium, as a clinician's browser shows them.

usage: report_check.py CHROMIUM OUTDIR PAGE.html[:strain] ...

For each page and each window width (768 and 1280 px): loads it over the DevTools protocol (Chromium
started on the loopback interface with --remote-debugging-port=0, stopped by its PID), saves a
full-page screenshot to OUTDIR, and checks in the DOM that
  - the headline (the 10-year probability) is present and visible,
  - the contribution chart is an inline SVG with bars,
  - every image has decoded (naturalWidth > 0) and has alt text,
  - with ":strain", a strain-map image is present,
  - nothing overflows: the page is no wider than the window (wide tables scroll inside their box),
  - no request left the page (no http(s) resources).
"""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

CHECK_JS = r"""
(() => {
  const r = {};
  const big = document.querySelector('#headline .big');
  r.headline = big ? big.textContent : null;
  r.headlineVisible = !!big && big.getBoundingClientRect().width > 0;
  const svg = document.querySelector('#why svg.waterfall');
  r.chartBars = svg ? svg.querySelectorAll('rect[data-value]').length : 0;
  r.chartWidth = svg ? svg.getBoundingClientRect().width : 0;
  const imgs = Array.from(document.images);
  r.images = imgs.length;
  r.imagesBroken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  r.imagesWithoutAlt = imgs.filter(i => !i.alt).length;
  r.strainMaps = imgs.filter(i => /strain/i.test(i.alt)).length;
  r.scrollWidth = document.documentElement.scrollWidth;
  r.innerWidth = window.innerWidth;
  r.external = performance.getEntriesByType('resource').filter(e => /^https?:/.test(e.name)).length;
  return JSON.stringify(r);
})()
"""


class Page:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=60)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    chromium, outdir, pages = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(outdir, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="osteoct-chromium-")
    proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={profile}",
                             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = True
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(200):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        req = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT")
        target = json.load(urllib.request.urlopen(req, timeout=30))
        page = Page(target["webSocketDebuggerUrl"])
        page.call("Page.enable")
        summary = []
        for spec in pages:
            path, _, want = spec.partition(":")
            url = "file://" + os.path.abspath(path)
            name = os.path.basename(os.path.dirname(os.path.abspath(path))) or "page"
            for width in (768, 1280):
                page.call("Emulation.setDeviceMetricsOverride", width=width, height=1000, deviceScaleFactor=1, mobile=False)
                page.call("Page.navigate", url=url)
                for _ in range(300):
                    state = page.call("Runtime.evaluate", expression="document.readyState")["result"]["value"]
                    if state == "complete":
                        break
                    time.sleep(0.05)
                r = json.loads(page.call("Runtime.evaluate", expression=CHECK_JS)["result"]["value"])
                shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
                png = os.path.join(outdir, f"{name}-{width}.png")
                with open(png, "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
                problems = []
                if not r["headline"] or not r["headlineVisible"]:
                    problems.append("no visible headline")
                if r["chartBars"] < 1:
                    problems.append("no chart bars")
                if r["imagesBroken"] or r["imagesWithoutAlt"]:
                    problems.append(f"{r['imagesBroken']} broken / {r['imagesWithoutAlt']} alt-less images")
                if want == "strain" and r["strainMaps"] < 1:
                    problems.append("no strain map")
                if r["scrollWidth"] > r["innerWidth"]:
                    problems.append(f"overflows: page {r['scrollWidth']} px wide in a {r['innerWidth']} px window")
                if r["external"]:
                    problems.append(f"{r['external']} external requests")
                status = "ok" if not problems else "FAIL " + "; ".join(problems)
                print(f"{name} at {width} px: headline {r['headline']}, {r['chartBars']} bars, {r['images']} images "
                      f"({r['strainMaps']} strain maps), width {r['scrollWidth']}/{r['innerWidth']} — {status}; {png}")
                ok &= not problems
                summary.append(f"{name}@{width} {'ok' if not problems else 'FAIL'}")
        print("pages: " + ", ".join(summary))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
