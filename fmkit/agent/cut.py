"""The agent's `segment` tool: "cut out the person in photo.jpg" / "사진에서 사람만 잘라줘".

The detector points, Segment Anything cuts out: one Session.segment call prompted by the
detector's boxes (`from_detections`), written like `fmkit segment -o` (the photo with its masks
drawn, the cut-out on a transparent background). The answer counts the masks of the object asked
for and names the files; it says so when the cut-out also holds other objects the detector found.
"""

from __future__ import annotations

from collections import Counter

from fmkit.agent.wants import count_text, korean_noun

OUTDIR = "fmkit-agent"  # the agent's own folder (in the working directory): a repeated request redoes its files


def cut_out(session, image: str, wanted: str, ko: bool) -> tuple[dict, str, bool]:
    """Segment `image` from the detector's boxes -> (result dict, answer, ok). `wanted` is a detector
    label ('person') or '' for whatever the detector finds."""
    results = list(session.segment([image], from_detections=True, output=OUTDIR, cutout=True, force=True))
    result = results[0] if results else None  # the whole run: its files are written once it has ended
    if result is None or not result.ok:
        why = result.error if result is not None else "no image to segment"
        return (result.to_dict() if result is not None else {}), f"{image}: {why}", False
    labels = Counter(m.label or "object" for m in result.masks if m.area)
    kept = {label: n for label, n in labels.items() if not wanted or label.lower() == wanted.lower()}
    others = {label: n for label, n in labels.items() if label not in kept}
    if not kept:
        what = wanted or "object"
        return result.to_dict(), (f"탐지기가 {image}에서 {korean_noun(what)}을(를) 찾지 못해 잘라낸 것이 없어요 "
                                  f"(찾은 것: {count_text(labels, True)})." if ko else
                                  f"The detector found no {what} in {image}, so nothing was cut out "
                                  f"(it found {count_text(labels)})."), False
    image_file, cut = result.outputs.get("image"), result.outputs.get("cutout")
    if ko:
        answer = (f"{image}에서 잘라낸 것: {count_text(kept, True)} ({result.model}, 탐지기 상자로 프롬프트). "
                  f"마스크를 그린 사진: {image_file}" + (f", 잘라낸 이미지: {cut}" if cut else "") + ".")
        if others and cut:
            answer += f" 잘라낸 이미지에는 탐지기가 찾은 {count_text(others, True)}도 함께 들어 있어요."
        return result.to_dict(), answer, True
    answer = (f"I cut out {count_text(kept)} from {image} (Segment Anything {result.model}, prompted by the "
              f"detector's boxes): the masks are drawn in {image_file}" + (f" and the cut-out is {cut}" if cut else "")
              + ".")
    if others and cut:
        answer += f" The cut-out also holds the other things the detector found: {count_text(others)}."
    return result.to_dict(), answer, True
