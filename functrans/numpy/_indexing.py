"""(being written)"""
__all__ = []


def _getitem(x, idx):
    raise NotImplementedError


def _index_update(x, idx, values, how):
    raise NotImplementedError
