//! The top-level domains a bare domain must end in: every delegated two-letter country code
//! and the generic TLDs seen in practice. Words that are TLDs but mostly appear as file
//! extensions ("report.zip", "setup.py", "main.rs") are listed in [`FILE_LIKE`] and accepted
//! only with a scheme, a "www." prefix or in an e-mail address.

use std::sync::LazyLock;

use rustc_hash::FxHashSet;

const COUNTRY: &str = "ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi \
bj bm bn bo br bs bt bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm \
do dz ec ee eg er es et eu fi fj fk fm fo fr ga gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy \
hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb \
lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc \
ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb \
sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt \
tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw";

const GENERIC: &str = "com net org info biz edu gov mil int name pro aero coop museum mobi asia \
tel travel jobs cat post xxx arpa app dev xyz online site top club shop store tech live life world \
today space website fun icu vip blog cloud email link click news media network digital agency \
solutions services company group center global studio design art page win bid loan men work date \
download stream racing review party science trade webcam cam chat social games casino bet poker \
money finance capital fund bank insure law legal health care clinic doctor academy school \
university college education guru ninja rocks pub bar cafe restaurant pizza lol wiki zone city \
london berlin paris nyc tokyo moscow amsterdam wtf sexy porn adult sex love dating fit bio eco \
energy fyi ltd llc inc gmbh limited support help host hosting server systems software tools works \
zip mov one biz market marketing finance crypto exchange wallet red blue pink black gold plus \
email events family farm fashion fitness football foundation gallery gift gifts golf graphics \
house immo land lease loans luxe mba moe monster mortgage photo photos pics press properties \
rentals rest rip run sale salon shoes show ski soccer software solar style tax taxi team tips \
tours town toys training tube vegas ventures vision vodka vote voyage watch wedding wine yoga";

/// TLDs that are also common file extensions.
pub const FILE_LIKE: &[&str] = &[
    "zip", "mov", "sh", "py", "rs", "pl", "md", "cc", "so", "ps", "ai", "am", "mo", "st", "tk",
    "pm", "nc", "app", "cl", "sc", "ms", "run", "ml",
];

static TLDS: LazyLock<FxHashSet<&'static str>> = LazyLock::new(|| {
    COUNTRY
        .split_ascii_whitespace()
        .chain(GENERIC.split_ascii_whitespace())
        .collect()
});

/// True when `tld` (lowercase ASCII) is a known top-level domain.
pub fn is_tld(tld: &str) -> bool {
    TLDS.contains(tld) || (tld.starts_with("xn--") && tld.len() > 5)
}

/// True when `tld` (lowercase) is mostly seen as a file extension.
pub fn is_file_like(tld: &str) -> bool {
    FILE_LIKE.contains(&tld)
}
