//! Which built-in functions a tenant-scoped statement may call: a per-dialect allow-list.
//!
//! The analyser proves confinement by walking the tables a statement names, so a function
//! is only safe if it cannot reach rows, or carry anything between tenants, behind that
//! walk's back. A function is allowed in a scoped statement only if it
//!
//! * reads no table, file, catalog or statistics by name, and runs no SQL given as text;
//! * neither reads nor changes session or connection state that a pooled connection carries
//!   from one tenant to the next (settings, user variables, "rows of the last statement"
//!   counters, last-insert ids, `currval`/`lastval`, prepared-statement or temp-table
//!   state, the seed of the session's random generator);
//! * does not act on other sessions or on objects every tenant shares (sequences, advisory
//!   and named locks, notifications, other backends; nor stalls the server on purpose);
//! * reads no server or catalog information (version, database, user, privileges, sizes).
//!
//! Everything else is refused, naming the function: a function missing from the lists below
//! is refused because nobody has checked it, not because it is known to be bad, and a user
//! can opt in explicitly with `allow_functions(...)`. [`refusal_reason`] explains the
//! well-known dangerous ones; [`writes`] says which of them change data or shared state, so
//! that a statement calling an opted-in function is treated as a write.
//!
//! Names are unqualified and lower case, as the caller folds an unquoted identifier. A name
//! quoted in another case (`"LOWER"`) is not the built-in on PostgreSQL, and is refused.
//! Each list holds only names that exist in that server (in some supported release: a
//! comment gives the release where the function is recent, and a statement calling it on
//! an older server fails with "no such function", which leaks nothing). The MySQL lists
//! serve both MySQL 8 and MariaDB 10.11: a name real in either is listed if it is pure in
//! both; a comment says which server has it when only one does.

use crate::Backend;

/// PostgreSQL built-ins a scoped statement may call. Besides `pg_proc` functions it holds SQL
/// keywords that sqlparser parses as calls (`current_date`, `current_timestamp`, `localtime`...;
/// the SQL/JSON `json_array`, `json_object`, `json_value`...) and function-style casts
/// (`date(x)`, `numeric(x)`, `text(x)`...: `pg_proc` has functions named after those types).
/// Full-text search is in except `ts_stat` and `ts_rewrite`, and the XML functions that work
/// on a value are in while `query_to_xml` and its family are not: those run SQL given as
/// text or read tables by name. `pg_typeof` and `pg_column_size` are the only `pg_*` names:
/// they describe the value passed in (its type, its size) and read no row.
const POSTGRES_ALLOWED: &[&str] = &[
    "abbrev",
    "abs",
    "acos",
    "acosd",
    "acosh",
    "age", // age(xid) reads the transaction counter too, but only as a distance from a given xid
    "any_value",
    "array_agg",
    "array_append",
    "array_cat",
    "array_dims",
    "array_fill",
    "array_length",
    "array_lower",
    "array_ndims",
    "array_position",
    "array_positions",
    "array_prepend",
    "array_remove",
    "array_replace",
    "array_reverse", // PostgreSQL 18
    "array_sample",
    "array_shuffle",
    "array_sort", // PostgreSQL 18
    "array_to_json",
    "array_to_string",
    "array_to_tsvector",
    "array_upper",
    "ascii",
    "asin",
    "asind",
    "asinh",
    "atan",
    "atan2",
    "atan2d",
    "atand",
    "atanh",
    "avg",
    "bit_and",
    "bit_count",
    "bit_length",
    "bit_or",
    "bit_xor",
    "bool_and",
    "bool_or",
    "broadcast",
    "btrim",
    "cardinality",
    "casefold", // PostgreSQL 18
    "cbrt",
    "ceil",
    "ceiling",
    "char_length",
    "character_length",
    "chr",
    "clock_timestamp",
    "coalesce",
    "concat",
    "concat_ws",
    "convert_from",
    "convert_to",
    "corr",
    "cos",
    "cosd",
    "cosh",
    "cot",
    "cotd",
    "count",
    "covar_pop",
    "covar_samp",
    "crc32",  // PostgreSQL 18
    "crc32c", // PostgreSQL 18
    "cume_dist",
    "current_date", // sqlparser parses these keywords as calls without arguments
    "current_time",
    "current_timestamp",
    "date",
    "date_add",
    "date_bin",
    "date_part",
    "date_subtract",
    "date_trunc",
    "datemultirange",
    "daterange",
    "decode", // bytea from text (hex, base64, escape)
    "degrees",
    "dense_rank",
    "div",
    "encode",
    "erf",
    "erfc",
    "every",
    "exp",
    "extract",
    "factorial",
    "family",
    "first_value",
    "float8",
    "floor",
    "format", // builds text; it only becomes SQL if fed to something that runs SQL text, and those are refused
    "gamma",  // PostgreSQL 18
    "gcd",
    "gen_random_uuid",
    "generate_series",
    "generate_subscripts",
    "get_bit",
    "get_byte",
    "greatest",
    "grouping",
    "host",
    "hostmask",
    "inet_merge",
    "inet_same_family",
    "initcap",
    "int4",
    "int4multirange",
    "int4range",
    "int8",
    "int8multirange",
    "int8range",
    "is_normalized",
    "isempty",
    "isfinite",
    "json", // SQL/JSON constructors and queries (PostgreSQL 16, 17) parse as calls
    "json_agg",
    "json_agg_strict",
    "json_array",
    "json_array_elements",
    "json_array_elements_text",
    "json_array_length",
    "json_arrayagg",
    "json_build_array",
    "json_build_object",
    "json_each",
    "json_each_text",
    "json_exists",
    "json_extract_path",
    "json_extract_path_text",
    "json_object",
    "json_object_agg",
    "json_object_agg_strict",
    "json_object_agg_unique",
    "json_object_agg_unique_strict",
    "json_object_keys",
    "json_objectagg",
    "json_populate_record", // the record type is given as a value (null::t); no row of t is read
    "json_populate_recordset",
    "json_query",
    "json_scalar",
    "json_serialize",
    "json_strip_nulls",
    "json_table",
    "json_to_record",
    "json_to_recordset",
    "json_to_tsvector",
    "json_typeof",
    "json_value",
    "jsonb_agg",
    "jsonb_agg_strict",
    "jsonb_array_elements",
    "jsonb_array_elements_text",
    "jsonb_array_length",
    "jsonb_build_array",
    "jsonb_build_object",
    "jsonb_contained", // the functions behind @> <@ ? ?| ?&, callable by name
    "jsonb_contains",
    "jsonb_each",
    "jsonb_each_text",
    "jsonb_exists",
    "jsonb_exists_all",
    "jsonb_exists_any",
    "jsonb_extract_path",
    "jsonb_extract_path_text",
    "jsonb_insert",
    "jsonb_object",
    "jsonb_object_agg",
    "jsonb_object_agg_strict",
    "jsonb_object_agg_unique",
    "jsonb_object_agg_unique_strict",
    "jsonb_object_keys",
    "jsonb_path_exists",
    "jsonb_path_exists_tz",
    "jsonb_path_match",
    "jsonb_path_match_tz",
    "jsonb_path_query",
    "jsonb_path_query_array",
    "jsonb_path_query_array_tz",
    "jsonb_path_query_first",
    "jsonb_path_query_first_tz",
    "jsonb_path_query_tz",
    "jsonb_populate_record",
    "jsonb_populate_record_valid",
    "jsonb_populate_recordset",
    "jsonb_pretty",
    "jsonb_set",
    "jsonb_set_lax",
    "jsonb_strip_nulls",
    "jsonb_to_record",
    "jsonb_to_recordset",
    "jsonb_to_tsvector",
    "jsonb_typeof",
    "justify_days",
    "justify_hours",
    "justify_interval",
    "lag",
    "last_value",
    "lcm",
    "lead",
    "least",
    "left",
    "length",
    "lgamma", // PostgreSQL 18
    "ln",
    "localtime",
    "localtimestamp",
    "log",
    "log10",
    "lower",
    "lower_inc",
    "lower_inf",
    "lpad",
    "ltrim",
    "make_date",
    "make_interval",
    "make_time",
    "make_timestamp",
    "make_timestamptz",
    "masklen",
    "max",
    "md5",
    "min",
    "min_scale",
    "mod",
    "mode",
    "multirange",
    "netmask",
    "network",
    "normalize",
    "now",
    "nth_value",
    "ntile",
    "nullif",
    "num_nonnulls",
    "num_nulls",
    "numeric",
    "nummultirange",
    "numnode",
    "numrange",
    "octet_length",
    "overlay",
    "parse_ident", // splits an identifier string; looks nothing up
    "percent_rank",
    "percentile_cont",
    "percentile_disc",
    "pg_column_size", // the size of the value passed in, not of a relation
    "pg_typeof",      // the type of its argument: the statement already has it, and no row is read
    "phraseto_tsquery",
    "pi",
    "plainto_tsquery",
    "position",
    "pow",
    "power",
    "querytree",
    "quote_ident", // pure text quoting, like format
    "quote_literal",
    "quote_nullable",
    "radians",
    "random", // the session's generator; setseed, which would seed it for the next tenant, is refused
    "random_normal",
    "range_agg",
    "range_intersect_agg",
    "range_merge",
    "rank",
    "regexp_count",
    "regexp_instr",
    "regexp_like",
    "regexp_match",
    "regexp_matches",
    "regexp_replace",
    "regexp_split_to_array",
    "regexp_split_to_table",
    "regexp_substr",
    "regr_avgx",
    "regr_avgy",
    "regr_count",
    "regr_intercept",
    "regr_r2",
    "regr_slope",
    "regr_sxx",
    "regr_sxy",
    "regr_syy",
    "repeat",
    "replace",
    "reverse",
    "right",
    "round",
    "row_number",
    "row_to_json",
    "rpad",
    "rtrim",
    "scale",
    "set_bit", // returns a changed copy of the bytea; writes nothing
    "set_byte",
    "set_masklen",
    "setweight",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sign",
    "sin",
    "sind",
    "sinh",
    "split_part",
    "sqrt",
    "starts_with",
    "statement_timestamp",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "string_agg",
    "string_to_array",
    "string_to_table",
    "strip",
    "strpos",
    "substr",
    "substring",
    "sum",
    "tan",
    "tand",
    "tanh",
    "text",
    "time",
    "timeofday",
    "timestamp",
    "timestamptz",
    "timezone",
    "to_ascii",
    "to_bin", // PostgreSQL 17
    "to_char",
    "to_date",
    "to_hex",
    "to_json",
    "to_jsonb",
    "to_number",
    "to_oct", // PostgreSQL 17
    "to_timestamp",
    "to_tsquery", // a text search configuration named here is read from the catalog: settings, not rows
    "to_tsvector",
    "transaction_timestamp",
    "translate",
    "trim",
    "trim_array",
    "trim_scale",
    "trunc",
    "ts_delete",
    "ts_filter",
    "ts_headline",
    "ts_rank",
    "ts_rank_cd",
    "tsmultirange",
    "tsquery_phrase",
    "tsrange",
    "tstzmultirange",
    "tstzrange",
    "tsvector_to_array",
    "unistr",
    "unnest",
    "upper",
    "upper_inc",
    "upper_inf",
    "uuid_extract_timestamp",
    "uuid_extract_version",
    "uuidv4", // PostgreSQL 18
    "uuidv7", // PostgreSQL 18
    "var_pop",
    "var_samp",
    "variance",
    "websearch_to_tsquery",
    "width_bucket",
    "xml_is_well_formed",
    "xml_is_well_formed_content",
    "xml_is_well_formed_document",
    "xmlagg",
    "xmlcomment",
    "xmlconcat",
    "xmlexists",
    "xmltext",
    "xpath",
    "xpath_exists",
];

/// SQLite built-ins a scoped statement may call: the core, date, JSON, aggregate and window
/// functions.
///
/// Also listed, though the SQLite that libsqlite3-sys bundles (sqlx's default) compiles
/// them out: the math functions (`acos` ... `trunc`, `ceil`, `floor`, `ln`, `pow`, `sqrt`:
/// only with `SQLITE_ENABLE_MATH_FUNCTIONS`, which a system SQLite usually sets) and
/// `median`/`percentile*` (`SQLITE_ENABLE_PERCENTILE`, 3.51). They are pure, and where they
/// are absent the statement fails with "no such function", which leaks nothing. The FTS3 and
/// FTS5 auxiliary functions (`bm25`, `highlight`, `snippet`, `offsets`, `matchinfo`) are in
/// the bundled build; they read only the matched row of the full-text table in FROM.
const SQLITE_ALLOWED: &[&str] = &[
    "abs",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "avg",
    "bm25",
    "ceil",
    "ceiling",
    "char",
    "coalesce",
    "concat",    // 3.44
    "concat_ws", // 3.44
    "cos",
    "cosh",
    "count",
    "cume_dist",
    "current_date", // sqlparser parses these keywords as calls without arguments
    "current_time",
    "current_timestamp",
    "date",
    "datetime",
    "degrees",
    "dense_rank",
    "exp",
    "first_value",
    "floor",
    "format", // 3.38, printf's other name
    "glob",
    "group_concat",
    "hex",
    "highlight",
    "if", // 3.48, iif's other name
    "ifnull",
    "iif",
    "instr",
    "json",
    "json_array",
    "json_array_insert",
    "json_array_length",
    "json_each",
    "json_error_position",
    "json_extract",
    "json_group_array",
    "json_group_object",
    "json_insert",
    "json_object",
    "json_patch",
    "json_pretty",
    "json_quote",
    "json_remove",
    "json_replace",
    "json_set",
    "json_tree",
    "json_type",
    "json_valid",
    "jsonb",
    "jsonb_array",
    "jsonb_array_insert",
    "jsonb_each", // 3.51
    "jsonb_extract",
    "jsonb_group_array",
    "jsonb_group_object",
    "jsonb_insert",
    "jsonb_object",
    "jsonb_patch",
    "jsonb_remove",
    "jsonb_replace",
    "jsonb_set",
    "jsonb_tree", // 3.51
    "julianday",
    "lag",
    "last_value",
    "lead",
    "length",
    "like",
    "likelihood", // planner hints that return their argument
    "likely",
    "ln",
    "log",
    "log10",
    "log2",
    "lower",
    "ltrim",
    "matchinfo",
    "max",
    "median", // 3.51, only with SQLITE_ENABLE_PERCENTILE (not in the bundled build)
    "min",
    "mod",
    "nth_value",
    "ntile",
    "nullif",
    "octet_length", // 3.43
    "offsets",
    "percent_rank",
    "percentile",
    "percentile_cont",
    "percentile_disc",
    "pi",
    "pow",
    "power",
    "printf",
    "quote",
    "radians",
    "random",
    "randomblob",
    "rank",
    "replace",
    "round",
    "row_number",
    "rtrim",
    "sign",
    "sin",
    "sinh",
    "snippet",
    "soundex", // libsqlite3-sys's bundled build sets SQLITE_SOUNDEX
    "sqrt",
    "strftime",
    "string_agg", // 3.44
    "substr",
    "substring",
    "sum",
    "tan",
    "tanh",
    "time",
    "timediff", // 3.43
    "total",
    "trim",
    "trunc",
    "typeof",
    "unhex", // 3.41
    "unicode",
    "unistr",       // 3.50
    "unistr_quote", // 3.50
    "unixepoch",    // 3.38
    "unlikely",
    "upper",
    "zeroblob",
];

/// MySQL 8 and MariaDB 10.11 built-ins a scoped statement may call. `values(col)` (and
/// MariaDB's `value(col)`) in `ON DUPLICATE KEY UPDATE` reads the row being inserted. `uuid`
/// is in, `uuid_short` is refused (see [`MYSQL_REFUSED`]).
const MYSQL_ALLOWED: &[&str] = &[
    "abs",
    "acos",
    "add_months", // MariaDB
    "adddate",
    "addtime",
    "aes_decrypt",
    "aes_encrypt",
    "any_value", // MySQL
    "ascii",
    "asin",
    "atan",
    "atan2",
    "avg",
    "bin",
    "bin_to_uuid", // MySQL
    "bit_and",
    "bit_count",
    "bit_length",
    "bit_or",
    "bit_xor",
    "ceil",
    "ceiling",
    "char",
    "char_length",
    "character_length",
    "chr", // MariaDB
    "coalesce",
    "compress",
    "concat",
    "concat_ws",
    "conv",
    "convert_tz", // named zones come from the server's shared time zone tables, not from tenant rows
    "cos",
    "cot",
    "count",
    "crc32",
    "crc32c", // MariaDB
    "cume_dist",
    "curdate",
    "current_date",
    "current_time",
    "current_timestamp",
    "curtime",
    "date",
    "date_add",
    "date_format",
    "date_sub",
    "datediff",
    "day",
    "dayname",
    "dayofmonth",
    "dayofweek",
    "dayofyear",
    "degrees",
    "dense_rank",
    "elt",
    "exp",
    "export_set",
    "extract",
    "extractvalue", // XPath over a string argument
    "field",
    "find_in_set",
    "first_value",
    "floor",
    "format",
    "format_bytes", // MySQL
    "format_pico_time",
    "from_base64",
    "from_days",
    "from_unixtime",
    "get_format", // a constant format string per (type, locale)
    "greatest",
    "group_concat",
    "grouping", // MySQL
    "hex",
    "hour",
    "if",
    "ifnull",
    "inet6_aton",
    "inet6_ntoa",
    "inet_aton",
    "inet_ntoa",
    "insert", // INSERT(str, pos, len, newstr): a string function
    "instr",
    "is_ipv4",
    "is_ipv4_compat",
    "is_ipv4_mapped",
    "is_ipv6",
    "is_uuid", // MySQL
    "isnull",
    "json_array",
    "json_array_append",
    "json_array_insert",
    "json_arrayagg",
    "json_compact", // MariaDB
    "json_contains",
    "json_contains_path",
    "json_depth",
    "json_detailed", // MariaDB
    "json_equals",   // MariaDB
    "json_exists",   // MariaDB
    "json_extract",
    "json_insert",
    "json_keys",
    "json_length",
    "json_loose", // MariaDB
    "json_merge",
    "json_merge_patch",
    "json_merge_preserve",
    "json_normalize", // MariaDB
    "json_object",
    "json_objectagg",
    "json_overlaps",
    "json_pretty",
    "json_query", // MariaDB
    "json_quote",
    "json_remove",
    "json_replace",
    "json_schema_valid",
    "json_schema_validation_report", // MySQL
    "json_search",
    "json_set",
    "json_storage_free", // MySQL: of the value passed in
    "json_storage_size", // MySQL
    "json_table",
    "json_type",
    "json_unquote",
    "json_valid",
    "json_value",
    "lag",
    "last_day",
    "last_value", // on MariaDB also a plain function returning its last argument
    "lcase",
    "lead",
    "least",
    "left",
    "length",
    "lengthb", // MariaDB
    "ln",
    "localtime",
    "localtimestamp",
    "locate",
    "log",
    "log10",
    "log2",
    "lower",
    "lpad",
    "ltrim",
    "make_set",
    "makedate",
    "maketime",
    "max",
    "md5",
    "median", // MariaDB (window function)
    "microsecond",
    "mid",
    "min",
    "minute",
    "mod",
    "month",
    "monthname",
    "natural_sort_key", // MariaDB
    "now",
    "nth_value",
    "ntile",
    "nullif",
    "nvl",  // MariaDB
    "nvl2", // MariaDB
    "oct",
    "octet_length",
    "ord",
    "percent_rank",
    "percentile_cont", // MariaDB (window function)
    "percentile_disc", // MariaDB (window function)
    "period_add",
    "period_diff",
    "pi",
    "position",
    "pow",
    "power",
    "quarter",
    "quote",
    "radians",
    "rand", // RAND(seed) seeds a generator of its own, not the session's
    "random_bytes",
    "rank",
    "regexp_instr",
    "regexp_like", // MySQL
    "regexp_replace",
    "regexp_substr",
    "repeat",
    "replace",
    "reverse",
    "right",
    "round",
    "row_number",
    "rpad",
    "rtrim",
    "sec_to_time",
    "second",
    "sformat", // MariaDB
    "sha",
    "sha1",
    "sha2",
    "sign",
    "sin",
    "soundex",
    "space",
    "sqrt",
    "std",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "str_to_date",
    "strcmp",
    "subdate",
    "substr",
    "substring",
    "substring_index",
    "subtime",
    "sum",
    "sys_guid", // MariaDB
    "sysdate",
    "tan",
    "time",
    "time_format",
    "time_to_sec",
    "timediff",
    "timestamp",
    "timestampadd",
    "timestampdiff",
    "to_base64",
    "to_char", // MariaDB
    "to_days",
    "to_seconds",
    "trim",
    "truncate",
    "ucase",
    "uncompress",
    "uncompressed_length",
    "unhex",
    "unix_timestamp",
    "updatexml", // returns a changed copy of an XML string; writes nothing
    "upper",
    "utc_date",
    "utc_time",
    "utc_timestamp",
    "uuid",
    "uuid_to_bin", // MySQL
    "value",       // MariaDB's name for VALUES(col)
    "values",      // VALUES(col) in ON DUPLICATE KEY UPDATE: the row being inserted
    "var_pop",
    "var_samp",
    "variance",
    "week",
    "weekday",
    "weekofyear",
    "year",
    "yearweek",
];

/// PostgreSQL set-returning built-ins that read no table. Any other allowed function may
/// also stand in FROM on PostgreSQL (as a one-row table: `FROM to_tsquery('x') AS q`); see
/// [`is_pure_table_function`].
const POSTGRES_TABLE_FUNCTIONS: &[&str] = &[
    "generate_series",
    "generate_subscripts",
    "json_array_elements",
    "json_array_elements_text",
    "json_each",
    "json_each_text",
    "json_object_keys",
    "json_populate_record",
    "json_populate_recordset",
    "json_table",
    "json_to_record",
    "json_to_recordset",
    "jsonb_array_elements",
    "jsonb_array_elements_text",
    "jsonb_each",
    "jsonb_each_text",
    "jsonb_object_keys",
    "jsonb_path_query",
    "jsonb_path_query_tz",
    "jsonb_populate_record",
    "jsonb_populate_recordset",
    "jsonb_to_record",
    "jsonb_to_recordset",
    "regexp_matches",
    "regexp_split_to_table",
    "string_to_table",
    "unnest",
];

/// SQLite table-valued built-ins that read no table. `generate_series` is not among them:
/// it lives in `ext/misc/series.c`, which the SQLite shell compiles in but the library that
/// sqlx bundles (libsqlite3-sys) does not. The `pragma_*` table-valued functions read the
/// catalog and are refused.
const SQLITE_TABLE_FUNCTIONS: &[&str] = &["json_each", "json_tree", "jsonb_each", "jsonb_tree"];

/// MySQL and MariaDB table functions that read no table.
const MYSQL_TABLE_FUNCTIONS: &[&str] = &["json_table"];

const SQL_TEXT: &str = "runs SQL given as text";
const BY_NAME: &str = "reads whole tables given by name";
const CURSOR: &str = "reads a cursor opened elsewhere in the session";
const SESSION: &str = "reads or changes session state that a pooled connection carries to the next tenant";
const SEQUENCE: &str = "acts on a sequence shared by every tenant";
const COUNTER: &str = "advances a counter shared by every tenant";
const LOCK: &str = "takes or releases a lock shared by every session";
const LOCK_STATE: &str = "reads the locks held by other sessions";
const CATALOG: &str = "reads the server's catalog or statistics";
const SERVER: &str = "reads facts about the server, the database or the connection";
const FILES: &str = "reads files on the server";
const LARGE_OBJECTS: &str = "reads or writes large objects, which every tenant shares";
const OTHER_SESSIONS: &str = "acts on other sessions";
const NOTIFY: &str = "sends a notification that any session can listen to";
const STALL: &str = "keeps the connection and the server busy on purpose, at every tenant's expense";
const TRANSACTIONS: &str = "reads or advances the server's transaction counters, which every tenant shares";
const ADMIN: &str = "administers the server that every tenant shares";
const REPLICATION: &str = "waits for or reads the server's replication state";
const LOAD_CODE: &str = "loads code into the connection";
const STORAGE: &str = "reads where rows sit in the database file";

/// Well-known dangerous PostgreSQL functions, by exact name, and why they are refused.
///
/// `txid_current`/`pg_current_xact_id` are refused (and count as writes): they assign a
/// transaction id, which fails on a standby, and expose a counter that every tenant's
/// transactions advance. `ts_rewrite` is refused whole because its two-argument form runs
/// a query given as text. `setseed` seeds the session's `random()` for whoever uses the
/// connection next.
const POSTGRES_REFUSED: &[(&str, &str)] = &[
    ("col_description", CATALOG),
    ("current_catalog", SERVER),
    ("current_database", SERVER),
    ("current_query", SESSION),
    ("current_role", SERVER),
    ("current_schema", SERVER),
    ("current_schemas", SERVER),
    ("current_setting", SESSION),
    ("current_user", SERVER),
    ("currval", SESSION),
    ("cursor_to_xml", CURSOR),
    ("cursor_to_xmlschema", CURSOR),
    ("database_to_xml", BY_NAME),
    ("database_to_xml_and_xmlschema", BY_NAME),
    ("database_to_xmlschema", BY_NAME),
    ("format_type", CATALOG),
    ("inet_client_addr", SERVER),
    ("inet_client_port", SERVER),
    ("inet_server_addr", SERVER),
    ("inet_server_port", SERVER),
    ("lastval", SESSION),
    ("loread", LARGE_OBJECTS),
    ("lowrite", LARGE_OBJECTS),
    ("nextval", SEQUENCE),
    ("obj_description", CATALOG),
    ("pg_backend_pid", SERVER),
    ("pg_backup_start", ADMIN),
    ("pg_backup_stop", ADMIN),
    ("pg_cancel_backend", OTHER_SESSIONS),
    ("pg_conf_load_time", SERVER),
    ("pg_create_restore_point", ADMIN),
    ("pg_current_logfile", SERVER),
    ("pg_current_snapshot", TRANSACTIONS),
    ("pg_current_xact_id", TRANSACTIONS),
    ("pg_current_xact_id_if_assigned", TRANSACTIONS),
    ("pg_last_committed_xact", TRANSACTIONS),
    ("pg_listening_channels", SESSION),
    ("pg_log_backend_memory_contexts", ADMIN),
    ("pg_logical_emit_message", ADMIN),
    ("pg_notify", NOTIFY),
    ("pg_postmaster_start_time", SERVER),
    ("pg_promote", ADMIN),
    ("pg_reload_conf", ADMIN),
    ("pg_rotate_logfile", ADMIN),
    ("pg_sequence_last_value", SEQUENCE),
    ("pg_stat_file", FILES),
    ("pg_switch_wal", ADMIN),
    ("pg_terminate_backend", OTHER_SESSIONS),
    ("pg_xact_commit_timestamp", TRANSACTIONS),
    ("pg_xact_commit_timestamp_origin", TRANSACTIONS),
    ("pg_xact_status", TRANSACTIONS),
    ("query_to_xml", SQL_TEXT),
    ("query_to_xml_and_xmlschema", SQL_TEXT),
    ("query_to_xmlschema", SQL_TEXT),
    ("row_security_active", CATALOG),
    ("schema_to_xml", BY_NAME),
    ("schema_to_xml_and_xmlschema", BY_NAME),
    ("schema_to_xmlschema", BY_NAME),
    ("session_user", SERVER),
    ("set_config", SESSION),
    ("setseed", SESSION),
    ("setval", SEQUENCE),
    ("shobj_description", CATALOG),
    ("system_user", SERVER),
    ("table_to_xml", BY_NAME),
    ("table_to_xml_and_xmlschema", BY_NAME),
    ("table_to_xmlschema", BY_NAME),
    ("ts_rewrite", SQL_TEXT),
    ("ts_stat", SQL_TEXT),
    ("user", SERVER),
    ("version", SERVER),
];

/// Families of PostgreSQL functions refused by prefix, first match wins. `has_*_privilege`
/// is matched in [`refusal_reason`]; `pg_` last, as the catch-all for catalog and
/// statistics functions (`pg_get_*`, `pg_*_size`, `pg_stat_*`, `pg_table_is_visible`...).
const POSTGRES_REFUSED_PREFIXES: &[(&str, &str)] = &[
    ("dblink", SQL_TEXT),
    ("lo_", LARGE_OBJECTS),
    ("pg_advisory_", LOCK),
    ("pg_try_advisory_", LOCK),
    ("pg_sleep", STALL),
    ("pg_read_", FILES),
    ("pg_ls_", FILES),
    ("pg_stat_reset", ADMIN),
    ("pg_create_", ADMIN),
    ("pg_copy_", ADMIN),
    ("pg_drop_", ADMIN),
    ("pg_replication_", ADMIN),
    ("pg_logical_slot_", ADMIN),
    ("pg_wal_replay_", ADMIN),
    ("txid_", TRANSACTIONS),
    ("to_reg", CATALOG),
    ("pg_", CATALOG),
];

/// Well-known dangerous SQLite functions and why they are refused.
const SQLITE_REFUSED: &[(&str, &str)] = &[
    ("changes", SESSION),
    ("fts3_tokenizer", SESSION),
    ("last_insert_rowid", SESSION),
    ("load_extension", LOAD_CODE),
    ("rtreecheck", BY_NAME),
    ("sqlite_compileoption_get", SERVER),
    ("sqlite_compileoption_used", SERVER),
    ("sqlite_offset", STORAGE),
    ("sqlite_source_id", SERVER),
    ("sqlite_version", SERVER),
    ("total_changes", SESSION),
];

/// Families of SQLite functions refused by prefix: the `pragma_*` table-valued functions
/// read the schema, the remaining `sqlite_*` ones describe the library.
const SQLITE_REFUSED_PREFIXES: &[(&str, &str)] = &[("pragma_", CATALOG), ("sqlite_", SERVER)];

/// Well-known dangerous MySQL and MariaDB functions and why they are refused.
///
/// `uuid_short` is refused while `uuid` is allowed: its value is a server-wide counter
/// (with the server id and start time), so it tells a tenant how often others called it.
const MYSQL_REFUSED: &[(&str, &str)] = &[
    ("benchmark", STALL),
    ("binlog_gtid_pos", REPLICATION),
    ("connection_id", SERVER),
    ("current_role", SERVER),
    ("current_user", SERVER),
    ("database", SERVER),
    ("found_rows", SESSION),
    ("get_lock", LOCK),
    ("icu_version", SERVER),
    ("is_free_lock", LOCK_STATE),
    ("is_used_lock", LOCK_STATE),
    ("last_insert_id", SESSION),
    ("lastval", SESSION),
    ("load_file", FILES),
    ("master_gtid_wait", REPLICATION),
    ("master_pos_wait", REPLICATION),
    ("nextval", SEQUENCE),
    ("ps_current_thread_id", SERVER),
    ("ps_thread_id", SERVER),
    ("release_all_locks", LOCK),
    ("release_lock", LOCK),
    ("roles_graphml", CATALOG),
    ("row_count", SESSION),
    ("schema", SERVER),
    ("session_user", SERVER),
    ("setval", SEQUENCE),
    ("sleep", STALL),
    ("source_pos_wait", REPLICATION),
    ("system_user", SERVER),
    ("user", SERVER),
    ("uuid_short", COUNTER),
    ("version", SERVER),
    ("wait_for_executed_gtid_set", REPLICATION),
    ("wait_until_sql_thread_after_gtids", REPLICATION),
    ("wsrep_last_seen_gtid", REPLICATION),
    ("wsrep_last_written_gtid", REPLICATION),
    ("wsrep_sync_wait_upto_gtid", REPLICATION),
];

/// Families of MySQL functions refused by prefix: MySQL 8's `internal_*` functions back
/// `information_schema`.
const MYSQL_REFUSED_PREFIXES: &[(&str, &str)] = &[("internal_", CATALOG)];

/// PostgreSQL functions that change data or shared state when called.
const POSTGRES_WRITES: &[&str] = &[
    "lo_creat",
    "lo_create",
    "lo_export",
    "lo_from_bytea",
    "lo_import",
    "lo_put",
    "lo_truncate",
    "lo_truncate64",
    "lo_unlink",
    "lowrite",
    "nextval",
    "pg_backup_start",
    "pg_backup_stop",
    "pg_cancel_backend",
    "pg_create_restore_point",
    "pg_current_xact_id",
    "pg_logical_emit_message",
    "pg_notify",
    "pg_promote",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_switch_wal",
    "pg_terminate_backend",
    "set_config",
    "setseed",
    "setval",
    "txid_current",
];

/// PostgreSQL families that change data or shared state. `dblink*` may run any statement
/// on the other end, so all of it counts as a write.
const POSTGRES_WRITE_PREFIXES: &[&str] = &[
    "dblink",
    "pg_advisory_",
    "pg_try_advisory_",
    "pg_stat_reset",
    "pg_create_",
    "pg_copy_",
    "pg_drop_",
    "pg_replication_",
    "pg_logical_slot_get_",
    "pg_wal_replay_",
];

/// SQLite functions that change the connection when called.
const SQLITE_WRITES: &[&str] = &["fts3_tokenizer", "load_extension"];

/// MySQL and MariaDB functions that change data or shared state when called.
/// `last_insert_id(expr)` sets the session's value; without an argument it only reads it,
/// but the name alone cannot tell, so it counts as a write.
const MYSQL_WRITES: &[&str] = &["get_lock", "last_insert_id", "nextval", "release_all_locks", "release_lock", "setval"];

/// Whether `name` (an unqualified built-in function name, lower case) may be called in a
/// scoped statement on `backend`.
pub(crate) fn is_allowed(backend: Backend, name: &str) -> bool {
    let list = match backend {
        Backend::Postgres => POSTGRES_ALLOWED,
        Backend::Sqlite => SQLITE_ALLOWED,
        Backend::MySql => MYSQL_ALLOWED,
    };
    list.binary_search(&name).is_ok()
}

/// Whether `name` is a built-in table-valued function that reads no table, and so may stand
/// in the FROM of a scoped statement: `unnest`, `generate_series`, `jsonb_each`... on
/// PostgreSQL, `json_each`/`json_tree` on SQLite, `JSON_TABLE` on MySQL.
///
/// PostgreSQL accepts any function in FROM, a scalar one as a one-row table (the documented
/// full-text idiom `FROM docs, to_tsquery('neutrino') AS query`), so there every allowed
/// function is also a pure table function.
pub(crate) fn is_pure_table_function(backend: Backend, name: &str) -> bool {
    match backend {
        Backend::Postgres => POSTGRES_TABLE_FUNCTIONS.binary_search(&name).is_ok() || is_allowed(backend, name),
        Backend::Sqlite => SQLITE_TABLE_FUNCTIONS.binary_search(&name).is_ok(),
        Backend::MySql => MYSQL_TABLE_FUNCTIONS.binary_search(&name).is_ok(),
    }
}

/// Why a known function is refused, when it is one of the well-known dangerous ones, as a
/// clause that reads after "function `x` ": "runs SQL given as text", "acts on a sequence
/// shared by every tenant"... `None` for an allowed function and for one that is refused
/// only because it is not on the allow-list.
pub(crate) fn refusal_reason(backend: Backend, name: &str) -> Option<&'static str> {
    if is_allowed(backend, name) {
        return None;
    }
    let (exact, prefixes) = match backend {
        Backend::Postgres => (POSTGRES_REFUSED, POSTGRES_REFUSED_PREFIXES),
        Backend::Sqlite => (SQLITE_REFUSED, SQLITE_REFUSED_PREFIXES),
        Backend::MySql => (MYSQL_REFUSED, MYSQL_REFUSED_PREFIXES),
    };
    if let Ok(i) = exact.binary_search_by(|(n, _)| n.cmp(&name)) {
        return Some(exact[i].1);
    }
    if backend == Backend::Postgres && name.starts_with("has_") && name.ends_with("_privilege") {
        return Some(CATALOG);
    }
    prefixes.iter().find(|(prefix, _)| name.starts_with(prefix)).map(|(_, why)| *why)
}

/// Whether a function changes data or shared state when called (`nextval`, `setval`,
/// `pg_advisory_lock`, `GET_LOCK`, `set_config`, `lo_import`...): a statement calling it is
/// a write. Meant for functions the user opted in to; a function this module does not know
/// (a user's own) is not assumed to write.
pub(crate) fn writes(backend: Backend, name: &str) -> bool {
    let (exact, prefixes): (&[&str], &[&str]) = match backend {
        Backend::Postgres => (POSTGRES_WRITES, POSTGRES_WRITE_PREFIXES),
        Backend::Sqlite => (SQLITE_WRITES, &[]),
        Backend::MySql => (MYSQL_WRITES, &[]),
    };
    exact.binary_search(&name).is_ok() || prefixes.iter().any(|prefix| name.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOWED: [(Backend, &[&str]); 3] =
        [(Backend::Postgres, POSTGRES_ALLOWED), (Backend::Sqlite, SQLITE_ALLOWED), (Backend::MySql, MYSQL_ALLOWED)];

    fn assert_sorted_unique_lower(what: &str, list: &[&str]) {
        for pair in list.windows(2) {
            assert!(pair[0] < pair[1], "{what}: `{}` must come after `{}` (sorted, no duplicates)", pair[0], pair[1]);
        }
        for name in list {
            assert!(
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{what}: `{name}` must be a lower-case identifier"
            );
        }
    }

    #[test]
    fn lists_are_sorted_unique_and_lower_case() {
        let lists: [(&str, &[&str]); 9] = [
            ("POSTGRES_ALLOWED", POSTGRES_ALLOWED),
            ("SQLITE_ALLOWED", SQLITE_ALLOWED),
            ("MYSQL_ALLOWED", MYSQL_ALLOWED),
            ("POSTGRES_TABLE_FUNCTIONS", POSTGRES_TABLE_FUNCTIONS),
            ("SQLITE_TABLE_FUNCTIONS", SQLITE_TABLE_FUNCTIONS),
            ("MYSQL_TABLE_FUNCTIONS", MYSQL_TABLE_FUNCTIONS),
            ("POSTGRES_WRITES", POSTGRES_WRITES),
            ("SQLITE_WRITES", SQLITE_WRITES),
            ("MYSQL_WRITES", MYSQL_WRITES),
        ];
        for (what, list) in lists {
            assert_sorted_unique_lower(what, list);
        }
        let refused: [(&str, &[(&str, &str)]); 3] = [
            ("POSTGRES_REFUSED", POSTGRES_REFUSED),
            ("SQLITE_REFUSED", SQLITE_REFUSED),
            ("MYSQL_REFUSED", MYSQL_REFUSED),
        ];
        for (what, list) in refused {
            let names: Vec<&str> = list.iter().map(|(n, _)| *n).collect();
            assert_sorted_unique_lower(what, &names);
        }
    }

    #[test]
    fn allowed_and_refused_do_not_overlap() {
        let refused =
            [(Backend::Postgres, POSTGRES_REFUSED), (Backend::Sqlite, SQLITE_REFUSED), (Backend::MySql, MYSQL_REFUSED)];
        for (backend, list) in refused {
            for (name, _) in list {
                assert!(!is_allowed(backend, name), "{backend:?}: `{name}` is both allowed and refused");
                assert!(refusal_reason(backend, name).is_some(), "{backend:?}: `{name}`");
            }
        }
        for (backend, list) in ALLOWED {
            for name in list {
                assert!(!writes(backend, name), "{backend:?}: allowed `{name}` must not write");
                assert_eq!(refusal_reason(backend, name), None, "{backend:?}: `{name}`");
            }
        }
    }

    #[test]
    fn writing_functions_are_refused_with_a_reason() {
        let writes =
            [(Backend::Postgres, POSTGRES_WRITES), (Backend::Sqlite, SQLITE_WRITES), (Backend::MySql, MYSQL_WRITES)];
        for (backend, list) in writes {
            for name in list {
                assert!(!is_allowed(backend, name), "{backend:?}: `{name}`");
                assert!(refusal_reason(backend, name).is_some(), "{backend:?}: `{name}` needs a reason");
            }
        }
    }

    #[test]
    fn table_functions_are_also_allowed_calls() {
        let tables = [
            (Backend::Postgres, POSTGRES_TABLE_FUNCTIONS),
            (Backend::Sqlite, SQLITE_TABLE_FUNCTIONS),
            (Backend::MySql, MYSQL_TABLE_FUNCTIONS),
        ];
        for (backend, list) in tables {
            for name in list {
                assert!(is_allowed(backend, name), "{backend:?}: table function `{name}` must be allowed");
                assert!(is_pure_table_function(backend, name));
            }
        }
    }

    #[test]
    fn common_functions_are_allowed_everywhere() {
        for backend in [Backend::Postgres, Backend::Sqlite, Backend::MySql] {
            for name in ["lower", "upper", "coalesce", "count", "sum", "max", "row_number", "replace", "abs", "nullif"]
            {
                assert!(is_allowed(backend, name), "{backend:?}: `{name}`");
            }
            assert!(!is_allowed(backend, "no_such_function"));
            assert_eq!(refusal_reason(backend, "no_such_function"), None);
            assert!(!writes(backend, "lower"));
        }
    }

    #[test]
    fn postgres() {
        let pg = Backend::Postgres;
        for name in [
            "jsonb_set",
            "date_trunc",
            "to_tsvector",
            "ts_rank",
            "string_agg",
            "gen_random_uuid",
            "format",
            "quote_ident",
            "pg_typeof",
            "current_timestamp",
            "regexp_replace",
            "array_agg",
            "xmlexists",
        ] {
            assert!(is_allowed(pg, name), "`{name}`");
        }
        assert_eq!(refusal_reason(pg, "current_setting"), Some(SESSION));
        assert_eq!(refusal_reason(pg, "set_config"), Some(SESSION));
        assert_eq!(refusal_reason(pg, "nextval"), Some(SEQUENCE));
        assert_eq!(refusal_reason(pg, "currval"), Some(SESSION));
        assert_eq!(refusal_reason(pg, "query_to_xml"), Some(SQL_TEXT));
        assert_eq!(refusal_reason(pg, "ts_stat"), Some(SQL_TEXT));
        assert_eq!(refusal_reason(pg, "table_to_xml"), Some(BY_NAME));
        assert_eq!(refusal_reason(pg, "dblink_exec"), Some(SQL_TEXT));
        assert_eq!(refusal_reason(pg, "pg_advisory_xact_lock"), Some(LOCK));
        assert_eq!(refusal_reason(pg, "pg_try_advisory_lock"), Some(LOCK));
        assert_eq!(refusal_reason(pg, "pg_sleep_for"), Some(STALL));
        assert_eq!(refusal_reason(pg, "pg_read_binary_file"), Some(FILES));
        assert_eq!(refusal_reason(pg, "lo_import"), Some(LARGE_OBJECTS));
        assert_eq!(refusal_reason(pg, "has_table_privilege"), Some(CATALOG));
        assert_eq!(refusal_reason(pg, "pg_relation_size"), Some(CATALOG));
        assert_eq!(refusal_reason(pg, "pg_get_serial_sequence"), Some(CATALOG));
        assert_eq!(refusal_reason(pg, "to_regclass"), Some(CATALOG));
        assert_eq!(refusal_reason(pg, "version"), Some(SERVER));
        assert_eq!(refusal_reason(pg, "current_user"), Some(SERVER));
        assert_eq!(refusal_reason(pg, "txid_current"), Some(TRANSACTIONS));
        assert_eq!(refusal_reason(pg, "pg_terminate_backend"), Some(OTHER_SESSIONS));
        assert_eq!(refusal_reason(pg, "pg_notify"), Some(NOTIFY));
        for name in [
            "nextval",
            "setval",
            "set_config",
            "pg_advisory_lock",
            "pg_advisory_unlock_all",
            "lo_import",
            "pg_notify",
            "txid_current",
            "dblink_exec",
        ] {
            assert!(writes(pg, name), "`{name}` writes");
        }
        for name in ["currval", "current_setting", "pg_sleep", "query_to_xml", "lo_get"] {
            assert!(!writes(pg, name), "`{name}` does not write");
        }
        assert!(is_pure_table_function(pg, "unnest"));
        assert!(is_pure_table_function(pg, "jsonb_to_recordset"));
        assert!(is_pure_table_function(pg, "to_tsquery"));
        assert!(!is_pure_table_function(pg, "ts_stat"));
        assert!(!is_pure_table_function(pg, "dblink"));
        assert!(!is_pure_table_function(pg, "pg_ls_dir"));
        // Names of other dialects are not PostgreSQL's.
        assert!(!is_allowed(pg, "ifnull"));
        assert!(!is_allowed(pg, "json_extract"));
    }

    #[test]
    fn sqlite() {
        let lite = Backend::Sqlite;
        for name in [
            "ifnull",
            "iif",
            "group_concat",
            "total",
            "json_extract",
            "json_group_array",
            "strftime",
            "datetime",
            "printf",
            "random",
            "typeof",
        ] {
            assert!(is_allowed(lite, name), "`{name}`");
        }
        assert_eq!(refusal_reason(lite, "changes"), Some(SESSION));
        assert_eq!(refusal_reason(lite, "total_changes"), Some(SESSION));
        assert_eq!(refusal_reason(lite, "last_insert_rowid"), Some(SESSION));
        assert_eq!(refusal_reason(lite, "load_extension"), Some(LOAD_CODE));
        assert_eq!(refusal_reason(lite, "sqlite_version"), Some(SERVER));
        assert_eq!(refusal_reason(lite, "pragma_table_info"), Some(CATALOG));
        assert!(writes(lite, "load_extension"));
        assert!(!writes(lite, "changes"));
        assert!(is_pure_table_function(lite, "json_each"));
        assert!(is_pure_table_function(lite, "json_tree"));
        assert!(!is_pure_table_function(lite, "generate_series"));
        assert!(!is_pure_table_function(lite, "lower"));
        assert!(!is_pure_table_function(lite, "pragma_table_info"));
        assert!(!is_allowed(lite, "nextval"));
        assert_eq!(refusal_reason(lite, "nextval"), None);
    }

    #[test]
    fn mysql() {
        let my = Backend::MySql;
        for name in [
            "ifnull",
            "if",
            "group_concat",
            "date_format",
            "date_add",
            "str_to_date",
            "json_extract",
            "json_unquote",
            "values",
            "find_in_set",
            "uuid",
            "unix_timestamp",
        ] {
            assert!(is_allowed(my, name), "`{name}`");
        }
        assert_eq!(refusal_reason(my, "last_insert_id"), Some(SESSION));
        assert_eq!(refusal_reason(my, "row_count"), Some(SESSION));
        assert_eq!(refusal_reason(my, "found_rows"), Some(SESSION));
        assert_eq!(refusal_reason(my, "get_lock"), Some(LOCK));
        assert_eq!(refusal_reason(my, "is_used_lock"), Some(LOCK_STATE));
        assert_eq!(refusal_reason(my, "nextval"), Some(SEQUENCE));
        assert_eq!(refusal_reason(my, "sleep"), Some(STALL));
        assert_eq!(refusal_reason(my, "benchmark"), Some(STALL));
        assert_eq!(refusal_reason(my, "load_file"), Some(FILES));
        assert_eq!(refusal_reason(my, "database"), Some(SERVER));
        assert_eq!(refusal_reason(my, "uuid_short"), Some(COUNTER));
        for name in ["get_lock", "release_lock", "nextval", "setval", "last_insert_id"] {
            assert!(writes(my, name), "`{name}` writes");
        }
        assert!(!writes(my, "sleep"));
        assert!(!writes(my, "lastval"));
        assert!(is_pure_table_function(my, "json_table"));
        assert!(!is_pure_table_function(my, "lower"));
        assert!(!is_allowed(my, "current_setting"));
        assert_eq!(refusal_reason(my, "current_setting"), None);
    }
}
