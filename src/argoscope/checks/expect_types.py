"""Which expectation types exist and which arguments each native one takes.

Both lists are Great Expectations 1.x's own (its expectation registry and each expectation
class's fields), written out so the base install can name a mistake without importing GE;
`tests/checks/test_expect_semantics.py` holds them equal to the installed GE's.
"""

from __future__ import annotations

# Every expectation type GE 1.x registers: the types the `ge` engine can run.
GE_TYPES: frozenset[str] = frozenset((
    "expect_column_distinct_values_to_be_in_set",
    "expect_column_distinct_values_to_contain_set",
    "expect_column_distinct_values_to_equal_set",
    "expect_column_kl_divergence_to_be_less_than",
    "expect_column_max_to_be_between",
    "expect_column_mean_to_be_between",
    "expect_column_median_to_be_between",
    "expect_column_min_to_be_between",
    "expect_column_most_common_value_to_be_in_set",
    "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_column_pair_values_to_be_equal",
    "expect_column_pair_values_to_be_in_set",
    "expect_column_proportion_of_non_null_values_to_be_between",
    "expect_column_proportion_of_unique_values_to_be_between",
    "expect_column_quantile_values_to_be_between",
    "expect_column_stdev_to_be_between",
    "expect_column_sum_to_be_between",
    "expect_column_to_exist",
    "expect_column_type_to_be",
    "expect_column_unique_value_count_to_be_between",
    "expect_column_value_lengths_to_be_between",
    "expect_column_value_lengths_to_equal",
    "expect_column_value_z_scores_to_be_less_than",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_dateutil_parseable",
    "expect_column_values_to_be_decreasing",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_in_type_list",
    "expect_column_values_to_be_increasing",
    "expect_column_values_to_be_json_parseable",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_of_type",
    "expect_column_values_to_be_unique",
    "expect_column_values_to_match_json_schema",
    "expect_column_values_to_match_like_pattern",
    "expect_column_values_to_match_like_pattern_list",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_match_regex_list",
    "expect_column_values_to_match_strftime_format",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_not_be_outliers",
    "expect_column_values_to_not_match_like_pattern",
    "expect_column_values_to_not_match_like_pattern_list",
    "expect_column_values_to_not_match_regex",
    "expect_column_values_to_not_match_regex_list",
    "expect_compound_columns_to_be_unique",
    "expect_multicolumn_sum_to_equal",
    "expect_multicolumn_values_to_be_equal",
    "expect_query_results_to_match_comparison",
    "expect_select_column_values_to_be_unique_within_record",
    "expect_table_column_count_to_be_between",
    "expect_table_column_count_to_equal",
    "expect_table_columns_to_match_ordered_list",
    "expect_table_columns_to_match_set",
    "expect_table_row_count_to_be_between",
    "expect_table_row_count_to_equal",
    "expect_table_row_count_to_equal_other_table",
    "unexpected_rows_expectation",
))

# Arguments every GE expectation accepts; the native engine ignores them, as GE's do not
# change what is computed (result_format, catch_exceptions) or only describe the expectation.
_COMMON = frozenset(("batch_id", "catch_exceptions", "description", "id", "meta", "notes",
                     "rendered_content", "result_format", "severity", "windows"))
_ROWS = frozenset(("row_condition", "condition_parser"))
_COLUMN = frozenset(("column",)) | _ROWS
_RANGE = frozenset(("min_value", "max_value", "strict_min", "strict_max"))

# The arguments of each type the native engine runs, as GE's classes declare them.
NATIVE_ARGS: dict[str, frozenset[str]] = {
    "expect_column_values_to_not_be_null": _COMMON | _COLUMN | {"mostly"},
    "expect_column_values_to_be_between": _COMMON | _COLUMN | _RANGE | {"mostly"},
    "expect_column_values_to_be_in_set": _COMMON | _COLUMN | {"mostly", "value_set"},
    "expect_column_values_to_be_unique": _COMMON | _COLUMN | {"mostly"},
    "expect_column_values_to_be_of_type": _COMMON | _COLUMN | {"mostly", "type_"},
    "expect_column_values_to_match_regex": _COMMON | _COLUMN | {"mostly", "regex"},
    "expect_table_row_count_to_be_between": _COMMON | _ROWS | _RANGE,
    "expect_table_columns_to_match_set": _COMMON | {"column_set", "exact_match"},
    "expect_column_mean_to_be_between": _COMMON | _COLUMN | _RANGE,
    "expect_column_median_to_be_between": _COMMON | _COLUMN | _RANGE,
}

# GE's accepted `condition_parser` values (its `ConditionParser` literal).
CONDITION_PARSERS: frozenset[str] = frozenset((
    "great_expectations", "great_expectations__experimental__", "pandas", "spark"))
