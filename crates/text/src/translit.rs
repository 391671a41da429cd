//! Transliteration by language: the national romanisation of a Cyrillic, Greek, Georgian
//! or Armenian value, chosen from the letters the value uses.
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
//!
//! Georgian and Armenian are each written in a script of their own, so their letters
//! always take their country's passport romanisation, whatever else the value holds:
//! Georgia's national system of 2002 without its ejective apostrophes (`ხ` kh, `ც` ts,
//! `ძ` dz, `ყ` q: `ჭავჭავაძე` is `chavchavadze`), Armenia's (`ու` u, `և` ev, `ե` ye and
//! `ո` vo at the start of a word, no aspiration marks: `Ոսկանյան` is `voskanyan`). The
//! general transliteration spells them in a scholarly form (`ceret`eli`, `tsatowryan`)
//! that no passport or register uses.
//!
//! Arabic script (Arabic, Persian, Urdu names) and Hebrew write most vowels not at all,
//! so they are spelled as their consonants (`משה` `msh`) (`محمد` `mhmd`, `عبد الرحمن` `abd alrhmn`): a long vowel's
//! letter (`ا و ي`), `ع`, `ة` and the hamza give a letter only at the start of a word,
//! short-vowel marks give none. Comparisons meet such a value with any Latin spelling of
//! the same consonants ([`crate::skeleton`]).

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
    /// Georgia's national romanisation of 2002 (passports), without the ejectives'
    /// apostrophes: `ხ` kh, `ღ` gh, `ყ` q, `ძ` dz, `წ` and `ც` ts, `ჭ` and `ჩ` ch.
    Georgian,
    /// Armenia's passport romanisation: `ու` u, `և` ev, `ե` ye and `ո` vo at the start of
    /// a word, `ղ` gh, `ց` and `ծ` ts, `ջ` j, `ժ` zh.
    Armenian,
    /// Arabic script as its consonants (`خ` kh, `ش` sh, `ث` th, `ق` q), a vowel letter
    /// only at the start of a word: `محمد` mhmd, `أحمد` ahmd.
    Arabic,
    /// Hebrew as its consonants (`ש` sh, `צ` ts, `ח` and a final or inner `כ` h), `א`,
    /// `ע`, `ו` and `י` only at the start of a word (a doubled `וו` or `יי` is a
    /// consonant): `משה` msh, `יצחק` ytshk.
    Hebrew,
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
        let (mut georgian, mut armenian, mut arabic, mut hebrew) = (false, false, false, false);
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
                c if is_georgian(c) => georgian = true,
                c if is_armenian(c) => armenian = true,
                c if is_arabic(c) => arabic = true,
                c if is_hebrew(c) => hebrew = true,
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
        } else if georgian {
            Scheme::Georgian
        } else if armenian {
            Scheme::Armenian
        } else if arabic {
            Scheme::Arabic
        } else if hebrew {
            Scheme::Hebrew
        } else {
            return None;
        })
    }

    /// The spelling of lowercase letter `c` (with `next`, the letter after it) under this
    /// scheme; `initial` is true at the start of a word. `None` leaves the letter to the
    /// general transliteration. Returns the spelling and whether `next` was consumed.
    pub fn spell(self, c: char, next: Option<char>, initial: bool) -> Option<(&'static str, bool)> {
        let one = |s: &'static str| Some((s, false));
        // One script, one language: under any scheme.
        if is_georgian(c) {
            return georgian(c).map(|s| (s, false));
        }
        if is_armenian(c) {
            return armenian(c, next, initial);
        }
        if is_arabic(c) {
            return arabic(c, initial).map(|s| (s, false));
        }
        if is_hebrew(c) {
            return hebrew(c, next, initial);
        }
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
            Scheme::Georgian | Scheme::Armenian | Scheme::Arabic | Scheme::Hebrew => None,
        }
    }
}

pub(crate) fn is_cyrillic_letter(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}') && c.is_alphabetic()
}

/// Georgian letters: Mkhedruli, its capitals (Mtavruli) and the older Asomtavruli.
fn is_georgian(c: char) -> bool {
    matches!(c, '\u{10A0}'..='\u{10FF}' | '\u{1C90}'..='\u{1CBF}' | '\u{2D00}'..='\u{2D2F}')
}

/// Armenian letters and the `և` ligature.
fn is_armenian(c: char) -> bool {
    matches!(c, '\u{0531}'..='\u{0587}' | '\u{FB13}'..='\u{FB17}')
}

/// Arabic-script letters and marks, presentation forms included.
fn is_arabic(c: char) -> bool {
    matches!(
        c,
        '\u{0600}'..='\u{06FF}'
            | '\u{0750}'..='\u{077F}'
            | '\u{08A0}'..='\u{08FF}'
            | '\u{FB50}'..='\u{FDFF}'
            | '\u{FE70}'..='\u{FEFF}'
    )
}

/// The consonants of an Arabic-script letter (Arabic, with the Persian and Urdu
/// letters); the letters of long vowels, `ع` and the hamza's seats give `a`, `w` or `y`
/// at the start of a word and nothing inside it; `ة`, `ى`, short-vowel marks and the
/// tatweel give nothing. Digits and punctuation are left to the general
/// transliteration.
fn arabic(c: char, initial: bool) -> Option<&'static str> {
    let at_start = |s: &'static str| if initial { s } else { "" };
    Some(match c {
        'ا' | 'أ' | 'إ' | 'آ' | 'ٱ' | 'ع' => at_start("a"),
        'و' | 'ؤ' => at_start("w"),
        'ي' | 'ی' | 'ئ' => at_start("y"),
        'ى' | 'ة' | 'ۃ' | 'ء' | 'ـ' => "",
        'ب' => "b",
        'ت' | 'ط' => "t",
        'ث' => "th",
        'ج' => "j",
        'ح' | 'ه' | 'ہ' | 'ھ' => "h",
        'خ' => "kh",
        'د' | 'ض' => "d",
        'ذ' => "dh",
        'ر' => "r",
        'ز' | 'ظ' => "z",
        'س' | 'ص' => "s",
        'ش' => "sh",
        'غ' => "gh",
        'ف' => "f",
        'ق' => "q",
        'ك' | 'ک' => "k",
        'ل' => "l",
        'م' => "m",
        'ن' => "n",
        'پ' => "p",
        'چ' => "ch",
        'ژ' => "zh",
        'گ' => "g",
        // Short vowels, tanwin, shadda, sukun, superscript alef: unwritten in most names.
        '\u{064B}'..='\u{065F}' | '\u{0670}' => "",
        _ => return None,
    })
}

/// Hebrew letters, points and presentation forms.
fn is_hebrew(c: char) -> bool {
    matches!(c, '\u{0591}'..='\u{05FF}' | '\u{FB1D}'..='\u{FB4F}')
}

/// The consonants of a Hebrew letter: `א`, `ע`, `ו` and `י` give `a`, `a`, `v` and `y` at
/// the start of a word, a doubled `וו` or `יי` gives `v` or `y`, and inside a word they
/// give nothing (they write vowels there, or nothing a Latin spelling shows). `כ` is `k`
/// at the start of a word and `h` after a vowel (`Mordechai`, `Baruch`), `פ` always `p`
/// (a skeleton counts `f` as `p`). Points, accents and the geresh give nothing.
fn hebrew(c: char, next: Option<char>, initial: bool) -> Option<(&'static str, bool)> {
    let one = |s: &'static str| Some((s, false));
    match (c, next) {
        ('ו', Some('ו')) => return Some(("v", true)),
        ('י', Some('י')) => return Some(("y", true)),
        _ => {}
    }
    let at_start = |s: &'static str| if initial { s } else { "" };
    match c {
        'א' | 'ע' => one(at_start("a")),
        'ו' => one(at_start("v")),
        'י' => one(at_start("y")),
        'ב' => one("b"),
        'ג' => one("g"),
        'ד' => one("d"),
        'ה' | 'ח' => one("h"),
        'ז' => one("z"),
        'ט' | 'ת' => one("t"),
        'כ' | 'ך' => one(if initial { "k" } else { "h" }),
        'ל' => one("l"),
        'מ' | 'ם' => one("m"),
        'נ' | 'ן' => one("n"),
        'ס' => one("s"),
        'פ' | 'ף' => one("p"),
        'צ' | 'ץ' => one("ts"),
        'ק' => one("k"),
        'ר' => one("r"),
        'ש' => one("sh"),
        'װ' => one("v"),
        'ײ' => one("y"),
        'ױ' => one(""),
        // Points, cantillation, maqaf-less marks, geresh and gershayim.
        '\u{0591}'..='\u{05C7}' | '\u{05F3}' | '\u{05F4}' => one(""),
        _ => None,
    }
}

/// Georgia's national romanisation (2002) of a lowercase Mkhedruli letter, the
/// ejectives (`კ პ ტ ყ წ ჭ`) without their apostrophe as on passports. Archaic letters
/// are left to the general transliteration.
fn georgian(c: char) -> Option<&'static str> {
    Some(match c {
        'ა' => "a",
        'ბ' => "b",
        'გ' => "g",
        'დ' => "d",
        'ე' => "e",
        'ვ' => "v",
        'ზ' => "z",
        'თ' | 'ტ' => "t",
        'ი' => "i",
        'კ' | 'ქ' => "k",
        'ლ' => "l",
        'მ' => "m",
        'ნ' => "n",
        'ო' => "o",
        'პ' | 'ფ' => "p",
        'ჟ' => "zh",
        'რ' => "r",
        'ს' => "s",
        'უ' => "u",
        'ღ' => "gh",
        'ყ' => "q",
        'შ' => "sh",
        'ჩ' | 'ჭ' => "ch",
        'ც' | 'წ' => "ts",
        'ძ' => "dz",
        'ხ' => "kh",
        'ჯ' => "j",
        'ჰ' => "h",
        _ => return None,
    })
}

/// Armenia's passport romanisation of a lowercase Armenian letter: `ու` is `u`, `ե` and
/// `ո` take a `y` and a `v` at the start of a word (`Երևան` Yerevan, `Ոսկան` Voskan),
/// the aspirated `թ փ ք չ ց` lose their mark.
fn armenian(c: char, next: Option<char>, initial: bool) -> Option<(&'static str, bool)> {
    if c == 'ո' && next == Some('ւ') {
        return Some(("u", true));
    }
    let s = match c {
        'ա' => "a",
        'բ' => "b",
        'գ' => "g",
        'դ' => "d",
        'ե' => {
            if initial {
                "ye"
            } else {
                "e"
            }
        }
        'զ' => "z",
        'է' => "e",
        'ը' => "y",
        'թ' | 'տ' => "t",
        'ժ' => "zh",
        'ի' => "i",
        'լ' => "l",
        'խ' => "kh",
        'ծ' | 'ց' => "ts",
        'կ' | 'ք' => "k",
        'հ' => "h",
        'ձ' => "dz",
        'ղ' => "gh",
        'ճ' | 'չ' => "ch",
        'մ' => "m",
        'յ' => "y",
        'ն' => "n",
        'շ' => "sh",
        'ո' => {
            if initial {
                "vo"
            } else {
                "o"
            }
        }
        'պ' | 'փ' => "p",
        'ջ' => "j",
        'ռ' | 'ր' => "r",
        'ս' => "s",
        'վ' | 'ւ' => "v",
        'օ' => "o",
        'ֆ' => "f",
        'և' => {
            if initial {
                "yev"
            } else {
                "ev"
            }
        }
        _ => return None,
    };
    Some((s, false))
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
        // The start of a word, looking back past combining marks (Arabic short vowels).
        let initial = !chars[..i]
            .iter()
            .rev()
            .find(|c| !unicode_normalization::char::is_combining_mark(**c))
            .is_some_and(|c| c.is_alphabetic());
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
    fn georgian_takes_the_passport_spelling() {
        assert_eq!(Scheme::detect("გიორგი"), Some(Scheme::Georgian));
        assert_eq!(fold("გიორგი ხარაიშვილი"), "giorgi kharaishvili");
        assert_eq!(fold("ილია ჭავჭავაძე"), "ilia chavchavadze");
        assert_eq!(fold("აკაკი წერეთელი"), "akaki tsereteli");
        assert_eq!(fold("თამარ ცქიტიშვილი"), "tamar tskitishvili");
        assert_eq!(fold("ღვინიაშვილი ყიფიანი"), "ghviniashvili qipiani");
        assert_eq!(fold("ჟორჟოლიანი ჯაყელი"), "zhorzholiani jaqeli");
        // Mtavruli capitals are the same letters.
        assert_eq!(fold("ᲒᲘᲝᲠᲒᲘ"), "giorgi");
    }

    #[test]
    fn armenian_takes_the_passport_spelling() {
        assert_eq!(Scheme::detect("Հովհաննես"), Some(Scheme::Armenian));
        assert_eq!(fold("Հովհաննես Գրիգորյան"), "hovhannes grigoryan");
        assert_eq!(fold("Խաչատրյան Ծատուրյան"), "khachatryan tsaturyan");
        // Initial ե and ո; ու; և.
        assert_eq!(fold("Եղիազարյան Ոսկանյան"), "yeghiazaryan voskanyan");
        assert_eq!(fold("Ուռուտյան"), "urutyan");
        assert_eq!(fold("Երևան Թադևոսյան"), "yerevan tadevosyan");
        assert_eq!(fold("Էդուարդ Արթուր"), "eduard artur");
        assert_eq!(
            fold("Փաշինյան Քոչարյան Ջանյան"),
            "pashinyan kocharyan janyan"
        );
        // Beside a Cyrillic value whose letters say Ukrainian, both keep their own.
        assert_eq!(fold("Григорій Գրիգորյան"), "hryhorii grigoryan");
    }

    #[test]
    fn hebrew_is_spelled_as_its_consonants() {
        use crate::skeleton::{is_skeletal, name_skeleton};
        assert_eq!(Scheme::detect("משה"), Some(Scheme::Hebrew));
        assert_eq!(fold("משה כהן"), "mshh khn");
        assert_eq!(fold("יצחק אברהם"), "ytshk abrhm");
        // Points make no difference.
        assert_eq!(fold("מֹשֶׁה"), "mshh");
        for (hebrew, latin) in [
            ("משה", "Moshe"),
            ("אברהם", "Avraham"),
            ("יצחק", "Yitzhak"),
            ("יעקב", "Yaakov"),
            ("רחל", "Rachel"),
            ("יוסף", "Yosef"),
            ("כהן", "Cohen"),
            ("מרדכי", "Mordechai"),
            ("פרידמן", "Friedman"),
        ] {
            let h = fold(hebrew);
            assert!(is_skeletal(&h), "{h}");
            assert_eq!(name_skeleton(&h), name_skeleton(&fold(latin)), "{hebrew}");
        }
    }

    #[test]
    fn arabic_script_is_spelled_as_its_consonants() {
        use crate::skeleton::{is_skeletal, name_skeleton};
        assert_eq!(Scheme::detect("محمد"), Some(Scheme::Arabic));
        assert_eq!(fold("محمد"), "mhmd");
        // With its short vowels and shadda written, the same.
        assert_eq!(fold("مُحَمَّد"), "mhmd");
        assert_eq!(fold("أحمد يوسف"), "ahmd ysf");
        assert_eq!(fold("عبد الرحمن"), "abd alrhmn");
        assert_eq!(fold("فاطمة الزهراء"), "ftm alzhr");
        assert_eq!(fold("خالد إبراهيم"), "khld abrhm");
        // Persian letters.
        assert_eq!(fold("پرویز چگینی"), "prz chgn");
        for (arabic, latin) in [
            ("محمد", "Mohammed"),
            ("يوسف", "Yousef"),
            ("حسين", "Hussein"),
            ("عمر", "Omar"),
            ("مصطفى", "Mustafa"),
            ("إبراهيم", "Ibrahim"),
            ("عبد الله", "Abdullah"),
            ("منصور", "Mansour"),
        ] {
            let a = fold(arabic);
            assert!(is_skeletal(&a), "{a}");
            assert_eq!(name_skeleton(&a), name_skeleton(&fold(latin)), "{arabic}");
        }
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
