# bench/roster.sh: the bench_roster table, sourced by bench/run.sh.
#
# Every value is a function of id, written once below and rendered in each
# database's dialect, so the three tables hold the same content. Uses ROWS,
# work, PSQL and MARIADB from run.sh.

LAST=(Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Wilson)
LAST_ACCENTED=(Muñoz Nguyễn Ødegård Çelik Lefèvre)
FIRST=(James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara
       Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew)
FIRST_ACCENTED=(José Zoë Chloé Björn)
MIDDLE=(Ann Lee Marie James Ray Lynn Grace)
SCHOOLS=("Washington Elementary" "Jefferson Elementary" "Roosevelt Middle School" "Kennedy Middle School" "Ridgeview High School"
         "Lakeside High School" "Hillcrest Academy" "Riverside K-8")

# pick EXPR ITEM... : CASE (EXPR) % count WHEN 0 THEN 'first item' ... END
pick() {
    local expr=$1 i=0 item sql
    shift
    sql="CASE ($expr) % $# "
    for item in "$@"; do
        sql+="WHEN $i THEN '${item//\'/\'\'}' "
        i=$((i + 1))
    done
    printf '%sEND' "$sql"
}

# days_after DIALECT DATE EXPR / seconds_after DIALECT TIMESTAMP EXPR
days_after() {
    case $1 in
        pg) printf "(DATE '%s' + (%s)::int)" "$2" "$3" ;;
        lite) printf "date('%s', '+' || (%s) || ' days')" "$2" "$3" ;;
        maria) printf "(DATE '%s' + INTERVAL (%s) DAY)" "$2" "$3" ;;
    esac
}
seconds_after() {
    case $1 in
        pg) printf "(TIMESTAMP '%s' + (%s) * INTERVAL '1 second')" "$2" "$3" ;;
        lite) printf "datetime('%s', '+' || (%s) || ' seconds')" "$2" "$3" ;;
        maria) printf "(TIMESTAMP '%s' + INTERVAL (%s) SECOND)" "$2" "$3" ;;
    esac
}
# cents DIALECT EXPR: a whole number of cents as an exact two-place decimal
# (NUMERIC in PostgreSQL, DECIMAL in MariaDB, '12.50' text in SQLite).
cents() {
    case $1 in
        pg) printf "((%s)::numeric / 100)" "$2" ;;
        lite) printf "printf('%%.2f', (%s) / 100.0)" "$2" ;;
        maria) printf "((%s) / 100)" "$2" ;;
    esac
}
# ids DIALECT COUNT: a relation with one bigint column id = 1..COUNT
ids() {
    case $1 in
        pg) printf "generate_series(1::bigint, %s) AS g(id)" "$2" ;;
        lite) printf "(WITH RECURSIVE g(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM g WHERE id < %s) SELECT id FROM g) AS g" "$2" ;;
        maria) printf "(SELECT CAST(seq AS SIGNED) AS id FROM seq_1_to_%s) AS g" "$2" ;;
    esac
}

# roster_insert DIALECT [TABLE COUNT]: fills bench_roster (or TABLE, with
# COUNT rows). About 2% of last names and 2% of
# first names are accented, 0.5% are O'Brien; 1% of preferred names hold
# quotes and a comma; 2% of schools have a comma; 4% of notes are set (with
# commas, quotes, a line break or accents), the others are NULL.
roster_insert() {
    local d=$1 table=${2:-bench_roster} count=${3:-$ROWS}
    cat <<SQL
INSERT INTO $table
SELECT id,
       id + 500000,
       'S' || (1000000000 + id),
       CASE WHEN id % 47 = 3 THEN $(pick id "${LAST_ACCENTED[@]}")
            WHEN id % 211 = 5 THEN 'O''Brien'
            ELSE $(pick "id * 7" "${LAST[@]}") END,
       CASE WHEN id % 53 = 1 THEN $(pick id "${FIRST_ACCENTED[@]}")
            ELSE $(pick "id * 11" "${FIRST[@]}") END,
       CASE WHEN id % 3 = 0 THEN NULL ELSE $(pick "id * 5" "${MIDDLE[@]}") END,
       CASE id % 101 WHEN 4 THEN 'Sam "Sammy", Jr.' WHEN 9 THEN 'Ana María' ELSE NULL END,
       $(days_after "$d" 2007-09-01 "(id * 7919) % 4748"),
       (id * 31) % 13,
       CASE WHEN id % 50 = 25 THEN 'Lincoln Elementary, North Campus'
            ELSE $(pick "id * 3" "${SCHOOLS[@]}") END,
       's' || (id + 500000) || '@students.example.org',
       $(days_after "$d" 2015-08-15 "(id * 17) % 3650"),
       CASE WHEN id % 7 = 0 THEN $(days_after "$d" 2025-09-01 "id % 270") ELSE NULL END,
       $(seconds_after "$d" "2025-07-01 00:00:00" "(id * 7919) % 31536000"),
       $(cents "$d" "(id * 37) % 401"),
       $(cents "$d" "(id * 7919) % 200001 - 50000"),
       id % 10 <> 0,
       id % 8 = 3,
       CASE id % 97 WHEN 1 THEN 'Bus 12, front seat'
                    WHEN 2 THEN 'Parent asks: "call before 5 pm"'
                    WHEN 3 THEN 'Allergy: peanuts
EpiPen in the office'
                    WHEN 4 THEN 'Transferred from École Saint-Louis'
                    ELSE NULL END
FROM $(ids "$d" "$count");
SQL
}

# roster_table DIALECT TABLE: the CREATE TABLE of the roster.
roster_table() {
    case $1 in
        lite) cat <<SQL
CREATE TABLE $2 (
    id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL, state_id TEXT NOT NULL,
    last_name TEXT NOT NULL, first_name TEXT NOT NULL, middle_name TEXT, preferred_name TEXT,
    birth_date DATE NOT NULL, grade INTEGER NOT NULL, school TEXT NOT NULL, email TEXT NOT NULL,
    enroll_date DATE NOT NULL, exit_date DATE, updated_at TIMESTAMP NOT NULL,
    gpa TEXT NOT NULL, fee_balance TEXT NOT NULL, active BOOLEAN NOT NULL, has_iep BOOLEAN NOT NULL,
    notes TEXT);
SQL
        ;;
        pg) cat <<SQL
DROP TABLE IF EXISTS $2;
CREATE TABLE $2 (
    id bigint PRIMARY KEY, person_id integer NOT NULL, state_id text NOT NULL,
    last_name text NOT NULL, first_name text NOT NULL, middle_name text, preferred_name text,
    birth_date date NOT NULL, grade smallint NOT NULL, school text NOT NULL, email text NOT NULL,
    enroll_date date NOT NULL, exit_date date, updated_at timestamp NOT NULL,
    gpa numeric(3,2) NOT NULL, fee_balance numeric(10,2) NOT NULL,
    active boolean NOT NULL, has_iep boolean NOT NULL, notes text);
SQL
        ;;
        maria) cat <<SQL
DROP TABLE IF EXISTS $2;
CREATE TABLE $2 (
    id BIGINT PRIMARY KEY, person_id INT NOT NULL, state_id VARCHAR(16) NOT NULL,
    last_name VARCHAR(64) NOT NULL, first_name VARCHAR(64) NOT NULL, middle_name VARCHAR(64),
    preferred_name VARCHAR(64), birth_date DATE NOT NULL, grade SMALLINT NOT NULL,
    school VARCHAR(64) NOT NULL, email VARCHAR(64) NOT NULL, enroll_date DATE NOT NULL,
    exit_date DATE, updated_at DATETIME NOT NULL, gpa DECIMAL(3,2) NOT NULL,
    fee_balance DECIMAL(10,2) NOT NULL, active BOOLEAN NOT NULL, has_iep BOOLEAN NOT NULL,
    notes TEXT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
SQL
        ;;
    esac
}

# load DB TABLE COUNT: creates and fills TABLE in DB (SQLite: its own file).
load() {
    local db=$1 table=$2 count=$3
    SECONDS=0
    case $db in
        lite)
            local file=$work/bench.db
            [[ $table == bench_roster ]] || file=$work/$table.db
            rm -f "$file"
            sqlite3 "$file" > /dev/null <<SQL
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
$(roster_table lite "$table")
$(roster_insert lite "$table" "$count")
SQL
            echo "   ${SECONDS}s, $(du -h "$file" | cut -f1)"
            ;;
        pg)
            "${PSQL[@]}" <<SQL
SET client_min_messages = warning;
$(roster_table pg "$table")
$(roster_insert pg "$table" "$count")
VACUUM ANALYZE $table;
SQL
            echo "   ${SECONDS}s, $("${PSQL[@]}" -Atc "SELECT pg_size_pretty(pg_total_relation_size('$table'))")"
            ;;
        maria)
            "${MARIADB[@]}" > /dev/null <<SQL
SET SESSION sql_mode = CONCAT(@@sql_mode, ',PIPES_AS_CONCAT');
$(roster_table maria "$table")
$(roster_insert maria "$table" "$count")
ANALYZE TABLE $table;
SQL
            echo "   ${SECONDS}s"
            ;;
    esac
}
