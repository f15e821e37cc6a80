"""Profiles: which settings a command runs with, and where each value came from.

Precedence, lowest to highest, applied in `load_settings` and nowhere else:
    built-in defaults (settings.py) < profile file (and the profiles it extends)
    < FMKIT_<SECTION>_<KEY> environment < --set section.key=value < explicit command options.

Profile choice: --profile NAME|PATH > $FMKIT_PROFILE > auto (hardware.auto_profile).
Names are looked up in $FMKIT_HOME/profiles/ first, then in the built-in configs/.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from fmkit import hardware
from fmkit.environment import OWN_VARIABLES, fmkit_home
from fmkit.errors import ProfileError
from fmkit.settings import Agent, Cluster, OPTION_FLAGS, SECTIONS, TOP_LEVEL_KEYS, Bert, Detect, Diffuse, Generate, Runtime, Segment, all_keys, section_keys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ENV_PREFIX = "FMKIT_"


def builtin_dir() -> Path:
    """configs/ inside the installed wheel (fmkit/configs), or at the top of a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "configs"
    return packaged if packaged.is_dir() else here.parent / "configs"


def user_dir() -> Path:
    return fmkit_home() / "profiles"


def available_profiles() -> dict[str, Path]:
    """Profile name -> file; a user profile shadows a built-in one of the same name."""
    found: dict[str, Path] = {}
    for folder in (builtin_dir(), user_dir()):
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found[path.stem] = path
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class Settings:
    """Fully resolved, validated settings for one command run."""

    profile: str
    profile_path: Path | None
    reason: str
    runtime: Runtime
    bert: Bert
    generate: Generate
    diffuse: Diffuse
    detect: Detect
    segment: Segment = field(default_factory=Segment)
    agent: Agent = field(default_factory=Agent)
    cluster: Cluster = field(default_factory=Cluster)
    origins: Mapping[str, str] = field(default_factory=dict)  # dotted key -> where its value came from

    def value(self, dotted: str) -> Any:
        section, _, name = dotted.partition(".")
        return getattr(getattr(self, section), name)

    def rows(self) -> Iterable[tuple[str, Any, str]]:
        """(dotted key, value, where it came from) for every key, in schema order."""
        for dotted in all_keys():
            yield dotted, self.value(dotted), self.origins.get(dotted, "default")


# --- parsing and validation -------------------------------------------------------------


def parse_value(text: str) -> Any:
    """A command-line or environment value, read as TOML (5, 0.7, true, "x", [1, 2]); a bare word stays a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignment(text: str) -> tuple[str, Any]:
    """'generate.max_new_tokens=5' -> ('generate.max_new_tokens', 5)."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or "." not in name:
        raise ProfileError(f"--set expects section.key=value, got '{text}'",
                           "for example --set generate.max_new_tokens=40")
    return name, parse_value(raw.strip())


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return match[0] if match else None


def check_value(dotted: str, value: Any, source: str) -> Any:
    """Validate one dotted key and value; return the value coerced to the key's type."""
    section, _, name = dotted.partition(".")
    if section not in SECTIONS:
        close = _suggest(section, SECTIONS)
        raise ProfileError(f"unknown section '{section}' in '{dotted}' ({source})",
                           f"did you mean '{close}.{name}'?" if close else f"sections: {', '.join(SECTIONS)}")
    keys = section_keys(section)
    if name not in keys:
        close = _suggest(name, keys)
        raise ProfileError(f"unknown key '{dotted}' ({source})",
                           f"did you mean '{section}.{close}'?" if close else f"keys of [{section}]: {', '.join(keys)}")
    meta, default = keys[name].metadata, keys[name].default
    kind = type(default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not kind:
        raise ProfileError(f"{dotted} = {value!r} ({source}): expected {kind.__name__}",
                           f"for example {dotted} = {_toml_repr(default)}")
    problem = None
    if kind is float and not math.isfinite(value):
        problem = "a finite number (not nan or inf)"
    elif meta["choices"] and value not in meta["choices"]:
        problem = "one of " + ", ".join(map(str, meta["choices"]))
    elif meta.get("pattern") and not re.fullmatch(meta["pattern"], value.strip().lower()):
        problem = "one of " + meta["help"].partition(";")[0].strip()
    elif meta["min"] is not None and value < meta["min"]:
        problem = f">= {meta['min']}"
    elif meta["above"] is not None and value <= meta["above"]:
        problem = f"> {meta['above']}"
    elif meta["max"] is not None and value > meta["max"]:
        problem = f"<= {meta['max']}"
    if problem:
        raise ProfileError(f"{dotted} = {value!r} ({source}): must be {problem}", meta["help"])
    return value


def _toml_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


# --- profile files ----------------------------------------------------------------------


def read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ProfileError(f"cannot read profile {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"profile {path} is not valid TOML: {e}") from None


def _looks_like_path(name: str) -> bool:
    return name.endswith(".toml") or "/" in name or os.sep in name


def find_profile(name: str, exclude: Path | None = None, relative_to: Path | None = None) -> Path:
    """A profile name or path -> its file. Unknown names list the available ones."""
    if _looks_like_path(name):
        path = Path(name).expanduser()
        if relative_to is not None and not path.is_absolute():
            path = relative_to / path
        if not path.is_file():
            raise ProfileError(f"profile file '{name}' not found", "give an existing .toml path or a profile name")
        return path
    candidates = [user_dir() / f"{name}.toml", builtin_dir() / f"{name}.toml"]
    for path in candidates:
        if path.is_file() and (exclude is None or path.resolve() != exclude.resolve()):
            return path
    names = sorted(available_profiles())
    close = _suggest(name, names)
    hint = f"available: {', '.join(names)}" + (f"; did you mean '{close}'?" if close else "")
    raise ProfileError(f"unknown profile '{name}'", hint)


def _profile_layers(path: Path, seen: tuple[Path, ...] = ()) -> list[tuple[str, dict]]:
    """The profile and the profiles it extends, base first, as (label, data)."""
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(p.stem for p in (*seen, resolved))
        raise ProfileError(f"profiles extend each other in a loop: {chain}")
    data = read_toml(path)
    layers: list[tuple[str, dict]] = []
    base = data.get("extends")
    if base is not None:
        if not isinstance(base, str):
            raise ProfileError(f"{path}: extends must be a profile name or path, got {base!r}")
        base_path = find_profile(base, exclude=path, relative_to=path.parent)
        layers = _profile_layers(base_path, (*seen, resolved))
    return layers + [(f"profile {path.stem}", data)]


def _flatten(data: dict, label: str) -> Iterable[tuple[str, Any]]:
    for section, body in data.items():
        if section in TOP_LEVEL_KEYS:
            continue
        if not isinstance(body, dict):
            close = _suggest(section, [*SECTIONS, *TOP_LEVEL_KEYS])
            raise ProfileError(f"unknown top-level key '{section}' ({label})",
                               f"did you mean '{close}'?" if close else "keys belong in [section] tables")
        for name, value in body.items():
            yield f"{section}.{name}", value


def _env_settings(env: Mapping[str, str]) -> Iterable[tuple[str, Any, str]]:
    """FMKIT_GENERATE_MAX_NEW_TOKENS=5 -> ('generate.max_new_tokens', 5, 'env ...')."""
    for var, raw in sorted(env.items()):
        if not var.startswith(ENV_PREFIX) or var in OWN_VARIABLES:
            continue
        rest = var[len(ENV_PREFIX):].lower()
        section = next((s for s in SECTIONS if rest.startswith(s + "_")), None)
        if section is None:
            options = [f"{ENV_PREFIX}{k.replace('.', '_').upper()}" for k in all_keys()]
            options += list(OWN_VARIABLES)
            close = _suggest(var, options)
            raise ProfileError(f"unknown environment variable {var}",
                               f"did you mean {close}?" if close else "FMKIT_<SECTION>_<KEY>, e.g. FMKIT_GENERATE_MAX_NEW_TOKENS")
        yield f"{section}.{rest[len(section) + 1:]}", parse_value(raw), f"env {var}"


def choose_profile(requested: str | None, env: Mapping[str, str]) -> tuple[str, str]:
    """(profile name or path, why it was chosen)."""
    if requested:
        return requested, "--profile"
    if env.get("FMKIT_PROFILE"):
        return env["FMKIT_PROFILE"], "FMKIT_PROFILE"
    return hardware.auto_profile()


def load_settings(profile: str | None = None, sets: Iterable[str] | Mapping[str, Any] = (),
                  options: Mapping[str, Any] | None = None,
                  env: Mapping[str, str] | None = None, option_source: str = "command option") -> Settings:
    """Resolve and validate the settings for one run (see the module docstring for precedence).

    `sets` is `--set` text ("generate.top_k=40", read as TOML) or, from Python, a mapping
    ({"generate.top_k": 40}); `options` are explicit options or keyword arguments (None = not given)."""
    env = os.environ if env is None else env
    name, reason = choose_profile(profile, env)
    path = find_profile(name)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def put(dotted: str, value: Any, source: str) -> None:
        values[dotted] = check_value(dotted, value, source)
        sources[dotted] = source

    for label, data in _profile_layers(path):
        for dotted, value in _flatten(data, label):
            put(dotted, value, label)
    for dotted, value, source in _env_settings(env):
        put(dotted, value, source)
    if isinstance(sets, Mapping):
        for dotted, value in sets.items():
            if "." not in str(dotted):
                raise ProfileError(f"set= expects 'section.key' names, got '{dotted}'",
                                   "for example set={'generate.max_new_tokens': 40}")
            put(str(dotted), value, f"set={dotted}")
    else:
        for text in sets:
            dotted, value = parse_assignment(text)
            put(dotted, value, f"--set {dotted}")
    for dotted, value in (options or {}).items():
        if value is not None:
            name = dotted.partition(".")[2]
            flag = OPTION_FLAGS.get(name, f"--{name.replace('_', '-')}")
            label = flag if option_source == "command option" else f"{name}= argument"
            put(dotted, value, label if not dotted.endswith((".model", "runtime.device")) else option_source)

    sections = {s: cls(**{k[len(s) + 1:]: v for k, v in values.items() if k.startswith(s + ".")})
                for s, cls in SECTIONS.items()}
    return Settings(profile=path.stem, profile_path=path, reason=reason, origins=sources, **sections)
