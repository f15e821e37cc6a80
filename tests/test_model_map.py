"""`fmkit models --map`: the course's model families, honest about the catalog and this machine,
in English and Korean, readable at 80 columns."""

from __future__ import annotations

import json
import re

import pytest

from fmkit import catalog, environment
from fmkit.model_map import STATUSES, model_map
from fmkit.model_map.families import FAMILIES, MODALITIES, NAMED_IN, NOT_YET_COMMANDS, NOT_YET_IN_CATALOG, ROLES
from fmkit.model_map.words import WORDS

COURSE = {  # lecture 1, then Amazon Bedrock, then SageMaker JumpStart, as the course names them
    "lecture": ["GPT-n", "BERT", "DALL-E", "LLaMA", "Segment Anything", "YOLO"],
    "bedrock": ["Jurassic-2", "Claude", "Stable Diffusion", "Titan"],
    "jumpstart": ["Falcon", "FLAN", "BloomZ", "GPT-J"],
}


def test_every_family_the_course_names_is_on_the_map_in_its_order():
    assert [(f.named_in, f.name) for f in FAMILIES] == [(where, name) for where, names in COURSE.items()
                                                        for name in names]
    assert [f.name for f in FAMILIES if f.role == "base"] == ["YOLO"]  # the lecture's counterexample
    for f in FAMILIES:
        assert f.named_in in NAMED_IN and f.modality in MODALITIES and f.role in ROLES, f
        assert f.open_weights or f.api, f"{f.name}: closed weights but no API to reach it"
        assert bool(f.command) == bool(f.aliases), f"{f.name}: a command needs aliases, aliases a command"


def test_every_alias_the_map_names_is_in_the_catalog_or_listed_as_not_yet():
    named = {alias for f in FAMILIES for alias in f.aliases}
    unknown = named - set(catalog.CATALOG) - NOT_YET_IN_CATALOG
    assert not unknown, f"the map names aliases the catalog does not have: {sorted(unknown)}"
    landed = NOT_YET_IN_CATALOG & set(catalog.CATALOG)
    assert not landed, f"now in the catalog: remove {sorted(landed)} from NOT_YET_IN_CATALOG"
    assert NOT_YET_IN_CATALOG <= named, "NOT_YET_IN_CATALOG lists aliases the map does not name"


def test_every_command_the_map_names_is_an_fmkit_command_or_listed_as_not_yet():
    from fmkit.cli import app

    commands = {c.name for c in app.registered_commands}
    named = {f.command for f in FAMILIES if f.command}
    assert not named - commands - NOT_YET_COMMANDS, named - commands - NOT_YET_COMMANDS
    landed = NOT_YET_COMMANDS & commands
    assert not landed, f"now an fmkit command: remove {sorted(landed)} from NOT_YET_COMMANDS"


def test_every_row_has_its_words_in_every_language():
    assert WORDS["en"].keys() == WORDS["ko"].keys()
    for f in FAMILIES:
        assert f"{f.key}.why" in WORDS["en"], f.key
        assert (f"{f.key}.try" in WORDS["en"]) == bool(f.command), f.key  # else api_try says it
    prose = [k for k in WORDS["en"] if k.endswith((".why", ".try")) or k in ("title", "caption", "api_try")]
    for key in prose:  # Korean sentences, not English ones copied over
        assert re.search("[가-힣]", WORDS["ko"][key]), key
    for key in [k for k in WORDS["en"] if "{" in WORDS["en"][k]]:  # the same blanks to fill in
        assert re.findall(r"{\w+}", WORDS["en"][key]) == re.findall(r"{\w+}", WORDS["ko"][key]), key


def test_rows_join_the_catalog_and_this_machine_as_they_are_now(monkeypatch):
    environment.prepare(offline=True)
    rows = {r.family: r for r in model_map()}
    bert = {m.alias: m for m in rows["BERT"].models}
    assert bert["minilm"].present is True  # shipped in an installed package
    assert bert["bert-base-uncased"].present is False  # a fresh Hugging Face cache
    assert bert["minilm"].size_mb == catalog.CATALOG["minilm"].size_mb
    assert rows["YOLO"].models[0].present is False
    weights = environment.fmkit_home() / "weights"
    weights.mkdir(parents=True, exist_ok=True)
    (weights / "yolo11n.pt").write_bytes(b"weights")  # what `fmkit pull yolo11n` leaves
    assert {r.family: r for r in model_map()}["YOLO"].models[0].present is True
    assert [r.fmkit for r in rows.values()].count("not run") == 3  # Jurassic-2, Claude, Titan: Bedrock only
    assert rows["DALL-E"].fmkit == rows["LLaMA"].fmkit == "stand-in" and rows["GPT-n"].fmkit == "runs"
    assert all(r.fmkit in STATUSES for r in rows.values())


def test_an_alias_missing_from_the_catalog_is_named_not_looked_up(monkeypatch):
    monkeypatch.delitem(catalog.CATALOG, "falcon-rw-1b")
    monkeypatch.delitem(catalog.CATALOG, "sd15")
    rows = {r.family: r for r in model_map()}
    assert rows["Falcon"].fmkit == "coming" and rows["Falcon"].command == "fmkit generate"
    assert rows["Falcon"].to_dict()["models"] == [
        {"alias": "falcon-rw-1b", "in_catalog": False, "size_mb": None, "present": None}]
    sd = {m.alias: m for m in rows["Stable Diffusion"].models}
    assert rows["Stable Diffusion"].fmkit == "runs" and sd["sd-turbo"].in_catalog and not sd["sd15"].in_catalog


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_row_not_here_yet_says_coming_in_the_table(monkeypatch, lang):
    import io

    from rich.console import Console

    import fmkit.model_map
    from fmkit.render.model_map import map_table

    monkeypatch.setattr(fmkit.model_map, "NOT_YET_COMMANDS", frozenset({"segment"}))
    monkeypatch.delitem(catalog.CATALOG, "bloomz-560m")
    rows = {r.family: r for r in model_map(lang)}
    assert rows["Segment Anything"].fmkit == rows["BloomZ"].fmkit == "coming"
    out = io.StringIO()
    Console(file=out, width=80).print(map_table(list(rows.values()), lang, 80))
    said = WORDS[lang]
    assert f"fmkit segment ({said['coming']})" in out.getvalue()
    assert re.search(rf"-m bloomz-560m +{said['not_in_catalog']}", out.getvalue())


def test_an_unknown_language_is_a_usage_error():
    from fmkit.errors import BadInput

    with pytest.raises(BadInput, match="unknown language 'fr'.*en, ko"):
        model_map("fr")


def test_map_json_is_the_api_object_one_line_per_family(cli):
    from fmkit import Session

    r = cli(["models", "--map", "--json", "--lang", "ko", "--offline"])
    assert r.exit_code == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert lines == [row.to_dict() for row in Session(offline=True).model_map(lang="ko")]
    yolo = next(line for line in lines if line["family"] == "YOLO")
    assert yolo["role"] == "base" and "베이스 모델" in yolo["why"] and yolo["command"] == "fmkit detect"
    assert {line["lang"] for line in lines} == {"ko"}


def test_lang_without_map_and_unknown_lang_exit_2(cli):
    for lang in ("ko", "en"):  # en too: the README calls --lang without --map a usage error
        r = cli(["models", "--lang", lang])
        assert r.exit_code == 2 and "--map" in r.stderr and r.stdout == ""
    r = cli(["models", "--map", "--lang", "fr"])
    assert r.exit_code == 2 and "en, ko" in r.stderr and r.stdout == ""


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_table_reads_at_the_terminals_width(fmkit_proc, lang, columns):
    from rich.cells import cell_len

    r = fmkit_proc(["models", "--map", "--lang", lang, "--offline"], env={"COLUMNS": str(columns)})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= columns
    assert "…" not in r.stdout  # nothing cut short
    for f in FAMILIES:
        assert f.name in r.stdout
        for alias in f.aliases:  # typed back as -m ALIAS: whole, on one line
            assert re.search(rf"-m {re.escape(alias)}\s", r.stdout), alias
    said = WORDS[lang]
    assert r.stdout.count(said["role.base"]) >= 1 and said["title"] in r.stdout
    if lang == "ko":
        assert "foundation model" not in r.stdout and "파운데이션 모델" in r.stdout
