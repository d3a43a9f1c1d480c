"""Splink end to end on the benchmark's contacts.csv: the reference crmtool is measured against.

    python benchmarks/splink_pipeline.py file CONTACTS_CSV OUT_CSV [--threshold 0.95]
    python benchmarks/splink_pipeline.py features WORKSPACE_DB OUT_CSV [--threshold 0.9]

`file` (the issue's comparison, "on the same file in the same run"): one
process reads the raw semicolon CSV, prepares it in DuckDB SQL the way a
careful Splink user would write it by hand (no crmtool code), trains and runs
Splink 5 on the DuckDB backend, clusters and writes a crosswalk shaped like
crmtool's (source_file, source_row, entity, golden_id; source_row = 1-based
data row, header excluded, as crmtool and truth.csv number them). The caller
times the whole process, from reading the CSV to writing the crosswalk.

`features` (the older, narrower reference): Splink's matching step alone on the
normalized features a crmtool run left in its workspace.

The model follows Splink's own tutorials (deduplicate_50k_synthetic, the
`estimate_u_using_random_sampling` docstring): multi-level comparisons with
term-frequency adjustments, several blocking rules for predictions, the
probability two random records match from deterministic rules, u by random
sampling (1e7 pairs), m by EM on three blocking rules, predictions and
connected components at one threshold. Splink is not a crmtool dependency:
`pip install splink`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

_T0 = time.perf_counter()
FILE_THRESHOLD = 0.95  # the clustering threshold of Splink's deduplicate_50k_synthetic tutorial
FEATURES_THRESHOLD = 0.9  # as this mode always ran


def _stage(name: str) -> None:
    """Seconds since start, to stderr: where the time goes."""
    print(f"[splink {time.perf_counter() - _T0:7.1f} s] {name}", file=sys.stderr, flush=True)


# --- preparation: what a Splink user writes before Splink sees the data ------------------------

# Tokens of a patronymic (Сергеевич, Сергеевна, Ильинична; the Latin spellings of translit rows).
PATRONYMIC_RE = r"(вич|вна|чна|vich|vna|chna)$"
# Endings that make a token look like a surname rather than a first name.
SURNAME_RE = (r"(ов|ев|ин|ын|ова|ева|ина|ына|ский|ская|цкий|цкая|ко|ук|юк|ых|их|ец|ян"
              r"|ov|ev|in|yn|ova|eva|ina|yna|sky|skiy|skaya|ko|uk|yuk|ykh|ikh|ets|yan)$")
# A phone extension: "доб. 12", "(доб. 12)", ", вн. 12", "ext. 215", "x215".
EXTENSION_RE = r"[,;]?\s*\(?\s*(доб|доп|вн|ext|x)\.?\s*\d+\s*\)?"
# Common abbreviations of the big cities, as profiling the Город column shows them.
CITY_ALIASES = {"мск": "москва", "спб": "санкт-петербург", "питер": "санкт-петербург",
                "с.-петербург": "санкт-петербург", "с-петербург": "санкт-петербург", "екб": "екатеринбург",
                "новосиб": "новосибирск", "н. новгород": "нижний новгород", "н.новгород": "нижний новгород"}
LONG_FORMS = ("общество с ограниченной ответственностью|закрытое акционерное общество|открытое акционерное "
              "общество|публичное акционерное общество|непубличное акционерное общество|акционерное общество"
              "|индивидуальный предприниматель")
SHORT_FORMS = "'ооо', 'зао', 'оао', 'пао', 'ао', 'ип'"


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def prepare_sql(csv_path: Path) -> list[str]:
    """DuckDB statements that turn the raw CSV into the table `contacts` Splink is given."""
    aliases = " ".join(f"WHEN {_sql_str(k)} THEN {_sql_str(v)}" for k, v in CITY_ALIASES.items())
    return [
        # Row numbers as the scorer counts them: 1-based data rows in file order (insertion order is kept).
        f"""CREATE TABLE raw AS
            SELECT row_number() OVER () AS unique_id, *
            FROM read_csv({_sql_str(str(csv_path))}, delim=';', header=true, quote='"', escape='"',
                          all_varchar=true)""",
        # ФИО → tokens: lower case, ё = е, dots and spaces split ("И.И." gives two initials); the patronymic
        # is the token with a patronymic ending, words are the other tokens longer than one letter.
        f"""CREATE TABLE name_tokens AS
            WITH t AS (
                SELECT unique_id,
                       list_filter(string_split_regex(trim(replace(lower(coalesce("ФИО", '')), 'ё', 'е')),
                                                      '[\\s.]+'), lambda x: x <> '') AS tok
                FROM raw),
            p AS (
                SELECT unique_id, tok,
                       list_position(list_transform(tok, lambda x: length(x) > 4
                                                    AND regexp_matches(x, '{PATRONYMIC_RE}')), true) AS pat_pos
                FROM t)
            SELECT unique_id, pat_pos,
                   CASE WHEN pat_pos > 0 THEN tok[pat_pos] END AS patronymic,
                   CASE WHEN pat_pos > 1 AND length(tok[pat_pos - 1]) > 1 THEN tok[pat_pos - 1] END AS before_pat,
                   list_filter(tok, lambda x, i: length(x) > 1 AND i IS DISTINCT FROM pat_pos) AS words,
                   list_filter(tok, lambda x: length(x) = 1) AS initials
            FROM p""",
        # First names learnt from the file itself: in both "Фамилия Имя Отчество" and "Имя Отчество
        # Фамилия" the word before the patronymic is the first name.
        """CREATE TABLE first_vocab AS
           SELECT before_pat AS word FROM name_tokens WHERE before_pat IS NOT NULL
           GROUP BY before_pat HAVING count(*) >= 3""",
        f"""CREATE TABLE names AS
            WITH l AS (
                SELECT n.*, v1.word IS NOT NULL AS w1_first, v2.word IS NOT NULL AS w2_first,
                       coalesce(regexp_matches(words[1], '{SURNAME_RE}'), false) AS w1_surname,
                       coalesce(regexp_matches(words[2], '{SURNAME_RE}'), false) AS w2_surname
                FROM name_tokens n
                LEFT JOIN first_vocab v1 ON v1.word = n.words[1]
                LEFT JOIN first_vocab v2 ON v2.word = n.words[2]),
            k AS (
                SELECT *, CASE
                    WHEN len(words) = 0 THEN 'none'
                    -- "Иванов И.И.", "И. Иванов": a lone word beside initials is the surname
                    WHEN len(words) = 1 AND len(initials) > 0 THEN 'surname'
                    -- a lone word: "Иван", "Иван Иванович", "Света"; a surname only if it looks like one
                    WHEN len(words) = 1 THEN CASE WHEN w1_surname AND NOT w1_first THEN 'surname' ELSE 'first' END
                    -- "Иван Иванович Иванов": the patronymic sits between first name and surname
                    WHEN pat_pos = 2 THEN 'first_surname'
                    WHEN pat_pos > 2 THEN 'surname_first'
                    -- two words, no patronymic: a known first name, else the one that looks like a surname
                    WHEN w1_first AND NOT w2_first THEN 'first_surname'
                    WHEN w2_first AND NOT w1_first THEN 'surname_first'
                    WHEN w2_surname AND NOT w1_surname THEN 'first_surname'
                    ELSE 'surname_first'
                END AS layout
                FROM l)
            SELECT unique_id,
                   CASE layout WHEN 'surname' THEN words[1] WHEN 'surname_first' THEN words[1]
                               WHEN 'first_surname' THEN words[2] END AS surname,
                   CASE layout WHEN 'first' THEN words[1] WHEN 'surname_first' THEN words[2]
                               WHEN 'first_surname' THEN words[1] END AS first_name,
                   patronymic,
                   initials
            FROM k""",
        # Phones: extensions dropped, several numbers in a cell split, digits only, 8 → 7, 10 digits → 7….
        f"""CREATE MACRO phone_list(cell) AS
            list_filter(list_transform(
                string_split_regex(regexp_replace(coalesce(cell, ''), '{EXTENSION_RE}', '', 'gi'),
                                   '\\s*(,|;|/|\\sили\\s)\\s*'),
                lambda p: CASE
                    WHEN length(regexp_replace(p, '\\D', '', 'g')) = 11
                         AND regexp_replace(p, '\\D', '', 'g')[1] IN ('7', '8')
                        THEN '7' || regexp_replace(p, '\\D', '', 'g')[2:]
                    WHEN length(regexp_replace(p, '\\D', '', 'g')) = 10
                        THEN '7' || regexp_replace(p, '\\D', '', 'g')
                END), lambda p: p IS NOT NULL)""",
        # E-mails: lower case, mailto: and <> dropped, several addresses split.
        """CREATE MACRO email_list(cell) AS
           list_filter(string_split_regex(
               regexp_replace(lower(coalesce(cell, '')), 'mailto:|[<>]', '', 'g'), '[\\s,;]+'),
               lambda e: e LIKE '%_@_%')""",
        # Mobiles (+7 9xx) are personal; a landline may be a switchboard or a family's home phone.
        f"""CREATE TABLE contacts AS
            WITH c AS (
                SELECT r.unique_id, n.surname, n.first_name, n.patronymic, n.initials,
                       list_concat(phone_list(r."Моб. тел."), phone_list(r."Телефон")) AS phone_seq,
                       email_list(r."E-mail") AS mail_seq,
                       trim(regexp_replace(replace(lower(r."Город"), 'ё', 'е'), '^\\s*г\\.\\s*', '')) AS city_raw,
                       array_to_string(list_filter(string_split_regex(regexp_replace(regexp_replace(
                           replace(lower(r."Компания"), 'ё', 'е'), '[«»"“”„'']', ' ', 'g'),
                           '{LONG_FORMS}', ' ', 'g'), '[\\s,]+'),
                           lambda t: t <> '' AND t NOT IN ({SHORT_FORMS})), ' ') AS company_raw
                FROM raw r JOIN names n USING (unique_id))
            SELECT unique_id, surname, first_name, patronymic,
                   coalesce(left(first_name, 1), initials[1]) AS first_initial,
                   coalesce(left(patronymic, 1),
                            CASE WHEN first_name IS NULL THEN initials[2] ELSE initials[1] END) AS patronymic_initial,
                   nullif(list_distinct(phone_seq), []) AS phones,
                   nullif(list_distinct(list_filter(phone_seq, lambda p: p LIKE '79%')), []) AS mobiles,
                   list_filter(phone_seq, lambda p: p LIKE '79%')[1] AS mobile,
                   list_filter(phone_seq, lambda p: p NOT LIKE '79%')[1] AS landline,
                   nullif(list_distinct(mail_seq), []) AS emails,
                   mail_seq[1] AS email,
                   CASE city_raw {aliases} ELSE nullif(city_raw, '') END AS city,
                   nullif(company_raw, '') AS company
            FROM c""",
    ]


# --- the model -----------------------------------------------------------------------------------


def file_settings():
    """Comparisons and blocking rules for the prepared contacts (Splink's tutorials as a guide)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    surname = cl.CustomComparison(output_column_name="surname", comparison_levels=[
        cll.NullLevel("surname"),
        cll.ExactMatchLevel("surname").configure(tf_adjustment_column="surname"),
        cll.ColumnsReversedLevel("surname", "first_name", symmetrical=True),
        cll.DamerauLevenshteinLevel("surname", 1),
        cll.JaroWinklerLevel("surname", 0.92),
        cll.JaroWinklerLevel("surname", 0.88),
        cll.ElseLevel(),
    ])
    first_name = cl.CustomComparison(output_column_name="first_name", comparison_levels=[
        cll.NullLevel("first_initial"),
        cll.ExactMatchLevel("first_name").configure(tf_adjustment_column="first_name"),
        cll.ColumnsReversedLevel("surname", "first_name", symmetrical=True),
        cll.JaroWinklerLevel("first_name", 0.92),
        cll.ExactMatchLevel("first_initial").configure(label_for_charts="Initials agree"),
        cll.ElseLevel(),
    ])
    patronymic = cl.CustomComparison(output_column_name="patronymic", comparison_levels=[
        cll.NullLevel("patronymic_initial"),
        cll.ExactMatchLevel("patronymic"),
        cll.JaroWinklerLevel("patronymic", 0.92),
        cll.ExactMatchLevel("patronymic_initial").configure(label_for_charts="Initials agree"),
        cll.ElseLevel(),
    ])
    # A shared mobile is personal. A landline can be a switchboard given by fifty people or a family's home
    # phone: term frequencies (which need a scalar column: the first landline) weigh it down.
    phones = cl.CustomComparison(output_column_name="phones", comparison_levels=[
        cll.NullLevel("phones"),
        cll.ArrayIntersectLevel("mobiles", 1).configure(label_for_charts="Shared mobile"),
        cll.ExactMatchLevel("landline").configure(tf_adjustment_column="landline"),
        cll.ElseLevel(),
    ])
    emails = cl.CustomComparison(output_column_name="emails", comparison_levels=[
        cll.NullLevel("emails"),
        cll.ExactMatchLevel("email").configure(tf_adjustment_column="email"),
        cll.ArrayIntersectLevel("emails", 1),
        cll.ElseLevel(),
    ])
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            surname, first_name, patronymic, phones, emails,
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.ExactMatch("company").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("phones", arrays_to_explode=["phones"]),
            block_on("emails", arrays_to_explode=["emails"]),
            block_on("surname", "first_name"),
            block_on("surname", "first_initial", "city"),
            block_on("first_name", "patronymic", "city"),
        ],
        retain_intermediate_calculation_columns=False,
    )


U_PAIRS = 1e7  # "often adequate" (estimate_u_using_random_sampling's docstring); it says >= 1e9 "gives best results"


def train(linker, u_pairs: float = U_PAIRS) -> None:
    """λ from deterministic rules, u by random sampling, m by EM on three blockings."""
    from splink import block_on

    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_on("mobile"), block_on("email"), block_on("surname", "first_name", "patronymic", "city")],
        recall=0.7)
    _stage("λ estimated")
    training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=1)
    _stage("u estimated")
    for rule in (block_on("surname", "first_name"), block_on("mobile"), block_on("email")):
        training.estimate_parameters_using_expectation_maximisation(rule, estimate_without_term_frequencies=True)
        _stage(f"EM on {rule.get_blocking_rule('duckdb').blocking_rule_sql}")


def run_file(csv_path: Path, out_csv: Path, threshold: float, model: Path | None = None,
             u_pairs: float = U_PAIRS) -> None:
    """Raw contacts.csv → prepared table → Splink → crosswalk CSV, all in one DuckDB connection."""
    import duckdb
    from splink import DuckDBAPI, Linker

    _stage("imported")
    con = duckdb.connect()
    for sql in prepare_sql(csv_path):
        con.execute(sql)
    _stage("read and prepared")
    db_api = DuckDBAPI(connection=con)
    linker = Linker(db_api.register("contacts"), file_settings(), log_level=None)
    train(linker, u_pairs)
    if model is not None:
        linker.misc.save_model_to_json(str(model), overwrite=True)
    pairs = linker.inference.predict(threshold_match_probability=threshold)
    _stage("predicted")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs, threshold)
    _stage("clustered")
    con.execute(f"""COPY (SELECT {_sql_str(csv_path.name)} AS source_file, unique_id AS source_row,
                                 'contact' AS entity, 'SP-' || cluster_id AS golden_id
                          FROM {clusters.physical_name} ORDER BY unique_id)
                    TO {_sql_str(str(out_csv))} (HEADER, DELIMITER ',')""")
    _stage("crosswalk written")


# --- the older mode: Splink's matching step on crmtool's own features -----------------------------

_FEATURES_SQL = """
SELECT r.source_row AS unique_id,
       n.last_key AS surname,
       CASE WHEN len(n.first_keys) > 0 THEN n.first_keys[len(n.first_keys)] ELSE n.first_key END AS first_name,
       lower(n.first_initial) AS first_initial,
       n.middle_key AS middle_name,
       CASE WHEN len(n.phones) > 0 THEN n.phones END AS phones,
       CASE WHEN len(n.phones) > 0 THEN n.phones[1] END AS phone1,
       CASE WHEN len(n.email_keys) > 0 THEN n.email_keys END AS emails,
       CASE WHEN len(n.email_keys) > 0 THEN n.email_keys[1] END AS email1,
       nullif(lower(trim(regexp_replace(r.city, '^\\s*г\\.?\\s*', ''))), '') AS city,
       nullif(n.company_key, '') AS company
FROM records r
JOIN normalized n ON n.record_id = r.record_id
JOIN sources s ON s.source_id = r.source_id
WHERE s.path LIKE '%contacts.csv' AND r.entity_hint <> 'company'
"""


def run_features(db: Path, out_csv: Path, threshold: float) -> None:
    """Dedupe the contacts of a crmtool workspace with Splink (matching step only)."""
    import duckdb
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    _stage("imported")
    con = duckdb.connect()
    con.execute(f"ATTACH {_sql_str(str(db))} AS ws (READ_ONLY)")
    con.execute("USE ws")
    con.execute(f"CREATE TABLE memory.main.features AS {_FEATURES_SQL}")
    con.execute("USE memory")
    con.execute("DETACH ws")
    _stage("features read from the workspace")

    def shared(array: str, first: str):
        return cl.CustomComparison(output_column_name=array, comparison_levels=[
            cll.NullLevel(array),
            cll.ExactMatchLevel(first).configure(tf_adjustment_column=first),
            cll.ArrayIntersectLevel(array, 1),
            cll.ElseLevel(),
        ])

    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("surname", [0.95, 0.88]),
            cl.JaroWinklerAtThresholds("first_name", [0.95, 0.88]),
            cl.ExactMatch("middle_name"),
            shared("phones", "phone1"),
            shared("emails", "email1"),
            cl.ExactMatch("city"),
            cl.ExactMatch("company"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("phones", arrays_to_explode=["phones"]),
            block_on("emails", arrays_to_explode=["emails"]),
            block_on("surname", "first_initial"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(DuckDBAPI(connection=con).register("features"), settings, log_level=None)
    training = linker.training
    training.estimate_probability_two_random_records_match(
        ["l.surname = r.surname AND l.first_name = r.first_name AND l.middle_name = r.middle_name"], recall=0.6)
    training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    training.estimate_parameters_using_expectation_maximisation(block_on("surname", "first_name"))
    training.estimate_parameters_using_expectation_maximisation(block_on("phone1"))
    training.estimate_parameters_using_expectation_maximisation(block_on("email1"))
    pairs = linker.inference.predict(threshold_match_probability=threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs, threshold)
    con.execute(f"""COPY (SELECT 'contacts.csv' AS source_file, unique_id AS source_row,
                                 'contact' AS entity, 'SP-' || cluster_id AS golden_id
                          FROM {clusters.physical_name} ORDER BY unique_id)
                    TO {_sql_str(str(out_csv))} (HEADER, DELIMITER ',')""")
    _stage("crosswalk written")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["file", "features"])
    parser.add_argument("source", type=Path, help="file: the contacts CSV; features: a crmtool workspace .duckdb")
    parser.add_argument("out", type=Path, help="the crosswalk CSV to write")
    parser.add_argument("--threshold", type=float, default=None,
                        help="match probability for pairs and clusters (file: 0.95, features: 0.9)")
    parser.add_argument("--u-pairs", type=float, default=U_PAIRS,
                        help="file mode: pairs sampled to estimate u (default 1e7; Splink's docstring: 1e7 is often "
                             "adequate, >= 1e9 gives best results)")
    parser.add_argument("--model", type=Path, help="file mode: also save the trained model as JSON here")
    args = parser.parse_args(argv)
    if args.mode == "file":
        run_file(args.source, args.out, args.threshold or FILE_THRESHOLD, args.model, args.u_pairs)
    else:
        run_features(args.source, args.out, args.threshold or FEATURES_THRESHOLD)
    return 0


if __name__ == "__main__":
    sys.exit(main())
