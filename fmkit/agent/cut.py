"""The agent's `segment` tool: "cut out the person in photo.jpg" / "사진에서 사람만 잘라줘".

The detector points, Segment Anything cuts out: one Session.segment call prompted by the boxes
of the class asked for only (`from_detections`, `classes`), written like `fmkit segment -o` (the
photo with its masks drawn, the cut-out on a transparent background). The answer counts the
masks and names the files; an object the detector did not find is said, with what it did find
(one more detection, only then), and nothing is written.
"""

from __future__ import annotations

from collections import Counter

from fmkit.agent.wants import count_text, korean_noun

OUTDIR = "fmkit-agent"  # the agent's own folder (in the working directory): a repeated request redoes its files


def cut_out(session, image: str, wanted: str, ko: bool) -> tuple[dict, str, bool]:
    """Segment `image` from the detector's boxes -> (result dict, answer, ok). `wanted` is a detector
    label ('person'): only its boxes prompt SAM, so the cut-out holds that and nothing else; ''
    cuts out whatever the detector finds."""
    runs = session.segment([image], from_detections=True, classes=wanted or None, output=OUTDIR, cutout=True,
                           force=True)
    result = next(iter(list(runs)), None)  # the whole run: its files are written once it has ended
    if result is None or not result.ok:
        return _not_cut(session, image, wanted, result, ko)
    kept = Counter(m.label or "object" for m in result.masks if m.area)
    image_file, cut = result.outputs.get("image"), result.outputs.get("cutout")
    if ko:
        return result.to_dict(), (f"{image}에서 잘라낸 것: {count_text(kept, True)} ({result.model}, 탐지기 상자로 "
                                  f"프롬프트). 마스크를 그린 사진: {image_file}"
                                  + (f", 잘라낸 이미지: {cut}" if cut else "") + "."), True
    return result.to_dict(), (f"I cut out {count_text(kept)} from {image} (Segment Anything {result.model}, prompted "
                              f"by the detector's boxes): the masks are drawn in {image_file}"
                              + (f" and the cut-out is {cut}" if cut else "") + "."), True


def _not_cut(session, image: str, wanted: str, result, ko: bool) -> tuple[dict, str, bool]:
    """Nothing was cut out: say what the detector does see there (its model is loaded already),
    or why the image could not be read."""
    seen = next(iter(session.detect([image])))
    found = Counter(d.label for d in seen.detections) if seen.ok else Counter()
    there = {label.lower() for label in found}
    if not seen.ok or (wanted.lower() in there if wanted else there):  # it is there: something else failed
        why = (result.error if result is not None else None) or seen.error or "no image to segment"
        return (result or seen).to_dict(), f"{image}: {why}", False
    what = wanted or "object"
    return seen.to_dict(), (f"탐지기가 {image}에서 {korean_noun(what)}을(를) 찾지 못해 잘라낸 것이 없어요 "
                            f"(찾은 것: {count_text(found, True)})." if ko else
                            f"The detector found no {what} in {image}, so nothing was cut out "
                            f"(it found {count_text(found)})."), False
