"""Typed chart data from a matplotlib figure, read off its artists.

The shape (type, title, elements, axis labels, ticks and scales) is the one the
code interpreter's clients know: line, scatter, bar, pie, box_and_whisker, and a
superchart holding one chart per axes when a figure has several. Nothing here draws;
it only reads what the figure already holds. Pure functions of the figure.
"""

import datetime
import math

MAX_POINTS = 10000  # per series; longer series are cut (the chart says so)


def _num(v):
    """A JSON-safe number (NaN and infinities become None), or the value as text."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f) or math.isinf(f):
        return None
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def _scale(ax, which):
    axis = ax.xaxis if which == "x" else ax.yaxis
    conv = getattr(axis, "converter", None)
    name = type(conv).__name__ if conv is not None else ""
    if "Date" in name:
        return "datetime"
    if "StrCategory" in name:
        return "categorical"
    return axis.get_scale()


def _value(ax, which, v):
    """One coordinate as the axis shows it: dates as ISO text, categories as names."""
    scale = _scale(ax, which)
    if scale == "datetime":
        try:
            from matplotlib.dates import num2date

            return num2date(float(v)).replace(tzinfo=None).isoformat()
        except (TypeError, ValueError, OverflowError):
            return _num(v)
    if scale == "categorical":
        axis = ax.xaxis if which == "x" else ax.yaxis
        mapping = getattr(getattr(axis, "units", None), "_mapping", None) or {}
        for name, idx in mapping.items():
            if idx == v:
                return str(name)
    return _num(v)


def _ticks(ax, which):
    axis = ax.xaxis if which == "x" else ax.yaxis
    ticks = [_value(ax, which, t) for t in axis.get_ticklocs()]
    labels = [t.get_text() for t in axis.get_ticklabels()]
    return ticks, labels


def _base(ax, kind):
    return {
        "type": kind,
        "title": ax.get_title() or "",
        "x_label": ax.get_xlabel() or None,
        "y_label": ax.get_ylabel() or None,
        "x_unit": None,
        "y_unit": None,
        "elements": [],
    }


def _with_ticks(chart, ax):
    for which in ("x", "y"):
        ticks, labels = _ticks(ax, which)
        chart[which + "_ticks"] = ticks
        chart[which + "_tick_labels"] = labels
        chart[which + "_scale"] = _scale(ax, which)
    return chart


def _label(artist, default):
    label = artist.get_label() or ""
    return default if label.startswith("_") or not label else label


def _points(ax, xy):
    pts = [[_value(ax, "x", x), _value(ax, "y", y)] for x, y in xy[:MAX_POINTS]]
    return pts, len(xy) > MAX_POINTS


def _boxes(ax):
    """Box plots leave lines only: a closed 5-point box (or a PathPatch with
    patch_artist), a median, two whiskers, two caps and the fliers. Returns the
    boxes found, each as the chart's element, or []."""
    import numpy as np

    rects = []
    for line in ax.get_lines():
        xy = np.asarray(line.get_xydata())
        if len(xy) == 5 and np.allclose(xy[0], xy[-1]):
            rects.append(xy)
    for patch in ax.patches:
        if type(patch).__name__ == "PathPatch":
            xy = np.asarray(patch.get_path().vertices)
            if len(xy) >= 5:
                rects.append(xy[:5])
    if not rects:
        return []
    lines = [np.asarray(ln.get_xydata()) for ln in ax.get_lines()]
    fliers = [
        np.asarray(ln.get_xydata())
        for ln in ax.get_lines()
        if ln.get_linestyle() in ("None", "none", "", " ")
    ]
    labels = [t.get_text() for t in ax.xaxis.get_ticklabels()]
    ticks = list(ax.xaxis.get_ticklocs())
    out = []
    for xy in rects:
        x0, x1 = float(xy[:, 0].min()), float(xy[:, 0].max())
        q1, q3 = float(xy[:, 1].min()), float(xy[:, 1].max())
        cx = (x0 + x1) / 2
        median, lo, hi, outliers = None, q1, q3, []
        for ln in lines:
            if len(ln) != 2:
                continue
            (ax0, ay0), (ax1, ay1) = ln
            if ay0 == ay1 and x0 - 1e-9 <= ax0 <= x1 + 1e-9 and q1 <= ay0 <= q3:
                if ax0 == x0 and ax1 == x1 or (ax0 >= x0 and ax1 <= x1 and median is None):
                    median = float(ay0)
            if ax0 == ax1 and abs(ax0 - cx) < 1e-9:  # a whisker
                lo = min(lo, float(ay0), float(ay1))
                hi = max(hi, float(ay0), float(ay1))
        for fl in fliers:
            for fx, fy in fl:
                if abs(fx - cx) <= (x1 - x0) / 2 + 1e-9:
                    outliers.append(_num(fy))
        label = ""
        for t, name in zip(ticks, labels):
            if abs(t - cx) < 1e-9:
                label = name
        out.append(
            {
                "label": label,
                "min": _num(lo),
                "first_quartile": _num(q1),
                "median": _num(median if median is not None else (q1 + q3) / 2),
                "third_quartile": _num(q3),
                "max": _num(hi),
                "outliers": outliers,
            }
        )
    return out


def _bars(ax):
    from matplotlib.container import BarContainer

    containers = [c for c in ax.containers if isinstance(c, BarContainer)]
    if not containers:
        return None, None
    horizontal = getattr(containers[0], "orientation", "vertical") == "horizontal"
    axis, which = (ax.yaxis, "y") if horizontal else (ax.xaxis, "x")
    ticks = list(axis.get_ticklocs())
    names = [t.get_text() for t in axis.get_ticklabels()]
    elements = []
    for c in containers:
        group = _label(c, "")
        for i, rect in enumerate(c.patches):
            if horizontal:
                center, value = rect.get_y() + rect.get_height() / 2, rect.get_width()
            else:
                center, value = rect.get_x() + rect.get_width() / 2, rect.get_height()
            label = _value(ax, which, center)
            for t, name in zip(ticks, names):
                if abs(t - center) < 1e-6 and name:
                    label = name
            elements.append({"label": str(label), "group": group, "value": _num(value)})
    return elements, horizontal


def axes_chart(ax):
    """The chart one axes shows (a dict), or None when it shows nothing we read."""
    from matplotlib.patches import Wedge

    wedges = [p for p in ax.patches if isinstance(p, Wedge)]
    if wedges:
        chart = {"type": "pie", "title": ax.get_title() or "", "elements": []}
        texts = [t.get_text() for t in ax.texts]
        for i, w in enumerate(wedges):
            label = _label(w, texts[i] if i < len(texts) else str(i))
            chart["elements"].append(
                {"label": label, "angle": _num(abs(w.theta2 - w.theta1)), "radius": _num(w.r)}
            )
        return chart
    boxes = _boxes(ax)
    if boxes:
        chart = _base(ax, "box_and_whisker")
        chart["elements"] = boxes
        return chart
    bars, horizontal = _bars(ax)
    if bars:
        chart = _base(ax, "bar")
        if horizontal:
            chart["x_label"], chart["y_label"] = chart["y_label"], chart["x_label"]
        chart["elements"] = bars
        return chart
    lines = [ln for ln in ax.get_lines() if len(ln.get_xydata())]
    scatters = [c for c in ax.collections if len(getattr(c, "get_offsets", lambda: [])())]
    if lines:
        chart = _with_ticks(_base(ax, "line"), ax)
        for i, ln in enumerate(lines):
            pts, cut = _points(ax, ln.get_xydata())
            el = {"label": _label(ln, "line %d" % i), "points": pts}
            if cut:
                el["truncated"] = True
            chart["elements"].append(el)
        return chart
    if scatters:
        chart = _with_ticks(_base(ax, "scatter"), ax)
        for i, c in enumerate(scatters):
            pts, cut = _points(ax, c.get_offsets())
            el = {"label": _label(c, "series %d" % i), "points": pts}
            if cut:
                el["truncated"] = True
            chart["elements"].append(el)
        return chart
    return None


def figure_chart(fig):
    """The chart data of a whole figure: one axes' chart, a superchart of several, or
    None when no axes shows anything we read."""
    charts = [c for c in (axes_chart(ax) for ax in fig.axes) if c is not None]
    if not charts:
        return None
    if len(charts) == 1:
        return charts[0]
    title = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    return {"type": "superchart", "title": title, "elements": charts}


def iso(v):
    """JSON-safe text for dates (used by the DataFrame formatter)."""
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    return str(v)
