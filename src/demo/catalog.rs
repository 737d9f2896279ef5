//! Course catalogs: what each kind of school teaches, and which courses a student of each grade takes.
//!
//! Every student has one course per schedule position; rotating positions
//! through periods per student spreads each course's sections over the day,
//! so no student is in two places at once and teachers get realistic loads.

use rand_chacha::ChaCha8Rng;

use super::names::weighted;

/// The three kinds of school the demo district has, by grade band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Band {
    Elementary,
    Middle,
    High,
}

impl Band {
    /// All bands, in grade order.
    pub(super) const ALL: [Band; 3] = [Band::Elementary, Band::Middle, Band::High];

    /// The band a grade (0 = kindergarten) belongs to.
    pub(super) fn of_grade(grade: u8) -> Band {
        match grade {
            0..=5 => Band::Elementary,
            6..=8 => Band::Middle,
            _ => Band::High,
        }
    }

    /// Lowest and highest grade taught, as stored in `school`.
    pub(super) fn grade_span(self) -> (u8, u8) {
        match self {
            Band::Elementary => (0, 5),
            Band::Middle => (6, 8),
            Band::High => (9, 12),
        }
    }

    /// How many students a section of this band holds at most.
    pub(super) fn class_size(self) -> usize {
        match self {
            Band::Elementary => 24,
            Band::Middle => 28,
            Band::High => 30,
        }
    }
}

/// A grade as stored: `KG`, `01` .. `12`.
pub(crate) fn grade_code(grade: u8) -> String {
    if grade == 0 {
        "KG".to_string()
    } else {
        format!("{grade:02}")
    }
}

/// When in the year a section meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Term {
    Year,
    S1,
    S2,
}

impl Term {
    /// The value stored in `section.term`.
    pub(super) fn code(self) -> &'static str {
        match self {
            Term::Year => "Year",
            Term::S1 => "S1",
            Term::S2 => "S2",
        }
    }

    /// Which halves of the year the term occupies (bit 0: S1, bit 1: S2), for clash checks.
    pub(super) fn halves(self) -> u8 {
        match self {
            Term::Year => 0b11,
            Term::S1 => 0b01,
            Term::S2 => 0b10,
        }
    }
}

/// A course every school of the band offers.
#[derive(Clone, Debug)]
pub(crate) struct CourseDef {
    pub number: String,
    pub name: String,
    pub department: &'static str,
}

/// One position in a student's schedule and the courses that can fill it.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    /// 0..6; the student's rotation turns it into a period.
    pub position: u8,
    pub term: Term,
    /// (course index, weight).
    pub options: Vec<(usize, u32)>,
}

/// A band's courses and, per grade, the slots a student fills.
#[derive(Clone, Debug)]
pub(crate) struct Catalog {
    pub courses: Vec<CourseDef>,
    /// Indexed by grade 0..=12; empty for grades outside the band.
    pub plans: Vec<Vec<Slot>>,
}

/// Number of schedule positions (and periods) in a day.
pub(crate) const PERIODS: u8 = 6;

impl Catalog {
    fn course(&mut self, number: &str, name: &str, department: &'static str) -> usize {
        if let Some(i) = self.courses.iter().position(|c| c.number == number) {
            return i;
        }
        self.courses.push(CourseDef {
            number: number.to_string(),
            name: name.to_string(),
            department,
        });
        self.courses.len() - 1
    }

    fn slot(&mut self, grade: u8, position: u8, term: Term, options: &[(&str, &str, &'static str, u32)]) {
        let options = options
            .iter()
            .map(|(number, name, dept, weight)| (self.course(number, name, dept), *weight))
            .collect();
        self.plans[grade as usize].push(Slot {
            position,
            term,
            options,
        });
    }

    /// The catalog of a band.
    pub(super) fn new(band: Band) -> Catalog {
        let mut c = Catalog {
            courses: Vec::new(),
            plans: vec![Vec::new(); 13],
        };
        let (low, high) = band.grade_span();
        for g in low..=high {
            match band {
                Band::Elementary => elementary(&mut c, g),
                Band::Middle => middle(&mut c, g),
                Band::High => high_school(&mut c, g),
            }
        }
        c
    }

    /// Picks one course per slot for a student of `grade`: (slot, course index).
    ///
    /// The two semester electives of a high-school student are always different courses.
    pub(super) fn choose(&self, rng: &mut ChaCha8Rng, grade: u8) -> Vec<(&Slot, usize)> {
        let mut chosen: Vec<(&Slot, usize)> = Vec::with_capacity(7);
        for slot in &self.plans[grade as usize] {
            let mut course = weighted(rng, &slot.options);
            if slot.term == Term::S2 {
                if let Some((_, first)) = chosen.iter().find(|(s, _)| s.term == Term::S1) {
                    if *first == course {
                        let i = slot.options.iter().position(|(c, _)| *c == course).unwrap_or(0);
                        course = slot.options[(i + 1) % slot.options.len()].0;
                    }
                }
            }
            chosen.push((slot, course));
        }
        chosen
    }
}

fn elementary(c: &mut Catalog, g: u8) {
    let code = grade_code(g);
    let label = if g == 0 {
        "Kindergarten".to_string()
    } else {
        format!("Grade {g}")
    };
    let core = [
        ("HR", "Homeroom", "Homeroom"),
        ("RD", "Reading", "Language Arts"),
        ("MA", "Math", "Mathematics"),
        ("SC", "Science", "Science"),
        ("SS", "Social Studies", "Social Studies"),
    ];
    for (position, (prefix, subject, dept)) in core.iter().enumerate() {
        let number = format!("{prefix}-{code}");
        let name = format!("{label} {subject}");
        c.slot(g, position as u8, Term::Year, &[(&number, &name, dept, 1)]);
    }
    c.slot(
        g,
        5,
        Term::Year,
        &[
            ("ART-E", "Art", "Fine Arts", 1),
            ("MUS-E", "Music", "Fine Arts", 1),
            ("PE-E", "Physical Education", "Physical Education", 1),
        ],
    );
}

fn middle(c: &mut Catalog, g: u8) {
    let ela = (format!("ELA-{g:02}"), format!("English Language Arts {g}"));
    let sci = (format!("SCI-{g:02}"), format!("Science {g}"));
    let soc = (format!("SS-{g:02}"), format!("Social Studies {g}"));
    let math6 = (format!("MA-{g:02}"), format!("Math {g}"));
    c.slot(g, 0, Term::Year, &[(&ela.0, &ela.1, "English", 1)]);
    match g {
        6 => c.slot(g, 1, Term::Year, &[(&math6.0, &math6.1, "Mathematics", 1)]),
        7 => c.slot(
            g,
            1,
            Term::Year,
            &[
                (&math6.0, &math6.1, "Mathematics", 80),
                ("PREALG", "Pre-Algebra", "Mathematics", 20),
            ],
        ),
        _ => c.slot(
            g,
            1,
            Term::Year,
            &[
                ("PREALG", "Pre-Algebra", "Mathematics", 70),
                ("ALG1-M", "Algebra I", "Mathematics", 30),
            ],
        ),
    }
    c.slot(g, 2, Term::Year, &[(&sci.0, &sci.1, "Science", 1)]);
    c.slot(g, 3, Term::Year, &[(&soc.0, &soc.1, "Social Studies", 1)]);
    c.slot(
        g,
        4,
        Term::Year,
        &[("PE-M", "Physical Education & Health", "Physical Education", 1)],
    );
    c.slot(
        g,
        5,
        Term::Year,
        &[
            ("BAND-M", "Band", "Fine Arts", 3),
            ("CHOIR-M", "Choir", "Fine Arts", 2),
            ("ART-M", "Art", "Fine Arts", 2),
            ("SPAN1-M", "Spanish I", "World Languages", 2),
            ("CS-M", "Computer Science Discoveries", "Career & Technical", 2),
        ],
    );
}

const ELECTIVES: &[(&str, &str, &str, u32)] = &[
    ("7001", "Art I", "Fine Arts", 1),
    ("7002", "Ceramics", "Fine Arts", 1),
    ("7003", "Digital Photography", "Fine Arts", 1),
    ("7101", "Intro to Computer Science", "Career & Technical", 1),
    ("7102", "Web Design", "Career & Technical", 1),
    ("7201", "Psychology", "Social Studies", 1),
    ("7202", "Personal Finance", "Career & Technical", 1),
    ("7301", "Creative Writing", "English", 1),
    ("7302", "Reading, Writing, and Research", "English", 1),
    ("7401", "Concert Band", "Fine Arts", 1),
    ("7402", "Choir", "Fine Arts", 1),
];

fn high_school(c: &mut Catalog, g: u8) {
    let english: &[_] = match g {
        9 => &[("1001", "English 9", "English", 1)],
        10 => &[("1002", "English 10", "English", 1)],
        11 => &[("1003", "English 11", "English", 1)],
        _ => &[
            ("1004", "English 12", "English", 85),
            ("1050", "AP English Literature", "English", 15),
        ],
    };
    let math: &[_] = match g {
        9 => &[
            ("2001", "Algebra I", "Mathematics", 70),
            ("2002", "Geometry", "Mathematics", 30),
        ],
        10 => &[
            ("2002", "Geometry", "Mathematics", 65),
            ("2003", "Algebra II", "Mathematics", 35),
        ],
        11 => &[
            ("2003", "Algebra II", "Mathematics", 60),
            ("2004", "Precalculus", "Mathematics", 40),
        ],
        _ => &[
            ("2004", "Precalculus", "Mathematics", 45),
            ("2050", "AP Calculus AB", "Mathematics", 25),
            ("2060", "Statistics", "Mathematics", 30),
        ],
    };
    let science: &[_] = match g {
        9 => &[("3001", "Biology", "Science", 1)],
        10 => &[
            ("3002", "Chemistry", "Science", 80),
            ("3004", "Environmental Science", "Science", 20),
        ],
        11 => &[
            ("3003", "Physics", "Science", 50),
            ("3004", "Environmental Science", "Science", 30),
            ("3050", "AP Biology", "Science", 20),
        ],
        _ => &[
            ("3005", "Anatomy & Physiology", "Science", 50),
            ("3003", "Physics", "Science", 25),
            ("3050", "AP Biology", "Science", 25),
        ],
    };
    let social: &[_] = match g {
        9 => &[("4000", "World Geography", "Social Studies", 1)],
        10 => &[("4001", "World History", "Social Studies", 1)],
        11 => &[
            ("4002", "U.S. History", "Social Studies", 75),
            ("4050", "AP U.S. History", "Social Studies", 25),
        ],
        _ => &[("4003", "Government & Economics", "Social Studies", 1)],
    };
    let fourth: &[_] = match g {
        9 => &[
            ("5001", "Spanish I", "World Languages", 45),
            ("5011", "French I", "World Languages", 15),
            ("5021", "German I", "World Languages", 5),
            ("5009", "Español para hispanohablantes", "World Languages", 5),
            ("6001", "Physical Education", "Physical Education", 30),
        ],
        10 => &[
            ("5002", "Spanish II", "World Languages", 45),
            ("5012", "French II", "World Languages", 15),
            ("5001", "Spanish I", "World Languages", 10),
            ("6001", "Physical Education", "Physical Education", 30),
        ],
        11 => &[
            ("5003", "Spanish III", "World Languages", 30),
            ("5002", "Spanish II", "World Languages", 15),
            ("5012", "French II", "World Languages", 10),
            ("6001", "Physical Education", "Physical Education", 25),
            ("6002", "Health", "Physical Education", 20),
        ],
        _ => &[
            ("5003", "Spanish III", "World Languages", 25),
            ("6001", "Physical Education", "Physical Education", 35),
            ("6002", "Health", "Physical Education", 40),
        ],
    };
    for (position, options) in [english, math, science, social, fourth].into_iter().enumerate() {
        c.slot(g, position as u8, Term::Year, options);
    }
    c.slot(g, 5, Term::S1, ELECTIVES);
    c.slot(g, 5, Term::S2, ELECTIVES);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_grade_of_a_band_has_a_full_distinct_day() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for band in Band::ALL {
            let catalog = Catalog::new(band);
            let (low, high) = band.grade_span();
            for g in 0..=12u8 {
                let plan = &catalog.plans[g as usize];
                assert_eq!(plan.is_empty(), !(low..=high).contains(&g), "{band:?} {g}");
                for _ in 0..50 {
                    let chosen = catalog.choose(&mut rng, g);
                    let mut used = Vec::new();
                    for (slot, course) in &chosen {
                        assert!(slot.position < PERIODS);
                        for half in [1u8, 2] {
                            if slot.term.halves() & half != 0 {
                                assert!(!used.contains(&(slot.position, half)));
                                used.push((slot.position, half));
                            }
                        }
                        assert!(*course < catalog.courses.len());
                    }
                    let courses: Vec<usize> = chosen.iter().map(|(_, c)| *c).collect();
                    let mut unique = courses.clone();
                    unique.sort_unstable();
                    unique.dedup();
                    assert_eq!(unique.len(), courses.len(), "{band:?} grade {g}: {courses:?}");
                }
            }
        }
        assert_eq!(grade_code(0), "KG");
        assert_eq!(grade_code(7), "07");
        assert_eq!(Band::of_grade(9), Band::High);
    }
}
