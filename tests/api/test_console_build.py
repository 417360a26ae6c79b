"""The committed console build (api/console/dist) matches its sources, without Node.js: the
sha256 over the sources recorded by scripts/build_console.sh is recomputed here, and so is the
sha256 of every dist file. A source changed without a rebuild, or a dist file edited or added by
hand, fails here; run scripts/build_console.sh and commit api/console/dist."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONSOLE = REPO / "api" / "console"
DIST = CONSOLE / "dist"
FIXED = ["api/console/index.html", "api/console/vite.config.js", "api/console/package.json",
         "api/console/package-lock.json", "api/console/tools/build-info.mjs", "scripts/build_console.sh"]
REBUILD = "run scripts/build_console.sh and commit api/console/dist"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((DIST / "build-manifest.json").read_text(encoding="utf-8"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_files() -> list[str]:
    """The files the console is built from, as build-info.mjs lists them."""
    src = [p.relative_to(REPO).as_posix() for d in ("src", "public") for p in (CONSOLE / d).rglob("*") if p.is_file()]
    return sorted(FIXED + src)


def sources_hash(files: list[str]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f}\n{_sha256(REPO / f)}\n".encode())
    return h.hexdigest()


def test_sources_match_the_build(manifest: dict) -> None:
    files = source_files()
    assert manifest["sources"]["files"] == files, f"console source files added or removed: {REBUILD}"
    assert manifest["sources"]["sha256"] == sources_hash(files), f"console sources changed: {REBUILD}"


def test_dist_files_are_the_built_ones(manifest: dict) -> None:
    on_disk = {p.relative_to(DIST).as_posix(): _sha256(p) for p in DIST.rglob("*") if p.is_file()}
    on_disk.pop("build-manifest.json")
    assert sorted(on_disk) == sorted(manifest["files"]), "dist files added or removed by hand: " + REBUILD
    changed = [f for f, digest in on_disk.items() if manifest["files"][f] != digest]
    assert not changed, f"dist files altered: {changed}: {REBUILD}"


def test_bundled_packages_are_locked_and_licensed(manifest: dict) -> None:
    lock = json.loads((CONSOLE / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    pinned = json.loads((CONSOLE / "package.json").read_text(encoding="utf-8"))
    for deps in (pinned["dependencies"], pinned["devDependencies"]):
        assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in deps.values()), f"versions not pinned: {deps}"
    licences = (DIST / "THIRD-PARTY-LICENSES.txt").read_text(encoding="utf-8")
    names = {p["name"] for p in manifest["packages"]}
    assert {"vue", "vue-router", "element-plus", "echarts", "wavesurfer.js"} <= names
    for p in manifest["packages"]:
        entry = lock[p["key"]]
        assert (p["version"], p["integrity"]) == (entry["version"], entry["integrity"])
        assert p["integrity"].startswith("sha512-")
        assert f"{p['name']} {p['version']} (" in licences
    for name in ("vue", "element-plus", "echarts", "wavesurfer.js", "vue-router"):
        assert [p["version"] for p in manifest["packages"] if p["name"] == name] == [pinned["dependencies"][name]]


def test_no_inline_script_and_no_eval() -> None:
    """The console's CSP allows only its own script files: no inline script, no eval."""
    html = (DIST / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    for js in DIST.glob("assets/*.js"):
        text = js.read_text(encoding="utf-8")
        assert not re.search(r"\beval\(|new Function\(", text), js.name
        # lodash's global lookup `self || Function("return this")()` never runs in a browser
        # (self exists); any other use of the Function constructor would need 'unsafe-eval'.
        assert not re.sub(r'\|\|Function\("return this"\)\(\)', "", text).count('Function("'), js.name
    assert not list(DIST.rglob("*.map")), "source maps are not shipped"
