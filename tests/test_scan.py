"""scan and its views against NumPy loops: taps, several outputs, updates, until, errors, grads."""

import pickle

import numpy as np
import pytest

import graphcore as theano
import graphcore.scan_module as sm
import graphcore.tensor as T
from graphcore.ifelse import ifelse
from graphcore.scan import Scan, foldl, foldr, reduce, scan, scan_checkpoints
from graphcore.scan import map as scan_map
from graphcore.scan_module import until
from graphcore.testing import parametrize_backends, verify_grad

RNG = np.random.default_rng(42)


def _fn(inputs, outputs, backend=None, **kw):
    mode = theano.Mode(linker=backend) if backend else None
    return theano.function(inputs, outputs, mode=mode, **kw)


def _scan_kernels(f):
    """The kernel kind of each Scan instruction of a compiled function (cpu backend)."""
    return [kind for op, kind in f.executable.kernel_labels() if op.startswith("Scan{")]


def _native_on_cpu(f, backend):
    """On the cpu backend every loop of `f` runs in the VM's scan kernel, not in perform."""
    if backend == "cpu":
        kinds = _scan_kernels(f)
        assert kinds and set(kinds) == {"native"}, kinds


# -------------------------------------------------------------- the loops tutorial
@parametrize_backends()
def test_power_by_repeated_multiplication(backend):
    k = T.iscalar("k")
    A = T.dvector("A")
    result, updates = scan(fn=lambda prior, A: prior * A, outputs_info=T.ones_like(A),
                           non_sequences=A, n_steps=k)
    f = _fn([A, k], result[-1], backend, updates=updates)
    _native_on_cpu(f, backend)
    np.testing.assert_allclose(f(np.arange(10.0), 2), np.arange(10.0) ** 2)
    full = _fn([A, k], result, backend)(np.arange(3.0), 4)
    np.testing.assert_allclose(full, [np.arange(3.0) ** p for p in range(1, 5)])


@parametrize_backends()
def test_polynomial_over_coefficients_shortest_sequence(backend):
    coefficients = T.dvector("coefficients")
    x = T.dscalar("x")
    components, _ = scan(fn=lambda c, power, x: c * (x ** power), outputs_info=None,
                         sequences=[coefficients, T.arange(1000)], non_sequences=x)
    f = _fn([coefficients, x], components.sum(), backend)
    assert f(np.array([1.0, 0.0, 2.0]), 3.0) == pytest.approx(19.0)


def test_sum_of_powers_with_reduce():
    x = T.dvector("x")
    k = T.iscalar("k")
    powers, _ = scan(lambda p, x: p * x, outputs_info=T.ones_like(x), non_sequences=x, n_steps=k)
    total = powers.sum(axis=0)
    xv = np.array([0.5, 2.0])
    np.testing.assert_allclose(_fn([x, k], total)(xv, 4), sum(xv ** p for p in range(1, 5)))


@parametrize_backends()
def test_tanh_rnn_against_numpy(backend):
    X = T.dmatrix("X")
    W, U = T.dmatrices("W", "U")
    b = T.dvector("b")
    h0 = T.dvector("h0")
    hs, _ = scan(lambda x_t, h, W, U, b: T.tanh(T.dot(x_t, W) + T.dot(h, U) + b),
                 sequences=X, outputs_info=h0, non_sequences=[W, U, b])
    f = _fn([X, W, U, b, h0], hs, backend)
    _native_on_cpu(f, backend)
    xv, wv, uv = RNG.normal(size=(6, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=(4, 4)) * 0.5
    bv, hv = RNG.normal(size=4), RNG.normal(size=4)
    h, want = hv, []
    for t in range(6):
        h = np.tanh(xv[t] @ wv + h @ uv + bv)
        want.append(h)
    np.testing.assert_allclose(f(xv, wv, uv, bv, hv), want, rtol=1e-12)


# ----------------------------------------------------------------- taps and outputs
@parametrize_backends()
def test_output_taps_fibonacci_like(backend):
    init = T.dvector("init")
    out, _ = scan(lambda a, b: a + 2.0 * b, outputs_info=dict(initial=init, taps=[-2, -1]),
                  n_steps=5)
    f = _fn([init], out, backend)
    _native_on_cpu(f, backend)
    got = f(np.array([1.0, 1.0]))
    seq = [1.0, 1.0]
    for _ in range(5):
        seq.append(seq[-2] + 2 * seq[-1])
    np.testing.assert_allclose(got, seq[2:])


@parametrize_backends()
def test_sequence_taps_past_and_future(backend):
    x = T.dvector("x")
    out, _ = scan(lambda xm2, x0, xp1: xm2 + 10 * x0 + 100 * xp1,
                  sequences=dict(input=x, taps=[-2, 0, 1]))
    xv = np.arange(7.0)
    want = [xv[t - 2] + 10 * xv[t] + 100 * xv[t + 1] for t in range(2, 6)]
    f = _fn([x], out, backend)
    _native_on_cpu(f, backend)
    np.testing.assert_allclose(f(xv), want)


@parametrize_backends()
def test_several_outputs_mixed_kinds(backend):
    x = T.dvector("x")
    s0 = T.dscalar("s0")

    def step(x_t, s):
        return s + x_t, x_t * 2.0  # a running sum (fed back) and a map-like output

    (sums, doubled), _ = scan(step, sequences=x, outputs_info=[s0, None])
    f = _fn([x, s0], [sums, doubled], backend)
    _native_on_cpu(f, backend)
    xv = np.array([1.0, 2.0, 3.0])
    got = f(xv, 10.0)
    np.testing.assert_allclose(got[0], 10 + np.cumsum(xv))
    np.testing.assert_allclose(got[1], 2 * xv)


@parametrize_backends()
def test_go_backwards(backend):
    x = T.dvector("x")
    out, _ = scan(lambda x_t, acc: acc * 10 + x_t, sequences=x, outputs_info=T.constant(0.0),
                  go_backwards=True)
    f = _fn([x], out, backend)
    _native_on_cpu(f, backend)
    np.testing.assert_allclose(f(np.array([1.0, 2.0, 3.0])), [3, 32, 321])


@parametrize_backends()
def test_shared_variable_read_in_step_and_updates(backend):
    w = theano.shared(np.array(2.0), name="w")
    counter = theano.shared(np.array(0.0), name="counter")
    x = T.dvector("x")

    def step(x_t):
        return x_t * w, {counter: counter + x_t}

    out, updates = scan(step, sequences=x)
    f = _fn([x], out, backend, updates=updates)
    _native_on_cpu(f, backend)
    np.testing.assert_allclose(f(np.array([1.0, 2.0, 3.0])), [2.0, 4.0, 6.0])
    assert counter.get_value() == pytest.approx(6.0)
    f(np.array([1.0]))
    assert counter.get_value() == pytest.approx(7.0)
    w.set_value(np.array(5.0))
    np.testing.assert_allclose(f(np.array([1.0])), [5.0])


def test_random_stream_inside_the_loop_advances():
    srng = T.shared_randomstreams.RandomStreams(seed=3)
    x = T.dvector("x")
    out, updates = scan(lambda x_t: x_t + srng.uniform(), sequences=x)
    f = theano.function([x], out, updates=updates)
    a = f(np.zeros(4))
    b = f(np.zeros(4))
    assert a.shape == (4,) and np.all((a >= 0) & (a < 1))
    assert len(set(a.tolist())) == 4  # a new draw each step
    assert not np.allclose(a, b)  # the generator state was carried out of the loop


@parametrize_backends()
def test_until_stops_early(backend):
    def power_of_2(previous, max_value):
        return previous * 2, until(previous * 2 > max_value)

    max_value = T.dscalar("max_value")
    values, _ = scan(power_of_2, outputs_info=T.constant(1.0), non_sequences=max_value,
                     n_steps=1024)
    f = _fn([max_value], values, backend)
    _native_on_cpu(f, backend)
    np.testing.assert_allclose(f(45.0), [2, 4, 8, 16, 32, 64])


@parametrize_backends()
def test_nested_scan(backend):
    M = T.dmatrix("M")

    def row_cumsum(row):
        out, _ = scan(lambda v, acc: acc + v, sequences=row, outputs_info=T.constant(0.0))
        return out

    out, _ = scan(row_cumsum, sequences=M)
    mv = RNG.normal(size=(3, 4))
    f = _fn([M], out, backend)
    _native_on_cpu(f, backend)
    if backend == "cpu":  # the inner loop too, inside the outer loop's step
        (node,) = [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Scan)]
        _native_on_cpu(node.op.fn, backend)
    np.testing.assert_allclose(f(mv), np.cumsum(mv, axis=1))


# --------------------------------------------------------------------- views
def test_map_reduce_foldl_foldr():
    x = T.dvector("x")
    sq, _ = scan_map(lambda v: v ** 2, x)
    total, _ = reduce(lambda v, acc: acc + v, x, T.constant(0.0))
    left, _ = foldl(lambda v, acc: acc * 10 + v, x, T.constant(0.0))
    right, _ = foldr(lambda v, acc: acc * 10 + v, x, T.constant(0.0))
    f = theano.function([x], [sq, total, left, right])
    r = f(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(r[0], [1, 4, 9])
    assert r[1] == 6 and r[2] == 123 and r[3] == 321


def test_theano_spellings():
    assert theano.scan is scan and sm.scan is scan
    assert theano.map is scan_map and theano.reduce is reduce
    assert theano.foldl is foldl and theano.foldr is foldr


# --------------------------------------------------------------------- errors
def test_error_wrong_number_of_outputs():
    x = T.dvector("x")
    with pytest.raises(ValueError, match="returned 2 output.*outputs_info has 1"):
        scan(lambda v, a: (a + v, a), sequences=x, outputs_info=T.constant(0.0))


def test_error_wrong_ndim_and_dtype():
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"outputs_info\[0\].*has 0.*expected"):
        scan(lambda v, a: a + v.dimshuffle("x"), sequences=x, outputs_info=T.constant(0.0))
    with pytest.raises(TypeError, match=r"dtype float64, but outputs_info\[0\].*float32"):
        scan(lambda v, a: a + v, sequences=x, outputs_info=T.constant(np.float32(0.0)))


def test_error_sequences_of_different_static_lengths():
    a = T.TensorType("float64", (3,))("a")
    b = T.TensorType("float64", (4,))("b")
    with pytest.raises(ValueError, match="different lengths.*a has 3.*b has 4"):
        scan(lambda u, v: u + v, sequences=[a, b])


def test_error_negative_n_steps_build_and_call_time():
    with pytest.raises(ValueError, match="n_steps must be >= 0, got -3"):
        scan(lambda a: a * 2, outputs_info=T.constant(1.0), n_steps=-3)
    n = T.iscalar("n")
    out, _ = scan(lambda a: a * 2, outputs_info=T.constant(1.0), n_steps=n)
    f = theano.function([n], out)
    with pytest.raises(ValueError, match="n_steps must be >= 0, got -2"):
        f(-2)


def test_error_sequence_shorter_than_n_steps_at_call_time():
    x = T.dvector("x")
    out, _ = scan(lambda v: v * 2, sequences=x, n_steps=5)
    with pytest.raises(ValueError, match="has 3 entries.*fewer than n_steps=5"):
        theano.function([x], out)(np.ones(3))


def test_error_no_sequences_and_no_n_steps():
    with pytest.raises(ValueError, match="give n_steps"):
        scan(lambda a: a * 2, outputs_info=T.constant(1.0))


# --------------------------------------------------------------------- gradients
def test_grad_tanh_rnn_all_parameters():
    xv = RNG.normal(size=(5, 3))
    wv, uv = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 4)) * 0.5
    bv, hv = RNG.normal(size=4), RNG.normal(size=4)

    def cost(X, W, U, b, h0):
        hs, _ = scan(lambda x_t, h, W, U, b: T.tanh(T.dot(x_t, W) + T.dot(h, U) + b),
                     sequences=X, outputs_info=h0, non_sequences=[W, U, b])
        return (hs ** 2).sum() + hs[-1].sum()

    verify_grad(cost, [xv, wv, uv, bv, hv], rng=np.random.default_rng(1))


def test_grad_with_output_taps_and_sequence_taps():
    def cost(x, init, c):
        out, _ = scan(lambda xm1, x0, a, b, c: T.sin(a) * c + b * x0 + xm1 ** 2,
                      sequences=dict(input=x, taps=[-1, 0]),
                      outputs_info=dict(initial=init, taps=[-2, -1]), non_sequences=c)
        return (out * T.arange(out.shape[0])).sum()

    verify_grad(cost, [RNG.normal(size=6), RNG.normal(size=2), np.array(0.7)],
                rng=np.random.default_rng(2))


def test_grad_several_outputs_and_map_output():
    def cost(x, s0, w):
        def step(x_t, s, w):
            return s * w + x_t, T.exp(x_t * s)

        (s, e), _ = scan(step, sequences=x, outputs_info=[s0, None], non_sequences=w)
        return s.sum() + (e ** 2).sum()

    verify_grad(cost, [RNG.normal(size=4) * 0.5, np.array(0.3), np.array(0.9)],
                rng=np.random.default_rng(3))


def test_grad_with_shared_variable_and_go_backwards():
    w = theano.shared(np.array([0.5, -0.3]), name="w")
    x = T.dmatrix("x")
    out, _ = scan(lambda x_t, h: T.tanh(x_t * w + h), sequences=x,
                  outputs_info=T.zeros((2,), dtype="float64"), go_backwards=True)
    gw = theano.grad(out.sum(), w)
    xv = RNG.normal(size=(4, 2))
    f = theano.function([x], gw)

    def numpy_cost(wv):
        h = np.zeros(2)
        total = 0.0
        for t in range(3, -1, -1):
            h = np.tanh(xv[t] * wv + h)
            total += h.sum()
        return total

    eps = 1e-6
    num = [(numpy_cost(w.get_value() + eps * np.eye(2)[i]) -
            numpy_cost(w.get_value() - eps * np.eye(2)[i])) / (2 * eps) for i in range(2)]
    np.testing.assert_allclose(f(xv), num, rtol=1e-6)


def test_grad_truncate_gradient():
    x = T.dvector("x")
    a = T.dscalar("a")
    out, _ = scan(lambda x_t, h, a: h * a + x_t, sequences=x, outputs_info=T.constant(0.0),
                  non_sequences=a, truncate_gradient=2)
    gx = theano.grad(out[-1], x)
    f = theano.function([x, a], gx)
    # h_T = sum_t a^(T-1-t) x_t ; only the last 2 steps propagate
    np.testing.assert_allclose(f(np.ones(5), 0.5), [0, 0, 0, 0.5, 1.0])


def test_grad_nested_scan():
    def cost(M, v):
        def outer(row, acc, v):
            inner, _ = scan(lambda r, a, v: a * v + r, sequences=row,
                            outputs_info=T.constant(0.0), non_sequences=v)
            return acc + inner[-1] ** 2

        out, _ = scan(outer, sequences=M, outputs_info=T.constant(0.0), non_sequences=v)
        return out[-1]

    verify_grad(cost, [RNG.normal(size=(3, 4)), np.array(0.8)], rng=np.random.default_rng(4))


def test_jacobian_and_hessian_via_scan():
    """The gradients tutorial: jacobian of y = x**2 and hessian of sum(x**2) with scan."""
    x = T.dvector("x")
    y = x ** 2
    J, _ = scan(lambda i, y, x: theano.grad(y[i], x), sequences=T.arange(y.shape[0]),
                non_sequences=[y, x])
    f = theano.function([x], J)
    np.testing.assert_allclose(f(np.array([4.0, 4.0])), [[8, 0], [0, 8]])
    cost = (x ** 2).sum()
    gy = theano.grad(cost, x)
    H, _ = scan(lambda i, gy, x: theano.grad(gy[i], x), sequences=T.arange(gy.shape[0]),
                non_sequences=[gy, x])
    np.testing.assert_allclose(theano.function([x], H)(np.array([4.0, 4.0])), [[2, 0], [0, 2]])


def test_debugprint_shows_the_inner_graph_indented():
    x = T.dvector("x")
    a = T.dscalar("a")
    out, _ = scan(lambda v, acc, a: acc * a + v, sequences=x, outputs_info=T.constant(0.0),
                  non_sequences=a, name="decay")
    text = theano.debugprint(out, file="str", style="tree")
    head, inner = text.split("Inner graphs:")
    assert "Scan{decay, for}" in head
    assert "Scan{decay, for}" in inner
    assert " > Elemwise{add}" in inner and "x[t]" in inner and "outputs_info[0][t-1]" in inner
    # Theano's layout: the scan's line again, its inner graph behind ' >', each inner input
    # pointing (->) at the outer input it stands for
    text = theano.debugprint(out, file="str")
    head, inner = text.split("Inner graphs of the scan ops:")
    assert " |for{cpu,decay} [id B] ''" in head
    assert inner.splitlines()[2:] == [
        "for{cpu,decay} [id B] ''",
        " >Elemwise{add,no_inplace} [id H] ''",
        " > |Elemwise{mul,no_inplace} [id I] ''",
        " > | |outputs_info[0][t-1] [id J] -> [id E]",
        " > | |a [id K] -> [id G]",
        " > |x[t] [id L] -> [id D]"]


def test_r_op_matches_finite_differences():
    X = T.dmatrix("X")
    W = T.dmatrix("W")
    h0 = T.dvector("h0")
    hs, _ = scan(lambda x_t, h, W: T.tanh(T.dot(x_t, W) + h), sequences=X, outputs_info=h0,
                 non_sequences=W)
    vW, vh = T.dmatrix("vW"), T.dvector("vh")
    jv = theano.Rop(hs, [W, h0], [vW, vh])
    f = theano.function([X, W, h0, vW, vh], jv)
    run = theano.function([X, W, h0], hs)
    xv, wv, hv = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 3)), RNG.normal(size=3)
    dw, dh = RNG.normal(size=(3, 3)), RNG.normal(size=3)
    eps = 1e-6
    numeric = (run(xv, wv + eps * dw, hv + eps * dh) - run(xv, wv - eps * dw, hv - eps * dh)) / (2 * eps)
    np.testing.assert_allclose(f(xv, wv, hv, dw, dh), numeric, rtol=1e-6, atol=1e-9)


def test_scan_checkpoints_values_and_gradient():
    x = T.dvector("x")
    a = T.dscalar("a")
    h0 = T.dscalar("h0")
    saved, _ = scan_checkpoints(lambda x_t, h, a: T.tanh(h * a + x_t), sequences=x,
                                outputs_info=h0, non_sequences=a, save_every_N=3)
    full, _ = scan(lambda x_t, h, a: T.tanh(h * a + x_t), sequences=x, outputs_info=h0,
                   non_sequences=a)
    f = theano.function([x, a, h0], [saved, full])
    xv = RNG.normal(size=7)
    got_saved, got_full = f(xv, 0.8, 0.1)
    np.testing.assert_allclose(got_saved, got_full[[2, 5, 6]], rtol=1e-12)  # chunk ends, last = final
    g_saved = theano.grad(saved[-1], [x, a, h0])
    g_full = theano.grad(full[-1], [x, a, h0])
    gs, gf = theano.function([x, a, h0], [T.concatenate([g_saved[0], T.stack(g_saved[1:])]),
                                           T.concatenate([g_full[0], T.stack(g_full[1:])])])(xv, 0.8, 0.1)
    np.testing.assert_allclose(gs, gf, rtol=1e-10)
    verify_grad(lambda x, a, h0: scan_checkpoints(
        lambda x_t, h, a: T.tanh(h * a + x_t), sequences=x, outputs_info=h0, non_sequences=a,
        save_every_N=2)[0][-1], [xv[:5], np.array(0.7), np.array(0.2)], rng=np.random.default_rng(5))


@parametrize_backends()
def test_lazy_ifelse_inside_the_step(backend):
    calls = []

    @theano.as_op(itypes=[T.dscalar], otypes=[T.dscalar],
                  grad=lambda inputs, grads: [grads[0] * 100.0])
    def expensive(v):
        calls.append(1)
        return np.asarray(v * 100.0)

    x = T.dvector("x")
    out, _ = scan(lambda x_t, acc: ifelse(x_t > 0, acc + x_t, expensive(acc)), sequences=x,
                  outputs_info=T.constant(1.0))
    f = _fn([x], out, backend)
    _native_on_cpu(f, backend)
    np.testing.assert_allclose(f(np.array([1.0, 2.0, -1.0, 3.0])), [2.0, 4.0, 400.0, 403.0])
    assert len(calls) == 1  # the else-branch ran only at the one step that took it
    g = theano.grad(out[-1], x)
    np.testing.assert_allclose(_fn([x], g, backend)(np.array([1.0, -1.0, 2.0])), [100.0, 0.0, 1.0])


def test_grad_of_an_until_loop_over_the_steps_that_ran():
    def loop(a, x0):
        values, _ = scan(lambda prev, a: (prev * a + 0.1, until(prev * a > 10.0)),
                         outputs_info=x0, non_sequences=a, n_steps=50)
        return values

    a, x0 = T.dscalar("a"), T.dscalar("x0")
    assert theano.function([a, x0], loop(a, x0))(1.7, 0.9).shape == (5,)  # far from a boundary
    verify_grad(lambda a, x0: loop(a, x0).sum() + loop(a, x0)[-1] ** 2,
                [np.array(1.7), np.array(0.9)], rng=np.random.default_rng(6))


def test_undeclared_outer_variable_is_captured_and_differentiated():
    x = T.dvector("x")
    w = T.dscalar("w")  # read by the step without being a non-sequence
    out, _ = scan(lambda x_t, h: h * w + x_t, sequences=x, outputs_info=T.constant(0.0))
    g = theano.grad(out[-1], w)
    f = theano.function([x, w], [out, g])
    values, gw = f(np.array([1.0, 2.0, 3.0]), 0.5)
    np.testing.assert_allclose(values, [1.0, 2.5, 4.25])
    assert gw == pytest.approx(2 * 0.5 * 1.0 + 2.0)  # d/dw (w^2 x0 + w x1 + x2)


def test_strict_rejects_an_undeclared_shared_variable():
    s = theano.shared(np.array(2.0), name="s")
    x = T.dvector("x")
    with pytest.raises(ValueError, match="strict=True and the step reads the shared variable s"):
        scan(lambda x_t: x_t * s, sequences=x, strict=True)
    out, _ = scan(lambda x_t, s: x_t * s, sequences=x, non_sequences=[s], strict=True)
    np.testing.assert_allclose(theano.function([x], out)(np.array([1.0, 2.0])), [2.0, 4.0])


def test_profile_reports_time_per_inner_op():
    X = T.dmatrix("X")
    U = T.dmatrix("U")
    hs, _ = scan(lambda x_t, h, U: T.tanh(x_t + T.dot(h, U)), sequences=X,
                 outputs_info=T.zeros((3,), dtype="float64"), non_sequences=U, profile=True,
                 name="rnn")
    f = theano.function([X, U], hs)
    f(RNG.normal(size=(4, 3)), RNG.normal(size=(3, 3)))
    (node,) = [n for n in f.maker.fgraph.toposort() if isinstance(n.op, Scan)]
    stats = node.op.step_profile
    assert stats is not None and stats.ncalls == 4
    assert stats.name == "rnn step"
    assert any("Dot" in op or "Gemv" in op or "Gemm" in op for op, _ in stats.labels)


def test_compiled_scan_with_ifelse_and_grad_pickles():
    x = T.dvector("x")
    a = T.dscalar("a")
    out, _ = scan(lambda v, acc, a: ifelse(a > 0, acc * a + v, acc), sequences=x,
                  outputs_info=T.constant(0.0), non_sequences=a)
    f = theano.function([x, a], [out, theano.grad(out[-1], a)])
    g = pickle.loads(pickle.dumps(f))
    for fn in (f, g):
        values, ga = fn(np.arange(3.0), 2.0)
        np.testing.assert_allclose(values, [0.0, 1.0, 4.0])
        assert ga == pytest.approx(1.0)  # d/da (a * (a * 0 + 1) + 2) = 1


# ------------------------------------------------- the cpu VM's scan kernel against perform
def _python_and_cpu(inputs, outputs, **kw):
    return _fn(inputs, outputs, "python", **kw), _fn(inputs, outputs, "cpu", **kw)


def test_native_loop_zero_steps_gives_perform_results():
    n = T.iscalar("n")
    x = T.dvector("x")
    init = T.dvector("init")

    def step(x_t, a, b, s):  # a buffer state with taps, a last-only state, a map-like output
        return a + b + x_t, s * x_t, x_t * 2.0

    (buf, last, doubled), _ = scan(
        step, sequences=x, outputs_info=[dict(initial=init, taps=[-2, -1]), T.constant(1.0), None],
        n_steps=n)
    py, cpu = _python_and_cpu([x, init, n], [buf, last[-1], doubled])
    _native_on_cpu(cpu, "cpu")
    xv, iv = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.25])
    for steps in (0, 1, 3):
        want = py(xv, iv, steps)
        got = cpu(xv, iv, steps)
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)
    np.testing.assert_allclose(cpu(xv, iv, 3)[0], [0.5 + 0.25 + 1, 0.25 + 1.75 + 2, 1.75 + 4.0 + 3])
    assert cpu(xv, iv, 0)[2].shape == (0,)


def test_native_loop_until_truncates_every_output_kind():
    def step(x_t, s, acc):
        return s + x_t, acc * 2.0, x_t * 10.0, until(s + x_t > 4.0)

    x = T.dvector("x")
    (s, acc, tens), _ = scan(step, sequences=x, outputs_info=[T.constant(0.0), T.constant(1.0), None])
    py, cpu = _python_and_cpu([x], [s, acc, tens])
    _native_on_cpu(cpu, "cpu")
    xv = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    for g, w in zip(cpu(xv), py(xv)):
        np.testing.assert_array_equal(g, w)
    got = cpu(xv)
    np.testing.assert_allclose(got[0], [1.0, 3.0, 6.0])  # stopped after the step where s > 4
    np.testing.assert_allclose(got[2], [10.0, 20.0, 30.0])


def test_native_loop_float32_matrices_with_static_shapes_and_held_results():
    x = T.TensorType("float32", (None, 2, 3))("x")
    W = T.TensorType("float32", (3, 3))("W")
    h0 = T.TensorType("float32", (2, 3))("h0")
    hs, _ = scan(lambda x_t, h, W: T.tanh(x_t + T.dot(h, W)), sequences=x, outputs_info=h0,
                 non_sequences=W)
    py, cpu = _python_and_cpu([x, W, h0], [hs, hs[-1]])
    _native_on_cpu(cpu, "cpu")
    rng = np.random.default_rng(7)
    xv = rng.normal(size=(5, 2, 3)).astype("float32")
    wv = rng.normal(size=(3, 3)).astype("float32")
    hv = rng.normal(size=(2, 3)).astype("float32")
    h, want = hv, []
    for t in range(5):
        h = np.tanh(xv[t] + h @ wv)
        want.append(h)
    first = cpu(xv, wv, hv)
    kept = [a.copy() for a in first]
    second = cpu(xv * 0.5, wv, hv)  # a second call must not reuse the buffers still held
    for a, k in zip(first, kept):
        np.testing.assert_array_equal(a, k)
    np.testing.assert_allclose(first[0], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(first[1], want[-1], rtol=1e-5, atol=1e-6)
    for g, w in zip(second, py(xv * 0.5, wv, hv)):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_native_loop_results_do_not_alias_inputs():
    x = T.dvector("x")
    c = T.dvector("c")
    last, _ = scan(lambda x_t, s, c: c, sequences=x, outputs_info=T.zeros((2,)), non_sequences=c)
    f = _fn([x, c], last[-1], "cpu")
    _native_on_cpu(f, "cpu")
    cv = np.array([1.0, 2.0])
    got = f(np.zeros(3), cv)
    np.testing.assert_array_equal(got, cv)
    assert not np.shares_memory(got, cv)


def test_native_loop_errors_match_perform():
    x = T.dvector("x")
    k = T.iscalar("k")
    # a buffer state whose step changes its shape
    grow, _ = scan(lambda x_t, s: T.concatenate([s, s]), sequences=x, outputs_info=T.zeros((1,)))
    # a map-like output whose shape changes from step to step
    ragged, _ = scan(lambda i: T.arange(i), sequences=T.arange(k))
    for backend in ("python", "cpu"):
        f = _fn([x], grow, backend)
        _native_on_cpu(f, backend)
        with pytest.raises(ValueError, match=r"step 0: the step function's output 0 has shape "
                                             r"\(2,\), but outputs_info\[0\] .* has shape \(1,\)"):
            f(np.ones(3))
        g = _fn([k], ragged, backend)
        _native_on_cpu(g, backend)
        with pytest.raises(ValueError, match=r"step 1: output 0 has shape \(1,\), but step 0 "
                                             r"gave \(0,\)"):
            g(3)
        h = _fn([x, k], scan(lambda v: v * 2, sequences=x, n_steps=k)[0], backend)
        _native_on_cpu(h, backend)
        with pytest.raises(ValueError, match="has 3 entries.*fewer than n_steps=5"):
            h(np.ones(3), 5)
        with pytest.raises(ValueError, match="n_steps must be >= 0, got -1"):
            h(np.ones(3), -1)


def test_loops_the_kernel_leaves_to_perform():
    srng = T.shared_randomstreams.RandomStreams(seed=3)
    x = T.dvector("x")
    out, updates = scan(lambda x_t: x_t + srng.uniform(), sequences=x)  # a carried generator
    f = _fn([x], out, "cpu", updates=updates)
    assert _scan_kernels(f) == ["perform"]
    assert f(np.zeros(3)).shape == (3,)
    out, _ = scan(lambda x_t: x_t * 2.0, sequences=x, mode=theano.Mode(linker="python"))
    g = _fn([x], out, "cpu")  # the step compiled for another backend
    assert _scan_kernels(g) == ["perform"]
    np.testing.assert_allclose(g(np.array([1.0, 2.0])), [2.0, 4.0])


def test_grad_of_tanh_rnn_runs_both_loops_natively():
    X = T.dmatrix("X")
    W, U = T.dmatrices("W", "U")
    h0 = T.dvector("h0")
    hs, _ = scan(lambda x_t, h, W, U: T.tanh(T.dot(x_t, W) + T.dot(h, U)), sequences=X,
                 outputs_info=h0, non_sequences=[W, U])
    grads = theano.grad(hs[-1].sum(), [W, U])
    py, cpu = _python_and_cpu([X, W, U, h0], [hs[-1]] + grads)
    assert _scan_kernels(cpu) == ["native", "native"]
    xv, wv, uv = RNG.normal(size=(6, 3)), RNG.normal(size=(3, 4)), RNG.normal(size=(4, 4)) * 0.5
    hv = RNG.normal(size=4)
    hs_np = [hv]
    for t in range(6):
        hs_np.append(np.tanh(xv[t] @ wv + hs_np[-1] @ uv))
    gW, gU, gh = np.zeros_like(wv), np.zeros_like(uv), np.ones(4)
    for t in range(5, -1, -1):
        d = gh * (1 - hs_np[t + 1] ** 2)
        gW += np.outer(xv[t], d)
        gU += np.outer(hs_np[t], d)
        gh = d @ uv.T
    for g, p, w in zip(cpu(xv, wv, uv, hv), py(xv, wv, uv, hv), [hs_np[-1], gW, gU]):
        np.testing.assert_allclose(g, p, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
