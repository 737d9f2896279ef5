//! The district's shape in memory: its schools, and each student's path through three school years.
//!
//! Students keep a home "zone" for life, so a cohort moves together from its
//! elementary school to the same middle and high school, as feeder patterns do.

use chrono::{Days, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::calendar::{Calendar, ELAPSED_DAYS};
use super::catalog::Band;
use super::names::{address, below, chance, quota, shuffle, Address};

/// Roughly how many students one school serves.
const STUDENTS_PER_SCHOOL: usize = 400;

/// A school of the district.
#[derive(Clone, Debug)]
pub(crate) struct School {
    pub id: i64,
    pub band: Band,
    pub name: String,
    pub state_id: String,
    pub address: Address,
    pub phone: String,
}

/// The schools, grouped by band so students can be placed by grade and zone.
#[derive(Clone, Debug)]
pub(crate) struct District {
    pub schools: Vec<School>,
    by_band: [Vec<usize>; 3],
}

const TREES: &[&str] = &[
    "Maple",
    "Cedar",
    "Willow",
    "Oak",
    "Pine",
    "Birch",
    "Aspen",
    "Juniper",
    "Sycamore",
    "Hawthorne",
    "Elm",
    "Alder",
];
const FEATURES: &[&str] = &[
    "Grove", "Ridge", "Creek", "Hill", "Valley", "Park", "Meadow", "Point", "Bay", "Lake",
];

impl District {
    /// Lays out about one school per 400 students (at least one of each band),
    /// split across bands in proportion to the grades each band serves.
    pub(super) fn new(rng: &mut ChaCha8Rng, students: usize) -> District {
        let total = (students as f64 / STUDENTS_PER_SCHOOL as f64).round() as usize;
        let total = total.max(3);
        let high = ((total * 4) as f64 / 13.0).round().max(1.0) as usize;
        let middle = ((total * 3) as f64 / 13.0).round().max(1.0) as usize;
        let counts = [total - high - middle, middle, high];

        let mut names: Vec<String> = Vec::with_capacity(TREES.len() * FEATURES.len());
        for tree in TREES {
            for feature in FEATURES {
                names.push(format!("{tree} {feature}"));
            }
        }
        shuffle(rng, &mut names);
        // The first school of each band has a name that tests escaping and encodings.
        let firsts = ["César Chávez", "Georgia O'Keeffe", "Riverbend"];
        let kinds = ["Elementary School", "Middle School", "High School"];

        let mut schools = Vec::with_capacity(total);
        let mut by_band: [Vec<usize>; 3] = Default::default();
        let mut next_name = 0;
        for (b, band) in Band::ALL.into_iter().enumerate() {
            for k in 0..counts[b] {
                let base = if k == 0 {
                    firsts[b].to_string()
                } else {
                    let base = names[next_name % names.len()].clone();
                    let round = next_name / names.len();
                    next_name += 1;
                    if round == 0 {
                        base
                    } else {
                        format!("{base} {}", round + 1)
                    }
                };
                let id = schools.len() as i64 + 1;
                by_band[b].push(schools.len());
                schools.push(School {
                    id,
                    band,
                    name: format!("{base} {}", kinds[b]),
                    state_id: format!("{:04}", 100 + 10 * id),
                    address: address(rng, false),
                    phone: format!("(608) 555-01{:02}", rng.gen_range(0..100u32)),
                });
            }
        }
        District { schools, by_band }
    }

    /// The school (index into `schools`) a student of `grade` living in `zone` (0..1) attends.
    pub(super) fn school_for(&self, grade: u8, zone: f64) -> usize {
        let band = Band::of_grade(grade);
        let schools = &self.by_band[band as usize];
        let i = ((zone * schools.len() as f64) as usize).min(schools.len() - 1);
        schools[i]
    }
}

/// How a student relates to the three generated years.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Enrolled every year their grade allows.
    Continuing,
    /// Arrived last year or this year, some mid-year.
    New,
    /// Enrolled this year, then left during the elapsed part of it.
    Withdrawn,
    /// Finished grade 12 one (13) or two (14) years ago: the grade they would be in now.
    Graduated(i32),
    /// Moved away before this year, some mid-year.
    Moved,
}

impl Kind {
    /// Whether the student is enrolled in the active year.
    pub(super) fn is_active(self) -> bool {
        matches!(self, Kind::Continuing | Kind::New | Kind::Withdrawn)
    }
}

/// Deals kinds for a district of `active` students in exact proportions.
///
/// Past students are added on top (two graduating classes and some leavers)
/// so the two earlier years have every grade and about as many students as
/// this one. Every rare kind occurs at least once whenever there are students.
pub(crate) fn kinds(rng: &mut ChaCha8Rng, active: usize) -> Vec<Kind> {
    let class = (active as f64 / 13.0).round() as usize;
    let moved = if active == 0 { 0 } else { quota(active, 0.06) };
    let mut kinds = Vec::with_capacity(active + 2 * class + moved);
    kinds.extend(std::iter::repeat_n(Kind::Withdrawn, quota(active, 0.015)));
    kinds.extend(std::iter::repeat_n(Kind::New, quota(active, 0.08)));
    kinds.truncate(active);
    kinds.resize(active, Kind::Continuing);
    kinds.extend(std::iter::repeat_n(Kind::Graduated(13), class));
    kinds.extend(std::iter::repeat_n(Kind::Graduated(14), class));
    kinds.extend(std::iter::repeat_n(Kind::Moved, moved));
    shuffle(rng, &mut kinds);
    kinds
}

/// One year's enrolment of a student.
#[derive(Clone, Debug)]
pub(crate) struct Stint {
    pub end_year: i32,
    pub grade: u8,
    /// Index into `District::schools`.
    pub school: usize,
    pub start: NaiveDate,
    /// `None` while the enrolment is still open.
    pub end: Option<NaiveDate>,
}

/// A student's path through the generated years, in year order.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub birth_date: NaiveDate,
    pub stints: Vec<Stint>,
}

impl Plan {
    /// The enrolment in `end_year`, if the student had one.
    pub(super) fn stint(&self, end_year: i32) -> Option<&Stint> {
        self.stints.iter().find(|s| s.end_year == end_year)
    }
}

/// Plans one student's years.
///
/// `calendars` are the three years oldest first; the last is the active year.
/// The grade a student would be in this year (13 or 14 for recent graduates)
/// fixes every other year's grade and the birth date.
pub(crate) fn plan(
    rng: &mut ChaCha8Rng,
    district: &District,
    calendars: &[Calendar; 3],
    active_year: i32,
    kind: Kind,
) -> Plan {
    let zone: f64 = rng.gen();
    let oldest = active_year - 2;
    let (grade_now, first_year, last_year) = match kind {
        Kind::Continuing | Kind::Withdrawn => (below(rng, 13) as i32, oldest, active_year),
        Kind::New => {
            let g = below(rng, 13) as i32;
            let first = if g == 0 || chance(rng, 0.6) {
                active_year
            } else {
                active_year - 1
            };
            (g, first, active_year)
        }
        Kind::Graduated(g) => (g, oldest, active_year - 1),
        Kind::Moved => {
            let g = 1 + below(rng, 12) as i32;
            let last = if g >= 2 && chance(rng, 0.3) {
                oldest
            } else {
                active_year - 1
            };
            (g, oldest, last)
        }
    };

    let mut stints = Vec::with_capacity(3);
    for (k, cal) in calendars.iter().enumerate() {
        let year = oldest + k as i32;
        let grade = grade_now - (active_year - year);
        if !(0..=12).contains(&grade) || year < first_year || year > last_year {
            continue;
        }
        let active = year == active_year;
        // Days a mid-year change may fall on: this year only the elapsed part.
        let window = if active { cal.elapsed().len() } else { cal.days.len() };
        let mut start = cal.start;
        let mut start_index = 0;
        if kind == Kind::New && year == first_year && chance(rng, 0.3) {
            start_index = 5 + below(rng, window.saturating_sub(15).max(1));
            start = cal.days[start_index];
        }
        let end = if active {
            match kind {
                Kind::Withdrawn => {
                    let from = start_index + 3;
                    let span = ELAPSED_DAYS.min(window).saturating_sub(from).max(1);
                    Some(cal.days[from + below(rng, span)])
                }
                _ => None,
            }
        } else if kind == Kind::Moved && year == last_year && chance(rng, 0.5) {
            Some(cal.days[20 + below(rng, window - 30)])
        } else {
            Some(cal.end)
        };
        stints.push(Stint {
            end_year: year,
            grade: grade as u8,
            school: district.school_for(grade as u8, zone),
            start,
            end,
        });
    }

    // Kindergarteners are five by September 1 of their first school year.
    let youngest = NaiveDate::from_ymd_opt(active_year - 7 - grade_now, 9, 2).unwrap_or(calendars[2].start);
    let mut birth_date = youngest + Days::new(u64::from(rng.gen_range(0..365u32)));
    if chance(rng, 0.03) {
        birth_date = birth_date - Days::new(365); // held back a year at some point
    }
    Plan { birth_date, stints }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn school_counts_scale_and_cover_every_band() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (students, expected) in [(0, 3), (50, 3), (2000, 5), (100_000, 250)] {
            let d = District::new(&mut rng, students);
            assert_eq!(d.schools.len(), expected, "{students}");
            for band in Band::ALL {
                assert!(d.schools.iter().any(|s| s.band == band), "{students} {band:?}");
            }
            let mut names: Vec<&str> = d.schools.iter().map(|s| s.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), expected, "school names are unique");
            for g in 0..=12 {
                assert_eq!(d.schools[d.school_for(g, 0.999)].band, Band::of_grade(g));
            }
        }
    }

    #[test]
    fn plans_follow_their_kind() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let active = 2027;
        let cals = [
            Calendar::new(active - 2).unwrap(),
            Calendar::new(active - 1).unwrap(),
            Calendar::new(active).unwrap(),
        ];
        let d = District::new(&mut rng, 1000);
        let kinds = kinds(&mut rng, 1000);
        assert_eq!(kinds.iter().filter(|k| **k == Kind::Withdrawn).count(), 15);
        for kind in kinds {
            let p = plan(&mut rng, &d, &cals, active, kind);
            assert!(!p.stints.is_empty());
            for w in p.stints.windows(2) {
                assert_eq!(w[1].end_year, w[0].end_year + 1);
                assert_eq!(w[1].grade, w[0].grade + 1, "a grade a year");
            }
            let now = p.stint(active);
            match kind {
                Kind::Graduated(_) | Kind::Moved => assert!(now.is_none()),
                Kind::Withdrawn => assert!(now.unwrap().end.unwrap() <= *cals[2].elapsed().last().unwrap()),
                _ => assert!(now.unwrap().end.is_none()),
            }
            for s in &p.stints {
                assert!(s.end.is_none_or(|e| e >= s.start));
                assert_eq!(d.schools[s.school].band, Band::of_grade(s.grade));
            }
        }
    }
}
