//! The active year's timetable: the sections of each course, their teachers and rooms, and who sits in them.
//!
//! Each grade of a school is cut into rotation groups of about a class each,
//! and a group's schedule positions are rotated through the periods, so a
//! course's students spread across the day and no student is in two places
//! at once. Each (course, term, period) group is then cut into sections no
//! larger than the band's class size, and teachers are hired greedily so
//! nobody teaches two sections at once or more than five periods.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use rand_chacha::ChaCha8Rng;

use super::calendar::Calendar;
use super::catalog::{Band, Catalog, Term, PERIODS};
use super::district::{District, Plan};
use super::names::{mail_part, shuffle, staff_name};

/// Most periods a teacher is scheduled to teach.
const TEACHING_PERIODS: u8 = 5;

/// The domain of staff e-mail; `.example` is reserved, so no mail can leave.
pub(crate) const STAFF_DOMAIN: &str = "riverbend.example";

/// A teacher hired for the timetable.
#[derive(Clone, Debug)]
pub(crate) struct Teacher {
    /// Index into `District::schools`.
    pub school: usize,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub room: String,
    department: &'static str,
    /// Per period, the halves of the year already taught (see `Term::halves`).
    busy: [u8; PERIODS as usize],
}

impl Teacher {
    fn can_teach(&self, period: u8, term: Term) -> bool {
        let used = self.busy[period as usize];
        let periods = self.busy.iter().filter(|b| **b != 0).count() as u8;
        used & term.halves() == 0 && (used != 0 || periods < TEACHING_PERIODS)
    }
}

/// A section of a course and its students.
#[derive(Clone, Debug)]
pub(crate) struct Section {
    /// Index into `District::schools`.
    pub school: usize,
    /// Index into the school's band catalog.
    pub course: usize,
    /// Index into `Timetable::teachers`.
    pub teacher: usize,
    /// 1-based.
    pub period: u8,
    pub term: Term,
    /// Indices into the plans, ascending.
    pub members: Vec<u32>,
}

/// Everything the `staff`, `section` and `roster` tables are written from.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timetable {
    pub teachers: Vec<Teacher>,
    pub sections: Vec<Section>,
}

/// The dates a term's roster rows start and (if already known) end.
pub(crate) fn term_dates(cal: &Calendar, term: Term) -> (NaiveDate, Option<NaiveDate>) {
    match term {
        Term::Year => (cal.start, None),
        Term::S1 => (cal.start, Some(cal.s1_end)),
        Term::S2 => (cal.s2_start, None),
    }
}

/// Builds the active year's timetable for every student enrolled in it.
///
/// `catalogs` are indexed by band. Students who arrive after a term ended, or
/// leave before it starts, are not placed in that term's sections.
pub(crate) fn build(
    schedule_rng: &mut ChaCha8Rng,
    staff_rng: &mut ChaCha8Rng,
    district: &District,
    catalogs: &[Catalog; 3],
    plans: &[Plan],
    active_year: i32,
    cal: &Calendar,
) -> Timetable {
    // Cohorts (school, grade) are cut into as many rotation groups as it takes
    // to fill classes; each group starts its day at a different period.
    let mut cohorts: BTreeMap<(usize, u8), Vec<u32>> = BTreeMap::new();
    for (i, plan) in plans.iter().enumerate() {
        if let Some(stint) = plan.stint(active_year) {
            cohorts.entry((stint.school, stint.grade)).or_default().push(i as u32);
        }
    }
    let mut groups: BTreeMap<(usize, usize, Term, u8), Vec<u32>> = BTreeMap::new();
    for ((school, grade), mut students) in cohorts {
        let band = district.schools[school].band;
        let catalog = &catalogs[band as usize];
        let rotations = students.len().div_ceil(band.class_size()).clamp(1, PERIODS as usize);
        shuffle(schedule_rng, &mut students);
        // Elementary classes go to their specials together; older students choose for themselves.
        let class_choices: Vec<Vec<Choice>> = (0..rotations).map(|_| choices(catalog, schedule_rng, grade)).collect();
        for (j, &i) in students.iter().enumerate() {
            let group = j % rotations;
            let rotation = (group * PERIODS as usize / rotations) as u8;
            let own;
            let picked = if band == Band::Elementary {
                &class_choices[group]
            } else {
                own = choices(catalog, schedule_rng, grade);
                &own
            };
            let Some(stint) = plans[i as usize].stint(active_year) else {
                continue;
            };
            for &(position, term, course) in picked {
                let (term_start, term_end) = term_dates(cal, term);
                let arrives_late = term_end.is_some_and(|end| stint.start > end);
                let leaves_early = stint.end.is_some_and(|end| end < term_start);
                if arrives_late || leaves_early {
                    continue;
                }
                let period = (position + rotation) % PERIODS + 1;
                groups.entry((school, course, term, period)).or_default().push(i);
            }
        }
    }

    let mut hiring = Hiring {
        rng: staff_rng,
        emails: HashSet::new(),
        rooms: vec![0; district.schools.len()],
        pools: BTreeMap::new(),
    };
    let mut table = Timetable::default();
    for ((school, course, term, period), mut students) in groups {
        let band = district.schools[school].band;
        let size = band.class_size();
        let count = students.len().div_ceil(size);
        shuffle(schedule_rng, &mut students);
        let department = catalogs[band as usize].courses[course].department;
        for k in 0..count {
            let mut members: Vec<u32> = students.iter().skip(k).step_by(count).copied().collect();
            members.sort_unstable();
            let teacher = hiring.teacher(&mut table.teachers, school, department, period, term);
            table.sections.push(Section {
                school,
                course,
                teacher,
                period,
                term,
                members,
            });
        }
    }
    table
}

/// A schedule position, its term, and the course (index into the catalog) filling it.
type Choice = (u8, Term, usize);

fn choices(catalog: &Catalog, rng: &mut ChaCha8Rng, grade: u8) -> Vec<Choice> {
    catalog
        .choose(rng, grade)
        .into_iter()
        .map(|(slot, course)| (slot.position, slot.term, course))
        .collect()
}

/// The state of hiring teachers while sections are handed out.
struct Hiring<'r> {
    rng: &'r mut ChaCha8Rng,
    /// Addresses already given out (looked up only, never iterated).
    emails: HashSet<String>,
    /// Rooms handed out per school.
    rooms: Vec<usize>,
    /// Teachers per (school, department), in hiring order.
    pools: BTreeMap<(usize, &'static str), Vec<usize>>,
}

impl Hiring<'_> {
    /// A teacher of `department` at `school` free at `period` in `term`, hired if needed.
    fn teacher(
        &mut self,
        teachers: &mut Vec<Teacher>,
        school: usize,
        department: &'static str,
        period: u8,
        term: Term,
    ) -> usize {
        let p = period - 1;
        let pool = self.pools.entry((school, department)).or_default();
        let found = pool.iter().copied().find(|&t| teachers[t].can_teach(p, term));
        let t = if let Some(t) = found {
            t
        } else {
            let (first_name, last_name) = staff_name(self.rng);
            let email = unique_email(&mut self.emails, &first_name, &last_name);
            let room = if department == "Physical Education" {
                "Gym".to_string()
            } else {
                let k = self.rooms[school];
                self.rooms[school] += 1;
                format!("{}{:02}", 1 + k / 30, 1 + k % 30)
            };
            teachers.push(Teacher {
                school,
                first_name,
                last_name,
                email,
                room,
                department,
                busy: [0; PERIODS as usize],
            });
            pool.push(teachers.len() - 1);
            teachers.len() - 1
        };
        teachers[t].busy[p as usize] |= term.halves();
        debug_assert_eq!(teachers[t].department, department);
        t
    }
}

/// `jdoe@riverbend.example`, with a number added when the address is taken.
fn unique_email(taken: &mut HashSet<String>, first: &str, last: &str) -> String {
    let initial: String = mail_part(first).chars().take(1).collect();
    let base = format!("{initial}{}", mail_part(last));
    let mut candidate = format!("{base}@{STAFF_DOMAIN}");
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{base}{n}@{STAFF_DOMAIN}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::district::{kinds, plan};
    use rand::SeedableRng;

    #[test]
    fn nobody_is_double_booked_and_sections_respect_class_sizes() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let active = 2027;
        let cals = [
            Calendar::new(active - 2).unwrap(),
            Calendar::new(active - 1).unwrap(),
            Calendar::new(active).unwrap(),
        ];
        let district = District::new(&mut rng, 1500);
        let plans: Vec<Plan> = kinds(&mut rng, 1500)
            .into_iter()
            .map(|k| plan(&mut rng, &district, &cals, active, k))
            .collect();
        let catalogs = Band::ALL.map(Catalog::new);
        let mut staff_rng = ChaCha8Rng::seed_from_u64(10);
        let t = build(&mut rng, &mut staff_rng, &district, &catalogs, &plans, active, &cals[2]);

        let mut student_slots = HashSet::new();
        let mut teacher_slots = HashSet::new();
        for s in &t.sections {
            assert!(!s.members.is_empty());
            assert!(s.members.len() <= district.schools[s.school].band.class_size());
            assert_eq!(t.teachers[s.teacher].school, s.school);
            for half in [1u8, 2] {
                if s.term.halves() & half == 0 {
                    continue;
                }
                assert!(
                    teacher_slots.insert((s.teacher, s.period, half)),
                    "teacher double-booked"
                );
                for m in &s.members {
                    assert!(student_slots.insert((*m, s.period, half)), "student double-booked");
                }
            }
        }
        let enrolled = plans.iter().filter(|p| p.stint(active).is_some()).count();
        let per_student = t.sections.iter().map(|s| s.members.len()).sum::<usize>() as f64 / enrolled as f64;
        assert!((5.5..=7.0).contains(&per_student), "{per_student}");
        let mut emails: Vec<&str> = t.teachers.iter().map(|t| t.email.as_str()).collect();
        emails.sort_unstable();
        emails.dedup();
        assert_eq!(emails.len(), t.teachers.len());
    }
}
