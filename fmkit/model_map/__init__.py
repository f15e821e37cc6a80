"""The foundation-model map (`fmkit models --map`, `Session.model_map()`): every model family the
course names, whether it is a foundation model and why, and how to try it with fmkit here.

    families.py  the facts, one Family per row, and the aliases/commands that are not here yet
    words.py     the words that explain each row, in English and Korean

`fmkit models` is the inventory (every alias); the map is the lesson (every family). This module
joins the two: each row's aliases with their catalog size and whether they are on this machine
(never the network). An alias the catalog does not have yet is named, not looked up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fmkit.i18n import pick
from fmkit.model_map.families import FAMILIES, NOT_YET_COMMANDS, Family
from fmkit.model_map.words import WORDS

STATUSES = ("runs", "stand-in", "coming", "not run")  # what fmkit does with a family here


@dataclass(frozen=True)
class MapModel:
    """An alias that runs a family (or its stand-in): its catalog size and whether it is here.
    Size and presence are None for an alias that is not in the catalog yet."""

    alias: str
    in_catalog: bool
    size_mb: int | None = None
    present: bool | None = None


@dataclass(frozen=True)
class MapRow:
    """One family of the map, joined with this machine; `to_dict()` is the `--json` object."""

    family: str
    maker: str
    named_in: str  # lecture | bedrock | jumpstart
    modality: str  # text | image | text+image
    role: str  # foundation | base
    why: str  # in the map's language, like `how`
    open_weights: bool
    api: str | None
    parameters: str | None  # None: not published
    fmkit: str  # one of STATUSES
    command: str | None  # "fmkit generate"
    how: str
    models: tuple[MapModel, ...]
    lang: str

    def to_dict(self) -> dict:
        return asdict(self) | {"models": [asdict(m) for m in self.models]}


def words(lang: str) -> dict[str, str]:
    """The map's words in `lang` (en | ko): the labels a renderer shows beside the rows."""
    return pick(WORDS, lang)


def model_map(lang: str = "en") -> list[MapRow]:
    """Every family the course names, in the course's order, joined with the catalog as it is now."""
    said = words(lang)
    looked_up: dict[str, MapModel] = {}  # Stable Diffusion's aliases are DALL-E's stand-in too: look once
    rows = []
    for family in FAMILIES:
        for alias in family.aliases:
            if alias not in looked_up:
                looked_up[alias] = _look_up(alias)
        models = tuple(looked_up[alias] for alias in family.aliases)
        rows.append(MapRow(family.name, family.maker, family.named_in, family.modality, family.role,
                           said[f"{family.key}.why"], family.open_weights, family.api, family.parameters,
                           _status(family, models), f"fmkit {family.command}" if family.command else None,
                           _how(family, said), models, lang))
    return rows


def _look_up(alias: str) -> MapModel:
    from fmkit import catalog

    spec = catalog.CATALOG.get(alias)
    if spec is None:
        return MapModel(alias, False)
    return MapModel(alias, True, spec.size_mb, catalog.present(catalog.resolve(alias)) is not None)


def _status(family: Family, models: tuple[MapModel, ...]) -> str:
    if family.command is None:
        return "not run"
    if family.command in NOT_YET_COMMANDS or not any(m.in_catalog for m in models):
        return "coming"
    return "stand-in" if family.stand_in else "runs"


def _how(family: Family, said: dict[str, str]) -> str:
    if family.command is None:
        return said["api_try"].format(api=family.api)
    return said[f"{family.key}.try"]
