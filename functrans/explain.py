"""``ft.explain``: every stage a function passes through, side by side.

``ft.explain(f)(*args)`` traces ``f`` once and shows the program at each stage
of the transformations built on it:

==============  ============================================================
stage           what it is (and how to get it on its own)
==============  ============================================================
``ir``          the traced IR: ``ft.make_ir(f)(*args)``
``jvp``         forward mode, primal and tangent equations interleaved:
                ``ft.make_ir(lambda p, t: ft.jvp(f, p, t))(args, args)``
``linearized``  the linear part of the JVP after partial evaluation: only
                the tangent equations; what they need from the forward pass
                (the *residuals*) are its constants. ``ft.linearize(f,
                *args)[1].linear_ir``
``transposed``  the linearized IR run backwards (``backward_pass``):
                output cotangents in, input cotangents out. What
                ``ft.vjp``/``ft.grad`` run; read it bottom-up next to the
                linearized IR. ``ft.make_ir(ft.vjp(f, *args)[1])(ct)``
``vmap``        ``f`` batched over a new leading axis of size ``batch_size``
                (default 3) on every argument: ``ft.make_ir(ft.vmap(f))(...)``
``stablehlo``   the StableHLO module ``jit`` hands to XLA:
                ``ft.jit(f).lower(*args).as_text()``
==============  ============================================================

**Alignment.** The IR stages (all but StableHLO) are made by *replaying* the
traced IR equation by equation under each transformation and noting how many
equations the transformation had emitted after each one; the transposed
stage notes, in the same way, which linearized equation each transpose rule
call came from. So every equation of every IR stage is known to come from one
equation of the original IR, and :meth:`Explanation._repr_html_` shows a
table with one row per original equation (the transposed column of a row is
that equation's transpose: the rows run bottom-up in the transposed IR).
Primitive names have one colour everywhere (a hash of the name), in this
table, in the full texts and in ``ft.make_ir``'s own HTML.

A stage that cannot be made (reverse mode of a ``lax.while_loop``, a
primitive without a batching rule) does not stop the others: its text is
``"(failed) "`` and the error, also kept in ``Explanation.errors``. Errors in
the arguments (a string, an integer array) or in tracing ``f`` itself are
raised.

Example:
    >>> import functrans as ft, functrans.numpy as fnp
    >>> e = ft.explain(lambda x: fnp.sin(x) * x)(fnp.ones(2))
    >>> list(e.stages)
    ['ir', 'jvp', 'linearized', 'transposed', 'vmap', 'stablehlo']
    >>> print(e.stages["linearized"])
    { lambda a:f32[2] b:f32[2] c:f32[2] ; d:f32[2]. let
        e:f32[2] = mul d a
        f:f32[2] = mul e b
        g:f32[2] = mul c d
        h:f32[2] = add f g
      in (h,) }
    >>> [r.name for r in e.rows]
    ['(inputs)', 'sin', 'mul', '(outputs)']
"""

from __future__ import annotations

import html
import re
import zlib
from typing import NamedTuple

import numpy as np

from . import core, dtypes, tree_util
from .api import jvp as _jvp, make_ir, vmap as _vmap
from .array import Array
from .errors import api_boundary
from .interpreters.jvp import instantiate
from .interpreters.reverse import backward_pass, linearize_flat
from .interpreters.tracing import IRTrace, arg_leaf_names
from .ir import IR, ClosedIR, Lit

STAGES = {
    "ir": "the traced IR (ft.make_ir)",
    "jvp": "forward mode: primal and tangent equations (ft.jvp)",
    "linearized": "the linear (tangent) part after partial evaluation; its constants are "
                  "the residuals (ft.linearize)",
    "transposed": "the linearized IR transposed: cotangents of the outputs in, of the inputs "
                  "out (ft.vjp, ft.grad)",
    "vmap": "batched over a new leading axis (ft.vmap)",
    "stablehlo": "the StableHLO module jit hands to XLA (ft.jit(f).lower(...).as_text())",
}
_IR_STAGES = ("ir", "jvp", "linearized", "transposed", "vmap")


class Row(NamedTuple):
    """One equation of the original IR and where it went in each IR stage.

    ``name``: its primitive's name ("(inputs)" for the first row, "(outputs)"
    for the last); ``eqns``: stage name -> indices of that stage's equations
    that came from it (a list, in the stage's order).
    """

    name: str
    eqns: dict


class Explanation:
    """What :func:`explain` returns.

    Attributes:
      stages: stage name -> text, in the order of :data:`STAGES`.
      irs: stage name -> ``ClosedIR`` for the IR stages made (evaluate one with
        ``ft.ir.eval_ir(c.ir, c.consts, args)``).
      rows: the alignment, a list of :class:`Row` (first the inputs, then one
        per equation of the original IR, last the outputs); None where it
        could not be made.
      batch_size: the size of the vmap stage's batch axis.
      errors: stage name -> the error that stage raised (``"ExceptionType:
        message"``), for the stages that could not be made (reverse mode of a
        ``lax.while_loop``, say); their text in ``stages`` is ``"(failed) "``
        and the error. Empty when every stage was made.
    """

    def __init__(self, name, stages, irs, rows, batch_size, errors=None):
        self.name = name
        self.stages = stages
        self.irs = irs
        self.rows = rows
        self.batch_size = batch_size
        self.errors = dict(errors or {})

    @property
    def residuals(self) -> list:
        """The values the linearized IR keeps from the forward pass (its constants)."""
        if "linearized" not in self.irs:
            raise ValueError(f"explain({self.name}): there are no residuals because the "
                             f"linearized stage failed: {self.errors['linearized']}")
        return list(self.irs["linearized"].consts)

    @property
    def residual_bytes(self) -> int:
        """Bytes of the residuals: the memory reverse mode holds between the passes."""
        return int(sum(np.asarray(c).nbytes for c in self.residuals))

    def __str__(self):
        parts = []
        for stage, text in self.stages.items():
            parts.append(f"=== {stage}: {STAGES[stage]} ===\n{text.rstrip()}\n")
        return "\n".join(parts)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return _explanation_html(self)


def explain(fun, *, batch_size: int = 3):
    """Returns a function that shows every stage ``fun`` passes through on its arguments.

    Args:
      fun: a function of arrays (or pytrees of arrays) returning arrays, as
        for ``ft.grad``; every input leaf must be a float (or complex) array or
        Python float, since the derivative stages differentiate with respect
        to all of them (close over the others with ``functools.partial``).
      batch_size: the size of the new leading axis of the ``vmap`` stage.

    Returns:
      ``explain_f(*args)`` returning an :class:`Explanation`: ``.stages`` (the
      texts), ``.irs``, ``.rows`` (the alignment), ``.residual_bytes``, ``.errors``;
      ``print`` it for every stage with a heading, or show it in Jupyter for
      an aligned table.
    """
    if not callable(fun):
        raise TypeError(f"explain: expected a function, got {type(fun).__name__} {fun!r:.60}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"explain: batch_size must be a positive int, got {batch_size!r}")
    name = getattr(fun, "__name__", "fun")

    @api_boundary
    def explain_f(*args, **kwargs):
        if kwargs:
            raise TypeError(f"explain({name}): pass the arguments positionally (got keyword "
                            f"arguments {sorted(kwargs)}); close over configuration values "
                            "with functools.partial")
        args = _check_args(fun, name, args)
        return _explain(fun, name, args, batch_size)

    return explain_f


def _check_args(fun, name, args) -> tuple:
    """The arguments with every leaf an Array, or a TypeError naming the bad one."""
    from . import numpy as fnp
    flat, tree = tree_util.tree_flatten(args)
    names = arg_leaf_names(fun, args, {})
    out = []
    for i, x in enumerate(flat):
        what = names[i] if i < len(names) else f"leaf {i}"
        if not isinstance(x, (Array, np.ndarray, np.generic, float, int, complex)) \
                or isinstance(x, core.Tracer):
            raise TypeError(f"explain({name}): argument {what} is a {type(x).__name__} "
                            f"({x!r:.40}), not an array; explain traces the function on "
                            "arrays (functrans or numpy arrays, Python floats)")
        x = fnp.asarray(x)
        if not dtypes.is_inexact(x.dtype):
            raise TypeError(f"explain({name}): argument {what} has dtype {x.dtype}; the "
                            "derivative stages need float (or complex) inputs: convert it with "
                            ".astype(float), or close over it with functools.partial")
        out.append(x)
    return tree_util.tree_unflatten(tree, out)


# --- the stages --------------------------------------------------------------------------


def _current_builder():
    """The IRBuilder of the innermost IR trace: where the stage's equations go."""
    for main in reversed(core._state.stack):
        if main.trace_type is IRTrace:
            return main.global_data
    return None


def _replayer(closed: ClosedIR, marks: list):
    """A flat function evaluating ``closed`` with ``bind`` (so under any transformation)
    that appends to ``marks`` how many equations the innermost IR trace holds before
    each equation and after the last one (``ir.eval_ir``, with the marks)."""
    ir = closed.ir

    def replay(*flat):
        builder = _current_builder()
        env = dict(zip(ir.constvars, closed.consts))
        env.update(zip(ir.invars, flat))
        read = lambda x: x.val if type(x) is Lit else env[x]  # noqa: E731
        marks.clear()
        for eqn in ir.eqns:
            marks.append(len(builder.eqns))
            out = core.bind(eqn.prim, *[read(x) for x in eqn.inputs], **eqn.params)
            for v, o in zip(eqn.outvars, out if eqn.prim.multiple_results else [out]):
                env[v] = o
        marks.append(len(builder.eqns))
        return [read(x) for x in ir.outvars]

    return replay


class _MarkedPrim:
    """Stands for a primitive in the linear IR given to ``backward_pass``: its transpose
    rule first notes where the transposed IR is (which linear equation it transposes)."""

    def __init__(self, prim, index, marks):
        self._prim = prim
        self.name = prim.name
        self.multiple_results = prim.multiple_results
        rule = prim.transpose

        def transpose(*args, **params):
            marks.append((len(_current_builder().eqns), index))
            return rule(*args, **params)

        self.transpose = None if rule is None else transpose

    def rule(self, name):
        return self._prim.rule(name)


def _explain(fun, name, args, batch_size) -> Explanation:
    from . import numpy as fnp
    from .jit import jit
    flat = tree_util.tree_leaves(args)
    closed, out_shape = make_ir(fun, return_shape=True)(*args)
    out_leaves, out_tree = tree_util.tree_flatten(out_shape)
    for i, aval in enumerate(out_leaves):
        if not dtypes.is_inexact(aval.dtype):
            raise TypeError(f"explain({name}): output {i} is {aval.str_short()}; the "
                            "derivative stages need float (or complex) outputs")
    marks = {s: [] for s in ("jvp", "linearized", "vmap")}
    t_marks, t_end = [], []  # the transposed stage's: (start, linear eqn), and its end

    def replay_tree(stage):
        flat_replay = _replayer(closed, marks[stage])
        return lambda *a: tree_util.tree_unflatten(out_tree,
                                                   flat_replay(*tree_util.tree_leaves(a)))

    def jvp_stage():
        f = replay_tree("jvp")
        return make_ir(lambda p, t: _jvp(f, p, t))(args, args)

    def linearized_stage():
        # linearize_flat traces with an IR trace of its own, below the JVP trace
        return linearize_flat(_replayer(closed, marks["linearized"]), flat)[1]

    def transposed_stage():
        linear = irs["linearized"]
        marked = IR(linear.ir.constvars, linear.ir.invars,
                    [e._replace(prim=_MarkedPrim(e.prim, j, t_marks))
                     for j, e in enumerate(linear.ir.eqns)], linear.ir.outvars)

        def transpose(*cts):
            out = backward_pass(ClosedIR(marked, linear.consts), list(cts))
            t_end.append(len(_current_builder().eqns))
            return [instantiate(c) for c in out]

        return make_ir(transpose)(*[fnp.zeros(a.shape, a.dtype) for a in linear.out_avals])

    def vmap_stage():
        f = replay_tree("vmap")
        batched = tree_util.tree_map(lambda x: fnp.broadcast_to(x, (batch_size,) + x.shape),
                                     args)
        return make_ir(_vmap(f))(*batched)

    # A stage that fails (reverse mode of a while_loop, a primitive without a batching
    # rule) is reported in its place, so the other stages still show.
    irs, errors = {"ir": closed}, {}
    makers = {"jvp": jvp_stage, "linearized": linearized_stage,
              "transposed": transposed_stage, "vmap": vmap_stage}
    for stage, make in makers.items():
        if stage == "transposed" and "linearized" in errors:
            errors[stage] = "not available: the linearized stage failed"
            continue
        try:
            irs[stage] = make()
        except Exception as e:  # noqa: BLE001  (shown to the user as the stage's text)
            errors[stage] = f"{type(e).__name__}: {e}"
    stages = {s: str(irs[s]) if s in irs else f"(failed) {errors[s]}" for s in _IR_STAGES}
    try:
        stages["stablehlo"] = jit(fun).lower(*args).as_text()
    except Exception as e:  # noqa: BLE001
        errors["stablehlo"] = f"{type(e).__name__}: {e}"
        stages["stablehlo"] = f"(failed) {errors['stablehlo']}"
    return Explanation(name, stages, irs, _rows(closed, irs, marks, t_marks, t_end),
                       batch_size, errors)


def _rows(closed, irs, marks, t_marks, t_end):
    """The alignment of the stages that were made, or None where the marks do not fit."""
    n = len(closed.eqns)
    spans = {"ir": [[]] + [[k] for k in range(n)] + [[]]}
    for s in ("jvp", "linearized", "vmap"):
        if s in irs:
            if len(marks[s]) != n + 1:
                return None
            spans[s] = _spans(marks[s], len(irs[s].eqns))
    if "transposed" in irs:
        spans["transposed"] = _transposed_spans(t_marks, t_end, spans["linearized"],
                                                len(irs["transposed"].eqns), n)
    names = ["(inputs)"] + [e.prim.name for e in closed.eqns] + ["(outputs)"]
    return [Row(nm, {s: spans[s][k] for s in _IR_STAGES if s in spans})
            for k, nm in enumerate(names)]


def _spans(marks, total) -> list:
    """Equation indices per row (inputs, one per original equation, outputs) from the
    marks of a replay."""
    if not marks:
        return []
    rows = [list(range(0, marks[0]))]
    rows += [list(range(a, b)) for a, b in zip(marks, marks[1:])]
    rows.append(list(range(marks[-1], total)))
    return rows


def _transposed_spans(t_marks, t_end, lin_spans, total, n) -> list:
    """Transposed equation indices per row: each transpose rule call's equations go to
    the row of the linearized equation it transposes."""
    row_of_lin = {}
    for k, span in enumerate(lin_spans):
        for j in span:
            row_of_lin[j] = k
    rows = [[] for _ in range(n + 2)]
    end = t_end[0] if t_end else total
    bounds = [m[0] for m in t_marks] + [end]
    rows[0].extend(range(0, bounds[0]))
    for (start, j), stop in zip(t_marks, bounds[1:]):
        rows[row_of_lin.get(j, n + 1)].extend(range(start, stop))
    rows[n + 1].extend(range(end, total))
    return rows


# --- HTML ----------------------------------------------------------------------------------

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
            "#bcbd22", "#ff7f0e", "#7f7f7f", "#3b4cc0", "#b40426")
_EQN = re.compile(r"^(.*? = )([A-Za-z_][\w]*)(.*)$")
_MONO = ("font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
         "font-size:11.5px;line-height:1.35;")


def prim_color(name: str) -> str:
    """The colour of a primitive's name in every HTML view (a hash of the name)."""
    return _PALETTE[zlib.crc32(name.encode()) % len(_PALETTE)]


def _highlight_line(line: str, emphasize=None) -> str:
    m = _EQN.match(line)
    if not m:
        return html.escape(line)
    head, prim, rest = m.groups()
    style = f"color:{prim_color(prim)};font-weight:bold"
    if emphasize is not None and prim == emphasize:
        style += ";background:#fff3b0"
    return (f"{html.escape(head)}<span style=\"{style}\">{html.escape(prim)}</span>"
            f"{html.escape(rest)}")


def highlight_ir_text(text: str, emphasize=None) -> str:
    """IR text as escaped HTML with every primitive name coloured (``emphasize``: a
    primitive name also given a background)."""
    return "\n".join(_highlight_line(line, emphasize) for line in text.split("\n"))


def _pre(inner: str, extra: str = "") -> str:
    # (a <pre> is monospace already: only the size is set on each, to keep the HTML small)
    return f"<pre style=\"font-size:11.5px;margin:0;padding:2px 4px;{extra}\">{inner}</pre>"


def ir_html(ir) -> str:
    """The ``_repr_html_`` of an IR or ClosedIR: its text with primitive names coloured."""
    consts = len(ir.consts) if isinstance(ir, ClosedIR) else 0
    n = len(ir.eqns)
    summary = (f"IR: {n} equation{'s' * (n != 1)}, {len(ir.in_avals)} input(s), "
               f"{len(ir.out_avals)} output(s)" + (f", {consts} constant(s)" if consts else ""))
    return (f"<div><div style=\"font-size:11px;color:#555\">{html.escape(summary)}</div>"
            + _pre(highlight_ir_text(str(ir)), "background:#f8f8f8") + "</div>")


def array_html(x) -> str:
    """The ``_repr_html_`` of an Array: badges for shape, dtype and weak type, then the
    values (numpy's summary, with ``...``, for more than 1000 elements)."""
    def badge(text, color):
        return (f"<span style=\"background:{color};color:white;border-radius:3px;"
                f"padding:0 5px;margin-right:4px;font-size:11px\">{html.escape(text)}</span>")

    if x.is_deleted():
        return "<div>" + badge("deleted", "#b40426") + "Array</div>"
    aval = x.aval
    badges = [badge("Array", "#444"), badge(f"shape {tuple(aval.shape)}", "#1f77b4"),
              badge(str(aval.dtype), "#2ca02c")]
    if aval.weak_type:
        badges.append(badge("weak type", "#ff7f0e"))
    v = np.asarray(x)
    with np.printoptions(threshold=1000, edgeitems=3, linewidth=100):
        body = np.array2string(v, separator=", ")
    return "<div>" + "".join(badges) + _pre(html.escape(body)) + "</div>"


def _chunks(text: str, n_eqns: int):
    """The printed IR split as ``(header line, one chunk per equation, final line)``,
    or None where the split does not give ``n_eqns`` chunks. A top-level equation
    starts a line indented by exactly 4 spaces; deeper lines (sub-IRs) continue it."""
    lines = text.split("\n")
    if n_eqns == 0:
        return lines[0], [], ""
    header, body, last = lines[0], lines[1:-1], lines[-1]
    chunks = []
    for line in body:
        if line.startswith("    ") and not line.startswith("     "):
            chunks.append([line])
        elif chunks:
            chunks[-1].append(line)
        else:
            return None
    if len(chunks) != n_eqns:
        return None
    return header, ["\n".join(c) for c in chunks], last


def _explanation_html(e: Explanation) -> str:
    th = "style=\"text-align:left;padding:4px;border-bottom:2px solid #999;vertical-align:bottom\""
    td = "style=\"vertical-align:top;border-bottom:1px solid #ddd;text-align:left\""
    parts = [f"<div style=\"{_MONO}\"><b>ft.explain({html.escape(e.name)})</b>"]
    made = [s for s in _IR_STAGES if s in e.irs]
    chunks = {s: _chunks(e.stages[s], len(e.irs[s].eqns)) for s in made}
    if e.rows is not None and all(c is not None for c in chunks.values()):
        parts.append("<div style=\"font-size:11px;color:#555;margin:4px 0\">One row per "
                     "equation of the traced IR; each cell holds what that equation became in "
                     "the stage. The transposed IR runs the rows bottom-up. vmap: batch size "
                     f"{e.batch_size}, leading axis.</div>")
        parts.append("<div style=\"overflow-x:auto\"><table style=\"border-collapse:collapse\">"
                     f"<thead><tr><th {th}>eqn</th>")
        for s in made:
            parts.append(f"<th {th} title=\"{html.escape(STAGES[s])}\">{s}</th>")
        parts.append("</tr></thead><tbody>")
        last = len(e.rows) - 1
        for k, row in enumerate(e.rows):
            emph = None if k in (0, last) else row.name
            label = (html.escape(row.name) if emph is None else
                     f"<span style=\"color:{prim_color(row.name)};font-weight:bold\">"
                     f"{html.escape(row.name)}</span>")
            parts.append(f"<tr><td {td}>{label}</td>")
            for s in made:
                header, eqn_chunks, final = chunks[s]
                cell = [eqn_chunks[i] for i in row.eqns[s]]
                if k == 0:
                    cell = [header] + cell
                if k == last:
                    cell = cell + [final]
                inner = highlight_ir_text("\n".join(cell), emph) if cell else ""
                parts.append(f"<td {td}>{_pre(inner)}</td>")
            parts.append("</tr>")
        parts.append("</tbody></table></div>")
    else:  # no alignment: the stages side by side, whole
        parts.append("<div style=\"display:grid;grid-template-columns:repeat(auto-fill,"
                     "minmax(320px,1fr));gap:6px\">")
        for s in made:
            parts.append(f"<div><b>{s}</b>" + _pre(highlight_ir_text(e.stages[s]),
                                                    "background:#f8f8f8;overflow-x:auto")
                         + "</div>")
        parts.append("</div>")
    for s, err in e.errors.items():
        parts.append(f"<div style=\"color:#b40426;margin:4px 0\"><b>{s} failed:</b> "
                     f"{html.escape(err)}</div>")
    for s, text in e.stages.items():
        nlines = text.count("\n") + 1
        body = highlight_ir_text(text) if s != "stablehlo" else _highlight_hlo(text)
        parts.append(f"<details><summary><b>{s}</b>: {html.escape(STAGES[s])} "
                     f"({nlines} lines)</summary>"
                     + _pre(body, "background:#f8f8f8;overflow-x:auto") + "</details>")
    parts.append("</div>")
    return "".join(parts)


_HLO_OP = re.compile(r"(stablehlo\.[a-z_]+)")


def _highlight_hlo(text: str) -> str:
    out = []
    for piece in _HLO_OP.split(text):
        if piece.startswith("stablehlo."):
            out.append(f"<span style=\"color:#3b4cc0;font-weight:bold\">{html.escape(piece)}"
                       "</span>")
        else:
            out.append(html.escape(piece))
    return "".join(out)


__all__ = ["explain", "Explanation", "Row", "STAGES", "prim_color", "highlight_ir_text",
           "ir_html", "array_html"]
