//! Property tests: encodings are deterministic for a secret and a record, never panic on
//! any input, and Dice of real encodings is symmetric and in range.

use proptest::prelude::*;
use spirit_model::AttrKind;
use spirit_pprl::dice::dice;
use spirit_pprl::{Encoder, HardeningConfig, Layout, Schema, Secret};

fn schema(layout: Layout, hardened: bool) -> Schema {
    let mut s = Schema::for_kinds(&[
        AttrKind::GivenName,
        AttrKind::Surname,
        AttrKind::DateOfBirth,
        AttrKind::Postcode,
    ]);
    s.layout = layout;
    if !hardened {
        s.hardening = HardeningConfig::none();
    }
    s
}

fn record() -> impl Strategy<Value = Vec<(AttrKind, String)>> {
    (
        "\\PC{0,20}",
        "[a-zA-Z' -]{0,16}",
        "[0-9/ -]{0,12}",
        any::<Option<String>>(),
    )
        .prop_map(|(g, s, d, p)| {
            let mut r = vec![
                (AttrKind::GivenName, g),
                (AttrKind::Surname, s),
                (AttrKind::DateOfBirth, d),
            ];
            if let Some(p) = p {
                r.push((AttrKind::Postcode, p));
            }
            r
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn encoding_is_deterministic(rec in record(), id in "\\PC{0,8}", field in any::<bool>(), hardened in any::<bool>()) {
        let layout = if field { Layout::Field } else { Layout::Record };
        let s = schema(layout, hardened);
        let secret = Secret::from_bytes([7; 32]);
        let a = Encoder::new(&s, &secret).unwrap();
        let b = Encoder::new(&s, &secret).unwrap();
        let x = a.encode(&id, &rec);
        prop_assert_eq!(x.len(), a.words());
        prop_assert_eq!(&x, &b.encode(&id, &rec));
        let table = a.encode_table(&[id.as_str()], std::slice::from_ref(&rec)).unwrap();
        prop_assert_eq!(table.filters.get(0), &x[..]);
    }

    #[test]
    fn dice_of_encodings_is_symmetric_and_in_range(r1 in record(), r2 in record()) {
        let s = schema(Layout::Record, true);
        let e = Encoder::new(&s, &Secret::from_bytes([8; 32])).unwrap();
        let (x, y) = (e.encode("1", &r1), e.encode("2", &r2));
        let d = dice(&x, &y);
        prop_assert!((0.0..=1.0).contains(&d));
        prop_assert_eq!(d, dice(&y, &x));
        if x.iter().any(|w| *w != 0) {
            prop_assert_eq!(dice(&x, &x), 1.0);
        }
    }
}
