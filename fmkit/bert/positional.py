"""How a transformer knows word order: positional encodings.

Sinusoidal, as in "Attention Is All You Need" (Vaswani et al., 2017, section 3.5):
    PE(pos, 2i)   = sin(pos / 10000^(2i / d))
    PE(pos, 2i+1) = cos(pos / 10000^(2i / d))
computed with numpy alone (no torch). BERT does not use these: it learns one vector per position
(`embeddings.position_embeddings`, [max_positions, hidden]); `learned_positions` reads those.

A result holds everything its pictures show (the matrix, and the --dims curves with the points
they pass through), so fmkit/render only draws and never needs the formula again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fmkit.errors import BadInput, ModelUnavailable
from fmkit.options import option

BASE = 10000.0
CURVE_SAMPLES = 400  # points per sinusoid curve at least (20 per position for longer encodings)


@dataclass(frozen=True)
class Curve:
    """One --dims column as a line: y at positions x. For a sinusoid x is fine-grained (the function
    between the integer positions) and `dots` are its values at positions 0, 1, ... (what a token
    gets); for learned vectors the line is those values and `dots` is None."""

    dim: int
    label: str  # "dim 4 (sin)" | "dim 4"
    x: Any  # numpy float array
    y: Any
    dots: Any = None


@dataclass
class PositionalResult:
    """matrix[pos, dim]: the vector added to the token embedding at position pos."""

    kind: str  # sinusoidal | learned
    matrix: Any  # numpy float32 [length, dim]
    model: str | None = None
    dims: list[int] = field(default_factory=list)  # dimensions to draw as curves
    notes: list[str] = field(default_factory=list)
    theme: str = "light"
    curves: list[Curve] | None = None  # one per dims entry; built from the matrix when not given

    def __post_init__(self):
        if self.curves is None:
            self.curves = [self._curve(d) for d in self.dims]

    def _curve(self, d: int) -> Curve:
        import numpy as np

        column = self.matrix[:, d]
        if self.kind != "sinusoidal":
            return Curve(d, f"dim {d}", np.arange(self.length, dtype=np.float64), column)
        fine = np.linspace(0, self.length - 1, max(CURVE_SAMPLES, 20 * self.length))
        return Curve(d, f"dim {d} ({'cos' if d % 2 else 'sin'})", fine, sinusoid(fine, d, self.dim), column)

    @property
    def length(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def scale(self) -> float:
        """Colour range +-scale: 1 for sinusoids; for learned ones the 99th percentile of |value|, so
        a few outlier weights do not wash the picture out."""
        if self.kind == "sinusoidal":
            return 1.0
        import numpy as np

        return float(np.percentile(np.abs(self.matrix), 99)) or 1.0

    def to_dict(self, digits: int = 6) -> dict:
        return {"kind": self.kind, "model": self.model, "length": self.length, "dim": self.dim, "dims": self.dims,
                "notes": self.notes, "matrix": self.matrix.astype("float64").round(digits).tolist()}

    def save(self, path: str, theme: str | None = None, force: bool = False) -> str:
        """Write the heatmap (and the --dims curves) as a PNG, atomically."""
        from fmkit.errors import BadInput
        from fmkit.io.local import atomic_write, check_writable
        from fmkit.render.png import save_png
        from fmkit.render.positional_png import figure

        if not str(path).lower().endswith(".png"):
            raise BadInput(f"cannot write '{path}': positional encodings are saved as .png", "use FILE.png")
        check_writable(path, force)
        fig = figure(self, theme or self.theme)
        return str(atomic_write(path, lambda tmp: save_png(fig, tmp), force))

    def _repr_png_(self) -> bytes:
        from fmkit.render.notebook import positional_png

        return positional_png(self)


def check_size(length: int, dim: int) -> None:
    if length <= 0:
        raise BadInput(f"{option('length', length)} must be at least 1", f"for example {option('length', 50)}")
    if dim <= 0 or dim % 2:
        raise BadInput(f"{option('dim', dim)} must be a positive even number (sin and cos come in pairs)",
                       "for example --dim 128")


def parse_dims(text: str | None, dim: int) -> list[int]:
    """'4,5,6,7' -> [4, 5, 6, 7], each checked against the encoding's width."""
    if text is None:
        return []
    try:
        dims = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise BadInput(f"{option('dims', text)} is not a list of numbers", f"for example {option('dims', '4,5,6,7')}") from None
    if not dims:
        raise BadInput(f"{option('dims')} is empty", f"for example {option('dims', '4,5,6,7')}")
    bad = [d for d in dims if not 0 <= d < dim]
    if bad:
        raise BadInput(f"{option('dims', bad[0])} is out of range: this encoding has dimensions 0-{dim - 1}",
                       "dimensions count from 0")
    return dims


def sinusoidal(length: int, dim: int, base: float = BASE):
    """The [length, dim] sinusoidal encoding (float32); even columns sin, odd columns cos."""
    import numpy as np

    check_size(length, dim)
    pos = np.arange(length, dtype=np.float64)[:, None]
    i2 = np.arange(0, dim, 2, dtype=np.float64)[None, :]  # the "2i" of the paper
    angle = pos / np.power(base, i2 / dim)
    pe = np.empty((length, dim), dtype=np.float64)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle)
    return pe.astype(np.float32)


def sinusoid(positions, d: int, dim: int, base: float = BASE):
    """Column d of the encoding at real-valued positions (float64): the smooth curve the integer
    positions of `sinusoidal` sample."""
    import numpy as np

    angle = np.asarray(positions, dtype=np.float64) / np.power(base, (d - d % 2) / dim)
    return np.cos(angle) if d % 2 else np.sin(angle)


def sinusoidal_result(length: int, dim: int, dims: str | None) -> PositionalResult:
    return PositionalResult("sinusoidal", sinusoidal(length, dim), dims=parse_dims(dims, dim))


def learned_positions(bert, length: int, dims: str | None) -> PositionalResult:
    """The first `length` learned position vectors of a loaded BERT-style model (see attention.load_bert)."""
    embeddings = getattr(getattr(bert.model, "embeddings", None), "position_embeddings", None)
    if embeddings is None:
        raise ModelUnavailable(f"{bert.label} has no learned position embeddings",
                               "use a BERT-family model, or leave --model out for the sinusoidal encoding")
    weight = embeddings.weight.detach().float().cpu().numpy()
    if length <= 0:
        raise BadInput(f"{option('length', length)} must be at least 1", f"for example {option('length', 50)}")
    if length > weight.shape[0]:
        raise BadInput(f"{option('length', length)} is more than {bert.label}'s {weight.shape[0]} learned positions",
                       f"use {option('length', weight.shape[0])} or less")
    matrix = weight[:length]
    note = (f"{bert.label} learns its position embeddings in training ({weight.shape[0]} positions x "
            f"{weight.shape[1]} dims); they are not the sinusoids of Attention Is All You Need")
    return PositionalResult("learned", matrix, bert.label, parse_dims(dims, matrix.shape[1]), [note])
