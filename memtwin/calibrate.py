"""Calibrate a device model from a hardware-style log (pulses and reads with measured conductances).

:func:`calibrate` streams the log once, pairing every pulse with the read just before it and the
read just after it, following each cell's reads after its last pulse (relaxation), and collecting
pairs of reads of an unchanged cell taken close together (read noise). It then fits, in this order:

1. read noise ``σ_read(g) = read_noise_abs_us + read_noise_rel·g``: maximum likelihood on the
   differences of close read pairs (``d ~ N(0, 2σ_read(g)²)``);
2. relaxation ``g(t) = g1 + Δ·(1 − exp(−t/τ))`` and ``σ_relax(g)``: τ by least squares with each
   cell's Δ profiled out, then ``relax_sigma_peak_us`` and ``relax_g_peak_us`` by maximum likelihood
   on the per-cell Δ (read noise included in the variance);
3. pulse response (SET: ``t_set``, ``v_set_slope_v``, ``v_set_threshold_v``, ``k_access_ua_per_v2``,
   ``v_gate_threshold_v``; RESET: ``t_reset``, ``v_reset_slope_v``, ``v_reset_threshold_v``,
   ``v_reset_depth_v``) by weighted least squares (Levenberg–Marquardt) on the steps, alternating with
   cycle-to-cycle noise (``c2c_rel``, ``c2c_abs_us``) by maximum likelihood on the residuals.

Held fixed (taken from the base spec): the bounds ``g_min_us``/``g_max_us``/``g_init_us`` (only
reached by saturating pulses, which the fit excludes), device-to-device variation and stuck cells
(population spreads, not the per-pulse response), telegraph noise and denoising, forming, and the
read I–V non-linearity (a fixed factor at the read voltage). Only numpy is used.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import twin
from twin.log.format import HardwareEvent, read_hardware_csv, read_log
from twin.spec.fields import yaml_key

FITTED = ("t_set_ps", "v_set_slope_v", "v_set_threshold_v", "k_access_ua_per_v2", "v_gate_threshold_v",
          "t_reset_ps", "v_reset_slope_v", "v_reset_threshold_v", "v_reset_depth_v", "c2c_rel", "c2c_abs_us",
          "read_noise_abs_us", "read_noise_rel", "relax_sigma_peak_us", "relax_g_peak_us", "tau_relax_ps")
"""Parameters of ``rram_1t1r`` the calibration fits; every other parameter is held at the base spec's value."""

SHORT_PS = 1_000_000_000
"""Reads within 1 ms of a pulse (or of each other) count as taken at once: relaxation (τ ~ 0.1 s) is negligible."""


@dataclass
class Calibration:
    """Fitted parameters and the quality of the fit."""

    model: str
    params: Any
    """The fitted Params dataclass (base values for the parameters not fitted)."""
    fitted: dict[str, float]
    """Fitted values by parameter name."""
    quality: dict[str, float] = field(default_factory=dict)
    """Fit quality: counts of data used, RMS residuals, normalized residual variances (≈ 1 is a good fit)."""

    def report(self) -> str:
        lines = [f"calibration of model {self.model!r}:"]
        for k, v in self.fitted.items():
            lines.append(f"  {k:<22} {v:>14.6g}")
        lines.append("fit quality:")
        for k, v in self.quality.items():
            lines.append(f"  {k:<34} {v:>12.6g}")
        return "\n".join(lines)


# --- extraction ---------------------------------------------------------------------------------
class _Extractor:
    """Streams hardware events and keeps, per cell, what the fits need."""

    def __init__(self, short_ps: int) -> None:
        self.short_ps = short_ps
        self.slot: dict[int, int] = {}
        n = 1024
        self.last_g = np.full(n, np.nan)
        self.last_t = np.zeros(n, dtype=np.int64)
        self.read_since_pulse = np.zeros(n, dtype=bool)
        self.pend = np.zeros(n, dtype=bool)  # a pulse not yet followed by a read
        self.pre_g = np.full(n, np.nan)
        self.p_t = np.zeros(n, dtype=np.int64)
        self.p_set = np.zeros(n, dtype=bool)
        self.p_v = np.zeros(n)
        self.p_w = np.zeros(n)
        self.p_vg = np.zeros(n)
        self.first_g = np.full(n, np.nan)  # first read right after the last pulse (relaxation origin)
        self.steps: list[np.ndarray] = []
        self.relax: list[np.ndarray] = []
        self.noise: list[np.ndarray] = []
        self.n_pulses = 0
        self.n_reads = 0

    def _slots(self, ev: HardwareEvent) -> np.ndarray:
        keys = (ev.tile * (1 << 40) + ev.rows * (1 << 20) + ev.cols).tolist()
        slot = self.slot
        out = np.empty(len(keys), dtype=np.int64)
        for i, k in enumerate(keys):
            s = slot.get(k)
            if s is None:
                s = slot[k] = len(slot)
            out[i] = s
        if len(slot) > self.last_g.size:
            self._grow(2 * len(slot))
        return out

    def _grow(self, n: int) -> None:
        for name, fill in (("last_g", np.nan), ("last_t", 0), ("read_since_pulse", False), ("pend", False),
                           ("pre_g", np.nan), ("p_t", 0), ("p_set", False), ("p_v", 0.0), ("p_w", 0.0),
                           ("p_vg", 0.0), ("first_g", np.nan)):
            a = getattr(self, name)
            b = np.full(n, fill, dtype=a.dtype)
            b[:a.size] = a
            setattr(self, name, b)

    def add(self, ev: HardwareEvent) -> None:
        s = self._slots(ev)
        t = ev.t_ps
        if ev.op == "pulse":
            self.n_pulses += s.size
            # the read before: the cell's last read, if no pulse came after it and it is recent
            ok = (~self.pend[s]) & (t - self.last_t[s] <= self.short_ps) & ~np.isnan(self.last_g[s])
            self.pre_g[s] = np.where(ok, self.last_g[s], np.nan)
            self.pend[s] = True
            self.p_t[s] = t
            self.p_set[s] = ev.polarity
            self.p_v[s] = ev.v_pulse_v
            self.p_w[s] = ev.width_ps
            self.p_vg[s] = ev.v_gate_v
            self.first_g[s] = np.nan
            return
        self.n_reads += s.size
        g = ev.g_us
        pend = self.pend[s]
        # 1. pulse steps: pre-read, pulse, post-read right after
        st = pend & (t - self.p_t[s] <= self.short_ps) & ~np.isnan(self.pre_g[s])
        if st.any():
            k = s[st]
            self.steps.append(np.stack([self.pre_g[k], g[st], self.p_set[k], self.p_v[k], self.p_w[k],
                                        self.p_vg[k]]))
        fresh = pend & (t - self.p_t[s] <= self.short_ps)
        self.first_g[s[fresh]] = g[fresh]
        # 2. relaxation: later reads of a cell whose first post-pulse read is known
        later = ~pend & ~np.isnan(self.first_g[s]) & (t - self.p_t[s] > self.short_ps)
        if later.any():
            k = s[later]
            self.relax.append(np.stack([k.astype(np.float64), self.first_g[k], (t - self.p_t[k]).astype(np.float64),
                                        g[later]]))
        # 3. read noise: two reads of an unchanged cell close together
        pair = ~pend & (t - self.last_t[s] <= self.short_ps) & ~np.isnan(self.last_g[s])
        if pair.any():
            self.noise.append(np.stack([self.last_g[s[pair]], g[pair]]))
        self.pend[s] = False
        self.last_g[s] = g
        self.last_t[s] = t

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cat = lambda parts, n: np.concatenate(parts, axis=1) if parts else np.zeros((n, 0))  # noqa: E731
        return cat(self.steps, 6), cat(self.relax, 4), cat(self.noise, 2)


# --- small numerical tools ----------------------------------------------------------------------
def _nelder_mead(f: Callable[[np.ndarray], float], x0: np.ndarray, step: np.ndarray, iters: int = 400,
                 tol: float = 1e-10) -> np.ndarray:
    """Minimize *f* from *x0* (a plain Nelder–Mead simplex)."""
    n = x0.size
    pts = [x0.astype(float)] + [x0 + np.eye(n)[i] * step[i] for i in range(n)]
    vals = [f(p) for p in pts]
    for _ in range(iters):
        order = np.argsort(vals)
        pts = [pts[i] for i in order]
        vals = [vals[i] for i in order]
        if abs(vals[-1] - vals[0]) <= tol * (abs(vals[0]) + tol):
            break
        c = np.mean(pts[:-1], axis=0)
        xr = c + (c - pts[-1])
        fr = f(xr)
        if fr < vals[0]:
            xe = c + 2 * (c - pts[-1])
            fe = f(xe)
            pts[-1], vals[-1] = (xe, fe) if fe < fr else (xr, fr)
        elif fr < vals[-2]:
            pts[-1], vals[-1] = xr, fr
        else:
            xc = c + 0.5 * (pts[-1] - c)
            fc = f(xc)
            if fc < vals[-1]:
                pts[-1], vals[-1] = xc, fc
            else:
                pts = [pts[0]] + [pts[0] + 0.5 * (p - pts[0]) for p in pts[1:]]
                vals = [vals[0]] + [f(p) for p in pts[1:]]
    return pts[int(np.argmin(vals))]


def _levenberg_marquardt(resid: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, iters: int = 60
                         ) -> np.ndarray:
    """Minimize ``sum(resid(x)**2)`` (forward-difference Jacobian, adaptive damping)."""
    x = x0.astype(float)
    r = resid(x)
    cost = float(r @ r)
    lam = 1e-3
    for _ in range(iters):
        h = 1e-6 * np.maximum(np.abs(x), 1e-3)
        jac = np.empty((r.size, x.size))
        for i in range(x.size):
            xi = x.copy()
            xi[i] += h[i]
            jac[:, i] = (resid(xi) - r) / h[i]
        a = jac.T @ jac
        g = jac.T @ r
        improved = False
        for _ in range(12):
            try:
                dx = -np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-12), g)
            except np.linalg.LinAlgError:
                lam *= 10
                continue
            with np.errstate(all="ignore"):
                r_new = resid(x + dx)
                c_new = float(r_new @ r_new)
            if np.isfinite(c_new) and c_new < cost:
                done = cost - c_new < 1e-12 * cost
                x, r, cost = x + dx, r_new, c_new
                lam = max(lam / 3, 1e-9)
                improved = True
                break
            lam *= 4
        if not improved or done:
            break
    return x


# --- models -------------------------------------------------------------------------------------
def _set_step(theta: np.ndarray, g0, v, w, vg, g_max: float) -> np.ndarray:
    ln_t, slope, vth, ln_k, vt = theta
    slope, vth = max(abs(slope), 1e-4), max(vth, 1e-3)
    ov = np.maximum(vg - vt, 0.0)
    ceil = np.minimum(g_max, 0.5 * math.exp(min(ln_k, 50.0)) * ov * ov / vth)
    x = v - vth
    drive = (w * math.exp(-min(max(ln_t, -50.0), 50.0))) * np.expm1(np.minimum(x, 50 * slope) / slope)
    step = -np.expm1(-drive) * (ceil - g0)
    return np.where((x > 0) & (ceil > g0), step, 0.0)


def _reset_step(theta: np.ndarray, g0, v, w, g_min: float, g_max: float) -> np.ndarray:
    ln_t, slope, vth, depth = theta
    slope, depth = max(abs(slope), 1e-4), max(abs(depth), 1e-4)
    x = v - vth
    floor = g_min + (g_max - g_min) * np.exp(-np.maximum(x, 0.0) / depth)
    drive = (w * math.exp(-min(max(ln_t, -50.0), 50.0))) * np.expm1(np.minimum(x, 50 * slope) / slope)
    step = np.expm1(-drive) * (g0 - floor)
    return np.where((x > 0) & (g0 > floor), step, 0.0)


def _relax_sigma(g, peak, g_peak):
    u = np.maximum(g, 0.0) / g_peak
    return peak * u * np.exp(1.0 - u)


# --- the fit ------------------------------------------------------------------------------------
def calibrate_events(events: Any, base: Any, model: str = "rram_1t1r", short_ps: int = SHORT_PS) -> Calibration:
    """Fit *base* (a Params dataclass of *model*) to a stream of :class:`HardwareEvent`."""
    if model != "rram_1t1r":
        raise ValueError(f"model must be 'rram_1t1r' (the only model with fitted parameters), not {model!r}")
    ex = _Extractor(short_ps)
    for ev in events:
        ex.add(ev)
    steps, relax, noise = ex.arrays()
    p = base
    quality: dict[str, float] = {"pulses": ex.n_pulses, "reads": ex.n_reads, "pulse_steps_used": 0,
                                 "relaxation_reads_used": 0, "read_pairs_used": noise.shape[1]}
    fitted: dict[str, float] = {}

    # 1. read noise -------------------------------------------------------------------------------
    a, b = p.read_noise_abs_us, p.read_noise_rel
    if noise.shape[1] >= 10:
        gm = 0.5 * (noise[0] + noise[1])
        d = noise[1] - noise[0]

        def nll_noise(x):
            s = np.abs(x[0]) + np.abs(x[1]) * gm
            var = 2 * s * s + 1e-18
            return float(np.sum(np.log(var) + d * d / var))

        x = _nelder_mead(nll_noise, np.array([max(a, 1e-3), max(b, 1e-4)]), np.array([0.02, 0.002]))
        a, b = float(abs(x[0])), float(abs(x[1]))
        s = a + b * gm
        quality["read_noise_norm_var"] = float(np.mean(d * d / (2 * s * s)))
    fitted["read_noise_abs_us"], fitted["read_noise_rel"] = a, b
    sig_r = lambda g: a + b * np.abs(g)  # noqa: E731

    # 2. relaxation -------------------------------------------------------------------------------
    tau, peak, g_peak = float(p.tau_relax_ps), p.relax_sigma_peak_us, p.relax_g_peak_us
    if relax.shape[1] >= 10:
        cell = relax[0].astype(np.int64)
        g1, dt, y = relax[1], relax[2], relax[3] - relax[1]
        uniq, inv = np.unique(cell, return_inverse=True)

        def profile(ln_tau: float) -> tuple[float, np.ndarray]:
            h = -np.expm1(-dt / math.exp(ln_tau))
            num = np.bincount(inv, h * y, uniq.size)
            den = np.bincount(inv, h * h, uniq.size)
            delta = num / np.maximum(den, 1e-300)
            r = y - delta[inv] * h
            return float(r @ r), delta

        lo, hi = math.log(max(dt.min(), 1.0)) - 3, math.log(dt.max()) + 1
        grid = np.linspace(lo, hi, 60)
        costs = [profile(v)[0] for v in grid]
        i = int(np.argmin(costs))
        lt = float(_nelder_mead(lambda x: profile(float(x[0]))[0], np.array([grid[i]]),
                                np.array([grid[1] - grid[0]]), iters=200, tol=1e-14)[0])
        tau = math.exp(lt)
        _, delta = profile(lt)
        g_cell = np.bincount(inv, g1, uniq.size) / np.bincount(inv, None, uniq.size)
        n_per = np.bincount(inv, None, uniq.size)
        # variance of the profiled Δ from read noise: about σ_r(g1)² (first read) + σ_r²/n (later reads)
        var_n = sig_r(g_cell) ** 2 * (1 + 1 / np.maximum(n_per, 1))

        def nll_relax(x):
            var = _relax_sigma(g_cell, abs(x[0]), abs(x[1])) ** 2 + var_n + 1e-18
            return float(np.sum(np.log(var) + delta * delta / var))

        x = _nelder_mead(nll_relax, np.array([peak, g_peak]), np.array([0.3 * peak, 0.3 * g_peak]))
        peak, g_peak = float(abs(x[0])), float(abs(x[1]))
        var = _relax_sigma(g_cell, peak, g_peak) ** 2 + var_n
        quality["relaxation_reads_used"] = relax.shape[1]
        quality["relaxation_cells"] = uniq.size
        quality["relaxation_norm_var"] = float(np.mean(delta * delta / var))
    fitted["relax_sigma_peak_us"], fitted["relax_g_peak_us"], fitted["tau_relax_ps"] = peak, g_peak, tau

    # 3. pulse response and cycle-to-cycle noise --------------------------------------------------
    g_lo, g_hi = p.g_min_us, p.g_max_us
    th_s = np.array([math.log(p.t_set_ps), p.v_set_slope_v, p.v_set_threshold_v, math.log(p.k_access_ua_per_v2),
                     p.v_gate_threshold_v])
    th_r = np.array([math.log(p.t_reset_ps), p.v_reset_slope_v, p.v_reset_threshold_v, p.v_reset_depth_v])
    c_rel, c_abs = p.c2c_rel, p.c2c_abs_us
    if steps.shape[1] >= 20:
        g0, g1, is_set, v, w, vg = steps
        is_set = is_set.astype(bool)
        # Exclude steps that may have been clipped at the bounds (the model clips after the noise).
        margin = 0.05 * (g_hi - g_lo)
        keep = (g1 > g_lo + margin) & (g1 < g_hi - margin) & (g0 > g_lo + margin) & (g0 < g_hi - margin)
        g0, g1, is_set, v, w, vg = (a_[keep] for a_ in (g0, g1, is_set, v, w, vg))
        dg = g1 - g0
        quality["pulse_steps_used"] = int(g0.size)
        var_read = sig_r(g0) ** 2 + sig_r(g1) ** 2
        S, R = is_set, ~is_set
        for _ in range(4):
            def weights(m, mask):
                return 1.0 / np.sqrt(np.where(m != 0, (c_rel * m) ** 2 + c_abs ** 2, 0.0) + var_read[mask])

            m_s = _set_step(th_s, g0[S], v[S], w[S], vg[S], g_hi)
            ws = weights(m_s, S)
            th_s = _levenberg_marquardt(lambda th: (dg[S] - _set_step(th, g0[S], v[S], w[S], vg[S], g_hi)) * ws, th_s)
            m_r = _reset_step(th_r, g0[R], v[R], w[R], g_lo, g_hi)
            wr = weights(m_r, R)
            th_r = _levenberg_marquardt(lambda th: (dg[R] - _reset_step(th, g0[R], v[R], w[R], g_lo, g_hi)) * wr,
                                        th_r)
            m = np.empty_like(dg)
            m[S] = _set_step(th_s, g0[S], v[S], w[S], vg[S], g_hi)
            m[R] = _reset_step(th_r, g0[R], v[R], w[R], g_lo, g_hi)
            r = dg - m
            sw = m != 0

            def nll_c2c(x):
                var = np.where(sw, (x[0] * m) ** 2 + x[1] ** 2, 0.0) + var_read
                return float(np.sum(np.log(var) + r * r / var))

            x = _nelder_mead(nll_c2c, np.array([max(c_rel, 0.01), max(c_abs, 0.01)]), np.array([0.05, 0.05]))
            c_rel, c_abs = float(abs(x[0])), float(abs(x[1]))
        var = np.where(sw, (c_rel * m) ** 2 + c_abs ** 2, 0.0) + var_read
        quality["pulse_rms_residual_us"] = float(np.sqrt(np.mean(r * r)))
        quality["pulse_norm_var"] = float(np.mean(r * r / var))
    fitted.update(t_set_ps=math.exp(th_s[0]), v_set_slope_v=th_s[1], v_set_threshold_v=th_s[2],
                  k_access_ua_per_v2=math.exp(th_s[3]), v_gate_threshold_v=th_s[4], t_reset_ps=math.exp(th_r[0]),
                  v_reset_slope_v=th_r[1], v_reset_threshold_v=th_r[2], v_reset_depth_v=th_r[3], c2c_rel=c_rel,
                  c2c_abs_us=c_abs)
    # Rounded as the spec file writes them (whole ns, 6 significant digits), so the file is the fit.
    fitted = {k: (float(round(fitted[k], -3)) if k.endswith("_ps") else float(f"{fitted[k]:.6g}")) for k in FITTED}
    values = {k: (int(v) if k.endswith("_ps") else v) for k, v in fitted.items()}
    params = dataclasses.replace(base, **values)
    return Calibration(model, params, fitted, quality)


def calibrate(path: str | Path, base_spec: twin.ChipSpec, model: str = "rram_1t1r",
              short_ps: int = SHORT_PS) -> Calibration:
    """Fit the device parameters of *base_spec* (which must use *model*) to the hardware log *path*
    (JSON Lines, or CSV when the name ends in ``.csv``; a twin log is read through its hardware form)."""
    if base_spec.tile.device.model != model:
        raise ValueError(f"the base spec must use device model {model!r}, not {base_spec.tile.device.model!r}")
    path = Path(path)
    if path.suffix == ".csv":
        _, events = read_hardware_csv(path)
        return calibrate_events(events, base_spec.tile.device.params, model, short_ps)
    from twin.log.format import twin_records_to_hardware

    with read_log(path) as reader:
        events = iter(reader) if reader.form == "hardware" else twin_records_to_hardware(iter(reader))
        return calibrate_events(events, base_spec.tile.device.params, model, short_ps)


# --- writing the fitted spec --------------------------------------------------------------------
def _yaml_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if name.endswith("_ps"):
        ns = int(value) / 1000
        return str(int(ns)) if ns == int(ns) else repr(ns)
    if isinstance(value, int):
        return str(value)
    return f"{float(value):.6g}"


def _same_value(old: str, new: str) -> bool:
    try:
        return float(old) == float(new)
    except ValueError:
        return old.strip() == new


def fitted_spec_text(source_text: str, params: Any, name: str | None = None) -> str:
    """*source_text* (a chip spec YAML) with its ``device.params`` values replaced by *params*.

    Lines are edited in place, so comments are kept; keys missing from the block are appended to it.
    With *name*, the spec's ``name`` is replaced too.
    """
    lines = source_text.splitlines(keepends=True)
    start = indent = None
    for i, line in enumerate(lines):
        if re.match(r"^\s*params:\s*(#.*)?$", line) and i > 0 and any(
                re.match(r"^\s*device:", lines[j]) for j in range(max(0, i - 3), i)):
            start = i
            break
    if start is None:
        raise ValueError("the spec has no block-style 'device: params:' section to edit")
    base_indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.lstrip().startswith("#") and len(line) - len(line.lstrip()) <= base_indent:
            break
        if line.strip() and indent is None and not line.lstrip().startswith("#"):
            indent = len(line) - len(line.lstrip())
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    indent = indent if indent is not None else base_indent + 2
    values = {yaml_key(f.name): _yaml_value(f.name, getattr(params, f.name)) for f in dataclasses.fields(params)}
    seen = set()
    for i in range(start + 1, end):
        m = re.match(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*):(\s*)([^#\n]*?)(\s*)(#.*)?(\n?)$", lines[i])
        if m and m.group(2) in values:
            key = m.group(2)
            seen.add(key)
            if _same_value(m.group(4), values[key]):
                continue  # unchanged: keep the line as written
            comment = m.group(6) or ""
            body = f"{m.group(1)}{key}: {values[key]}"
            if comment:
                pad = max(len(m.group(1)) + len(key) + 2 + len(m.group(4)) + len(m.group(5)), len(body) + 1)
                body = body.ljust(pad) + comment
            lines[i] = body + "\n"
    extra = [f"{' ' * indent}{k}: {v}\n" for k, v in values.items() if k not in seen]
    lines[end:end] = extra
    text = "".join(lines)
    if name is not None:
        text = re.sub(r"(?m)^name:.*$", f"name: {name}", text, count=1)
    return text


def write_fitted_spec(source_text: str, calibration: Calibration, out: str | Path, name: str | None = None) -> str:
    """Write the fitted spec to *out* (checked by loading it back); returns its text."""
    text = fitted_spec_text(source_text, calibration.params, name)
    twin.loads_spec(text, Path(out).name)  # raises SpecError if the edit broke anything
    Path(out).write_text(text)
    return text


# --- a synthetic experiment ---------------------------------------------------------------------
def run_synthetic_experiment(spec: twin.ChipSpec, path: str | Path, seed: int = 0, n_pulses: int = 102_400,
                             block: int = 64, relax_delays_ps: tuple[int, ...] = (
                                 10_000_000_000, 30_000_000_000, 60_000_000_000, 120_000_000_000,
                                 250_000_000_000, 3_000_000_000_000),
                             noise_reads: int = 8) -> int:
    """Run a characterization experiment on a twin of *spec* and write its hardware-form log to *path*.

    On a *block* x *block* array of tile 0: rounds of (read every cell, pulse every cell) with random
    polarity (towards a random target), amplitude, width and gate voltage, then a final read; then reads
    at the delays *relax_delays_ps* after the last pulse (relaxation); then *noise_reads* reads in a row
    (read noise). Returns the number of pulses. Used to test the calibration on known parameters.
    """
    from firmware.driver import open_chip
    from twin.log.format import LogHeader, twin_records_to_hardware, write_jsonl

    rng = np.random.default_rng(seed + 1)
    p = spec.tile.device.params
    prog = spec.tile.programming
    twin_log = Path(str(path) + ".twin.jsonl")
    chip = open_chip(spec, seed, log=twin_log)
    tile = chip.tile(0)
    rows, cols = np.arange(block)[:, None], np.arange(block)[None, :]
    n = block * block
    rounds = -(-n_pulses // n)
    g = tile.read(rows, cols).values.ravel()
    for _ in range(rounds):
        target = rng.uniform(p.g_min_us + 0.2 * (p.g_max_us - p.g_min_us),
                             p.g_min_us + 0.6 * (p.g_max_us - p.g_min_us), n)
        is_set = g < target
        v = np.where(is_set, p.v_set_threshold_v + rng.uniform(-0.05, 0.35, n),
                     p.v_reset_threshold_v + rng.uniform(-0.05, 0.5, n))
        v = np.clip(np.round(v, 3), *prog.v_set_range_v)
        width = rng.choice(np.array([200_000, 500_000, 1_000_000, 2_000_000]), n)
        ov = np.sqrt(2 * p.v_set_threshold_v * np.array([0.35, 0.5, 0.7]) * (p.g_max_us - p.g_min_us)
                     / p.k_access_ua_per_v2)
        gate = np.clip(np.round(p.v_gate_threshold_v + rng.choice(ov, n), 3), *prog.v_gate_range_v)
        tile.pulse(rows.repeat(block, 1).ravel(), cols.repeat(block, 0).ravel(), is_set, v,
                   np.clip(width, *prog.width_range_ps), gate)
        g = tile.read(rows, cols).values.ravel()
    start = chip.now_ps
    for delay in relax_delays_ps:
        chip.wait(start + delay - chip.now_ps)
        tile.read(rows, cols)
    for _ in range(noise_reads):
        tile.read(rows, cols)
    chip.log.close()
    header = LogHeader(form="hardware", spec_name=spec.name, spec_sha256=spec.sha256, seed=seed,
                       extra={"device": f"synthetic: twin of {spec.name!r}"})
    with read_log(twin_log) as reader:
        write_jsonl(path, header, (ev.to_json() for ev in twin_records_to_hardware(iter(reader))))
    twin_log.unlink()
    return rounds * n
