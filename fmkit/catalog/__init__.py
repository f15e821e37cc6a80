"""Model aliases -> where the files are, and the one place that fetches and caches them.

A `--model` value is an alias from CATALOG, a local file or folder, a model folder shipped
inside an installed Python package, or a Hugging Face hub id:

    aliases.py   the catalog: ModelSpec entries (data)
    lookup.py    what the user typed -> ModelSource; what to say when a model is not here
    kinds.py     one class per kind of source: where its files are, how they are fetched
    fetch.py     present / download / local_path: files on disk, fast failures with the fix
    convert.py   converters a capability registers (generate: GGUF), named by an entry
    loaded.py    load once per process, shared by Sessions, released by its owners
    context.py   on whose behalf (a Session's owner name and notify)
    inventory.py what `fmkit models` lists and `fmkit pull` fetches (the profile's models)
"""

from fmkit.catalog.aliases import CATALOG, TRANSFORMERS_FILES, ModelSpec
from fmkit.catalog.context import on_behalf_of
from fmkit.catalog.convert import register_converter
from fmkit.catalog.fetch import check_download_allowed, download, local_path, present
from fmkit.catalog.loaded import clear_loaded, is_loaded, load_once, release
from fmkit.catalog.lookup import (ModelSource, offline_route, package_dir, resolve, unavailable_hint,
                                   yolo_weights_dir)

__all__ = ["CATALOG", "TRANSFORMERS_FILES", "ModelSpec", "ModelSource", "check_download_allowed", "clear_loaded",
           "download", "is_loaded", "load_once", "local_path", "offline_route", "on_behalf_of", "package_dir", "present",
           "register_converter", "release", "resolve", "unavailable_hint", "yolo_weights_dir"]
