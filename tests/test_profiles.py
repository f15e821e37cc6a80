"""Profile resolution, precedence, override parsing, typo suggestions, user profiles."""

from __future__ import annotations

import pytest

from fmkit import hardware
from fmkit.errors import ProfileError
from fmkit.profiles import available_profiles, builtin_dir, load_settings, parse_assignment, parse_value, user_dir


def test_builtin_profiles_exist_and_load():
    assert {"laptop", "gpu"} <= set(available_profiles())
    for name in ("laptop", "gpu"):
        s = load_settings(name, env={})
        assert s.profile == name
        assert s.profile_path.parent == builtin_dir()


def test_every_key_of_each_builtin_profile_is_documented_by_a_comment():
    for name in ("laptop", "gpu"):
        text = (builtin_dir() / f"{name}.toml").read_text()
        for line in text.splitlines():
            if "=" in line and not line.lstrip().startswith("#") and not line.startswith(("extends", "description")):
                assert "#" in line, f"{name}.toml: key without a comment: {line}"


def test_choice_order_flag_then_env_then_auto(monkeypatch):
    monkeypatch.setattr(hardware, "auto_profile", lambda: ("laptop", "auto: test"))
    assert load_settings(None, env={}).reason == "auto: test"
    assert load_settings(None, env={"FMKIT_PROFILE": "gpu"}).profile == "gpu"
    s = load_settings("laptop", env={"FMKIT_PROFILE": "gpu"})
    assert (s.profile, s.reason) == ("laptop", "--profile")


def test_auto_picks_gpu_only_with_enough_vram(monkeypatch):
    monkeypatch.setattr(hardware, "nvidia_gpus", lambda: (hardware.Gpu("Big", 24000),))
    assert hardware.auto_profile()[0] == "gpu"
    monkeypatch.setattr(hardware, "nvidia_gpus", lambda: (hardware.Gpu("Small", 4000),))
    name, why = hardware.auto_profile()
    assert name == "laptop" and "3.9 GiB" in why
    monkeypatch.setattr(hardware, "nvidia_gpus", lambda: ())
    assert hardware.auto_profile()[0] == "laptop"


def test_precedence_default_profile_env_set_option():
    env = {"FMKIT_GENERATE_MAX_NEW_TOKENS": "11", "FMKIT_GENERATE_TOP_K": "7"}
    s = load_settings("laptop", sets=["generate.max_new_tokens=22"], env=env,
                      options={"generate.top_k": None, "generate.temperature": 0.5})
    assert s.generate.max_new_tokens == 22 and s.origins["generate.max_new_tokens"] == "--set generate.max_new_tokens"
    assert s.generate.top_k == 7 and s.origins["generate.top_k"] == "env FMKIT_GENERATE_TOP_K"
    assert s.generate.temperature == 0.5 and s.origins["generate.temperature"] == "--temperature"
    s2 = load_settings("laptop", sets=["generate.top_k=3"], env=env, options={"generate.top_k": 1})
    assert s2.generate.top_k == 1


def test_keys_missing_from_a_profile_take_builtin_defaults(tmp_path):
    path = tmp_path / "bare.toml"
    path.write_text("[generate]\nmax_new_tokens = 3\n")
    s = load_settings(str(path), env={})
    assert s.generate.max_new_tokens == 3 and s.generate.model == "gpt2"
    assert s.origins.get("generate.model", "default") == "default"


@pytest.mark.parametrize("text, expected", [
    ("5", 5), ("0.7", 0.7), ("true", True), ('"x y"', "x y"), ("gpt2", "gpt2"), ("[1, 2]", [1, 2]),
    ("./models/my-gpt2", "./models/my-gpt2"),
])
def test_values_parse_as_toml_with_bare_word_fallback(text, expected):
    assert parse_value(text) == expected


def test_assignment_parsing_and_its_errors():
    assert parse_assignment("generate.max_new_tokens=5") == ("generate.max_new_tokens", 5)
    assert parse_assignment("bert.model = minilm") == ("bert.model", "minilm")
    for bad in ("max_new_tokens=5", "generate.max_new_tokens", "=5"):
        with pytest.raises(ProfileError):
            parse_assignment(bad)


def test_typo_in_key_suggests_the_closest_key():
    with pytest.raises(ProfileError) as e:
        load_settings("laptop", sets=["generate.max_new_tokns=5"], env={})
    assert "generate.max_new_tokens" in str(e.value) and e.value.exit_code == 2


def test_typo_in_section_suggests_the_section():
    with pytest.raises(ProfileError, match="generate.top_k"):
        load_settings("laptop", sets=["generat.top_k=5"], env={})


def test_wrong_type_and_out_of_range_values_are_usage_errors():
    with pytest.raises(ProfileError, match="expected int"):
        load_settings("laptop", sets=["generate.max_new_tokens=many"], env={})
    with pytest.raises(ProfileError, match="must be"):
        load_settings("laptop", sets=["generate.top_p=1.5"], env={})
    with pytest.raises(ProfileError, match="one of"):
        load_settings("laptop", sets=["runtime.dtype=float8"], env={})
    with pytest.raises(ProfileError, match="expected bool"):
        load_settings("laptop", sets=["generate.do_sample=1"], env={})


def test_int_is_accepted_for_float_keys():
    s = load_settings("laptop", sets=["generate.temperature=2"], env={})
    assert s.generate.temperature == 2.0 and isinstance(s.generate.temperature, float)


def test_unknown_env_setting_is_reported_with_suggestion():
    with pytest.raises(ProfileError, match="generate.top_k"):
        load_settings("laptop", env={"FMKIT_GENERATE_TOPK": "3"})
    with pytest.raises(ProfileError, match="unknown environment variable"):
        load_settings("laptop", env={"FMKIT_WHATEVER": "3"})


def test_unknown_profile_lists_available_ones():
    with pytest.raises(ProfileError) as e:
        load_settings("nosuch", env={})
    assert "gpu" in str(e.value) and "laptop" in str(e.value)
    with pytest.raises(ProfileError, match="did you mean 'laptop'"):
        load_settings("lptop", env={})


def test_user_profile_extends_builtin_and_shows_origins():
    user_dir().mkdir(parents=True)
    (user_dir() / "classroom.toml").write_text(
        'extends = "laptop"\ndescription = "room 101"\n[generate]\nmax_new_tokens = 12\n')
    assert "classroom" in available_profiles()
    s = load_settings("classroom", env={})
    assert s.generate.max_new_tokens == 12 and s.origins["generate.max_new_tokens"] == "profile classroom"
    assert s.generate.model == "gpt2" and s.origins["generate.model"] == "profile laptop"


def test_user_profile_may_shadow_and_extend_the_builtin_of_the_same_name():
    user_dir().mkdir(parents=True)
    (user_dir() / "laptop.toml").write_text('extends = "laptop"\n[bert]\nmodel = "minilm"\n')
    s = load_settings("laptop", env={})
    assert s.bert.model == "minilm" and s.generate.model == "gpt2"


def test_extends_loops_and_bad_files_are_clear_errors(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "./b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "./a.toml"\n')
    with pytest.raises(ProfileError, match="loop"):
        load_settings(str(tmp_path / "a.toml"), env={})
    (tmp_path / "broken.toml").write_text("[generate\n")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_settings(str(tmp_path / "broken.toml"), env={})
    with pytest.raises(ProfileError, match="not found"):
        load_settings(str(tmp_path / "missing.toml"), env={})
    (tmp_path / "flat.toml").write_text("max_new_tokens = 3\n")
    with pytest.raises(ProfileError, match="top-level"):
        load_settings(str(tmp_path / "flat.toml"), env={})


def _project_variables() -> set[str]:
    """Every FMKIT_* variable the project's code reads, or its docs and profiles name."""
    import re

    from conftest import REPO

    read = re.compile(r"""environ(?:\.get\(|\[)\s*["'](FMKIT_[A-Z0-9_]+)["']""")
    named = re.compile(r"\bFMKIT_[A-Z0-9_]*[A-Z0-9]\b")
    found: set[str] = set()
    for folder in ("fmkit", "benchmarks", "tests"):
        for path in (REPO / folder).rglob("*.py"):
            found |= set(read.findall(path.read_text(encoding="utf-8")))
    for doc in [REPO / "README.md", REPO / "benchmarks" / "README.md", *(REPO / "configs").glob("*.toml")]:
        found |= set(named.findall(doc.read_text(encoding="utf-8")))
    return found


def test_every_fmkit_variable_the_project_reads_or_documents_works(cli, tmp_path):
    """A variable of the project's own (FMKIT_BENCH_CACHE made every command exit 2 on the first
    GPU run) never stops a command; a settings variable with a valid value neither."""
    from fmkit.environment import OWN_VARIABLES
    from fmkit.settings import all_keys, section_keys

    settings = {f"FMKIT_{k.replace('.', '_').upper()}": k for k in all_keys()}
    found = _project_variables()
    assert {"FMKIT_HOME", "FMKIT_BENCH_CACHE", "FMKIT_KEEP_TEST_DIR", "FMKIT_OFFLINE"} <= found
    for var in sorted(found):
        assert var in OWN_VARIABLES or var in settings, f"{var}: add it to environment.OWN_VARIABLES"
        if var in settings:
            section, _, name = settings[var].partition(".")
            default = section_keys(section)[name].default
            value = ("true" if default else "false") if isinstance(default, bool) else \
                (f'"{default}"' if isinstance(default, str) else str(default))
        else:
            value = {"FMKIT_PROFILE": "laptop", "FMKIT_HOME": str(tmp_path / "home"),
                     "FMKIT_BENCH_CACHE": str(tmp_path / "cache")}.get(var, "1")
        r = cli(["profiles", "laptop"], env={var: value})
        assert r.exit_code == 0, (var, r.stderr)
    r = cli(["profiles", "laptop"], env={"FMKIT_BENCH_CACHES": "1"})
    assert r.exit_code == 2 and "FMKIT_BENCH_CACHE" in r.stderr  # a typo still gets the closest name
