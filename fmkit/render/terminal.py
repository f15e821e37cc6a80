"""A matrix drawn in the terminal as a rich table of coloured cells (attention, positional encodings).

Light theme: white -> blue; dark: near-black -> orange. Values print in the cells while the
matrix is narrow enough to read; wider ones become shaded blocks (░▒▓█, coloured on a terminal).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

_SHADES = " ░▒▓█"
_SCALES = {"light": ((255, 255, 255), (8, 48, 107)), "dark": ((22, 27, 34), (255, 166, 87))}


# On a 16-colour terminal (TERM=xterm) the #rrggbb scale would collapse into white and two greys;
# these ramps of its own palette keep five distinguishable steps.
_STANDARD_RAMPS = {"light": ("bright_white", "white", "bright_cyan", "cyan", "blue"),
                   "dark": ("black", "bright_black", "red", "yellow", "bright_yellow")}


def cell_colour(t: float, theme: str, color_system: str | None) -> str:
    """The background of a cell at t in [0, 1], in colours the console can show."""
    if color_system == "standard":
        ramp = _STANDARD_RAMPS[theme]
        return ramp[min(len(ramp) - 1, int(min(max(t, 0.0), 1.0) * len(ramp)))]
    return _colour(t, theme)


def _colour(t: float, theme: str) -> str:
    t = min(max(t, 0.0), 1.0)
    lo, hi = _SCALES[theme]
    r, g, b = (round(a + (c - a) * t) for a, c in zip(lo, hi))
    return f"#{r:02x}{g:02x}{b:02x}"


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def text_colour_on(background: str, color_system: str | None) -> str:
    """'black' or 'white', whichever contrasts more with `background` *as the terminal shows it*:
    a 16- or 256-colour terminal gets the nearest colour of its palette, not the #rrggbb asked for
    (xterm's 16 colours turn a mid blue into light grey, where white text disappeared)."""
    from rich.color import Color, ColorSystem

    colour = Color.parse(background)
    system = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT}.get(color_system or "")
    if system is not None:
        colour = colour.downgrade(system)
    r, g, b = colour.get_truecolor()
    luminance = 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)
    # WCAG contrast ratios against black (L=0) and white (L=1)
    return "black" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "white"


class Heatmap:
    """A rich renderable built when printed, so it fits the console it lands on: its width and its
    colour system (truecolor, 256, 16 colours, or none)."""

    def __init__(self, values, row_labels: Sequence[str], col_labels: Sequence[str], title: str, caption: str,
                 theme: str, vmin: float, vmax: float, width: int):
        self.args = (values, row_labels, col_labels, title, caption, theme, vmin, vmax)
        self.width = width

    def __rich_console__(self, console, options):
        yield _heatmap(*self.args, width=min(self.width, options.max_width), color_system=console.color_system)


def heatmap(values, row_labels: Sequence[str], col_labels: Sequence[str], title: str, caption: str = "",
            theme: str = "light", vmin: float = 0.0, vmax: float = 1.0, width: int = 80):
    """A rich renderable (title, table, caption) for `values` (rows x cols array-like), scaled vmin..vmax."""
    return Heatmap(values, row_labels, col_labels, title, caption, theme, vmin, vmax, width)


def _heatmap(values, row_labels: Sequence[str], col_labels: Sequence[str], title: str, caption: str,
             theme: str, vmin: float, vmax: float, width: int, color_system: str | None):
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    rows, cols = len(row_labels), len(col_labels)
    label_w = min(12, max((len(s) for s in row_labels), default=1))
    numbers = cols * 6 + label_w + 6 <= width
    t = Table(box=None, padding=(0, 0), pad_edge=False, show_header=True)
    t.add_column("", justify="left", style="bold", no_wrap=True)
    for j, label in enumerate(col_labels):
        header = escape(label[:5]) if numbers else (str(j % 10) if j % 5 == 0 else "")
        t.add_column(header, justify="center", no_wrap=True, min_width=6 if numbers else 2)
    span = (vmax - vmin) or 1.0
    for i in range(rows):
        cells = []
        for j in range(cols):
            v = float(values[i][j])
            t_ = (v - vmin) / span
            if numbers:
                text = f"{v:.2f}".replace("0.", ".", 1) if abs(v) < 1 else f"{v:.2f}"
                background = cell_colour(t_, theme, color_system)
                cells.append(f"[{text_colour_on(background, color_system)} on {background}]{text:^6}[/]")
            else:  # shade glyphs stay readable where colour is off (pipes, NO_COLOR)
                glyph = _SHADES[min(len(_SHADES) - 1, int(max(t_, 0.0) * len(_SHADES)))]
                cells.append(f"[{_colour(max(t_, 0.15), theme)}]{glyph * 2}[/]")
        t.add_row(escape(f"{i:>{len(str(rows - 1))}} {row_labels[i]}"[: label_w + 4]) + " ", *cells)
    # Title and caption outside the table: a narrow table would wrap them into a column.
    return Group(Text.from_markup(title, style="bold"), t, Text.from_markup(caption, style="dim"))


def tokens_table(item):
    """One rich table per text: the people view of a TokenizeResult."""
    from rich.markup import escape
    from rich.table import Table

    kinds = item.continuation
    t = Table(title=escape(item.text) + (f"  [dim]+[/dim]  {escape(item.pair)}" if item.pair is not None else ""),
              title_justify="left", caption=f"{escape(item.model)}: {len(item.ids)} tokens"
              + (" [yellow](truncated at the model's maximum length)[/yellow]" if item.truncated else ""),
              caption_justify="left")
    t.add_column("#", justify="right", style="dim")
    t.add_column("token", style="bold")
    t.add_column("id", justify="right")
    t.add_column("span", justify="right", style="dim")
    t.add_column("text")
    if item.segments is not None:
        t.add_column("segment", justify="right")
    t.add_column("kind")
    for i, (token, tid, (a, b), sp) in enumerate(zip(item.tokens, item.ids, item.offsets, item.special)):
        kind = "[magenta]special[/magenta]" if sp else ("[cyan]## continuation[/cyan]" if kinds[i] else "word")
        row = [str(i), escape(token), str(tid), "" if sp else f"{a}:{b}", escape(item.span_text(i))]
        if item.segments is not None:
            row.append(str(item.segments[i]))
        t.add_row(*row, kind)
    return t


def attention_heatmap(result, layer: int, head: int, width: int):
    """One head of an AttentionResult as a terminal heatmap: rows attend to columns."""
    from rich.markup import escape

    return heatmap(result.attentions[layer, head], result.tokens, result.tokens,
                   title=f"{escape(result.model)}: layer {layer} (of 0-{result.layers - 1}), head {head} "
                         f"(of 0-{result.heads - 1})",
                   caption="rows (query) attend to columns (key); each row sums to 1",
                   theme=result.theme, width=width)


POSITIONAL_ROWS = 24


def positional_heatmap(result, width: int):
    """A PositionalResult in the terminal: the --dims columns with values, else every k-th dimension."""
    rows = min(result.length, POSITIONAL_ROWS)
    if result.dims:
        cols = result.dims
    else:
        fit = max(1, (width - 8) // 6)  # columns that still show their numbers
        step = -(-result.dim // fit)
        cols = list(range(0, result.dim, step))
    limit = result.scale
    caption = f"rows: positions 0-{rows - 1}" + (f" of {result.length}" if rows < result.length else "")
    every = cols[1] - cols[0] if len(cols) > 1 else 1
    caption += "; columns: dims " + (",".join(map(str, cols)) if result.dims else f"0-{result.dim - 1} every {every}")
    from rich.markup import escape

    title = ("sinusoidal positional encoding" if result.kind == "sinusoidal"
             else f"{escape(str(result.model))}: learned position embeddings")
    return heatmap(result.matrix[:rows][:, cols], [""] * rows, [f"d{c}" for c in cols], title=title,
                   caption=caption + f"; light = {-limit:.2g}, dark = {limit:.2g}",
                   theme=result.theme, vmin=-limit, vmax=limit, width=width)


DETECT_MAX_ROWS = 25  # rows of one image's table shown to people; the rest are summarised


class DetectView:
    """People get a table per image on stdout and errors on stderr; scripts get JSON lines."""

    def __init__(self, json_: bool, quiet: bool):
        self.json, self.quiet = json_, quiet

    def result(self, r) -> None:
        if self.json:
            _output().emit_json(r.to_dict())
            return
        if not r.ok:
            from rich.markup import escape

            _output().stderr_console().print(f"[bold red]error:[/bold red] {escape(r.source)}: {escape(r.error)}",
                                          soft_wrap=True)
            return
        from rich.markup import escape

        _image_table(r, "objects", r.detections, DETECT_MAX_ROWS, (
            ("class", "left"), ("conf", "right"), ("x1", "right"), ("y1", "right"), ("x2", "right"), ("y2", "right")),
            lambda d: (escape(d.label), f"{d.confidence:.2f}", f"{d.x1:.0f}", f"{d.y1:.0f}", f"{d.x2:.0f}",
                       f"{d.y2:.0f}"))

    def summary(self, s, model: str, folder, watching: bool = False) -> None:
        # A watcher's wall time is mostly waiting for uploads: images/s would say nothing.
        rate = "" if watching else f" ({s.images_per_second:.1f} images/s)"
        line = f"{s.images} images, {s.objects} objects, {s.failed} failed, {s.seconds:.2f} s{rate}, model {model}"
        if self.json:
            _output().notice(line, self.quiet)
            return
        from rich.markup import escape
        from rich.table import Table

        console = _output().stdout_console()
        if s.counts:
            console.print("[bold]objects per class[/bold]")
            t = Table(show_edge=False)
            t.add_column("class")
            t.add_column("count", justify="right")
            for label, n in s.counts.most_common():
                t.add_row(escape(str(label)), str(n))
            console.print(t)
        console.print(line + (f"; files in {folder.folder}" if folder is not None else ""), soft_wrap=True, markup=False)


def _image_table(r, noun: str, items: Sequence, max_rows: int, columns: Sequence[tuple[str, str]],
                 row: Callable[[Any], tuple[str, ...]], more_at: int = 0) -> None:
    """One image's result for people (detect, segment): a title line (source, size, how many
    `noun`, time, where it was written), then a table of at most `max_rows` items, the rest
    counted in a last row (in column `more_at`)."""
    from rich.markup import escape
    from rich.table import Table

    title = f"[bold]{escape(r.source)}[/bold]  {r.width}x{r.height}  {len(items)} {noun}  {r.seconds * 1000:.0f} ms"
    if r.outputs:
        title += f"  -> {escape(r.outputs['image'])}"
    console = _output().stdout_console()
    console.print(title, soft_wrap=True)
    if not items:
        return
    t = Table(show_edge=False)
    for col, justify in columns:
        t.add_column(col, justify=justify)
    for item in items[:max_rows]:
        t.add_row(*row(item))
    if len(items) > max_rows:
        more = [""] * len(columns)
        more[more_at] = f"[dim]... {len(items) - max_rows} more[/dim]"
        t.add_row(*more)
    console.print(t)


SEGMENT_MAX_ROWS = 25  # masks of one image shown to people; the rest are summarised


class SegmentView:
    """`fmkit segment`: a table of masks per image on stdout (errors on stderr); JSON lines for scripts."""

    def __init__(self, json_: bool, quiet: bool):
        self.json, self.quiet = json_, quiet
        self.errors = DetectView(json_, quiet)  # an image that failed reads the same in both commands

    def result(self, r) -> None:
        if self.json or not r.ok:
            self.errors.result(r)
            return
        from rich.markup import escape

        _image_table(r, "masks", r.masks, SEGMENT_MAX_ROWS, (
            ("#", "right"), ("label", "left"), ("score", "right"), ("area", "right"), ("box x1,y1,x2,y2", "left"),
            ("prompt", "left")),
            lambda m: (str(m.id), escape(m.label or "-"), f"{m.score:.2f}", str(m.area),
                       ",".join(f"{v:.0f}" for v in m.box), _prompt_text(m.prompt)), more_at=1)

    def summary(self, s, model: str, folder, watching: bool = False) -> None:
        rate = "" if watching else f" ({s.images_per_second:.2f} images/s)"
        common = s.counts.most_common()
        kinds = ", ".join(f"{label} {n}" for label, n in common[:5]) + (f", {len(common) - 5} more labels"
                                                                        if len(common) > 5 else "")
        line = (f"{s.images} images, {s.objects} masks" + (f" ({kinds})" if kinds else "")
                + f", {s.failed} failed, {s.seconds:.2f} s{rate}, model {model}")
        if folder is not None:
            line += f"; files in {folder.folder}"
        if self.json:
            _output().notice(line, self.quiet)
        else:
            _output().stdout_console().print(line, soft_wrap=True, markup=False)


def _prompt_text(prompt: dict) -> str:
    """A mask's prompt in a table cell: 'point 410,520', 'box 50,400,250,900', 'person 0.91', 'everything'."""
    kind = prompt.get("type", "")
    if kind == "point":
        return "point " + ",".join(f"{v:g}" for v in prompt["points"][0])
    if kind == "box":
        return "box " + ",".join(f"{v:g}" for v in prompt["box"])
    if kind == "detection":
        return f"{_output().escape(prompt['label'])} {prompt['confidence']:.2f}"
    return kind


def _output():
    from fmkit import output

    return output


def doctor_table(r: dict):
    """The doctor's report for people: one row per fact, what is missing in colour."""
    from rich.table import Table

    t = Table(show_header=False, title="fmkit doctor", title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    t.add_row("fmkit", r["fmkit"])
    t.add_row("python", f"{r['python']} ({r['platform']})")
    for name, v in r["versions"].items():
        t.add_row(name, v or "[red]not installed[/red]")
    gpus = ", ".join(f"{d['name']} ({d['memory_mb'] // 1024} GiB)" for d in r.get("cuda_devices", []))
    t.add_row("device", _output().escape(f"{r['device']}" + (f": {gpus}" if gpus else ""))
              + ("; mps available" if r.get("mps") else ""))
    t.add_row("cpu / ram", f"{r['cpu_cores']} cores, {r['ram_mb'] / 1024:.1f} GiB RAM")
    t.add_row("profile", _output().escape(f"{r['profile']} ({r['profile_reason']}) {r['profile_path']}"))
    hub = r["hub_reachable"]
    t.add_row("network", "offline (requested)" if r["offline"] else
              ("hub reachable" if hub else "[yellow]hub not reachable: only local and cached models work[/yellow]"))
    for name, where in r["caches"].items():
        t.add_row(name, _output().escape(str(where)))
    used = set(r["profile_models"].values())
    here = [m for m, ok in r["models_present"].items() if ok]
    missing = [m for m, ok in r["models_present"].items() if not ok and m in used]
    t.add_row("models here", ", ".join(here) or "none")
    if missing:
        t.add_row("profile needs", ", ".join(missing) + "  (fmkit pull, while online)")
    if "cpu_bf16" in r:
        t.add_row("cpu bf16", "yes (AVX-512 BF16 / AMX)" if r["cpu_bf16"] else "no")
    memory = r.get("memory")
    if memory:
        budget = f"{_gib(memory['budget_mb'])} {memory['budget_source']}"
        t.add_row("memory budget", _output().escape(f"{budget} (runtime.max_memory = {memory.get('max_memory', '?')}; "
                                                    f"{_gib(memory['in_use_mb'])} in use)"))
        plan = memory.get("diffuse_plan")
        if plan:
            t.add_row("diffuse plan", _output().escape(f"{plan['reason']} ({plan['model']} at {plan['size']} in "
                                                       f"{plan['dtype']}; {plan['sizes_from']})"))
        else:
            t.add_row("diffuse plan", "[red]" + _output().escape(memory.get("problem", "none")) + "[/red]")
    return t


def _gib(mb: float) -> str:
    return f"{mb / 1024:.1f} GiB" if mb >= 1024 else f"{mb:.0f} MiB"
