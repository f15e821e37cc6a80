"""The catalog as people see it: what `fmkit models` lists (and `Session.models()` returns), and
`fmkit pull` (`Session.pull()`): each model fetched for offline use, one result per model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from fmkit.catalog.aliases import CATALOG
from fmkit.catalog.fetch import download, present
from fmkit.catalog.lookup import resolve, unavailable_hint
from fmkit.errors import FmkitError, ModelNotHere
from fmkit.profiles import Settings

PROFILE_SECTIONS = ("bert", "generate", "diffuse", "detect", "segment")  # sections whose `model` `fmkit pull` fetches


def profile_models(settings: Settings) -> dict[str, str]:
    """Section -> the model the profile uses there."""
    return {section: getattr(settings, section).model for section in PROFILE_SECTIONS}


@dataclass
class ModelRow:
    """One catalog entry and whether it is on this machine (never the network)."""

    alias: str
    family: str
    kind: str
    source: str
    size_mb: int | None
    present: bool
    path: str | None
    profile_uses: str | None  # the profile section that uses it, if any
    description: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def inventory(settings: Settings) -> list[ModelRow]:
    used = {model: section for section, model in profile_models(settings).items()}
    rows = []
    for alias, spec in CATALOG.items():
        path = present(resolve(alias))
        rows.append(ModelRow(alias, spec.family, spec.kind, spec.location, spec.size_mb, path is not None,
                             str(path) if path else None, used.get(alias), spec.description))
    return rows


@dataclass
class Pulled:
    """What `fmkit pull` did for one model: present, local, downloaded, or the error."""

    model: str
    status: str  # present | local | downloaded | error
    path: Path | None = None
    error: FmkitError | None = None

    def to_dict(self) -> dict:
        if self.error is not None:
            return {"model": self.model, "status": "error", "error": str(self.error)}
        return {"model": self.model, "status": self.status, "path": str(self.path)}


def pull(names: Iterable[str], notify: Callable[[str], None], progress=None) -> Iterator[Pulled]:
    """Fetch each model that is not here yet; a model that fails is reported and the rest go on."""
    for name in dict.fromkeys(names):
        try:
            source = resolve(name)
            path = present(source)
            if path is not None:
                yield Pulled(name, "local" if source.kind == "local" else "present", path)
                continue
            notify(f"pulling {source.label} ...")
            yield Pulled(name, "downloaded", download(source, progress))
        except ModelNotHere as e:
            e.hint = unavailable_hint(e.source, pulling=True)  # not "run fmkit pull" again
            yield Pulled(name, "error", error=e)
        except FmkitError as e:
            yield Pulled(name, "error", error=e)
