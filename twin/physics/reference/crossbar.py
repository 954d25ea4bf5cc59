"""Plain-numpy references for :mod:`twin.physics.crossbar` (small arrays only: dense solve).

The IR-drop reference assembles the full modified-nodal-analysis (MNA) system of the crossbar:
one unknown per row node and column node, plus one branch-current unknown per ideal (0-Ω)
element, which is then a voltage source of 0 V (wire) or v_i (driver). The dense system is solved
directly with ``numpy.linalg.solve``. Units: µS, V, µA, µW, Ω.
"""

import numpy as np


def series_conductance_ref_us(g_us, r_access_ohm):
    """1 / (1/g + r_access) in µS, elementwise; g_us in µS, r_access_ohm in Ω."""
    g_us = np.asarray(g_us, dtype=np.float64)
    out = np.zeros_like(g_us)
    nz = g_us > 0.0
    out[nz] = 1.0 / (1.0 / g_us[nz] + r_access_ohm * 1e-6)
    return out


def ideal_currents_ref_ua(v_in_v, g_eff_us):
    """Column currents without wire resistance, i_col_ua = v_in_v @ g_eff_us (µA)."""
    return np.asarray(v_in_v, dtype=np.float64) @ np.asarray(g_eff_us, dtype=np.float64)


def ir_drop_ref(g_us, r_row_ohm, r_col_ohm, r_driver_ohm, r_sense_ohm, r_access_ohm, v_in_v):
    """Dense MNA solve of the crossbar for one input vector.

    g_us (m, n) µS; resistances in Ω (0 = ideal); v_in_v (m,) V.
    Returns dict with i_col_ua (n,) current through each sense element into ground (µA),
    p_source_uw source power sum_i v_i I_driver_i (µW), p_cells_uw power in the cell branches
    (µW), p_wire_uw power in wire, driver and sense resistances (µW), v_row_v and v_col_v
    (m, n) node voltages (V).
    """
    g_us = np.asarray(g_us, dtype=np.float64)
    v_in_v = np.asarray(v_in_v, dtype=np.float64)
    m, n = g_us.shape
    g_eff_us = series_conductance_ref_us(g_us, r_access_ohm)

    def row_node(i, j):
        return i * n + j

    def col_node(i, j):
        return m * n + i * n + j

    gnd = -1
    n_nodes = 2 * m * n
    # Element list: (node_a, node_b, kind, value, tag). kind "g": conductance (µS) between a
    # and b; kind "v": ideal source V(a) - V(b) = value (V), unknown current a -> b (µA).
    elements = []

    def resistor(a, b, r_ohm, tag):
        # A 0-Ω element becomes a 0-V source (its current is then an explicit unknown).
        if r_ohm == 0.0:
            elements.append((a, b, "v", 0.0, tag))
        else:
            elements.append((a, b, "g", 1e6 / r_ohm, tag))

    for i in range(m):
        # Driver: ideal source v_i from ground to an internal node s, then r_driver to (i, 0).
        s = n_nodes + i
        elements.append((s, gnd, "v", v_in_v[i], ("src", i)))
        resistor(s, row_node(i, 0), r_driver_ohm, ("drv", i))
        for j in range(n - 1):
            resistor(row_node(i, j), row_node(i, j + 1), r_row_ohm, ("row", i, j))
    for j in range(n):
        for i in range(m - 1):
            resistor(col_node(i, j), col_node(i + 1, j), r_col_ohm, ("col", i, j))
        resistor(col_node(m - 1, j), gnd, r_sense_ohm, ("sense", j))
    for i in range(m):
        for j in range(n):
            elements.append((row_node(i, j), col_node(i, j), "g", g_eff_us[i, j],
                             ("cell", i, j)))

    n_v = n_nodes + m
    src_elems = [k for k, e in enumerate(elements) if e[2] == "v"]
    size = n_v + len(src_elems)
    a_mat = np.zeros((size, size))
    b_vec = np.zeros(size)
    branch_of = {}
    for k, (a, b, kind, val, tag) in enumerate(elements):
        if kind == "g":
            for p, q in ((a, b), (b, a)):
                if p != gnd:
                    a_mat[p, p] += val
                    if q != gnd:
                        a_mat[p, q] -= val
        else:
            row = n_v + len(branch_of)
            branch_of[k] = row
            if a != gnd:
                a_mat[a, row] += 1.0
                a_mat[row, a] += 1.0
            if b != gnd:
                a_mat[b, row] -= 1.0
                a_mat[row, b] -= 1.0
            b_vec[row] = val
    x = np.linalg.solve(a_mat, b_vec)
    volt = np.append(x[:n_v], 0.0)  # index -1 (ground) reads 0 V

    def element_current(k):
        a, b, kind, val, _tag = elements[k]
        if kind == "g":
            return val * (volt[a] - volt[b])
        return x[branch_of[k]]

    i_col_ua = np.zeros(n)
    p_source_uw = 0.0
    p_cells_uw = 0.0
    p_wire_uw = 0.0
    for k, (a, b, kind, val, tag) in enumerate(elements):
        cur = element_current(k)
        if tag[0] == "src":
            # Current a -> b through the source flows from + to ground inside it; the source
            # delivers v_i * (current out of its + terminal) = -v_i * cur.
            p_source_uw += -val * cur
        elif tag[0] == "sense":
            i_col_ua[tag[1]] = cur
            p_wire_uw += cur * (volt[a] - volt[b])
        elif tag[0] == "cell":
            p_cells_uw += cur * (volt[a] - volt[b])
        else:
            p_wire_uw += cur * (volt[a] - volt[b])
    return {
        "i_col_ua": i_col_ua,
        "p_source_uw": p_source_uw,
        "p_cells_uw": p_cells_uw,
        "p_wire_uw": p_wire_uw,
        "v_row_v": volt[:m * n].reshape(m, n).copy(),
        "v_col_v": volt[m * n:2 * m * n].reshape(m, n).copy(),
    }


def ir_drop_ref_batch(g_us, r_row_ohm, r_col_ohm, r_driver_ohm, r_sense_ohm, r_access_ohm,
                      v_in_v):
    """:func:`ir_drop_ref` for v_in_v (batch, m): returns (i_col_ua (batch, n),
    p_source_uw (batch,), p_cells_uw (batch,))."""
    v_in_v = np.atleast_2d(np.asarray(v_in_v, dtype=np.float64))
    outs = [ir_drop_ref(g_us, r_row_ohm, r_col_ohm, r_driver_ohm, r_sense_ohm, r_access_ohm, v)
            for v in v_in_v]
    return (np.array([o["i_col_ua"] for o in outs]),
            np.array([o["p_source_uw"] for o in outs]),
            np.array([o["p_cells_uw"] for o in outs]))


def nodal_system_coo(g_eff_us, r_row_ohm, r_col_ohm, r_driver_ohm, r_sense_ohm):
    """Nodal conductance matrix of the crossbar as COO triplets (all resistances > 0).

    g_eff_us (m, n) branch conductances in µS. Unknowns: row node (i, j) at i*n + j, column
    node (i, j) at m*n + i*n + j. Returns (rows, cols, vals_us, size, drive_idx, sense_idx,
    g_drv_us, g_sense_us): the right-hand side for inputs v (m,) is g_drv_us * v at drive_idx;
    column currents are g_sense_us * x[sense_idx]. For building a sparse baseline solver.
    """
    if min(r_row_ohm, r_col_ohm, r_driver_ohm, r_sense_ohm) <= 0.0:
        raise ValueError("nodal_system_coo needs all resistances > 0")
    g_eff_us = np.asarray(g_eff_us, dtype=np.float64)
    m, n = g_eff_us.shape
    n_cell = m * n
    idx = np.arange(n_cell).reshape(m, n)
    g_row_us, g_col_us = 1e6 / r_row_ohm, 1e6 / r_col_ohm
    g_drv_us, g_sense_us = 1e6 / r_driver_ohm, 1e6 / r_sense_ohm
    a = np.concatenate([idx[:, :-1].ravel(), n_cell + idx[:-1, :].ravel(), idx.ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), n_cell + idx[1:, :].ravel(), n_cell + idx.ravel()])
    g = np.concatenate([np.full(m * (n - 1), g_row_us), np.full((m - 1) * n, g_col_us),
                        g_eff_us.ravel()])
    diag = np.zeros(2 * n_cell)
    np.add.at(diag, a, g)
    np.add.at(diag, b, g)
    drive_idx = idx[:, 0].copy()
    sense_idx = n_cell + idx[m - 1, :]
    diag[drive_idx] += g_drv_us
    diag[sense_idx] += g_sense_us
    rows = np.concatenate([a, b, np.arange(2 * n_cell)])
    cols = np.concatenate([b, a, np.arange(2 * n_cell)])
    vals_us = np.concatenate([-g, -g, diag])
    return rows, cols, vals_us, 2 * n_cell, drive_idx, sense_idx, g_drv_us, g_sense_us
