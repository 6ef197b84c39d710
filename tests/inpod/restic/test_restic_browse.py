"""Browsing restic snapshots: the shared scenarios (``tests.inpod.browse_scenarios``)."""

from tests.inpod.browse_scenarios import (  # noqa: F401 (pytest collects what is imported)
    test_a_missing_path_names_the_closest_and_a_folder_is_not_a_file,
    test_cat_and_download_give_the_bytes_modes_and_times_of_that_snapshot,
    test_diff_says_what_was_added_removed_and_modified,
    test_every_file_keeps_its_modification_time_to_the_second,
    test_find_names_every_snapshot_holding_a_match_newest_first,
    test_ls_lists_an_older_snapshots_folder_in_long_form,
    two_snapshots,
)
