//! A database's notices (PostgreSQL's RAISE WARNING, reported by the driver)
//! stay off stderr by default: they are the driver's messages, not ferry's.
//! `-vv` shows them, so nothing is lost for someone debugging.

use crate::harness::Project;
use crate::{psql, PG_URL};

#[test]
fn a_postgres_warning_is_not_printed_unless_asked_for_with_vv() {
    psql(
        "CREATE OR REPLACE FUNCTION ferry_noisy() RETURNS int LANGUAGE plpgsql AS $$ \
         BEGIN RAISE WARNING 'ferry_noisy: a driver notice'; RETURN 1; END $$;",
    );
    let p = Project::new();
    p.config(&format!(
        "[databases.pg]\nurl = \"{PG_URL}\"\n[destinations.out]\nmode = \"local\"\npath = \"out\"\n"
    ));
    p.script(
        "noisy",
        "deliver(csv(query(\"pg\", \"SELECT ferry_noisy() AS x\"), #{ name: \"noisy\" }), \"out\");\n",
    );
    let quiet = p.ferry(&["run", "noisy"]);
    quiet.ok();
    assert!(!quiet.stderr.contains("ferry_noisy"), "{}", quiet.stderr);
    assert!(!quiet.stderr.contains("sqlx"), "{}", quiet.stderr);
    let loud = p.ferry(&["-vv", "run", "noisy"]);
    loud.ok();
    assert!(loud.stderr.contains("ferry_noisy: a driver notice"), "{}", loud.stderr);
}
