"""The dashboard's sparklines: a series drawn into a 100 x 24 SVG box (y grows downward)."""

from entrypoints.web.dashboard.assets import sparkline_points


def test_a_rising_series_goes_from_the_bottom_to_the_top_edge_to_edge():
    assert sparkline_points([1000, 1500]) == "0.0,24.0 100.0,0.0"
    assert sparkline_points([3, 1, 2]) == "0.0,0.0 50.0,24.0 100.0,12.0"


def test_a_flat_series_is_a_line_across_the_middle_and_one_point_draws_nothing():
    assert sparkline_points([5, 5, 5]) == "0.0,12.0 50.0,12.0 100.0,12.0"
    assert sparkline_points([7]) == "" and sparkline_points([]) == ""
