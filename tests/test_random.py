"""functrans.random: known answers, agreement with JAX's bits, statistics, errors."""

import math

import numpy as np
import pytest
import scipy.stats

import functrans as ft
import functrans.numpy as fnp
import functrans.random as fr

jax = pytest.importorskip("jax")
jr = jax.random

# Threefry-2x32, 20 rounds: the known-answer vectors published with Random123
# (kat_vectors: key, counter, expected output).
KAT = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]


@pytest.mark.parametrize("key,ctr,expected", KAT)
def test_threefry_known_answers(key, ctr, expected):
    k = np.array(key, np.uint32)
    y0, y1 = fr.threefry_2x32(k, np.array([ctr[0]], np.uint32), np.array([ctr[1]], np.uint32))
    assert (int(np.asarray(y0)[0]), int(np.asarray(y1)[0])) == expected


def test_threefry_vectorized_matches_elementwise():
    k = np.array([7, 11], np.uint32)
    c0 = np.array([1, 2, 3], np.uint32)
    c1 = np.array([9, 8, 7], np.uint32)
    y0, y1 = fr.threefry_2x32(k, c0, c1)
    for i in range(3):
        z0, z1 = fr.threefry_2x32(k, c0[i:i + 1], c1[i:i + 1])
        assert int(np.asarray(y0)[i]) == int(np.asarray(z0)[0])
        assert int(np.asarray(y1)[i]) == int(np.asarray(z1)[0])


# --- agreement with jax.random (jax_threefry_partitionable, its default) ---------------------------

SEEDS = [0, 1, 42, 2 ** 31 - 1, -1, 123456789]


@pytest.mark.parametrize("seed", SEEDS)
def test_key_matches_jax(seed):
    np.testing.assert_array_equal(np.asarray(fr.key(seed)), np.asarray(jr.PRNGKey(seed)))
    np.testing.assert_array_equal(np.asarray(fr.PRNGKey(seed)), np.asarray(jr.PRNGKey(seed)))


def test_key_matches_jax_x64(x64):
    for seed in [0, 2 ** 40 + 5, -1, 2 ** 63 - 1]:
        np.testing.assert_array_equal(np.asarray(fr.key(seed)), np.asarray(jr.PRNGKey(seed)))


def test_key_from_traced_seed():
    k = ft.make_ir(fr.key)(np.int32(5))
    assert "uint32" in str(k.ir.outvars[0].aval.dtype) or k.ir.outvars[0].aval.dtype == np.uint32
    np.testing.assert_array_equal(np.asarray(fr.key(fnp.asarray(5))), np.asarray(jr.PRNGKey(5)))


@pytest.mark.parametrize("seed", SEEDS[:4])
@pytest.mark.parametrize("num", [1, 2, 3, 7])
def test_split_matches_jax(seed, num):
    np.testing.assert_array_equal(np.asarray(fr.split(fr.key(seed), num)),
                                  np.asarray(jr.split(jr.PRNGKey(seed), num)))


@pytest.mark.parametrize("data", [0, 1, 7, 2 ** 32 - 1])
def test_fold_in_matches_jax(data):
    np.testing.assert_array_equal(np.asarray(fr.fold_in(fr.key(3), data)),
                                  np.asarray(jr.fold_in(jr.PRNGKey(3), data)))


@pytest.mark.parametrize("shape", [(), (1,), (5,), (3, 4), (2, 0, 3)])
def test_bits_matches_jax(shape):
    np.testing.assert_array_equal(np.asarray(fr.bits(fr.key(9), shape)),
                                  np.asarray(jr.bits(jr.PRNGKey(9), shape)))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_narrow_bits_match_jax(dtype):
    np.testing.assert_array_equal(np.asarray(fr.bits(fr.key(9), (6,), dtype)),
                                  np.asarray(jr.bits(jr.PRNGKey(9), (6,), dtype)))


def test_bits64_matches_jax(x64):
    np.testing.assert_array_equal(np.asarray(fr.bits(fr.key(9), (6,), np.uint64)),
                                  np.asarray(jr.bits(jr.PRNGKey(9), (6,), np.uint64)))


@pytest.mark.parametrize("shape", [(), (4,), (3, 5)])
def test_uniform_matches_jax(shape):
    np.testing.assert_array_equal(np.asarray(fr.uniform(fr.key(1), shape)),
                                  np.asarray(jr.uniform(jr.PRNGKey(1), shape)))
    # scaled: XLA may fuse u * (max - min) + min into one FMA, so allow an ulp
    np.testing.assert_allclose(np.asarray(fr.uniform(fr.key(1), shape, minval=-2, maxval=3)),
                               np.asarray(jr.uniform(jr.PRNGKey(1), shape, minval=-2, maxval=3)),
                               rtol=1e-6, atol=1e-6)


def test_uniform_float64_matches_jax(x64):
    np.testing.assert_array_equal(np.asarray(fr.uniform(fr.key(1), (5,), np.float64)),
                                  np.asarray(jr.uniform(jr.PRNGKey(1), (5,), np.float64)))


def test_normal_matches_jax():
    # erf_inv is evaluated by scipy here and by XLA in jax: equal to a few ulps
    np.testing.assert_allclose(np.asarray(fr.normal(fr.key(5), (50,))),
                               np.asarray(jr.normal(jr.PRNGKey(5), (50,))), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lo,hi", [(0, 10), (-5, 5), (3, 4), (0, 1000003)])
def test_randint_matches_jax(lo, hi):
    np.testing.assert_array_equal(np.asarray(fr.randint(fr.key(2), (20,), lo, hi)),
                                  np.asarray(jr.randint(jr.PRNGKey(2), (20,), lo, hi)))


@pytest.mark.parametrize("n", [1, 6, 50])
def test_permutation_matches_jax(n):
    np.testing.assert_array_equal(np.asarray(fr.permutation(fr.key(4), n)),
                                  np.asarray(jr.permutation(jr.PRNGKey(4), n)))


# --- statistics ---------------------------------------------------------------------------------

N = 20000


def test_uniform_moments_and_range():
    u = np.asarray(fr.uniform(fr.key(0), (N,)), np.float64)
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 4 * math.sqrt(1 / 12 / N)
    assert abs(u.var() - 1 / 12) < 0.005
    assert scipy.stats.kstest(u, "uniform").pvalue > 1e-4


def test_uniform_bits_chi_square():
    b = np.asarray(fr.bits(fr.key(11), (N,)))
    for shift in (0, 8, 16, 24):   # each byte of the words is uniform on 0..255
        counts = np.bincount((b >> shift) & 0xFF, minlength=256)
        assert scipy.stats.chisquare(counts).pvalue > 1e-4


def test_normal_moments():
    x = np.asarray(fr.normal(fr.key(1), (N,)), np.float64)
    assert abs(x.mean()) < 4 / math.sqrt(N)
    assert abs(x.std() - 1) < 0.03
    assert abs(scipy.stats.skew(x)) < 0.1
    assert scipy.stats.kstest(x, "norm").pvalue > 1e-4


def test_split_keys_independent():
    k1, k2 = fr.split(fr.key(3))
    a = np.asarray(fr.normal(k1, (N,)), np.float64)
    b = np.asarray(fr.normal(k2, (N,)), np.float64)
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / math.sqrt(N)
    assert not np.array_equal(np.asarray(k1), np.asarray(k2))
    # many split keys are all distinct
    keys = np.asarray(fr.split(fr.key(3), 1000))
    assert len({tuple(k) for k in keys}) == 1000


def test_truncated_normal():
    x = np.asarray(fr.truncated_normal(fr.key(2), -1.0, 2.0, (N,)), np.float64)
    assert x.min() > -1 and x.max() < 2
    ref = scipy.stats.truncnorm(-1.0, 2.0)
    assert abs(x.mean() - ref.mean()) < 4 * ref.std() / math.sqrt(N)
    assert scipy.stats.kstest(x, ref.cdf).pvalue > 1e-4


def test_bernoulli():
    x = np.asarray(fr.bernoulli(fr.key(6), 0.3, (N,)))
    assert x.dtype == np.bool_
    assert abs(x.mean() - 0.3) < 4 * math.sqrt(0.21 / N)
    p = fnp.asarray(np.array([0.0, 1.0, 0.5], np.float32))
    y = np.asarray(fr.bernoulli(fr.key(6), p))
    assert y.shape == (3,) and not y[0] and y[1]


def test_gumbel():
    x = np.asarray(fr.gumbel(fr.key(7), (N,)), np.float64)
    assert abs(x.mean() - np.euler_gamma) < 4 * (math.pi / math.sqrt(6)) / math.sqrt(N)
    assert scipy.stats.kstest(x, "gumbel_r").pvalue > 1e-4


def test_randint_uniform_and_bounds():
    x = np.asarray(fr.randint(fr.key(8), (N,), -3, 7))
    assert x.dtype == np.int32 and x.min() >= -3 and x.max() <= 6
    assert scipy.stats.chisquare(np.bincount(x + 3, minlength=10)).pvalue > 1e-4
    assert np.all(np.asarray(fr.randint(fr.key(8), (5,), 4, 4)) == 4)  # empty range: minval
    big = np.asarray(fr.randint(fr.key(8), (N,), 0, 2 ** 31 - 1))
    assert big.min() >= 0 and big.max() < 2 ** 31 - 1


def test_categorical_frequencies():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    x = np.asarray(fr.categorical(fr.key(9), np.log(p).astype(np.float32), shape=(N,)))
    counts = np.bincount(x, minlength=4)
    assert scipy.stats.chisquare(counts, p * N).pvalue > 1e-4
    batched = np.asarray(fr.categorical(fr.key(9), np.zeros((3, 5), np.float32)))
    assert batched.shape == (3,) and batched.max() < 5


def test_permutation_is_a_permutation():
    x = np.arange(12.0).reshape(4, 3)
    p = np.asarray(fr.permutation(fr.key(1), x))
    assert sorted(map(tuple, p)) == sorted(map(tuple, x))
    q = np.asarray(fr.permutation(fr.key(1), x, axis=1))
    assert np.array_equal(np.sort(q, axis=1), x)
    r = np.asarray(fr.permutation(fr.key(1), x, axis=1, independent=True))
    assert np.array_equal(np.sort(r, axis=1), x)
    # every position is equally likely to receive element 0
    firsts = [int(np.asarray(fr.permutation(k, 4))[0]) for k in fr.split(fr.key(0), 400)]
    assert scipy.stats.chisquare(np.bincount(firsts, minlength=4)).pvalue > 1e-4


def test_choice():
    x = np.asarray(fr.choice(fr.key(2), 10, (N,)))
    assert scipy.stats.chisquare(np.bincount(x, minlength=10)).pvalue > 1e-4
    y = np.asarray(fr.choice(fr.key(2), 10, (10,), replace=False))
    assert sorted(y) == list(range(10))
    p = np.array([0.5, 0.5, 0.0, 0.0], np.float32)
    z = np.asarray(fr.choice(fr.key(2), 4, (200,), p=p))
    assert set(z) <= {0, 1}
    w = np.asarray(fr.choice(fr.key(2), 4, (2,), replace=False, p=p))
    assert sorted(w) == [0, 1]
    a = np.asarray(fr.choice(fr.key(2), fnp.asarray(np.array([5.0, 6.0, 7.0])), (4,)))
    assert set(a) <= {5.0, 6.0, 7.0}


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_float_dtypes(dtype):
    u = np.asarray(fr.uniform(fr.key(0), (1000,), dtype))
    assert u.dtype == dtype and u.min() >= 0 and u.max() < 1
    assert np.asarray(fr.normal(fr.key(0), (5,), dtype)).dtype == dtype


def test_same_key_same_numbers_different_keys_different():
    a = np.asarray(fr.normal(fr.key(0), (8,)))
    assert np.array_equal(a, np.asarray(fr.normal(fr.key(0), (8,))))
    assert not np.array_equal(a, np.asarray(fr.normal(fr.key(1), (8,))))


# --- errors -------------------------------------------------------------------------------------


def test_bad_keys_and_arguments():
    with pytest.raises(TypeError, match="expected a key"):
        fr.normal(np.zeros(2, np.float32), (3,))
    with pytest.raises(ValueError, match="vmap"):
        fr.normal(fr.split(fr.key(0), 3), (3,))
    with pytest.raises(TypeError, match="seed must be an integer"):
        fr.key(1.5)
    with pytest.raises(TypeError, match="floating-point"):
        fr.uniform(fr.key(0), (2,), np.int32)
    with pytest.raises(ValueError, match="without replacement"):
        fr.choice(fr.key(0), 3, (5,), replace=False)
    with pytest.raises(ValueError, match="negative dimension"):
        fr.uniform(fr.key(0), (-1,))


# --- under jit and vmap -------------------------------------------------------------------------


def test_same_bits_eagerly_and_under_jit():
    from functrans.jit import jit
    k = fr.key(5)

    def draws(k):
        k1, k2 = fr.split(k)
        return (fr.bits(k1, (7,)), fr.uniform(k2, (3, 2)), fr.normal(fr.fold_in(k, 3), (4,)),
                fr.randint(k1, (5,), 0, 10), fr.permutation(k2, 6))

    eager = draws(k)
    jitted = jit(draws)(k)
    for a, b in zip(eager, jitted):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(jit(fr.key)(np.int32(11))), np.asarray(fr.key(11)))


def test_vmap_over_a_batch_of_keys():
    keys = fr.split(fr.key(8), 4)
    batched = ft.vmap(lambda k: fr.normal(k, (3,)))(keys)
    loop = np.stack([np.asarray(fr.normal(k, (3,))) for k in keys])
    np.testing.assert_allclose(np.asarray(batched), loop, rtol=1e-6)
    sub = ft.vmap(lambda k: fr.split(k, 2))(keys)
    np.testing.assert_array_equal(np.asarray(sub),
                                  np.stack([np.asarray(fr.split(k, 2)) for k in keys]))
    bits = ft.vmap(lambda k: fr.bits(k, (5,)))(keys)
    np.testing.assert_array_equal(np.asarray(bits),
                                  np.stack([np.asarray(fr.bits(k, (5,))) for k in keys]))
