"""functrans.optim: optimizers as pure update functions (the Optax design, our code).

    import functrans as ft
    from functrans import optim

    tx = optim.chain(optim.clip_by_global_norm(1.0), optim.adamw(1e-3))
    state = tx.init(params)

    @ft.jit
    def step(params, state, x, y):
        grads = ft.grad(loss)(params, x, y)
        updates, state = tx.update(grads, state, params)
        return optim.apply_updates(params, updates), state

An optimizer is a :class:`GradientTransformation`: ``init(params) -> state``
and ``update(grads, state, params) -> (updates, state)``, both pure. Named
optimizers (``sgd``, ``adam``, ``adamw``, ``rmsprop``, ``adagrad``, ``lamb``,
``lion``) are ``chain``s of small transformations (``scale_by_adam``,
``add_decayed_weights``, ``clip_by_global_norm``, ``multi_steps`` for gradient
accumulation, ``masked``/``freeze``, ...). A learning rate may be a number or
a schedule (a function of the step count).
"""

from ._transform import *  # noqa: F401,F403
from ._transform import __all__ as _t_all
from ._schedule import *  # noqa: F401,F403
from ._schedule import __all__ as _s_all
from ._alias import *  # noqa: F401,F403
from ._alias import __all__ as _a_all

__all__ = list(_t_all) + list(_s_all) + list(_a_all)
