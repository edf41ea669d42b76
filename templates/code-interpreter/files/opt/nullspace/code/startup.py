"""Run once in every Python context's IPython kernel at start.

Adds what our results carry beyond IPython's own formats:
  - matplotlib figures: typed chart data (application/vnd.nullspace.chart+json)
    beside the PNG the inline backend makes;
  - pandas DataFrames: columns and rows (application/vnd.nullspace.data+json)
    beside the HTML table;
  - Plotly figures: one complete HTML document (plotly.js referenced once, from
    its CDN, never inlined) plus the figure's JSON, as one result.
And the hidden module `_nsp`, through which the server hands a run its environment
variables from a file (a path in the code it sends, never the values).
"""


def _nsp_setup():
    import json
    import os
    import sys
    import types

    sys.path.insert(0, "/opt/nullspace/code")
    import charts

    sys.path.pop(0)
    from IPython import get_ipython
    from IPython.core.formatters import BaseFormatter
    from traitlets import ObjectName, Unicode

    ip = get_ipython()
    fmt = ip.display_formatter

    def add(mime, method):
        cls = type(
            "NspFormatter_" + method,
            (BaseFormatter,),
            {"format_type": Unicode(mime), "print_method": ObjectName(method),
             "_return_type": (dict, list)},
        )
        f = cls(parent=fmt)
        fmt.formatters[mime] = f
        return f

    chart_fmt = add("application/vnd.nullspace.chart+json", "_repr_nsp_chart_")
    data_fmt = add("application/vnd.nullspace.data+json", "_repr_nsp_data_")

    def figure_chart(fig):
        try:
            return charts.figure_chart(fig)
        except Exception as e:  # a chart we cannot read still shows as a PNG
            return {"type": "unknown", "title": "", "elements": [], "error": str(e)}

    # matplotlib's inline backend drops every Figure printer when it activates (at
    # the first pyplot use, mid-cell): ours is put back each time it does
    import IPython.core.pylabtools as pylabtools

    select = pylabtools.select_figure_formats

    def select_keeping_ours(shell, formats, **kw):
        select(shell, formats, **kw)
        mod = sys.modules.get("matplotlib.figure")
        if mod is not None:
            chart_fmt.for_type(mod.Figure, figure_chart)

    pylabtools.select_figure_formats = select_keeping_ours
    inline = sys.modules.get("matplotlib_inline.backend_inline")
    if inline is not None:
        inline.select_figure_formats = select_keeping_ours
    chart_fmt.for_type_by_name("matplotlib.figure", "Figure", figure_chart)

    def frame_data(df, limit=10000):
        body = json.loads(df.head(limit).to_json(orient="split", date_format="iso", default_handler=str))
        out = {
            "columns": [str(c) for c in body.get("columns", [])],
            "index": body.get("index", []),
            "rows": body.get("data", []),
            "total_rows": int(len(df)),
        }
        if len(df) > limit:
            out["truncated"] = True
        return out

    data_fmt.for_type_by_name("pandas.core.frame", "DataFrame", frame_data)

    def plotly_display(fig):
        from IPython.display import display

        bundle = {
            "text/html": fig.to_html(full_html=True, include_plotlyjs="cdn"),
            "application/vnd.plotly.v1+json": json.loads(fig.to_json()),
            "text/plain": "<plotly figure: %d traces>" % len(fig.data),
        }
        display(bundle, raw=True)

    # Plotly shows itself through _ipython_display_ and its renderers (which would
    # inline plotly.js); ours takes precedence
    fmt.ipython_display_formatter.for_type_by_name("plotly.basedatatypes", "BaseFigure",
                                                   plotly_display)

    saved = []

    def push(path):
        with open(path) as f:
            env = json.load(f)
        os.unlink(path)
        saved.append({k: os.environ.get(k) for k in env})
        os.environ.update(env)

    def pop():
        if not saved:
            return
        for k, v in saved.pop().items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    mod = types.ModuleType("_nsp")
    mod.push, mod.pop = push, pop
    sys.modules["_nsp"] = mod


_nsp_setup()
del _nsp_setup
