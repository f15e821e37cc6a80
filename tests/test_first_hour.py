"""Issue 10, the first hour of a new user: offline routes, true messages, help and errors that read
well at 80 columns, a fast --help, and nothing left behind by the tests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO


def run_fmkit(args, env=None, timeout=60, cwd=None):
    full_env = {**os.environ, "COLUMNS": "80", **(env or {})}
    return subprocess.run([sys.executable, "-m", "fmkit", *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, cwd=cwd)


# --- item 2: every model-unavailable error names a route that works on this machine ---------


def test_pull_offline_is_not_circular_and_names_the_offline_route_per_family(cli):
    r = cli(["pull", "gpt2", "yolo11n", "bert-base-uncased", "--offline"])
    assert r.exit_code == 1
    lines = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 3
    gpt2, yolo, bert = lines
    for line in lines:
        assert "fmkit pull gpt2" not in line and "fmkit pull yolo11n" not in line
        assert "fmkit pull bert-base-uncased" not in line and "run it again online" in line
    assert "--model smollm2" in gpt2 and "fmkit pull smollm2" in gpt2
    assert "yolo11n.yaml" in yolo and ".pt" in yolo
    assert "--model minilm" in bert


def test_generation_hint_mentions_smollm2_only_while_the_catalog_has_it(monkeypatch):
    from fmkit import catalog

    source = catalog.resolve("gpt2")
    assert "smollm2" in catalog.CATALOG  # the packaged chat model (agent issue)
    assert "--model smollm2" in catalog.unavailable_hint(source)
    assert "fmkit pull gpt2" in catalog.unavailable_hint(source)  # the generate command: pull it while online
    without = {k: v for k, v in catalog.CATALOG.items() if k != "smollm2"}
    monkeypatch.setattr(catalog.lookup, "CATALOG", without)
    hint = catalog.unavailable_hint(source)
    assert "smollm2" not in hint and "--model PATH" in hint


def test_detection_hint_names_a_local_pt_and_the_random_weight_yaml():
    from fmkit import catalog

    hint = catalog.resolve("yolo11n").pull_hint
    assert "fmkit pull yolo11n" in hint and "yolo11n.yaml" in hint and "random weights" in hint


# --- item 4: messages say what happened ------------------------------------------------------


def test_profiles_name_argument_is_not_called_dash_dash_profile(cli):
    r = cli(["profiles", "laptop"])
    assert r.exit_code == 0
    assert "--profile" not in r.stdout and "chosen by the NAME argument" in r.stdout
    r = cli(["profiles", "laptop", "--json"])
    assert json.loads(r.stdout)["reason"] == "argument"


# --- item 6: identifiers are never cut; help and usage errors at 80 columns -------------------


def test_models_and_profiles_never_cut_what_people_copy():
    from fmkit import catalog

    out = run_fmkit(["models"]).stdout
    assert "…" not in out
    for alias in catalog.CATALOG:
        assert re.search(rf"[ *] {re.escape(alias)} ", out), alias
    out = run_fmkit(["profiles"]).stdout
    for name in ("laptop", "gpu"):
        path = REPO / "configs" / f"{name}.toml"
        assert f"{name}: {path}" in out.splitlines()  # whole, on a line of its own
    out = run_fmkit(["profiles", "laptop"]).stdout
    assert f"file: {REPO / 'configs' / 'laptop.toml'}" in out.splitlines() and "…" not in out


COMMANDS = ["tokenize", "attention", "positional", "generate", "diffuse", "detect", "segment", "gallery", "profiles",
            "doctor", "models", "pull", "bucket", "bucket init", "bucket check", "bucket policy", None]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_at_80_columns_has_no_python_types_or_odd_usage(command):
    r = run_fmkit([*(command.split() if command else []), "--help"])
    assert r.returncode == 0, r.stderr
    assert not re.search(r"<(bool|int|float|str|list\[[a-z]+\]|path)>", r.stdout), r.stdout
    usage = next(line for line in r.stdout.splitlines() if "Usage:" in line)
    assert "{" not in usage and "]...]" not in usage and "...]..." not in usage, usage
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


@pytest.mark.parametrize("args, says", [
    (["generate", "--bogus", "x"], "no such option: --bogus (see 'fmkit generate --help')"),
    (["generate", "x", "-n", "abc"], "(see 'fmkit generate --help')"),
    (["tokenize"], "missing argument 'TEXT...' (see 'fmkit tokenize --help')"),
    (["nosuchcommand"], "no such command 'nosuchcommand' (see 'fmkit --help')"),
    (["profiles", "--set"], "(see 'fmkit profiles --help')"),
])
def test_usage_errors_are_one_line_with_exit_2(args, says):
    r = run_fmkit(args)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], r.stderr


def test_usage_errors_in_process_too(cli):
    r = cli(["generate", "--bogus", "x"])
    assert r.exit_code == 2 and r.stderr.strip().splitlines() == [
        "error: no such option: --bogus (see 'fmkit generate --help')"]


# --- item 8: --help never imports what it does not show ---------------------------------------


def test_help_imports_no_markdown_traceback_or_metadata():
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "fmkit", "--help"], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "COLUMNS": "80"})
    assert r.returncode == 0
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    for heavy in ("rich.markdown", "markdown_it", "rich.traceback", "pygments", "importlib.metadata", "fmkit.catalog",
                  "fmkit.profiles", "torch"):
        assert heavy not in imported, heavy


def test_deferred_rich_modules_still_work_when_used():
    code = ("import fmkit.cli as c; c._defer_help_only_imports()\n"
            "from rich.markdown import Markdown; from rich.text import Text; Markdown | Text\n"
            "from rich.traceback import Traceback\n"
            "try:\n    1/0\nexcept ZeroDivisionError as e:\n"
            "    assert type(Traceback.from_exception(type(e), e, e.__traceback__)).__module__ == 'rich.traceback'\n"
            "assert type(Markdown('# hi')).__module__ == 'rich.markdown'\n"
            "import sys; assert sys.modules['rich.markdown'].__file__.endswith('markdown.py')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


# --- item 10: a test run leaves nothing behind -----------------------------------------------


def test_a_test_session_removes_its_temp_dir_and_builds_outside_the_checkout(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only",
                        str(REPO / "tests" / "test_packaging.py")], capture_output=True, text=True, timeout=120,
                       cwd=REPO, env={**os.environ, "TMPDIR": str(tmp)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert not list(tmp.glob("fmkit-tests-*"))
    source = (REPO / "tests" / "test_packaging.py").read_text()
    assert "copy_sources" in source and "str(REPO)]" not in source  # the wheel is built from a copy


# --- item 6: the terminal heatmap is readable on 16 and 256 colours ---------------------------


@pytest.mark.parametrize("color_system", ["standard", "256", "truecolor"])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_heatmap_text_contrasts_with_the_cell_as_the_terminal_shows_it(color_system, theme):
    import io

    import numpy as np
    from rich.color import Color, ColorSystem
    from rich.console import Console

    from fmkit.render.terminal import cell_colour, heatmap, text_colour_on

    def luminance(name):
        colour = Color.parse(name)
        if color_system != "truecolor":
            colour = colour.downgrade(ColorSystem.STANDARD if color_system == "standard" else ColorSystem.EIGHT_BIT)
        return sum(w * (c / 255) for w, c in zip((0.2126, 0.7152, 0.0722), colour.get_truecolor()))

    steps = []
    for t in np.linspace(0, 1, 11):
        background = cell_colour(t, theme, color_system)
        fg = text_colour_on(background, color_system)
        assert abs(luminance(background) - (0.0 if fg == "black" else 1.0)) > 0.35, (t, background, fg)
        steps.append(background)
    assert len(set(steps)) >= 5  # a 16-colour terminal still shows distinguishable steps
    out = io.StringIO()
    Console(file=out, color_system=color_system, width=80, force_terminal=True).print(
        heatmap(np.linspace(0, 1, 16).reshape(4, 4), list("abcd"), list("abcd"), title="t", theme=theme))
    assert ".50" in out.getvalue() or ".53" in out.getvalue()


def test_bert_section_of_the_readme_runs_offline_as_written():
    readme = (REPO / "README.md").read_text()
    section = readme.split("### How BERT reads text")[1].split("\n### ")[0]
    assert "export FMKIT_BERT_MODEL=minilm" in section.split("fmkit tokenize")[0]  # said once, at the top
    from fmkit.profiles import load_settings

    assert load_settings("laptop", env={"FMKIT_BERT_MODEL": "minilm"}).bert.model == "minilm"


# --- item 5: attention PNGs: scale, axis titles, labels, and room for long inputs -------------


def _attention(n, layers=2, heads=4):
    import numpy as np

    from fmkit.bert.attention import AttentionResult

    a = np.random.default_rng(0).random((layers, heads, n, n)).astype("float32")
    a /= a.sum(-1, keepdims=True)
    return AttentionResult("x", "tiny", [f"tok{i}" for i in range(n)], a, n, 512)


@pytest.mark.parametrize("kind", ["head", "layer", "all"])
def test_attention_png_has_a_colourbar_axis_titles_and_token_labels(kind):
    from fmkit.render.attention_png import KEY_LABEL, QUERY_LABEL, grid_figure, head_figure

    result = _attention(12)
    fig = head_figure(result, 0, 0) if kind == "head" else grid_figure(result, [0] if kind == "layer" else [0, 1])
    fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
    texts = [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text"))]
    assert any("query" in t for t in texts) and any("key" in t for t in texts)
    assert QUERY_LABEL in texts and KEY_LABEL in texts
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)  # a colour scale
    ticks = {t.get_text() for ax in fig.axes for t in ax.get_yticklabels() + ax.get_xticklabels()}
    assert {"tok0", "tok11"} <= ticks  # token labels, --all included


def test_attention_grid_grows_with_the_tokens():
    from fmkit.render.attention_png import grid_figure

    small = grid_figure(_attention(8), [0]).get_size_inches()
    large = grid_figure(_attention(64), [0]).get_size_inches()
    assert large[0] / 4 > 4.0 and large[1] > 4.5  # 4 panels of > 4 in, not 600x450 with near-blank panels
    assert large[0] > small[0] and large[1] > small[1]


# --- item 9: generation threads follow the free cores -----------------------------------------


def test_choose_threads_counts_free_cores(monkeypatch):
    import psutil

    from fmkit.generate.quantize import choose_threads

    assert choose_threads(3) == 3  # an explicit choice wins
    monkeypatch.setattr(psutil, "cpu_percent", lambda interval, percpu: [5.0, 3.0])
    assert choose_threads(0) == min(2, os.cpu_count())  # idle: every core
    monkeypatch.setattr(psutil, "cpu_percent", lambda interval, percpu: [99.0, 4.0])
    assert choose_threads(0) == 1  # one core busy elsewhere: one thread
    monkeypatch.setattr(psutil, "cpu_percent", lambda interval, percpu: [99.0, 98.0])
    assert choose_threads(0) == 1  # never zero
