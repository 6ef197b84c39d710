"""Restoring chosen paths of restic snapshots in place: the shared scenarios
(``tests.inpod.inplace_scenarios``)."""

from tests.inpod.inplace_scenarios import (  # noqa: F401 (pytest collects what is imported)
    damaged,
    test_a_dry_run_names_what_would_come_back_and_touches_nothing,
    test_a_killed_runs_leftovers_go_and_remove_paths_removes,
    test_a_missing_path_is_named_with_the_closest_and_nothing_is_touched,
    test_a_safety_copy_is_pinned_as_it_is_taken,
    test_chosen_paths_come_back_exactly_and_nothing_else_changes,
    test_paths_come_back_from_a_mounted_copy_of_the_volume,
)
