"""describe / imagine --verify / agent on tiny random models: prompt reading (English, Korean),
the scene, the faithfulness check, the verify loop (attempts, best kept, records, exit codes),
the planner's schemas, and bad input. The real SmolLM2 is in test_smollm2.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fmkit.agent.wants import english_prompt, read_wants

SMALL = ["--height", "32", "--width", "32", "--steps", "1", "--set", "diffuse.strategy=resident"]


@pytest.mark.parametrize("prompt, expected", [
    ("two cats and a dog", {"cat": 2, "dog": 1}),
    ("고양이 두 마리와 개 한 마리", {"cat": 2, "dog": 1}),
    ("a photo of 3 people on a bus", {"person": 3, "bus": 1}),
    ("사과 세 개", {"apple": 3}),  # 개 after a number is the counter, not a dog
    ("두 마리의 고양이", {"cat": 2}),
    ("3마리의 개", {"dog": 3}),
    ("사람 3명과 자전거", {"person": 3, "bicycle": None}),
    ("고양이 세마리", {"cat": 3}),
    ("강아지 2마리", {"dog": 2}),
    ("고양이 그려줘", {"cat": None}),
    ("the dogs are running", {"dog": None}),
    ("a cat and another cat", {"cat": 2}),
    ("two unicorns", {"unicorn": 2}),
    ("a sunset over the sea", {}),
    ("draw 4 images of a cat", {"cat": 1}),
])
def test_read_wants(prompt, expected):
    assert {w.label: w.count for w in read_wants(prompt)} == expected


def test_english_prompt_from_korean():
    assert english_prompt("고양이 두 마리와 개 한 마리") == "two cats and one dog"
    assert english_prompt("고양이 그려줘") == "a cat"


def _result(dets, w=100, h=100):
    from fmkit.detect.results import DetectResult, Detection

    return DetectResult("x.jpg", "m", w, h, [Detection(0, label, conf, *box) for label, conf, box in dets])


def test_scene_places_sizes_counts_and_check():
    from fmkit.agent.describe import check_text, template
    from fmkit.agent.scene import build_scene

    scene = build_scene(_result([("person", 0.9, (40, 40, 60, 60)), ("person", 0.8, (0, 0, 10, 10)),
                                 ("dog", 0.7, (60, 60, 100, 100))]))
    assert scene.counts == {"person": 2, "dog": 1}
    assert [(o.where, o.size) for o in scene.objects] == [("center", "small"), ("top left", "small"),
                                                         ("bottom right", "medium")]
    assert "two people" in scene.summary() and "one dog" in scene.summary()
    assert check_text("Two people walk a dog.", scene) is None
    assert "cat" in check_text("A man and a cat sit on a chair.", scene)  # invented cat and chair
    assert check_text("It is a sunny day.", scene) == "names none of the detected objects"
    assert template(scene, "caption").startswith("The detector found two people")
    assert template(scene, "list").count("\n") == 2
    fall = build_scene(_result([("Fall", 0.9, (0, 50, 100, 100))]))
    assert fall.counts == {"fall": 1} and check_text("A person has fallen on the floor.", fall) is None


def test_compare_and_score():
    from fmkit.agent.verify import compare

    wants = read_wants("two cats and a dog")
    assert compare(wants, {"cat": 2, "dog": 1}) == (1.0, True)
    assert compare(wants, {"cat": 3, "dog": 1})[1] is False
    score, passed = compare(wants, {"cat": 1, "dog": 0})
    assert not passed and score == pytest.approx(0.25)
    assert compare(read_wants("a cat"), {"cat": 1}) == (1.0, True)


@pytest.fixture
def work(tmp_path, monkeypatch):
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _fake_counts(monkeypatch, per_attempt):
    """Make the detector 'see' the given label lists, one per attempt (the loop logic under test)."""
    from fmkit.api import Session
    from fmkit.detect.results import DetectResult, Detection

    real = Session.detect
    calls = {"n": 0}

    def detect(self, sources, **kw):
        if any("probe.png" in str(s) for s in (sources if isinstance(sources, list) else [sources])):
            return real(self, sources, **kw)
        labels = per_attempt[min(calls["n"], len(per_attempt) - 1)]
        calls["n"] += 1
        return iter([DetectResult(str(sources[0]), "fake", 32, 32,
                                  [Detection(0, lab, 0.9, 0, 0, 8, 8) for lab in labels])])

    monkeypatch.setattr(Session, "detect", detect)
    return calls


def test_verify_loop_retries_keeps_best_and_records(cli, tiny_sd, tiny_yolo, work, monkeypatch):
    from PIL import Image

    _fake_counts(monkeypatch, [["cat"], ["cat", "cat", "dog", "dog"], ["cat", "cat"]])
    names = {"cat", "dog"}
    import fmkit.agent.verify as verify

    monkeypatch.setattr(verify, "detector_classes", lambda s, o: ("fake", sorted(names)))
    r = cli(["imagine", "two cats and a dog", "--verify", "--attempts", "3", "--seed", "5", "--model", tiny_sd,
             "--detector", tiny_yolo, "-o", "out.png", "--json", *SMALL])
    assert r.exit_code == 1, r.stderr
    d = json.loads(r.stdout)
    assert [a["seed"] for a in d["attempts"]] == [5, 6, 7]
    assert d["check"]["passed"] is False and d["check"]["attempt"] == 2  # 2 cats 2 dogs: 0.75, the best
    assert d["check"]["expected"] == {"cat": 2, "dog": 1} and d["check"]["found"] == {"cat": 2, "dog": 2}
    assert "no image passed in 3 attempt(s)" in r.stderr
    png = Image.open(work / "out.png")
    assert json.loads(png.text["fmkit:check"])["attempt"] == 2 and png.text
    assert sorted(p.name for p in work.iterdir()) == ["out.png"]  # only the kept image


def test_verify_stops_at_the_first_pass(cli, tiny_sd, tiny_yolo, work, monkeypatch):
    calls = _fake_counts(monkeypatch, [["dog"], ["cat", "dog", "cat"], ["cat"]])
    import fmkit.agent.verify as verify

    monkeypatch.setattr(verify, "detector_classes", lambda s, o: ("fake", ["cat", "dog"]))
    r = cli(["imagine", "고양이 두 마리와 개 한 마리", "--verify", "--attempts", "5", "--seed", "1", "--model", tiny_sd,
             "--json", *SMALL])
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert calls["n"] == 2 and d["check"]["passed"] is True and len(d["attempts"]) == 2
    assert Path(d["path"]).is_file()


def test_real_tiny_models_unknown_classes_said_up_front(cli, tiny_sd, tiny_yolo, work):
    """The real path (tiny SD + tiny YOLO with COCO names): a class the detector lacks is named."""
    r = cli(["imagine", "two unicorns", "--verify", "--attempts", "2", "--seed", "3", "--model", tiny_sd,
             "--detector", tiny_yolo, "--json", *SMALL])
    assert "cannot check: unicorn" in r.stderr
    d = json.loads(r.stdout)
    assert r.exit_code == 1 and len(d["attempts"]) == 1 and d["check"]["unchecked"] == ["unicorn"]
    r = cli(["imagine", "a cat", "--verify", "--attempts", "2", "--seed", "3", "--model", tiny_sd,
             "--detector", tiny_yolo, "--json", *SMALL])
    d = json.loads(r.stdout)
    assert r.exit_code in (0, 1) and 1 <= len(d["attempts"]) <= 2 and d["check"]["expected"] == {"cat": 1}
    assert all(a["detect_seconds"] > 0 for a in d["attempts"])


def test_imagine_bad_input(cli, tiny_sd, work):
    r = cli(["imagine", "a cat", "--verify", "--attempts", "0", "--model", tiny_sd, *SMALL])
    assert r.exit_code == 2 and "--attempts 0" in r.stderr
    (work / "taken.png").write_bytes(b"x")
    r = cli(["imagine", "a cat", "-o", "taken.png", "--model", tiny_sd, *SMALL])
    assert r.exit_code == 2 and "exists" in r.stderr


def test_imagine_ctrl_c_leaves_no_file(cli, tiny_sd, work, monkeypatch):
    from fmkit.api import Session

    def interrupted(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(Session, "detect", interrupted)
    r = cli(["imagine", "a cat", "--verify", "--model", tiny_sd, "-o", "cat.png", *SMALL])
    assert r.exit_code == 130 and list(work.iterdir()) == []


def test_describe_missing_image_and_template(cli, tiny_yolo, work, monkeypatch):
    r = cli(["describe", "nope.jpg", "--model", tiny_yolo, "--json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["error"]
    r = cli(["describe", "x.jpg", "--style", "poem", "--model", tiny_yolo])
    assert r.exit_code == 2 and "style" in r.stderr
    r = cli(["describe", "", "--model", tiny_yolo])  # an empty argument is a usage error, not a missing file
    assert r.exit_code == 2 and "the image path is empty" in r.stderr


def test_describe_replaces_invented_objects(tiny_yolo, work, monkeypatch):
    """Whatever the chat model writes, an invented object never reaches the text."""
    import fmkit
    from fmkit.api import Session
    from fmkit.detect.results import DetectResult, Detection
    from fmkit.generate.decode import Generation

    monkeypatch.setattr(Session, "detect", lambda self, s, **k: iter(
        [DetectResult("a.jpg", "m", 100, 100, [Detection(0, "dog", 0.9, 0, 0, 50, 50)])]))
    replies = iter(["A dog chases a cat.", "A happy dog runs."])
    monkeypatch.setattr(Session, "generate", lambda self, p, **k: [Generation(0, 0, p, next(replies), "m", 0, {}, 3, 0.1)])
    fk = fmkit.Session("laptop", offline=True)
    first = next(iter(fk.describe("a.jpg")))
    assert first.text_source == "template" and "cat" not in first.text and "one dog" in first.text
    assert "cat" in first.rejected
    second = next(iter(fk.describe("a.jpg")))
    assert second.text == "A happy dog runs." and second.to_dict()["scene"]["counts"] == {"dog": 1}


def test_schemas_and_candidates():
    from fmkit.agent.planner import candidates, vocab_hits
    from fmkit.agent.tools import TOOLS, call_schema, valid_call

    c = candidates("how many people are in photo.jpg?", [])
    assert c["image"] == ["photo.jpg"]
    assert candidates("photo.jpg에 사람이 몇 명 있어?", [])["image"] == ["photo.jpg"]  # a particle after the name
    assert candidates("고양이 두 마리 그려줘", [])["prompt"][0] == "two cats"
    assert candidates('tokenize "I read a good novel."', [])["text"][0] == "I read a good novel."
    s = call_schema("detect", c)
    assert s["properties"]["arguments"]["properties"]["image"] == {"enum": ["photo.jpg"]}
    assert valid_call({"tool": "detect", "arguments": {"image": "a.jpg"}})
    assert not valid_call({"tool": "paint", "arguments": {}}) and not valid_call(None)
    assert set(TOOLS) == {"imagine", "detect", "segment", "describe", "generate", "tokenize", "attention", "none"}
    assert vocab_hits("이 사진 설명해줘")["describe"] == 1
    # what to cut out: the detector's label for the object the request names (English or Korean), else anything
    assert candidates("사진에서 사람만 잘라줘 photo.jpg", [])["object"] == ["person"]
    assert candidates("cut out the dogs in park.jpg", [])["object"] == ["dog"]
    assert candidates("이 사진 누끼 따줘", ["cat.png"])["object"] == [""]
    s = call_schema("segment", candidates("bus.jpg에서 버스를 오려줘", []))
    assert s["properties"]["arguments"]["properties"] == {"image": {"enum": ["bus.jpg"]}, "object": {"enum": ["bus"]}}


REQUESTS = Path(__file__).resolve().parent.parent / "benchmarks" / "agent_requests.json"


class VocabularyOnly:
    """The planner without its chat model: the vocabulary and the file rules choose the tool, the first
    candidate read from the request fills each argument (the chat model is test_smollm2.py's)."""

    def plan(self, request, files, **_):
        from fmkit.agent.planner import Plan, Planner, candidates
        from fmkit.agent.tools import TOOLS
        from fmkit.agent.wants import is_korean

        scores = Planner.scores(self, request, files, model=False)
        tool = max(scores, key=scores.get)
        choices = candidates(request, files)
        arguments = {name: (choices.get(name) or [""])[0] for name in TOOLS[tool].args}
        return Plan(request, tool, arguments, scores, language="ko" if is_korean(request) else "en")


def test_segment_requests_are_told_apart_by_the_vocabulary():
    """The benchmark's segment requests (both languages) choose segment on the vocabulary and file rules
    alone, with the object to cut out; no other request's words pull toward segment."""
    from fmkit.agent.planner import vocab_hits

    requests = json.loads(REQUESTS.read_text(encoding="utf-8"))
    cuts = [r for r in requests if r["tool"] == "segment"]
    assert len(cuts) >= 4 and any(r["request"] == "사진에서 사람만 잘라줘 photo.jpg" for r in cuts)
    assert any(r["request"] == "cut out the person in photo.jpg" for r in cuts)
    assert {any("\uac00" <= c <= "\ud7a3" for c in r["request"]) for r in cuts} == {True, False}
    for r in cuts:
        plan = VocabularyOnly().plan(r["request"], r["files"])
        assert plan.tool == "segment", (r, plan.scores)
        assert all(str(v) == plan.arguments[k] for k, v in r["key"].items()), (r, plan.arguments)
    assert [r["request"] for r in requests if r["tool"] != "segment" and vocab_hits(r["request"])["segment"]] == []


@pytest.fixture(scope="module")
def mobile_sam(models_dir):
    from tiny_sam import build_sam

    return build_sam(models_dir / "sam", "mobile_sam")


def test_agent_cuts_out_what_was_asked(work, mobile_sam, tiny_yolo, monkeypatch):
    """The segment tool for real (tiny MobileSAM prompted by the tiny detector's boxes): only the
    person boxes prompt SAM (the cut-out holds people, not the other things the detector sees),
    the masks are counted in the answer, the files it names are there, and a thing the detector
    did not find is said, not invented."""
    import shutil

    import fmkit
    import fmkit.agent.run as agent_run
    from fmkit.agent.wants import quantity
    from test_detect import ZIDANE

    monkeypatch.setattr(agent_run, "planner_for", lambda session, chat_model=None: VocabularyOnly())
    shutil.copy(ZIDANE, work / "photo.jpg")
    fk = fmkit.Session("laptop", offline=True, set={"segment.model": str(mobile_sam), "segment.imgsz": 256,
                                                    "detect.model": str(tiny_yolo)})
    ko = fk.agent("사진에서 사람만 잘라줘 photo.jpg")
    assert ko.plan.tool == "segment" and ko.plan.arguments == {"image": "photo.jpg", "object": "person"}
    assert ko.ran and ko.ok, ko.answer
    written = json.loads((work / "fmkit-agent" / "photo.jpg.json").read_text())
    people = sum(m["area"] > 0 for m in written["masks"])
    assert people > 0 and {m["label"] for m in written["masks"]} == {"person"}
    others = {d.label for d in next(iter(fk.detect([str(work / "photo.jpg")]))).detections} - {"person"}
    assert others  # the tiny detector also "sees" other things, and none of them was cut out
    assert f"photo.jpg에서 잘라낸 것: 사람 {people}명 (" in ko.answer and "fmkit-agent/cutouts/photo.jpg.png" in ko.answer
    for name in ("photo.jpg", "originals/photo.jpg", "cutouts/photo.jpg.png"):
        assert (work / "fmkit-agent" / name).is_file(), name
    en = fk.agent("cut out the person in photo.jpg")  # again: the agent's folder is redone, not refused
    assert en.ok and en.answer.startswith(f"I cut out {quantity('person', people)} from photo.jpg"), en.answer
    absent = next(label for label in ("giraffe", "zebra", "elephant", "bear") if label not in others)
    none = fk.agent(f"segment the {absent} in photo.jpg")
    assert none.plan.arguments["object"] == absent and none.ran and not none.ok
    assert none.answer.startswith(f"The detector found no {absent} in photo.jpg, so nothing was cut out")
    assert not (work / "fmkit-agent" / "photo-2.jpg").exists()  # nothing segmented for a thing not there


def test_agent_offline_without_the_chat_model(cli, monkeypatch):
    import fmkit.catalog.loaded as loaded
    import fmkit.catalog.lookup as names

    monkeypatch.setattr(names, "package_dir", lambda spec: None)
    import fmkit.agent.run as agent_run

    monkeypatch.setattr(loaded, "_LOADED", {})  # a chat model an earlier test loaded in this process
    monkeypatch.setattr(agent_run, "_PLANNERS", {})
    r = cli(["agent", "draw me a cat", "--offline"])
    assert r.exit_code == 1 and "fmkit pull smollm2" in r.stderr and len(r.stderr.strip().splitlines()) <= 2
    r = cli(["agent", "  "])
    assert r.exit_code == 2
