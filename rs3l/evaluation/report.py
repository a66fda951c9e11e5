"""``metrics.json`` and the self-contained ``report.html``.

The HTML page embeds its PNG figures (base64), so it can be mailed or opened from
any directory; the PDF versions sit next to it in ``plots/``. For each task it shows
the comparison table of RS3L's evaluation: one row per tagger (frozen linear, frozen
MLP, fine-tuned, supervised) at the full label fraction, with the AUC and background
rejections (bootstrap intervals) and the Wasserstein-1 distance of each view to the
nominal one, per true class, marked matched (same events in both views) or unmatched
(different events, e.g. the Pythia and Herwig quark/gluon samples).
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

from sim_pairs.io import atomic_path

__all__ = ["write_metrics_json", "write_report", "json_safe", "TAGGER_TITLES"]

TAGGER_TITLES = {
    "frozen_linear": "frozen backbone, linear head",
    "frozen_mlp": "frozen backbone, MLP head",
    "finetune_linear": "fine-tuned backbone, linear head",
    "finetune_mlp": "fine-tuned backbone, MLP head",
    "supervised_linear": "supervised from scratch, linear head",
    "supervised_mlp": "supervised from scratch, MLP head",
}


def json_safe(obj):
    """Replace non-finite floats by None (JSON has no inf / NaN) and numpy scalars by Python ones."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_metrics_json(metrics: dict, path: str | Path) -> Path:
    """Write the metrics dict as indented JSON, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(json_safe(metrics), indent=2, allow_nan=False) + "\n")
    return path


def _fmt(value, digits=3) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float) and (abs(value) >= 1000 or (0 < abs(value) < 1e-2)):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}" if isinstance(value, float) else html.escape(str(value))


def _with_interval(entry, *, none: str = "&ndash;") -> str:
    """value [low, high]; ``none`` shows a null value or bound (rejections: infinite)."""
    if not isinstance(entry, dict):
        return _fmt(entry)
    show = lambda v: none if v is None else _fmt(v)  # noqa: E731
    text = show(entry.get("value"))
    if entry.get("std") is not None:
        text += f" <small>[{show(entry.get('low'))}, {show(entry.get('high'))}]</small>"
    return text


def _task_table(name: str, task: dict, nominal: str, confidence: float | None = None) -> str:
    results = task["results"]
    if not results:
        return "<p>No taggers were trained.</p>"
    any_entry = next(iter(results.values()))
    full = max(any_entry, key=float)
    first = any_entry[full]
    metric_cols = list(first["nominal"] or {}) if task["kind"] == "binary" else []
    if task["kind"] == "multiclass":
        metric_cols = ["accuracy", "auc_ovr_mean"]
    if task["kind"] == "regression":
        metric_cols = ["median_response", "resolution"]
    rob_cols, kinds = [], {}
    for view, entry in (first.get("robustness") or {}).items():
        rob_cols += [(view, cls) for cls in entry["wasserstein"]]
        kinds[view] = entry.get("kind", "matched")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in metric_cols)
    head += "".join(f"<th>W<sub>1</sub> {html.escape(v)} ({kinds[v]})<br><small>{html.escape(c)}</small></th>"
                    for v, c in rob_cols)
    rows = []
    for tagger, by_fraction in results.items():
        entry = by_fraction.get(full)
        if entry is None:
            continue
        nom = entry["nominal"] or {}
        if task["kind"] == "regression":
            cells = [_fmt(nom.get("inclusive", {}).get(c)) for c in metric_cols]
        else:
            # a null rejection is an infinite one: no background jet passes the cut
            cells = [_with_interval(nom.get(c), none="&infin;" if c.startswith("rejection") else "&ndash;")
                     for c in metric_cols]
        rob = entry.get("robustness") or {}
        cells += [_w1_cell(rob.get(v, {}), c) for v, c in rob_cols]
        title = TAGGER_TITLES.get(tagger, tagger)
        rows.append(f"<tr><td>{html.escape(title)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    caption = (f"{html.escape(name)} ({task['kind']}), label fraction {full}; metrics on the '{html.escape(nominal)}' "
               f"test jets" + (f", {confidence:.0%} bootstrap intervals in brackets" if confidence else ""))
    if rob_cols:
        caption += (f"; W<sub>1</sub>: Wasserstein-1 distance of the output on each view to '{html.escape(nominal)}', "
                    f"per true class (lower is more robust)")
        if "matched" in kinds.values():
            caption += "; <b>matched</b>: over the same events simulated both ways"
        if "unmatched" in kinds.values():
            caption += "; <b>unmatched</b>: between all jets of each view (different events)"
        caption += ("; in braces the W<sub>1</sub> that samples of these sizes show when both views come from one "
                    "distribution (pairs swapped at random when matched): differences near it are not resolved")
    caption += "."
    return (f"<table><caption>{caption}</caption><tr><th>tagger</th>{head}</tr>{''.join(rows)}</table>")


def _w1_cell(entry: dict, cls: str) -> str:
    """W1 [bootstrap interval] {null W1 of unmatched samples}."""
    value = (entry.get("wasserstein") or {}).get(cls)
    interval = (entry.get("wasserstein_interval") or {}).get(cls) or {}
    text = _with_interval({"value": value, **interval}) if value is not None else _fmt(None)
    null = (entry.get("wasserstein_null") or {}).get(cls)
    return text + (f" <small>{{{_fmt(null)}}}</small>" if null is not None else "")


def _ratio_table(task: dict) -> str:
    ratio = task.get("robustness_ratio") or {}
    if not any(by_view for by_view in ratio.values()):
        return ""
    normalised = task.get("robustness_ratio_normalised") or {}
    rows = []
    for tagger, by_view in ratio.items():
        for view, by_class in by_view.items():
            cells = ", ".join(f"{html.escape(c)}: {_fmt(r)}" for c, r in by_class.items())
            norm = ", ".join(f"{html.escape(c)}: {_fmt(r)}" for c, r in (normalised.get(tagger, {}).get(view) or {}).items())
            rows.append(f"<tr><td>{html.escape(TAGGER_TITLES.get(tagger, tagger))}</td><td>{html.escape(view)}</td>"
                        f"<td>{cells}</td><td>{norm or '&ndash;'}</td></tr>")
    return ("<table><caption>W<sub>1</sub>(tagger) / W<sub>1</sub>(supervised): below 1, the pre-trained tagger "
            "moves less than the supervised one when the simulation changes. Normalised: each W<sub>1</sub> first "
            "divided by the same tagger's W<sub>1</sub> between signal and background on nominal, so that a tagger "
            "does not look robust by squeezing its output range.</caption>"
            "<tr><th>tagger</th><th>view</th><th>ratio per class</th><th>normalised ratio per class</th></tr>"
            + "".join(rows) + "</table>")


def _training_table(training: dict) -> str:
    """Epochs and optimiser steps of each tagger and label fraction (a baseline that took few steps shows here)."""
    if not training:
        return ""
    fractions = sorted({f for by_fraction in training.values() for f in by_fraction}, key=float)
    head = "".join(f"<th>{html.escape(f)} of labels</th>" for f in fractions)
    rows = []
    for tagger, by_fraction in training.items():
        cells = []
        for f in fractions:
            r = by_fraction.get(f)
            cells.append("<td>&ndash;</td>" if r is None else
                         f"<td>{r['steps']} steps, {r['epochs']} epoch{'s' if r['epochs'] != 1 else ''}"
                         f"{' (stopped early)' if r.get('stopped_early') else ''}</td>")
        rows.append(f"<tr><td>{html.escape(TAGGER_TITLES.get(tagger, tagger))}</td>{''.join(cells)}</tr>")
    return ("<table><caption>Training: optimiser steps and epochs (the linear probe is fitted to its optimum by "
            "L-BFGS; its steps are iterations).</caption>"
            f"<tr><th>tagger</th>{head}</tr>{''.join(rows)}</table>")


def _image(path: Path, root: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    pdf = Path(path).with_suffix(".pdf")
    link = f' <a href="{html.escape(str(pdf.relative_to(root)))}">PDF</a>' if pdf.is_file() else ""
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(Path(path).stem)}">'
            f"<figcaption>{html.escape(Path(path).stem)}{link}</figcaption></figure>")


_STYLE = """
body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}caption{caption-side:top;text-align:left;padding:4px 0}
figure{display:inline-block;margin:8px}img{max-width:560px}code{background:#f3f3f3}
"""


def write_report(metrics: dict, out_dir: str | Path, figures: dict | None = None) -> Path:
    """Write ``out_dir/report.html``.

    Args:
        metrics: the dict written to ``metrics.json``.
        out_dir: the evaluation output directory (figure paths are linked relative to it).
        figures: section title -> list of PNG paths (the per-task sections use the task name).
    """
    out_dir = Path(out_dir)
    figures = figures or {}
    nominal = metrics.get("nominal_view", "nominal")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>rs3l evaluation</title>"
             f"<style>{_STYLE}</style></head><body>",
             "<h1>rs3l evaluation</h1>",
             f"<p>dataset <code>{html.escape(str(metrics.get('data_dir', '')))}</code>, model "
             f"<code>{html.escape(str(metrics.get('model_dir', '')))}</code>, views "
             f"{html.escape(', '.join(metrics.get('views', [])))} (nominal: {html.escape(nominal)}), "
             f"rs3l {html.escape(str(metrics.get('rs3l_version', '')))}. Every number is recomputable from "
             f"<code>predictions/*.parquet</code>; all of them are in <code>metrics.json</code>.</p>"]
    for name, task in metrics.get("tasks", {}).items():
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append(_task_table(name, task, nominal, metrics.get("confidence")))
        parts.append(_ratio_table(task))
        parts.append(_training_table(metrics.get("training", {}).get(name, {})))
        parts += [_image(p, out_dir) for p in figures.get(name, [])]
    for section, paths in figures.items():
        if section not in metrics.get("tasks", {}):
            parts.append(f"<h2>{html.escape(section)}</h2>")
            parts += [_image(p, out_dir) for p in paths]
    parts.append("</body></html>\n")
    path = out_dir / "report.html"
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(parts))
    return path

