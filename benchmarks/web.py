"""Page load of the web worklist with 1,000 stored patients (issue 12: under 1 s).

Run:  python benchmarks/web.py [--patients 1000] [--repeat 5] [--no-browser]

Starts a real ``cmltrack serve`` app (uvicorn on 127.0.0.1, SQLite in a temporary folder),
stores a seeded synthetic clinic through the service's import function, signs in as a
clinician and measures:

- the worklist page, server side (request to last byte, httpx): the first load, which assesses
  every patient (nothing in the page's memo), then warm loads (rows kept by record digest),
  both for the default view (the 200 most urgent rows, the others a click away) and for
  ``?per=all`` (all 1,000 rows in one page);
- the same list as the JSON API (``GET /api/v1/worklist``, warm) as the baseline of the run;
- a patient page and the cohort page (warm);
- with Debian's chromium (Playwright): navigation start to the ``load`` event of the worklist
  page in a real browser (warm), which adds parsing, layout and the stylesheet; beside it, in
  the same browser and run, a plain 1,000-row HTML table with no stylesheet as the baseline
  (what any page of that size costs this machine at that moment).

Each warm figure is the median of ``--repeat`` loads. The machine may be shared: the figures
say so when printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx


def _serve(app: object) -> tuple[object, str]:
    import socket

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def _timed(client: httpx.Client, url: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    r = client.get(url)
    r.raise_for_status()
    return time.perf_counter() - t0, len(r.content)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()

    from cmltrack.io import record_to_dict
    from cmltrack.service import core
    from cmltrack.service.app import create_app, open_services
    from cmltrack.service.auth import Principal, mint_token
    from cmltrack.service.settings import load_settings
    from cmltrack.synth import generate_cohort

    data = Path(tempfile.mkdtemp(prefix="cmltrack-web-bench-"))
    settings = load_settings({"data_dir": data, "log_level": "warning"})
    svc = open_services(settings)
    app = create_app(settings, svc)
    t0 = time.perf_counter()
    loader = Principal("bench-loader", "clinician")
    items = [
        core.ImportLine(i + 1, None, patient_id=r.id, data=record_to_dict(r))
        for i, r in enumerate(generate_cohort(args.patients, seed=args.seed))
    ]
    import orjson

    for item in items:
        item.raw = orjson.dumps(item.data)
    for start in range(0, len(items), 200):
        core.import_group(svc, loader, items[start:start + 200])
    print(f"stored {args.patients} synthetic patients (seed {args.seed}) in "
          f"{time.perf_counter() - t0:.1f} s")
    token = mint_token(svc.db, settings, name="bench-clinician", role="clinician",
                       actor="bench", request_id="bench")
    server, base = _serve(app)
    with httpx.Client(base_url=base, timeout=600, follow_redirects=False) as c:
        r = c.get(f"/sign-in?token={token}")
        cookie = r.headers["set-cookie"].split(";")[0]
        c.headers["cookie"] = cookie
        cold, size = _timed(c, "/worklist?per=all")
        warm = statistics.median(_timed(c, "/worklist?per=all")[0] for _ in range(args.repeat))
        warm_page, page_size = statistics.median(
            _timed(c, "/worklist")[0] for _ in range(args.repeat)), _timed(c, "/worklist")[1]
        api = httpx.Client(base_url=base, timeout=600,
                           headers={"Authorization": f"Bearer {token}"})
        api_warm = statistics.median(
            _timed(api, "/api/v1/worklist")[0] for _ in range(args.repeat))
        first = items[0].patient_id
        patient = statistics.median(
            _timed(c, f"/patients/{first}")[0] for _ in range(args.repeat))
        cohort_cold = _timed(c, "/cohort")[0]
        cohort = statistics.median(_timed(c, "/cohort")[0] for _ in range(args.repeat))
    print(f"worklist page, {args.patients} patients, server side (httpx, 2 shared cores):")
    print(f"  first load, all rows (every patient assessed) {cold:7.3f} s  ({size / 1e6:.2f} MB)")
    print(f"  warm, all {args.patients} rows, median of {args.repeat}          {warm:7.3f} s")
    print(f"  warm, default view (200 most urgent rows)   {warm_page:7.3f} s  "
          f"({page_size / 1e6:.2f} MB)")
    print(f"  GET /api/v1/worklist warm (baseline)        {api_warm:7.3f} s  "
          f"(page / API = {warm / api_warm:.2f})")
    print(f"  patient page warm                           {patient:7.3f} s")
    print(f"  cohort page first / warm                    {cohort_cold:7.3f} s / {cohort:.3f} s")
    if not args.no_browser and Path("/usr/bin/chromium").exists():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-sync"])
            page = browser.new_page()
            page.goto(f"{base}/sign-in?token={token}")
            nav = ("() => { const n = performance.getEntriesByType('navigation')[0];"
                   " return n.loadEventEnd - n.startTime; }")
            rows = "".join(f"<tr><td>{i}</td><td>P{i:04d}</td><td>optimal</td><td>12.3</td>"
                           "<td>imatinib 400 mg/d</td><td>0.01% IS 2020-01-01</td>"
                           "<td>pcr 2021-01-01 90 d overdue</td><td>continue</td></tr>"
                           for i in range(args.patients))
            plain = data / "plain.html"
            plain.write_text(f"<!doctype html><table>{rows}</table>")

            def browser_load(url: str) -> float:
                loads = []
                for _ in range(args.repeat):
                    page.goto(url, wait_until="load")
                    loads.append(page.evaluate(nav) / 1000)
                return statistics.median(loads)

            default = browser_load(f"{base}/worklist")
            full = browser_load(f"{base}/worklist?per=all")
            baseline = browser_load(plain.as_uri())
            browser.close()
        print(f"  in chromium, navigation to load event, median of {args.repeat}:")
        print(f"    default view (200 rows)                   {default:7.3f} s")
        print(f"    all {args.patients} rows                            {full:7.3f} s  "
              f"(baseline, a plain {args.patients}-row table: {baseline:.3f} s; "
              f"ratio {full / baseline:.1f})")
    server.should_exit = True  # type: ignore[attr-defined]
    print(f"command: python benchmarks/web.py --patients {args.patients} "
          f"--repeat {args.repeat}", file=sys.stderr)


if __name__ == "__main__":
    main()
