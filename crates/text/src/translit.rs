//! Transliteration by language: the national romanisation of a Cyrillic or Greek value,
//! chosen from the letters the value uses.
//!
//! One Cyrillic letter is spelled differently in each language's official Latin form:
//! `Г` is `h` in Ukrainian and Belarusian but `g` in Russian, Serbian and Bulgarian;
//! `Ћ` is Serbian `ć`; `Щ` is Bulgarian `sht` but Ukrainian `shch`; `Ъ` is a vowel in
//! Bulgarian. [`Scheme::detect`] tells the language from letters only it uses (Ukrainian
//! `і ї є ґ`, Belarusian `ў`, Serbian `ђ ћ`, Macedonian `ѓ ќ ѕ`, `ј љ њ џ` of both, a
//! Bulgarian `ъ` inside a word) and [`Scheme::spell`] gives a letter's spelling under that
//! language's national system — Ukraine's 2010 passport table, Belarus's, Serbian Latin
//! (Gaj), Macedonia's, Bulgaria's 2009 law — or ELOT 743 for Greek. Values with none of
//! these letters keep the general transliteration (`deunicode`, close to the Russian
//! passport form). Spellings may carry diacritics (`ć`, `ž`); folding removes them after.

/// A national romanisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// Ukraine's national table of 2010 (passports): `г` h, `и` y, `є`/`ю`/`я` ie/iu/ia
    /// (ye/yu/ya at the start of a word).
    Ukrainian,
    /// Belarusian: as Ukrainian where the letters are shared, `ў` u, `ы` y.
    Belarusian,
    /// Serbian Latin (Gaj's alphabet): `ђ` đ, `ћ` ć, `џ` dž, `љ` lj, `њ` nj.
    Serbian,
    /// Macedonia's official romanisation: `ѓ` gj, `ќ` kj, `ѕ` dz, `џ` dzh.
    Macedonian,
    /// Bulgaria's transliteration law of 2009: `щ` sht, `ъ` a, `ю` yu, `я` ya.
    Bulgarian,
    /// ELOT 743, the Greek passport romanisation: `β` v, `η` i, `ου` ou, `ευ` ev.
    Greek,
}

impl Scheme {
    /// The language of a value's Cyrillic or Greek letters, when its letters tell it.
    pub fn detect(s: &str) -> Option<Scheme> {
        Scheme::detect_all(std::iter::once(s))
    }

    /// [`Scheme::detect`] over several values together (a record's names and places:
    /// `Олег` alone could be Russian, beside `Гнатюк Григорій` it is Ukrainian).
    pub fn detect_all<'s>(values: impl Iterator<Item = &'s str>) -> Option<Scheme> {
        let (mut ukr, mut bel, mut srp, mut mkd, mut shared, mut bul, mut rus_bel, mut greek) =
            (false, false, false, false, false, false, false, false);
        let mut prev_hard = false;
        let chars = values.flat_map(|v| v.chars().chain([' ']));
        for c in chars.flat_map(char::to_lowercase) {
            if prev_hard && is_cyrillic_letter(c) {
                bul = true;
            }
            prev_hard = c == 'ъ';
            match c {
                'і' | 'ї' | 'є' | 'ґ' => ukr = true,
                'ў' => bel = true,
                'ы' | 'э' | 'ё' => rus_bel = true,
                'ђ' | 'ћ' => srp = true,
                'ѓ' | 'ќ' | 'ѕ' => mkd = true,
                'ј' | 'љ' | 'њ' | 'џ' => shared = true,
                '\u{0370}'..='\u{03FF}' => greek = true,
                _ => {}
            }
        }
        Some(if bel || (ukr && rus_bel) {
            Scheme::Belarusian
        } else if ukr {
            Scheme::Ukrainian
        } else if mkd {
            Scheme::Macedonian
        } else if srp || shared {
            Scheme::Serbian
        } else if bul {
            Scheme::Bulgarian
        } else if greek {
            Scheme::Greek
        } else {
            return None;
        })
    }

    /// The spelling of lowercase letter `c` (with `next`, the letter after it) under this
    /// scheme; `initial` is true at the start of a word. `None` leaves the letter to the
    /// general transliteration. Returns the spelling and whether `next` was consumed.
    pub fn spell(self, c: char, next: Option<char>, initial: bool) -> Option<(&'static str, bool)> {
        let one = |s: &'static str| Some((s, false));
        match self {
            Scheme::Ukrainian | Scheme::Belarusian => {
                let ukr = self == Scheme::Ukrainian;
                match c {
                    'г' => one("h"),
                    'ґ' => one("g"),
                    'и' if ukr => one("y"),
                    'і' => one("i"),
                    'ї' => one(if initial { "yi" } else { "i" }),
                    'є' => one(if initial { "ye" } else { "ie" }),
                    'й' => one(if initial { "y" } else { "i" }),
                    'ю' => one(if initial { "yu" } else { "iu" }),
                    'я' => one(if initial { "ya" } else { "ia" }),
                    'ё' => one(if initial { "yo" } else { "io" }),
                    'х' => one("kh"),
                    'ц' => one("ts"),
                    'ч' => one("ch"),
                    'ш' => one("sh"),
                    'щ' => one("shch"),
                    'ж' => one("zh"),
                    'ў' => one("u"),
                    'ы' => one("y"),
                    'э' => one("e"),
                    'ь' | 'ʼ' => one(""),
                    _ => None,
                }
            }
            Scheme::Serbian => match c {
                'ђ' => one("đ"),
                'ж' => one("ž"),
                'ј' => one("j"),
                'љ' => one("lj"),
                'њ' => one("nj"),
                'ћ' => one("ć"),
                'х' => one("h"),
                'ц' => one("c"),
                'ч' => one("č"),
                'џ' => one("dž"),
                'ш' => one("š"),
                _ => None,
            },
            Scheme::Macedonian => match c {
                'ѓ' => one("gj"),
                'ж' => one("zh"),
                'ѕ' => one("dz"),
                'ј' => one("j"),
                'љ' => one("lj"),
                'њ' => one("nj"),
                'ќ' => one("kj"),
                'х' => one("h"),
                'ц' => one("c"),
                'ч' => one("ch"),
                'џ' => one("dzh"),
                'ш' => one("sh"),
                _ => None,
            },
            Scheme::Bulgarian => match c {
                'ж' => one("zh"),
                'й' => one("y"),
                'х' => one("h"),
                'ц' => one("ts"),
                'ч' => one("ch"),
                'ш' => one("sh"),
                'щ' => one("sht"),
                'ъ' => one("a"),
                'ь' => one("y"),
                'ю' => one("yu"),
                'я' => one("ya"),
                _ => None,
            },
            Scheme::Greek => greek(c, next),
        }
    }
}

fn is_cyrillic_letter(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}') && c.is_alphabetic()
}

/// ELOT 743 (the Greek passport romanisation), letter by letter with its digraphs `ου`,
/// `αυ`, `ευ`, `ηυ`, `γγ`, `γκ`, `γξ`, `γχ`, `μπ`.
fn greek(c: char, next: Option<char>) -> Option<(&'static str, bool)> {
    let base = |c: char| match c {
        'ά' => 'α',
        'έ' => 'ε',
        'ή' => 'η',
        'ί' | 'ϊ' | 'ΐ' => 'ι',
        'ό' => 'ο',
        'ύ' | 'ϋ' | 'ΰ' => 'υ',
        'ώ' => 'ω',
        other => other,
    };
    let (c, n) = (base(c), next.map(base));
    let pair = |s: &'static str| Some((s, true));
    match (c, n) {
        ('ο', Some('υ')) => return pair("ou"),
        ('α', Some('υ')) => return pair("av"),
        ('ε', Some('υ')) => return pair("ev"),
        ('η', Some('υ')) => return pair("iv"),
        ('γ', Some('γ')) => return pair("ng"),
        ('γ', Some('ξ')) => return pair("nx"),
        ('γ', Some('χ')) => return pair("nch"),
        ('μ', Some('π')) => return pair("mp"),
        _ => {}
    }
    let s = match c {
        'α' => "a",
        'β' => "v",
        'γ' => "g",
        'δ' => "d",
        'ε' => "e",
        'ζ' => "z",
        'η' => "i",
        'θ' => "th",
        'ι' => "i",
        'κ' => "k",
        'λ' => "l",
        'μ' => "m",
        'ν' => "n",
        'ξ' => "x",
        'ο' => "o",
        'π' => "p",
        'ρ' => "r",
        'σ' | 'ς' => "s",
        'τ' => "t",
        'υ' => "y",
        'φ' => "f",
        'χ' => "ch",
        'ψ' => "ps",
        'ω' => "o",
        _ => return None,
    };
    Some((s, false))
}

/// The characters of `s` with every letter its scheme spells replaced by that spelling
/// (lowercase); other characters pass through.
pub(crate) fn respell(s: impl Iterator<Item = char>, scheme: Scheme) -> String {
    let chars: Vec<char> = s.collect();
    let mut out = String::with_capacity(chars.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let lower = c.to_lowercase().next().unwrap_or(c);
        let next = chars.get(i + 1).and_then(|n| n.to_lowercase().next());
        let initial = i == 0 || !chars[i - 1].is_alphabetic();
        match scheme.spell(lower, next, initial) {
            Some((spelling, consumed)) => {
                out.push_str(spelling);
                i += if consumed { 2 } else { 1 };
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold;

    #[test]
    fn the_language_is_told_by_its_own_letters() {
        assert_eq!(
            Scheme::detect("Олександр Григорій"),
            Some(Scheme::Ukrainian)
        );
        assert_eq!(
            Scheme::detect("Аляксандр Лукашэнка Ўладзімір"),
            Some(Scheme::Belarusian)
        );
        assert_eq!(Scheme::detect("Новак Ђоковић"), Some(Scheme::Serbian));
        assert_eq!(
            Scheme::detect("Гоце Делчев Ќостадинов"),
            Some(Scheme::Macedonian)
        );
        assert_eq!(Scheme::detect("Атанас Дъбов"), Some(Scheme::Bulgarian));
        assert_eq!(Scheme::detect("Βασίλης"), Some(Scheme::Greek));
        assert_eq!(Scheme::detect("Сергей Иванов"), None);
        assert_eq!(Scheme::detect("John Smith"), None);
        let record = ["Олег", "Гнатюк", "Київ"];
        assert_eq!(
            Scheme::detect_all(record.into_iter()),
            Some(Scheme::Ukrainian)
        );
    }

    #[test]
    fn names_take_their_national_latin_spelling() {
        // Ukrainian passport table: г → h, и → y, initial є / ю / я / ї.
        assert_eq!(fold("Григорій Шевченко"), "hryhorii shevchenko");
        assert_eq!(fold("Євгенія Юрченко"), "yevheniia yurchenko");
        assert_eq!(fold("Олексій Їжакевич"), "oleksii yizhakevych");
        // Serbian Latin (Gaj), folded: ђ → đ → d, ћ → ć → c.
        assert_eq!(fold("Новак Ђоковић"), "novak dokovic");
        assert_eq!(fold("Новак Ђоковић"), fold("Novak Đoković"));
        assert_eq!(fold("Љубица Џајић"), "ljubica dzajic");
        // Macedonian, Bulgarian, Belarusian.
        assert_eq!(fold("Ѓорѓи Ќосевски"), "gjorgji kjosevski");
        assert_eq!(fold("Щерьо Дъбов"), "shteryo dabov");
        assert_eq!(fold("Ўладзімір Гурын"), "uladzimir huryn");
        // Greek: ELOT 743, as on Greek passports.
        assert_eq!(fold("Βασίλης Παπαδόπουλος"), "vasilis papadopoulos");
        assert_eq!(fold("Ευάγγελος"), "evangelos");
        // Russian keeps the general transliteration.
        assert_eq!(fold("Григорий"), "grigorii");
    }

    #[test]
    fn full_names_split_in_their_language_and_drop_patronymics() {
        use crate::{is_patronymic, split_full_name, split_full_name_as};
        let some = |g: &str, s: &str| (Some(g.to_string()), Some(s.to_string()));
        // Each word alone could be Russian; the whole name says Ukrainian (і).
        assert_eq!(
            split_full_name("Олег Гнатюк Григорій"),
            some("oleh", "hryhorii")
        );
        assert_eq!(
            split_full_name_as("Олег Гнатюк", Some(Scheme::Ukrainian)),
            some("oleh", "hnatiuk")
        );
        // Surname, given name, patronymic; and given name, patronymic, surname.
        assert_eq!(
            split_full_name("Иванов Иван Иванович"),
            some("ivan", "ivanov")
        );
        assert_eq!(
            split_full_name("Ivan Ivanovich Petrov"),
            some("ivan", "petrov")
        );
        assert_eq!(
            split_full_name("Шевченко Тарас Григорович"),
            some("taras", "shevchenko")
        );
        assert!(is_patronymic("petrivna") && is_patronymic("ilinichna"));
        // A Serbian surname is not a patronymic.
        assert!(!is_patronymic("petrovic") && !is_patronymic("ovich"));
        assert_eq!(
            split_full_name("Novak Petrovic Jovic"),
            some("novak", "jovic")
        );
    }
}
