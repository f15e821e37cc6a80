"""The CLI contract: fast help without torch, exit codes, setup commands, JSON on stdout only."""

from __future__ import annotations

import json
import subprocess
import sys
import time


HEAVY = ("torch", "transformers", "diffusers", "ultralytics", "bertviz", "matplotlib", "huggingface_hub")


def _imported_after(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\n"
                          f"print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_cli_imports_no_model_library():
    assert not any(_imported_after("import fmkit.cli").values())


def test_every_command_help_imports_no_model_library():
    from fmkit.cli import app

    names = [c.name for c in app.registered_commands]
    assert {"profiles", "doctor", "models", "pull"} <= set(names)
    code = ("import contextlib, io\nfrom fmkit.cli import app\n"
            f"for name in {names!r} + [None]:\n"
            "    args = [name, '--help'] if name else ['--help']\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        try:\n            app(args, prog_name='fmkit')\n"
            "        except SystemExit as e:\n            assert e.code == 0, (name, e.code)\n")
    loaded = _imported_after(code)
    assert not any(loaded.values()), loaded


def test_fmkit_help_in_a_real_process_is_fast(fmkit_proc):
    fmkit_proc(["--help"])  # warm the file cache
    start = time.perf_counter()
    r = fmkit_proc(["--help"])
    elapsed = time.perf_counter() - start
    assert r.returncode == 0 and "profiles" in r.stdout
    assert elapsed < 2.0, f"fmkit --help took {elapsed:.2f}s"


def test_version(cli):
    r = cli(["--version"])
    assert r.exit_code == 0 and r.stdout.startswith("fmkit ")


def test_unknown_profile_exits_2_naming_available_profiles(cli):
    r = cli(["profiles", "nosuch"])
    assert r.exit_code == 2
    assert "unknown profile 'nosuch'" in r.stderr and "gpu, laptop" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1


def test_set_typo_exits_2_with_suggestion(cli):
    r = cli(["profiles", "laptop", "--set", "generate.max_new_tokns=5"])
    assert r.exit_code == 2 and "max_new_tokens" in r.stderr


def test_profiles_lists_and_shows_sources(cli):
    r = cli(["profiles", "--json"])
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert {row["name"] for row in rows} >= {"laptop", "gpu"}
    assert sum(row["active"] for row in rows) == 1
    r = cli(["profiles", "gpu", "--set", "detect.conf=0.5", "--json"])
    data = json.loads(r.stdout)
    assert data["settings"]["detect.conf"] == {"value": 0.5, "source": "--set detect.conf"}
    assert data["settings"]["runtime.dtype"]["source"] == "profile gpu"


def test_models_json_tells_what_is_here(cli):
    start = time.perf_counter()
    r = cli(["models", "--json", "--offline"])
    assert time.perf_counter() - start < 5
    assert r.exit_code == 0
    rows = {row["alias"]: row for row in map(json.loads, r.stdout.splitlines())}
    assert rows["minilm"]["present"] is True  # shipped in an installed package
    assert rows["gpt2"]["present"] is False  # fresh HF cache
    assert rows["gpt2"]["profile_uses"] == "generate"


def test_pull_offline_fails_fast_with_exit_1(cli):
    start = time.perf_counter()
    r = cli(["pull", "gpt2", "--offline"])
    assert r.exit_code == 1 and "offline" in r.stderr
    # not circular: pull itself failed, so the hint names what works here, not `fmkit pull gpt2` again
    assert "fmkit pull gpt2" not in r.stderr and "run it again online" in r.stderr
    assert "--model smollm2" in r.stderr  # the packaged chat model (catalog alias)
    assert time.perf_counter() - start < 5


def test_pull_reports_present_models(cli):
    r = cli(["pull", "minilm", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "present"


def test_doctor_runs_offline_quickly_and_tells_the_truth(fmkit_proc):
    start = time.perf_counter()
    r = fmkit_proc(["doctor", "--json", "--offline"])
    elapsed = time.perf_counter() - start
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert elapsed < 10  # 5 s target on an idle machine; tests share 2 cores
    assert report["python"] == sys.version.split()[0]
    assert report["versions"]["torch"] and report["device"] == "cpu"
    assert report["offline"] is True and report["models_present"]["minilm"] is True
    assert report["profile"] == "laptop"


def test_doctor_human_output_has_no_traceback(cli):
    r = cli(["doctor", "--offline"])
    assert r.exit_code == 0 and "fmkit doctor" in r.stdout


def test_no_args_shows_help(cli):
    r = cli([])
    assert "Usage" in r.stdout or "Usage" in r.stderr


def test_bad_option_value_is_a_usage_error(cli):
    r = cli(["profiles", "--nosuch-option"])
    assert r.exit_code == 2


def test_no_color_and_pipes_get_no_colour_codes(fmkit_proc):
    plain = fmkit_proc(["profiles", "nosuch"])
    assert plain.returncode == 2 and "\x1b[" not in plain.stderr  # not a TTY: no escapes at all
    r = fmkit_proc(["profiles", "nosuch"], env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[31" not in r.stderr and "\x1b[1;31" not in r.stderr  # NO_COLOR: no red


def test_errors_are_one_line_on_stderr_with_nothing_on_stdout(fmkit_proc):
    r = fmkit_proc(["profiles", "laptop", "--set", "generate.top_p=7"])
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "generate.top_p" in r.stderr


def test_uncached_model_offline_fails_in_seconds_in_a_real_process(fmkit_proc):
    start = time.perf_counter()
    r = fmkit_proc(["generate", "x", "--offline"])
    elapsed = time.perf_counter() - start
    assert r.returncode == 1 and r.stdout == ""
    assert "fmkit pull gpt2" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert elapsed < 10  # ~2 s idle; the target is 5 s, tests share 2 cores


def test_model_commands_refuse_unknown_profiles_with_exit_2(fmkit_proc):
    for args in (["detect", "x.jpg"], ["generate", "x"], ["tokenize", "x"], ["diffuse", "x"]):
        r = fmkit_proc([*args, "--profile", "nosuch"])
        assert r.returncode == 2, (args, r.stderr)
        assert "available: gpu, laptop" in r.stderr
