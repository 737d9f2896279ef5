//! Writes the whole demo district into an open SQLite connection, table by table.
//!
//! Every random choice comes from ChaCha8 streams seeded from the options, one
//! stream per concern, consumed in a fixed order, so the same options always
//! produce the same rows, and reworking one concern (say, the timetable)
//! does not reshuffle the others (names, addresses, attendance).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::sqlite::SqliteConnection;
use sqlx::Connection;

use super::calendar::{iso, label, Calendar};
use super::catalog::{grade_code, Band, Catalog};
use super::district::{kinds, plan, District, Kind, Plan};
use super::names::{address, chance, mail_part, marks, person, phone, quota, ssn, Quirks};
use super::schema::{self, Inserter};
use super::timetable::{self, term_dates};
use super::{DemoOptions, DemoSummary};

/// The independent random streams, one per concern.
#[derive(Clone, Copy)]
enum Stream {
    Schools = 1,
    Plans,
    Names,
    Schedule,
    Staff,
    Attendance,
}

fn rng(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}

/// The domain of student e-mail; `.example` is reserved, so no mail can leave.
const STUDENT_DOMAIN: &str = "students.riverbend.example";

/// First person_id, so ids look like a real SIS's and never collide with small counters.
const FIRST_PERSON_ID: i64 = 100_001;

/// First staff_id, in a range apart from person ids so the two never look alike.
const FIRST_STAFF_ID: i64 = 1001;

/// Share of student-days with an attendance event, on average.
const ATTENDANCE_RATE: f64 = 0.04;

/// Fills an empty database in one transaction and returns the row counts.
///
/// The caller has checked that `opts.active_year` is within the supported range.
pub(crate) async fn fill(
    conn: &mut SqliteConnection,
    opts: &DemoOptions,
    calendars: &[Calendar; 3],
) -> Result<DemoSummary, sqlx::Error> {
    let active = opts.active_year;
    let oldest = active - 2;
    let mut tx = conn.begin().await?;
    let c: &mut SqliteConnection = &mut tx;
    execute_all(c, schema::CREATE_TABLES).await?;
    let mut summary = DemoSummary {
        active_year: active,
        ..DemoSummary::default()
    };

    let district = District::new(&mut rng(opts.seed, Stream::Schools), opts.students as usize);
    let mut ins = Inserter::new("school", schema::SCHOOL);
    for s in &district.schools {
        let (low, high) = s.band.grade_span();
        let a = &s.address;
        ins.row(
            c,
            [
                s.id.into(),
                s.state_id.clone().into(),
                s.name.clone().into(),
                grade_code(low).into(),
                grade_code(high).into(),
                a.line.clone().into(),
                a.city.into(),
                a.state.into(),
                a.zip.into(),
                s.phone.clone().into(),
            ],
        )
        .await?;
    }
    summary.schools = ins.finish(c).await?;

    let mut ins = Inserter::new("school_year", schema::SCHOOL_YEAR);
    for (k, cal) in calendars.iter().enumerate() {
        let year = oldest + k as i32;
        ins.row(
            c,
            [
                i64::from(year).into(),
                label(year).into(),
                iso(cal.start).into(),
                iso(cal.end).into(),
                (year == active).into(),
            ],
        )
        .await?;
    }
    summary.school_years = ins.finish(c).await?;

    // Students: plans and identities come from separate streams.
    let mut plan_rng = rng(opts.seed, Stream::Plans);
    let mut name_rng = rng(opts.seed, Stream::Names);
    let kinds = kinds(&mut plan_rng, opts.students as usize);
    let n = kinds.len();
    let non_ascii = deal(&mut name_rng, &kinds, 0.10);
    let apostrophe = deal(&mut name_rng, &kinds, 0.02);
    let comma = deal(&mut name_rng, &kinds, 0.005);
    let quote = deal(&mut name_rng, &kinds, 0.005);
    let line_break = deal(&mut name_rng, &kinds, 0.003);
    // A bijection of 0..10^10 (multiplier coprime to 10) gives unique, random-looking state ids.
    let state_mul = 10 * name_rng.gen_range(100_000_000..1_000_000_000u64) + 3;
    let state_add = name_rng.gen_range(0..10_000_000_000u64);
    let mut plans: Vec<Plan> = Vec::with_capacity(n);
    let mut ins = Inserter::new("student", schema::STUDENT);
    for i in 0..n {
        let p = plan(&mut plan_rng, &district, calendars, active, kinds[i]);
        let quirks = Quirks {
            non_ascii: non_ascii[i],
            apostrophe: apostrophe[i],
            comma: comma[i],
            quote: quote[i],
        };
        let name = person(&mut name_rng, quirks);
        let person_id = FIRST_PERSON_ID + i as i64;
        let state_id = (i as u128 * u128::from(state_mul) + u128::from(state_add)) % 10_000_000_000;
        let email = format!(
            "{}.{}{person_id}@{STUDENT_DOMAIN}",
            mail_part(&name.first),
            mail_part(&name.last)
        );
        let home = address(&mut name_rng, line_break[i]);
        ins.row(
            c,
            [
                person_id.into(),
                format!("{state_id:010}").into(),
                name.first.into(),
                name.middle.into(),
                name.last.into(),
                iso(p.birth_date).into(),
                name.gender.into(),
                ssn(&mut name_rng).into(),
                email.into(),
                phone(&mut name_rng).into(),
                home.line.into(),
                home.city.into(),
                home.state.into(),
                home.zip.into(),
            ],
        )
        .await?;
        plans.push(p);
    }
    summary.students = ins.finish(c).await?;
    summary.active_students = plans.iter().filter(|p| p.stint(active).is_some()).count() as u64;

    // Enrolments year by year, as a SIS would have recorded them.
    let mut ins = Inserter::new("enrollment", schema::ENROLLMENT);
    let mut enrollment_id = 0i64;
    for year in oldest..=active {
        for (i, p) in plans.iter().enumerate() {
            let Some(s) = p.stint(year) else { continue };
            enrollment_id += 1;
            ins.row(
                c,
                [
                    enrollment_id.into(),
                    (FIRST_PERSON_ID + i as i64).into(),
                    district.schools[s.school].id.into(),
                    i64::from(year).into(),
                    grade_code(s.grade).into(),
                    iso(s.start).into(),
                    s.end.map(iso).into(),
                    "P".into(),
                ],
            )
            .await?;
        }
    }
    summary.enrollments = ins.finish(c).await?;

    // The active year's courses, sections, teachers and rosters.
    let cal = &calendars[2];
    let catalogs = Band::ALL.map(Catalog::new);
    let table = timetable::build(
        &mut rng(opts.seed, Stream::Schedule),
        &mut rng(opts.seed, Stream::Staff),
        &district,
        &catalogs,
        &plans,
        active,
        cal,
    );

    let mut ins = Inserter::new("staff", schema::STAFF);
    for (k, t) in table.teachers.iter().enumerate() {
        ins.row(
            c,
            [
                (FIRST_STAFF_ID + k as i64).into(),
                t.first_name.clone().into(),
                t.last_name.clone().into(),
                t.email.clone().into(),
                district.schools[t.school].id.into(),
            ],
        )
        .await?;
    }
    summary.staff = ins.finish(c).await?;

    let mut ins = Inserter::new("course", schema::COURSE);
    let mut course_base = Vec::with_capacity(district.schools.len());
    let mut course_id = 1i64;
    for s in &district.schools {
        course_base.push(course_id);
        for def in &catalogs[s.band as usize].courses {
            ins.row(
                c,
                [
                    course_id.into(),
                    s.id.into(),
                    i64::from(active).into(),
                    def.number.clone().into(),
                    def.name.clone().into(),
                    def.department.into(),
                ],
            )
            .await?;
            course_id += 1;
        }
    }
    summary.courses = ins.finish(c).await?;

    let mut ins = Inserter::new("section", schema::SECTION);
    for (k, s) in table.sections.iter().enumerate() {
        let teacher = &table.teachers[s.teacher];
        ins.row(
            c,
            [
                (k as i64 + 1).into(),
                (course_base[s.school] + s.course as i64).into(),
                (FIRST_STAFF_ID + s.teacher as i64).into(),
                s.period.to_string().into(),
                teacher.room.clone().into(),
                s.term.code().into(),
            ],
        )
        .await?;
    }
    summary.sections = ins.finish(c).await?;

    let mut ins = Inserter::new("roster", schema::ROSTER);
    for (k, s) in table.sections.iter().enumerate() {
        let (term_start, term_end) = term_dates(cal, s.term);
        for &m in &s.members {
            let Some(stint) = plans[m as usize].stint(active) else {
                continue;
            };
            let start = term_start.max(stint.start);
            let end = match (stint.end, term_end) {
                (Some(left), Some(ends)) => Some(left.min(ends)),
                (left, ends) => left.or(ends),
            };
            ins.row(
                c,
                [
                    (k as i64 + 1).into(),
                    (FIRST_PERSON_ID + i64::from(m)).into(),
                    iso(start).into(),
                    end.map(iso).into(),
                ],
            )
            .await?;
        }
    }
    summary.rosters = ins.finish(c).await?;

    summary.attendance = attendance(c, opts.seed, &district, &plans, active, cal).await?;
    execute_all(c, schema::CREATE_INDEXES).await?;
    tx.commit().await?;
    Ok(summary)
}

/// Which students carry an awkward value with the given share.
///
/// Exact quotas (at least one) among this year's students, so every
/// active-year extract meets each kind even in a tiny district; the same odds
/// among past students.
fn deal(rng: &mut ChaCha8Rng, kinds: &[Kind], share: f64) -> Vec<bool> {
    let active: Vec<usize> = (0..kinds.len()).filter(|&i| kinds[i].is_active()).collect();
    let chosen = marks(rng, active.len(), quota(active.len(), share));
    let mut dealt: Vec<bool> = kinds.iter().map(|k| !k.is_active() && chance(rng, share)).collect();
    for (j, &i) in active.iter().enumerate() {
        dealt[i] = chosen[j];
    }
    dealt
}

/// Runs each `;`-terminated statement of a script.
///
/// One `sqlx::query` per statement rather than `sqlx::raw_sql`, whose future
/// is not provably `Send` and would stop callers from spawning `create`.
async fn execute_all(c: &mut SqliteConnection, script: &str) -> Result<(), sqlx::Error> {
    for statement in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        sqlx::query(statement).execute(&mut *c).await?;
    }
    Ok(())
}

/// Absences, tardies and early releases over the elapsed school days.
///
/// Each student has their own propensity (exponentially distributed around
/// the district rate), so a few chronic absentees show up as they do in real
/// attendance data.
async fn attendance(
    c: &mut SqliteConnection,
    seed: u64,
    district: &District,
    plans: &[Plan],
    active: i32,
    cal: &Calendar,
) -> Result<u64, sqlx::Error> {
    let mut rng = rng(seed, Stream::Attendance);
    let mut ins = Inserter::new("attendance", schema::ATTENDANCE);
    let mut id = 0i64;
    for (i, p) in plans.iter().enumerate() {
        let Some(stint) = p.stint(active) else { continue };
        let propensity = -(1.0 - rng.gen::<f64>()).ln();
        let rate = (ATTENDANCE_RATE * propensity).min(0.5);
        let days = cal.elapsed();
        let first = days.partition_point(|d| *d < stint.start);
        let last = stint.end.map_or(days.len(), |end| days.partition_point(|d| *d <= end));
        let days = &days[first..last.max(first)];
        // Jump straight to the next event (geometric gaps) instead of rolling
        // a die per day: the same distribution, a twentieth of the draws.
        let mut next = 0usize;
        loop {
            let u: f64 = rng.gen();
            let gap = ((1.0 - u).ln() / (1.0 - rate).ln()).floor();
            if !gap.is_finite() || gap >= (days.len() - next.min(days.len())) as f64 {
                break;
            }
            let day = days[next + gap as usize];
            next += gap as usize + 1;
            let (code, excused, minutes) = match rng.gen_range(0..100u32) {
                0..=59 => (
                    "A",
                    chance(&mut rng, 0.5),
                    if chance(&mut rng, 0.15) { 195i64 } else { 390 },
                ),
                60..=89 => ("T", chance(&mut rng, 0.2), rng.gen_range(5..46i64)),
                _ => ("E", chance(&mut rng, 0.8), rng.gen_range(30..121i64)),
            };
            id += 1;
            ins.row(
                c,
                [
                    id.into(),
                    (FIRST_PERSON_ID + i as i64).into(),
                    district.schools[stint.school].id.into(),
                    iso(day).into(),
                    code.into(),
                    excused.into(),
                    minutes.into(),
                ],
            )
            .await?;
        }
    }
    ins.finish(c).await
}
