"""Primitives, one module per family; each primitive's rules live beside it.

Importing this package defines every primitive (see ``core.all_primitives``).
"""

from . import elementwise, shape  # noqa: F401
from . import slicing, dynamic_slicing, gather_scatter, scatter_combine  # noqa: F401
from . import reductions, cumulative, linalg, sorting  # noqa: F401
from . import control_flow, scan  # noqa: F401
from . import conv, windowed  # noqa: F401
from . import collectives  # noqa: F401
