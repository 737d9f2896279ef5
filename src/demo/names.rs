//! People and places: name pools with the awkward values real districts have, and seeded picking.
//!
//! Vendors' files break on exactly the values a tidy demo would never
//! contain, so the pools mix plain names with accents, apostrophes, spaces and
//! hyphens, and the generator forces a share of commas, quotes and line breaks.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A uniform index below `n` (which must be positive).
///
/// Picks go through `u32` rather than `usize` so the sequence is the same on
/// every platform, which the byte-for-byte determinism promise depends on.
pub(crate) fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    rng.gen_range(0..n as u32) as usize
}

/// True with probability `p`.
pub(crate) fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    rng.gen::<f64>() < p
}

/// One item of a non-empty slice, uniformly.
pub(crate) fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[below(rng, items.len())]
}

/// The index of an option, chosen in proportion to its weight.
pub(crate) fn weighted<T: Copy>(rng: &mut ChaCha8Rng, options: &[(T, u32)]) -> T {
    let total: u32 = options.iter().map(|(_, w)| w).sum();
    let mut ticket = rng.gen_range(0..total);
    for (value, weight) in options {
        if ticket < *weight {
            return *value;
        }
        ticket -= weight;
    }
    options[options.len() - 1].0
}

/// Shuffles in place (Fisher-Yates with platform-independent picks).
pub(crate) fn shuffle<T>(rng: &mut ChaCha8Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i + 1);
        items.swap(i, j);
    }
}

/// Marks exactly `k` of `n` positions (all of them when `k >= n`).
///
/// Exact counts, rather than a coin per student, are what let a 50-student
/// district still contain at least one of every awkward value.
pub(crate) fn marks(rng: &mut ChaCha8Rng, n: usize, k: usize) -> Vec<bool> {
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(rng, &mut order);
    let mut marked = vec![false; n];
    for &i in order.iter().take(k) {
        marked[i] = true;
    }
    marked
}

/// How many of `n` students should carry a quirk with the given share: at least one.
pub(crate) fn quota(n: usize, share: f64) -> usize {
    ((n as f64 * share).round() as usize).max(1).min(n)
}

/// Which awkward values a generated person must carry.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Quirks {
    pub non_ascii: bool,
    pub apostrophe: bool,
    pub comma: bool,
    pub quote: bool,
}

/// A generated person's name.
#[derive(Clone, Debug)]
pub(crate) struct Name {
    pub first: String,
    pub middle: Option<String>,
    pub last: String,
    /// `F`, `M` or `X`.
    pub gender: &'static str,
}

#[rustfmt::skip]
const FIRST_F: &[&str] = &[
    "Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper", "Evelyn",
    "Abigail", "Emily", "Ella", "Madison", "Scarlett", "Grace", "Chloe", "Lily", "Aaliyah", "Nora",
    "Hannah", "Layla", "Zoey", "Maya", "Ariana", "Camila", "Priya", "Mei", "Aisha", "Fatima",
    "Keisha", "Jasmine", "Leah", "Ruby", "Hazel", "Naomi", "Sadie", "Aurora", "Violet", "Mary Kate",
    "Anne-Marie", "Ximena", "Yuki", "Nia",
];
#[rustfmt::skip]
const FIRST_M: &[&str] = &[
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Alexander", "Mason", "Michael", "Ethan", "Daniel", "Jacob", "Logan", "Jackson", "Levi",
    "Sebastian", "Mateo", "Jack", "Owen", "Theodore", "Aiden", "Samuel", "Joseph", "John", "David",
    "Wyatt", "Carter", "Julian", "Luke", "Isaiah", "Jayden", "Malik", "Omar", "Kenji", "Arjun",
    "Dmitri", "Tyrone", "Diego", "Carlos", "Jean-Luc", "Bao", "Kwame",
];
#[rustfmt::skip]
const FIRST_X: &[&str] = &[
    "Alex", "Jordan", "Taylor", "Casey", "Riley", "Avery", "Quinn", "Rowan", "Sage", "Skyler",
    "Emerson", "Jamie", "Morgan", "Reese", "Parker", "River",
];
#[rustfmt::skip]
const FIRST_F_INTL: &[&str] = &[
    "Zoë", "Chloé", "Renée", "Inés", "María", "Sofía", "Lucía", "Małgorzata", "Åsa", "Anaïs",
    "Noémie", "Siân", "Şule", "Thảo", "Ngọc", "Begoña", "Željka", "Dóra",
];
#[rustfmt::skip]
const FIRST_M_INTL: &[&str] = &[
    "José", "François", "Søren", "Łukasz", "Jürgen", "André", "Tomás", "Joaquín", "Nicolás",
    "Ángel", "Björn", "Stanisław", "Hüseyin", "Đức", "Ramón", "Émile", "Raphaël", "Jérôme", "Oğuz",
    "Matías",
];
const FIRST_APOSTROPHE: &[(&str, &str)] = &[("D'Andre", "M"), ("D'Asia", "F"), ("Ja'Nae", "F")];
#[rustfmt::skip]
const MIDDLE: &[&str] = &[
    "Marie", "Ann", "Lynn", "Grace", "Rose", "Jane", "Elizabeth", "Mae", "James", "Lee", "Michael",
    "Alexander", "Ray", "Jean", "Thomas", "Joseph", "Kai", "Jordan", "Sky", "Ann Marie",
];
const MIDDLE_INTL: &[&str] = &["Inés", "José", "Zoë", "Renée", "Jérôme", "Łucja"];
const NICKNAMES: &[&str] = &["Bo", "Sunny", "Tripp", "Kiki", "Buddy", "Dede", "Chip", "Lulu"];
#[rustfmt::skip]
const LAST: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "Kim", "Patel", "Chen", "Wang", "Singh", "Ali", "Okafor",
    "Kowalski", "Yamamoto", "Haddad", "Schmidt", "Novak", "Larsen", "Ivanov", "Tran", "Begay",
    "Two Bears", "Van der Berg", "De La Cruz", "Smith-Jones", "Lee-Park", "Xiong", "Vang",
    "Mohamed",
];
#[rustfmt::skip]
const LAST_INTL: &[&str] = &[
    "Nuñez", "Müller", "Đặng", "Peña", "Muñoz", "Ibáñez", "Gómez", "Fernández", "Jiménez",
    "Sørensen", "Østergaard", "Łukaszewski", "Wójcik", "Dvořák", "Novotný", "Kovačević", "Šimić",
    "Nguyễn", "Trần", "Lê", "Phạm", "Schäfer", "Böhm", "Weiß", "Çelik", "Yılmaz", "Öztürk",
    "Brontë", "Lefèvre", "Björklund", "Håkansson", "García Márquez",
];
#[rustfmt::skip]
const LAST_APOSTROPHE: &[&str] = &[
    "O'Brien", "D'Angelo", "O'Connor", "O'Neill", "D'Souza", "O'Malley", "N'Diaye", "L'Heureux",
    "D'Amico", "O'Hara",
];
const SUFFIXES: &[&str] = &["Jr.", "II", "III", "IV"];

/// Generates a person's name, honouring the quirks they were dealt.
///
/// Genders are F and M in equal measure with a small share of X, the way
/// state reporting now allows.
pub(crate) fn person(rng: &mut ChaCha8Rng, quirks: Quirks) -> Name {
    let roll = rng.gen_range(0..100u32);
    let gender = match roll {
        0..=48 => "F",
        49..=97 => "M",
        _ => "X",
    };
    // Non-ASCII people get an accented first name, last name, or both.
    let (intl_first, intl_last) = if quirks.non_ascii {
        match rng.gen_range(0..10u32) {
            0..=4 => (true, false),
            5..=7 => (false, true),
            _ => (true, true),
        }
    } else {
        (false, false)
    };
    // An apostrophe takes over the last name, so keep the accent on the first.
    let intl_first = intl_first || (quirks.non_ascii && quirks.apostrophe);
    let apostrophe_first = quirks.apostrophe && !intl_first && chance(rng, 0.2);
    let mut first = first_name(rng, gender, intl_first).to_string();
    let mut gender = gender;
    if apostrophe_first {
        let (name, g) = *pick(rng, FIRST_APOSTROPHE);
        first = name.to_string();
        gender = g;
    }
    let mut last = if quirks.apostrophe && !apostrophe_first {
        pick(rng, LAST_APOSTROPHE).to_string()
    } else if intl_last {
        pick(rng, LAST_INTL).to_string()
    } else {
        pick(rng, LAST).to_string()
    };
    if quirks.comma {
        let suffix = if gender == "F" {
            *pick(rng, &SUFFIXES[1..])
        } else {
            *pick(rng, SUFFIXES)
        };
        last = format!("{last}, {suffix}");
    }
    let mut middle = if chance(rng, 0.7) || quirks.quote {
        let pool = if quirks.non_ascii && chance(rng, 0.3) {
            MIDDLE_INTL
        } else {
            MIDDLE
        };
        Some(pick(rng, pool).to_string())
    } else {
        None
    };
    if quirks.quote {
        let nickname = pick(rng, NICKNAMES);
        middle = Some(match middle {
            Some(m) if chance(rng, 0.5) => format!("{m} \"{nickname}\""),
            _ => format!("\"{nickname}\""),
        });
    }
    Name {
        first,
        middle,
        last,
        gender,
    }
}

/// A plain first name for staff (staff carry no forced quirks).
pub(crate) fn staff_name(rng: &mut ChaCha8Rng) -> (String, String) {
    let quirks = Quirks {
        non_ascii: chance(rng, 0.1),
        apostrophe: chance(rng, 0.02),
        ..Quirks::default()
    };
    let name = person(rng, quirks);
    (name.first, name.last)
}

fn first_name(rng: &mut ChaCha8Rng, gender: &str, intl: bool) -> &'static str {
    let pool = match (gender, intl) {
        ("F", false) => FIRST_F,
        ("M", false) => FIRST_M,
        ("F", true) => FIRST_F_INTL,
        ("M", true) => FIRST_M_INTL,
        (_, false) => FIRST_X,
        (_, true) if chance(rng, 0.5) => FIRST_F_INTL,
        (_, true) => FIRST_M_INTL,
    };
    pool[below(rng, pool.len())]
}

/// ASCII spellings of every non-ASCII letter in the pools, for e-mail addresses.
#[rustfmt::skip]
const FOLDS: &[(char, &str)] = &[
    ('á', "a"), ('à', "a"), ('â', "a"), ('ä', "a"), ('å', "a"), ('ã', "a"), ('ạ', "a"), ('ặ', "a"),
    ('ầ', "a"), ('ả', "a"), ('Å', "A"), ('Á', "A"), ('Ä', "A"), ('é', "e"), ('è', "e"), ('ê', "e"),
    ('ë', "e"), ('ễ', "e"), ('É', "E"), ('í', "i"), ('ï', "i"), ('ı', "i"), ('ó', "o"), ('ö', "o"),
    ('ô', "o"), ('ọ', "o"), ('ø', "o"), ('Ø', "O"), ('Ö', "O"), ('ú', "u"), ('ü', "u"), ('ứ', "u"),
    ('ñ', "n"), ('ç', "c"), ('Ç', "C"), ('č', "c"), ('ć', "c"), ('ğ', "g"), ('ş', "s"), ('Ş', "S"),
    ('š', "s"), ('Š', "S"), ('ł', "l"), ('Ł', "L"), ('đ', "d"), ('Đ', "D"), ('ř', "r"), ('ý', "y"),
    ('ž', "z"), ('Ž', "Z"), ('ß', "ss"),
];

/// The lowercase ASCII letters of a name, for building e-mail addresses.
///
/// "Nuñez, Jr." becomes "nunezjr": addresses must be plain ASCII even when
/// names are not, because that is what mail systems and vendors accept.
pub(crate) fn mail_part(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if let Some((_, ascii)) = FOLDS.iter().find(|(from, _)| *from == c) {
            out.push_str(&ascii.to_ascii_lowercase());
        }
    }
    out
}

/// A postal address in the demo district.
#[derive(Clone, Debug)]
pub(crate) struct Address {
    pub line: String,
    pub city: &'static str,
    pub state: &'static str,
    pub zip: &'static str,
}

#[rustfmt::skip]
const STREETS: &[&str] = &[
    "Oak", "Maple", "Cedar", "Elm", "Main", "River", "Lake", "Hillcrest", "Prairie", "Mill",
    "Church", "Park", "Sunset", "Willow", "Birch", "Highland", "Meadow", "Forest", "Spring",
    "Ridge", "Martin Luther King Jr.", "Cesar Chavez", "Old Mill", "Walnut",
];
const STREET_KINDS: &[&str] = &["St", "Ave", "Rd", "Ln", "Dr", "Ct", "Way", "Blvd", "Pl", "Cir"];
#[rustfmt::skip]
const CITIES: &[(&str, &str)] = &[
    ("Riverbend", "53590"), ("Riverbend", "53591"), ("Millbrook", "53594"), ("Fairhaven", "53597"),
    ("Elk Prairie", "53598"), ("Stonefield", "53599"),
];

/// The state every demo address is in.
pub(crate) const STATE: &str = "WI";

/// Generates an address; `line_break` puts the apartment on a second line.
///
/// A few addresses also carry a comma ("12 Oak St, Apt 4"), which is common
/// in real data and a classic way to break an unquoted CSV.
pub(crate) fn address(rng: &mut ChaCha8Rng, line_break: bool) -> Address {
    let number = rng.gen_range(1..10000u32);
    let street = pick(rng, STREETS);
    let kind = pick(rng, STREET_KINDS);
    let mut line = format!("{number} {street} {kind}");
    if line_break {
        line.push_str(&format!("\nApt {}", rng.gen_range(1..40u32)));
    } else if chance(rng, 0.04) {
        line.push_str(&format!(", Apt {}", rng.gen_range(1..40u32)));
    }
    let (city, zip) = *pick(rng, CITIES);
    Address {
        line,
        city,
        state: STATE,
        zip,
    }
}

/// A phone number in the 555-0100..555-0199 block reserved for fiction, so it can never ring anyone.
pub(crate) fn phone(rng: &mut ChaCha8Rng) -> String {
    format!("(608) 555-01{:02}", rng.gen_range(0..100u32))
}

/// A social security number in the 9xx area, which the SSA never issues, so it can never be real.
pub(crate) fn ssn(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}-{:02}-{:04}",
        rng.gen_range(900..1000u32),
        rng.gen_range(1..100u32),
        rng.gen_range(1..10000u32)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_pool_name_has_an_ascii_mail_spelling() {
        let pools = [
            FIRST_F,
            FIRST_M,
            FIRST_X,
            FIRST_F_INTL,
            FIRST_M_INTL,
            MIDDLE,
            MIDDLE_INTL,
            LAST,
            LAST_INTL,
            LAST_APOSTROPHE,
        ];
        for name in pools.iter().flat_map(|p| p.iter()) {
            let letters = name.chars().filter(|c| c.is_alphanumeric()).count();
            let mail = mail_part(name);
            assert_eq!(mail.chars().count(), letters + name.matches('ß').count(), "{name}");
            assert!(mail.is_ascii(), "{name} -> {mail}");
        }
        assert_eq!(mail_part("Nuñez, Jr."), "nunezjr");
        assert_eq!(mail_part("O'Brien"), "obrien");
        assert_eq!(mail_part("Weiß"), "weiss");
    }

    #[test]
    fn intl_pools_are_non_ascii_and_plain_pools_are_not() {
        for name in FIRST_F_INTL.iter().chain(FIRST_M_INTL).chain(LAST_INTL) {
            assert!(!name.is_ascii(), "{name}");
        }
        for name in FIRST_F.iter().chain(FIRST_M).chain(FIRST_X).chain(LAST).chain(MIDDLE) {
            assert!(name.is_ascii() && !name.contains(['\'', ',', '"']), "{name}");
        }
    }

    #[test]
    fn quirks_are_honoured() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..200 {
            let q = Quirks {
                non_ascii: true,
                apostrophe: true,
                comma: true,
                quote: true,
            };
            let n = person(&mut rng, q);
            assert!(n.last.contains(", "), "{n:?}");
            assert!(n.middle.as_deref().unwrap().contains('"'), "{n:?}");
            assert!(n.first.contains('\'') || n.last.contains('\''), "{n:?}");
            assert!(!format!("{}{}", n.first, n.last).is_ascii(), "{n:?}");
        }
        let a = address(&mut rng, true);
        assert!(a.line.contains('\n'));
        assert!(ssn(&mut rng).starts_with('9'));
        assert_eq!(marks(&mut rng, 50, 3).iter().filter(|m| **m).count(), 3);
        assert_eq!(quota(50, 0.003), 1);
        assert_eq!(quota(2000, 0.1), 200);
    }
}
