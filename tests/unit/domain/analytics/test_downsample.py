"""Thinning a curve for a chart: at most the points asked for, and never the first, the last,
the lowest or the highest one lost."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.analytics.downsample import MIN_POINTS, downsample_indices

curves = st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=3_000)


@settings(max_examples=200, deadline=None)
@given(values=curves, max_points=st.integers(min_value=MIN_POINTS, max_value=600))
def test_at_most_max_points_with_both_ends_and_both_extremes(values, max_points):
    kept = downsample_indices(values, max_points=max_points)
    assert len(kept) <= max_points
    assert kept == sorted(set(kept))  # ascending, each once
    assert kept[0] == 0 and kept[-1] == len(values) - 1
    assert int(np.argmin(values)) in kept and int(np.argmax(values)) in kept
    if len(values) <= max_points:
        assert kept == list(range(len(values)))


def test_each_bucket_keeps_its_first_last_min_and_max():
    values = [5, 1, 9, 3, 4, 6, 0, 7, 2, 8, 5, 5]  # 12 points, 8 wanted: two buckets of six
    kept = downsample_indices(values, max_points=8)
    assert kept == [0, 1, 2, 5, 6, 9, 11]  # bucket 1: 0 (first), 1 (min), 2 (max), 5 (last); bucket 2: 6, 9, 11


def test_fewer_than_four_points_is_refused():
    with pytest.raises(ValueError):
        downsample_indices([1.0, 2.0, 3.0], max_points=3)
