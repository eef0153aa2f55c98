#!/usr/bin/env python3
"""Time fhir.resources (R4B models) decoding and encoding a FHIR Bundle, for comparison with OsteoCT.

Usage:
    bench_fhir.py BUNDLE.json [--repeat N] [--xml BUNDLE.xml]
    bench_fhir.py BUNDLE.json --make-sample OUT.json N

Timing: reads the file's bytes once, then for each measure runs one warm-up and N timed runs and
reports the best (time.perf_counter):
  json_decode_s  Bundle.model_validate_json(bytes)
  json_encode_s  model_dump_json() of the decoded Bundle
  xml_decode_s   Bundle.model_validate_xml(bytes) of --xml, or (without --xml) of the XML
                 fhir.resources itself writes for the bundle
  xml_encode_s   model_dump_xml()
XML needs fhir.resources' XML support (lxml installed, `pip install "fhir.resources[xml]"`); if it
is missing the xml figures are null and "xml" says why. Prints one JSON object:
  {"tool": "fhir.resources R4B <version>", "resources": k, "bytes": n, "json_decode_s": ..., ...}
("resources" counts the Bundle's entry resources.)

--make-sample OUT N writes a collection Bundle of exactly N entry resources made by repeating the
entry resources of BUNDLE.json in order, each copy with a distinct id ("r1"…"rN") and a distinct
urn:uuid fullUrl; urn:uuid references inside a round of copies are rewritten to that round's
fullUrls, so the sample stays internally consistent. Empty strings (which FHIR forbids and
fhir.resources refuses) are removed from the copies and reported on stderr, so that both OsteoCT
and fhir.resources can time exactly the same file.
"""

import argparse
import json
import sys
import time
import uuid


def _clean(obj, path, dropped):
    """Remove empty strings/objects/arrays (ele-1) in place; record what was removed."""
    if isinstance(obj, dict):
        for k in list(obj):
            v = obj[k]
            if isinstance(v, (dict, list)):
                _clean(v, f"{path}.{k}", dropped)
            if v == "" or v == {} or v == [] or v is None:
                dropped.append(f"{path}.{k}")
                del obj[k]
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            if isinstance(v, (dict, list)):
                _clean(v, f"{path}[{i}]", dropped)


def _rewrite_refs(obj, mapping):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "reference" and isinstance(v, str) and v in mapping:
                obj[k] = mapping[v]
            else:
                _rewrite_refs(v, mapping)
    elif isinstance(obj, list):
        for v in obj:
            _rewrite_refs(v, mapping)


def make_sample(src_path, out_path, n):
    with open(src_path, "rb") as fh:
        src = json.loads(fh.read())
    if src.get("resourceType") == "Bundle":
        originals = [(e.get("fullUrl"), e["resource"]) for e in src.get("entry", []) if isinstance(e.get("resource"), dict)]
    else:
        originals = [(None, src)]
    if not originals:
        raise SystemExit(f"{src_path}: no resources to repeat")
    entries = []
    dropped = []
    rnd = 0
    while len(entries) < n:
        rnd += 1
        mapping = {}
        batch = []
        for j, (full_url, res) in enumerate(originals):
            if len(entries) + len(batch) >= n:
                break
            k = len(entries) + len(batch) + 1
            new_url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'osteoct-bench/{k}')}"
            if full_url:
                mapping[full_url] = new_url
            r = json.loads(json.dumps(res))
            r["id"] = f"r{k}"
            d = []
            _clean(r, f"{r.get('resourceType')}", d)
            if rnd == 1:
                dropped += d
            batch.append({"fullUrl": new_url, "resource": r})
        for e in batch:
            _rewrite_refs(e["resource"], mapping)
        entries += batch
    bundle = {
        "resourceType": "Bundle",
        "id": "osteoct-bench",
        "type": "collection",
        "timestamp": src.get("timestamp", "2026-01-01T00:00:00Z"),
        "entry": entries,
    }
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(bundle, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    for d in dropped:
        print(f"make-sample: removed empty element {d} (FHIR forbids empty values)", file=sys.stderr)
    print(f"make-sample: wrote {out_path}: collection Bundle of {len(entries)} resources "
          f"({len(originals)} distinct, {rnd} rounds)", file=sys.stderr)


def best_of(fn, repeat):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench(path, repeat, xml_path=None):
    try:
        import fhir.resources
        from fhir.resources.R4B.bundle import Bundle
    except ImportError as e:
        raise SystemExit(f"fhir.resources with R4B models is needed: {e}")
    with open(path, "rb") as fh:
        data = fh.read()
    bundle = Bundle.model_validate_json(data)
    out = {
        "tool": f"fhir.resources R4B {fhir.resources.__version__}",
        "resources": len(bundle.entry or []),
        "bytes": len(data),
        "repeat": repeat,
        "json_decode_s": round(best_of(lambda: Bundle.model_validate_json(data), repeat), 6),
        "json_encode_s": round(best_of(bundle.model_dump_json, repeat), 6),
        "xml_decode_s": None,
        "xml_encode_s": None,
    }
    if not (hasattr(Bundle, "model_validate_xml") and hasattr(bundle, "model_dump_xml")):
        out["xml"] = "this fhir.resources has no model_validate_xml/model_dump_xml"
        return out
    try:
        xml_text = bundle.model_dump_xml()
    except Exception as e:  # lxml missing ⇒ fhir.resources raises on use
        out["xml"] = f"fhir.resources XML unavailable: {type(e).__name__}: {e}"[:300]
        return out
    if xml_path:
        with open(xml_path, "rb") as fh:
            xml_bytes = fh.read()
        out["xml_source"] = xml_path
    else:
        xml_bytes = xml_text.encode("utf-8") if isinstance(xml_text, str) else xml_text
        out["xml_source"] = "fhir.resources model_dump_xml() of the bundle"
    out["xml_bytes"] = len(xml_bytes)
    xb = Bundle.model_validate_xml(xml_bytes)
    if len(xb.entry or []) != out["resources"]:
        out["xml"] = f"XML has {len(xb.entry or [])} entries, JSON {out['resources']}"
    out["xml_decode_s"] = round(best_of(lambda: Bundle.model_validate_xml(xml_bytes), repeat), 6)
    out["xml_encode_s"] = round(best_of(bundle.model_dump_xml, repeat), 6)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per measure (best is reported; default 5)")
    ap.add_argument("--xml", help="XML form of the same bundle to time decoding of (default: fhir.resources' own XML)")
    ap.add_argument("--make-sample", nargs=2, metavar=("OUT", "N"), help="write an N-resource collection Bundle and exit")
    args = ap.parse_args(argv)
    if args.make_sample:
        make_sample(args.bundle, args.make_sample[0], int(args.make_sample[1]))
        return 0
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    print(json.dumps(bench(args.bundle, args.repeat, args.xml)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
