"""A tiny random-weight YOLO11 detector for tests, built offline from Ultralytics' own yaml.

Same architecture family as yolo11n (backbone, neck, Detect head, 80 COCO class names) at a
smaller width, so a 640 px image runs in milliseconds. A plain random init gives every box
the same score (activations shrink to ~1e-8 before the head) and class confidences of ~1e-4,
so nothing would pass conf=0.25. Here the weights are He-initialised, BatchNorm statistics
are measured on the two bundled photos (data-dependent init), and the class biases of
`person` and `car` are raised: boxes and scores then depend on the image, some above and
some below the threshold, which is what the tests need to see filtering, NMS and --classes.
"""

from __future__ import annotations

import os
from pathlib import Path

TINY_SCALE = [0.33, 0.125, 256]  # depth, width, max channels (yolo11n: 0.50, 0.25, 1024)


def tiny_yaml(folder: Path, family: str, **changes) -> Path:
    """folder/tiny-<family>t.yaml: Ultralytics' own model yaml at TINY_SCALE (the 't' suffix picks
    the scale, as yolo11n.yaml picks 'n'), with `changes` applied; offline, quiet Ultralytics."""
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ["YOLO_VERBOSE"] = "False"
    import yaml
    from ultralytics.utils import ROOT

    spec = yaml.safe_load((ROOT / f"cfg/models/11/{family}.yaml").read_text())
    spec.update(scales={"t": TINY_SCALE}, **changes)
    cfg = folder / f"tiny-{family}t.yaml"
    cfg.write_text(yaml.safe_dump(spec))
    return cfg


def build_yolo(folder: Path) -> Path:
    """Build (once) and save the tiny detector as folder/tiny-yolo11.pt; returns that path."""
    folder = Path(folder)
    weights = folder / "tiny-yolo11.pt"
    if weights.is_file():
        return weights
    cfg = tiny_yaml(folder, "yolo11")
    import torch
    from ultralytics import YOLO
    from ultralytics.utils import ROOT, YAML

    torch.manual_seed(0)
    model = YOLO(str(cfg))
    net = model.model
    net.names = dict(YAML.load(ROOT / "cfg/datasets/coco.yaml")["names"])
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            elif isinstance(module, torch.nn.BatchNorm2d):
                module.reset_running_stats()
                module.momentum = None  # cumulative average over the calibration pass
        net.train()
        batch = _calibration_batch()
        net(batch)
        net.eval()
        head = net.model[-1]  # Detect: cv3[i][-1] is the class-logit conv of detection level i
        seen = {}
        hooks = [branch[-1].register_forward_hook(lambda m, inp, out, i=i: seen.__setitem__(i, inp[0]))
                 for i, branch in enumerate(head.cv3)]
        net(batch)
        for hook in hooks:
            hook.remove()
        targets = torch.full((head.nc,), -12.0)
        targets[0], targets[2] = -6.0, -7.0  # person and car: a few boxes above conf 0.25
        for i, branch in enumerate(head.cv3):
            conv = branch[-1]
            # standardise each class logit over the calibration anchors, then shift it to its target
            logits = torch.nn.functional.conv2d(seen[i], conv.weight).transpose(0, 1).flatten(1)  # (nc, anchors)
            conv.weight.div_(logits.std(dim=1).clamp_min(1e-6)[:, None, None, None])
            conv.bias.copy_(targets - torch.nn.functional.conv2d(seen[i], conv.weight).transpose(0, 1).flatten(1).mean(1))
    model.save(str(weights))
    return weights


def _calibration_batch():
    """Ultralytics' bundled bus.jpg and zidane.jpg at 640x480, RGB in [0, 1]: (2, 3, 480, 640)."""
    import numpy as np
    import torch
    from PIL import Image
    from ultralytics.utils import ASSETS

    images = [np.asarray(Image.open(ASSETS / name).convert("RGB").resize((640, 480)))
              for name in ("bus.jpg", "zidane.jpg")]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
