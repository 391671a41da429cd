//! SPIRIT's vocabulary as types: attribute kinds, records, pairs, edges and entities.
//!
//! This crate does no I/O and has no behaviour beyond naming things; every other crate
//! speaks in these types. See `DESIGN.md`'s vocabulary table for the words used here.

use serde::{Deserialize, Serialize};
use std::fmt;

mod field;
pub use field::{FIELD_PREFIX, FieldId, MAX_FIELD_NAME, MAX_FIELDS, field_name};

/// The kind of a typed attribute. The kind decides how a value is normalised, which
/// comparison applies to it, and which blocking keys it feeds. A column with no
/// built-in kind is a [`AttrKind::Field`] under its own name. Serialised as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttrKind {
    GivenName,
    MiddleName,
    Surname,
    FullName,
    DateOfBirth,
    Gender,
    Email,
    Phone,
    Address,
    Postcode,
    City,
    Region,
    Country,
    NationalId,
    Username,
    /// A Bitcoin, Ethereum or Monero address (checksum-valid; canonical form).
    CryptoAddress,
    /// An IBAN (mod-97 valid), uppercase without spaces.
    Iban,
    /// A payment card, never kept in clear: a keyed hash with the last four digits.
    PaymentCard,
    /// An IPv4 or IPv6 address in canonical text form.
    IpAddress,
    /// A Tor v3 onion service (`<56 base32>.onion`).
    OnionAddress,
    /// An OpenPGP key fingerprint, uppercase hex.
    PgpFingerprint,
    /// A Jabber/XMPP id (`user@server`, lowercase).
    JabberId,
    /// A 64-bit perceptual image hash (pHash), 16 hex digits, with its mirror's.
    ImageHash,
    /// A camera's make and body serial number.
    CameraSerial,
    /// Where a photo was taken: latitude and longitude, rounded. Not an identifier.
    GeoPosition,
    /// A Chromaprint acoustic fingerprint of a recording (or of a video's sound track),
    /// compared by its common segments; not an identifier (the same song is posted by many).
    AudioFingerprint,
    /// An account's writing-style profile (`spirit-style/<version>:…`, built from all its
    /// posts by `spirit_text::style`). Advisory evidence, never an identifier.
    StyleProfile,
    /// A column with no built-in kind, kept as evidence under its own name; how it is
    /// compared is decided from its values (the batch engine's column profile).
    Field(FieldId),
}

impl AttrKind {
    /// Every built-in kind, in canonical order (fields come after them).
    pub const ALL: [AttrKind; 27] = [
        AttrKind::GivenName,
        AttrKind::MiddleName,
        AttrKind::Surname,
        AttrKind::FullName,
        AttrKind::DateOfBirth,
        AttrKind::Gender,
        AttrKind::Email,
        AttrKind::Phone,
        AttrKind::Address,
        AttrKind::Postcode,
        AttrKind::City,
        AttrKind::Region,
        AttrKind::Country,
        AttrKind::NationalId,
        AttrKind::Username,
        AttrKind::CryptoAddress,
        AttrKind::Iban,
        AttrKind::PaymentCard,
        AttrKind::IpAddress,
        AttrKind::OnionAddress,
        AttrKind::PgpFingerprint,
        AttrKind::JabberId,
        AttrKind::ImageHash,
        AttrKind::CameraSerial,
        AttrKind::GeoPosition,
        AttrKind::AudioFingerprint,
        AttrKind::StyleProfile,
    ];

    /// The snake_case name used in settings files, `model.json` and output headers.
    pub fn name(self) -> &'static str {
        match self {
            AttrKind::GivenName => "given_name",
            AttrKind::MiddleName => "middle_name",
            AttrKind::Surname => "surname",
            AttrKind::FullName => "full_name",
            AttrKind::DateOfBirth => "date_of_birth",
            AttrKind::Gender => "gender",
            AttrKind::Email => "email",
            AttrKind::Phone => "phone",
            AttrKind::Address => "address",
            AttrKind::Postcode => "postcode",
            AttrKind::City => "city",
            AttrKind::Region => "region",
            AttrKind::Country => "country",
            AttrKind::NationalId => "national_id",
            AttrKind::Username => "username",
            AttrKind::CryptoAddress => "crypto_address",
            AttrKind::Iban => "iban",
            AttrKind::PaymentCard => "payment_card",
            AttrKind::IpAddress => "ip_address",
            AttrKind::OnionAddress => "onion_address",
            AttrKind::PgpFingerprint => "pgp_fingerprint",
            AttrKind::JabberId => "jabber_id",
            AttrKind::ImageHash => "image_hash",
            AttrKind::CameraSerial => "camera_serial",
            AttrKind::GeoPosition => "geo_position",
            AttrKind::AudioFingerprint => "audio_fingerprint",
            AttrKind::StyleProfile => "style_profile",
            AttrKind::Field(f) => f.kind_name(),
        }
    }

    /// Parses a kind from its snake_case name, or a field from `field:<name>`.
    pub fn from_name(name: &str) -> Option<AttrKind> {
        if let Some(field) = name.strip_prefix(FIELD_PREFIX) {
            return FieldId::from_name(field).map(AttrKind::Field);
        }
        AttrKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The position of a built-in kind in [`AttrKind::ALL`]; `None` for a field.
    pub fn index(self) -> Option<usize> {
        Some(match self {
            AttrKind::GivenName => 0,
            AttrKind::MiddleName => 1,
            AttrKind::Surname => 2,
            AttrKind::FullName => 3,
            AttrKind::DateOfBirth => 4,
            AttrKind::Gender => 5,
            AttrKind::Email => 6,
            AttrKind::Phone => 7,
            AttrKind::Address => 8,
            AttrKind::Postcode => 9,
            AttrKind::City => 10,
            AttrKind::Region => 11,
            AttrKind::Country => 12,
            AttrKind::NationalId => 13,
            AttrKind::Username => 14,
            AttrKind::CryptoAddress => 15,
            AttrKind::Iban => 16,
            AttrKind::PaymentCard => 17,
            AttrKind::IpAddress => 18,
            AttrKind::OnionAddress => 19,
            AttrKind::PgpFingerprint => 20,
            AttrKind::JabberId => 21,
            AttrKind::ImageHash => 22,
            AttrKind::CameraSerial => 23,
            AttrKind::GeoPosition => 24,
            AttrKind::AudioFingerprint => 25,
            AttrKind::StyleProfile => 26,
            AttrKind::Field(_) => return None,
        })
    }

    /// The field of a column with no built-in kind; `None` for a built-in kind.
    pub fn field(self) -> Option<FieldId> {
        match self {
            AttrKind::Field(f) => Some(f),
            _ => None,
        }
    }

    /// True for identifiers: attributes strong enough to link on their own when equal.
    /// An image hash is evidence of the same picture (compared by distance, and the
    /// same stock photo is posted by many), and a place is not a person: neither is one.
    pub fn is_identifier(self) -> bool {
        matches!(
            self,
            AttrKind::Email
                | AttrKind::Phone
                | AttrKind::NationalId
                | AttrKind::Username
                | AttrKind::CryptoAddress
                | AttrKind::Iban
                | AttrKind::PaymentCard
                | AttrKind::IpAddress
                | AttrKind::OnionAddress
                | AttrKind::PgpFingerprint
                | AttrKind::JabberId
                | AttrKind::CameraSerial
        )
    }

    /// True for the kinds a record may hold several values of (a person has several
    /// e-mail addresses, phones, handles and wallets): the identifiers. A record keeps
    /// every value of such a kind; comparisons take the best-matching pair of values and
    /// blocking proposes the records that share any of them. Other kinds keep one value.
    pub fn is_multi_valued(self) -> bool {
        self.is_identifier()
    }

    /// True for the names, which a prepared record keeps in each of their plausible
    /// Latin spellings when written in another script (`spirit_text::names::name_spellings`):
    /// the record's own spelling first, then the others.
    pub fn has_spellings(self) -> bool {
        matches!(
            self,
            AttrKind::GivenName | AttrKind::MiddleName | AttrKind::Surname
        )
    }

    /// True when a prepared record may hold several values of the kind: its values
    /// ([`AttrKind::is_multi_valued`]) or its spellings ([`AttrKind::has_spellings`]).
    pub fn holds_several(self) -> bool {
        self.is_multi_valued() || self.has_spellings()
    }

    /// True for the kinds that texts and media carry (mentions and fingerprints) rather
    /// than person registers: crypto addresses, IBANs, cards, IPs, onions, PGP
    /// fingerprints, Jabber ids, image hashes, camera serials, positions and audio
    /// fingerprints.
    pub fn is_evidence(self) -> bool {
        let first = AttrKind::CryptoAddress.index();
        self.index() >= first && self != AttrKind::StyleProfile
    }

    /// Recognises a column header as an attribute kind by common spellings
    /// ("first_name", "given name", "DOB", "e-mail", "zip", …). Case, spaces, dashes and
    /// underscores are ignored. Returns `None` for columns SPIRIT does not recognise.
    pub fn recognise_column(header: &str) -> Option<AttrKind> {
        let key = header_key(header);
        let kind = match key.as_str() {
            "givenname" | "firstname" | "forename" | "fname" | "first" | "given" | "vorname"
            | "prenom" | "nombre" => AttrKind::GivenName,
            "middlename" | "middle" | "middlenames" | "secondname" => AttrKind::MiddleName,
            "surname" | "lastname" | "familyname" | "lname" | "last" | "nachname" | "apellido" => {
                AttrKind::Surname
            }
            "name" | "fullname" | "personname" | "completename" => AttrKind::FullName,
            "dob" | "dateofbirth" | "birthdate" | "birthday" | "born" | "dateborn"
            | "geburtsdatum" => AttrKind::DateOfBirth,
            "gender" | "sex" => AttrKind::Gender,
            "email" | "emailaddress" | "mail" | "emailaddr" => AttrKind::Email,
            "phone" | "phonenumber" | "telephone" | "tel" | "mobile" | "cell" | "mobilephone"
            | "phoneno" | "telephonenumber" | "msisdn" => AttrKind::Phone,
            "address" | "streetaddress" | "street" | "addressline" | "addressline1"
            | "address1" | "address2" | "addressline2" | "addr" | "streetnumber"
            | "housenumber" | "houseno" | "streetno" => AttrKind::Address,
            "postcode" | "postalcode" | "zip" | "zipcode" | "plz" => AttrKind::Postcode,
            "city" | "town" | "suburb" | "locality" | "municipality" => AttrKind::City,
            "state" | "region" | "province" | "county" | "bundesland" => AttrKind::Region,
            "country" | "countrycode" | "nationality" => AttrKind::Country,
            "nationalid"
            | "ssn"
            | "socsecid"
            | "socialsecuritynumber"
            | "nino"
            | "passport"
            | "passportnumber"
            | "idnumber"
            | "nationalidnumber" => AttrKind::NationalId,
            "username" | "user" | "handle" | "login" | "screenname" | "nickname" | "alias" => {
                AttrKind::Username
            }
            "cryptoaddress" | "wallet" | "walletaddress" | "cryptowallet" | "btc" | "bitcoin"
            | "bitcoinaddress" | "btcaddress" | "eth" | "ethereum" | "ethaddress"
            | "ethereumaddress" | "xmr" | "monero" | "moneroaddress" => AttrKind::CryptoAddress,
            "iban" | "ibannumber" | "bankaccountiban" | "accountiban" => AttrKind::Iban,
            "paymentcard" | "cardnumber" | "creditcard" | "creditcardnumber" | "ccnumber"
            | "debitcard" | "pan" => AttrKind::PaymentCard,
            "ip" | "ipaddress" | "ipaddr" | "ipv4" | "ipv6" | "clientip" | "remoteip"
            | "sourceip" => AttrKind::IpAddress,
            "onion" | "onionaddress" | "onionurl" | "hiddenservice" => AttrKind::OnionAddress,
            "pgpfingerprint" | "pgp" | "gpgfingerprint" | "keyfingerprint" | "pgpkey"
            | "fingerprint" => AttrKind::PgpFingerprint,
            "jabber" | "jabberid" | "xmpp" | "xmppid" | "jid" => AttrKind::JabberId,
            "imagehash" | "phash" | "perceptualhash" => AttrKind::ImageHash,
            "cameraserial" | "cameraserialnumber" | "bodyserial" | "bodyserialnumber"
            | "serialnumber" => AttrKind::CameraSerial,
            "geoposition" | "gps" | "latlon" | "latlong" | "coordinates" | "geo" => {
                AttrKind::GeoPosition
            }
            "audiofingerprint" | "chromaprint" | "acoustid" => AttrKind::AudioFingerprint,
            "styleprofile" | "writingstyle" | "stylometry" => AttrKind::StyleProfile,
            _ => return None,
        };
        Some(kind)
    }
}

impl Serialize for AttrKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for AttrKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AttrKind, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        AttrKind::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown attribute kind \"{name}\" (a built-in kind such as given_name, or \
                 field:<name>)"
            ))
        })
    }
}

impl fmt::Display for AttrKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Recognises a column header as a record-id column (`rec_id`, `id`, `record_id`, …).
pub fn is_id_column(header: &str) -> bool {
    matches!(
        header_key(header).as_str(),
        "recid" | "id" | "recordid" | "uid" | "rowid" | "personid" | "key" | "pk"
    )
}

/// Names of ground-truth cluster columns (compared without case or punctuation), most
/// specific first: `spirit evaluate` reads a truth file's clusters from them, and an input
/// column so named is never evidence unless the settings name it.
pub const TRUTH_COLUMNS: [&str; 6] = [
    "clusterid",
    "cluster",
    "entityid",
    "trueid",
    "matchid",
    "personid",
];

/// True for a header named like a ground-truth cluster column ([`TRUTH_COLUMNS`]).
pub fn is_truth_column(header: &str) -> bool {
    TRUTH_COLUMNS.contains(&header_key(header).as_str())
}

/// A header compared without case or punctuation, as recognition compares it:
/// `Rec-ID` → `recid`.
pub fn header_key(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The stable key of a record: the source it came from and its id within that source.
/// Displayed as `source:record_id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordKey {
    pub source: String,
    pub record_id: String,
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.record_id)
    }
}

/// Dense index of a record inside one run (position in the run's record table).
pub type RecordIdx = u32;

/// A scored pair above the edge floor, with the partial match weight of every comparison.
/// The match weight *is* the sum of the prior weight and the partials: that sum is the
/// explanation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub left: RecordIdx,
    pub right: RecordIdx,
    /// log2 Bayes factor of the pair, prior included.
    pub weight: f64,
    /// Match probability, `2^w / (1 + 2^w)`.
    pub probability: f64,
    /// Partial weight per comparison, in the model's comparison order.
    pub partials: Vec<f32>,
}

/// Converts a match weight (log2 odds) into a probability without overflow.
pub fn weight_to_probability(weight: f64) -> f64 {
    if weight >= 0.0 {
        1.0 / (1.0 + (-weight).exp2())
    } else {
        let odds = weight.exp2();
        odds / (1.0 + odds)
    }
}

/// Converts a probability into a match weight (log2 odds); clamps at the ends.
pub fn probability_to_weight(probability: f64) -> f64 {
    let p = probability.clamp(1e-300, 1.0 - 1e-16);
    (p / (1.0 - p)).log2()
}

/// One attribute of a record as read: its kind and its raw text (normalised later).
pub type Attribute = (AttrKind, String);

/// Receives progress of long phases (reading, scoring, storing). The CLI draws bars;
/// tests and servers pass [`NoProgress`].
pub trait Progress: Sync + Send {
    /// A new phase starts; `total` is known for some phases.
    fn phase(&self, name: &str, total: Option<u64>);
    /// Sets the position within the current phase.
    fn set(&self, position: u64);
    /// The current phase is done.
    fn done(&self);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _: &str, _: Option<u64>) {}
    fn set(&self, _: u64) {}
    fn done(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_by_name() {
        for kind in AttrKind::ALL {
            assert_eq!(AttrKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(AttrKind::from_name("shoe_size"), None);
        let field = AttrKind::from_name("field:shoe_size").unwrap();
        assert_eq!(field.name(), "field:shoe_size");
        assert_eq!(field.index(), None);
        assert!(!field.is_identifier() && !field.is_evidence());
        assert_eq!(AttrKind::GivenName.index(), Some(0));
    }

    #[test]
    fn kinds_serialise_as_names() {
        let kinds = vec![
            AttrKind::Surname,
            AttrKind::from_name("field:year").unwrap(),
        ];
        let json = serde_json::to_string(&kinds).unwrap();
        assert_eq!(json, r#"["surname","field:year"]"#);
        assert_eq!(serde_json::from_str::<Vec<AttrKind>>(&json).unwrap(), kinds);
        let err = serde_json::from_str::<AttrKind>(r#""shoe""#).unwrap_err();
        assert!(
            err.to_string().contains("unknown attribute kind \"shoe\""),
            "{err}"
        );
    }

    #[test]
    fn recognises_common_headers() {
        assert_eq!(
            AttrKind::recognise_column("First Name"),
            Some(AttrKind::GivenName)
        );
        assert_eq!(
            AttrKind::recognise_column("given_name"),
            Some(AttrKind::GivenName)
        );
        assert_eq!(
            AttrKind::recognise_column("DOB"),
            Some(AttrKind::DateOfBirth)
        );
        assert_eq!(
            AttrKind::recognise_column("date_of_birth"),
            Some(AttrKind::DateOfBirth)
        );
        assert_eq!(AttrKind::recognise_column("e-mail"), Some(AttrKind::Email));
        assert_eq!(
            AttrKind::recognise_column("soc_sec_id"),
            Some(AttrKind::NationalId)
        );
        assert_eq!(AttrKind::recognise_column("cluster_id"), None);
        assert_eq!(
            AttrKind::recognise_column("BTC Address"),
            Some(AttrKind::CryptoAddress)
        );
        assert_eq!(AttrKind::recognise_column("IBAN"), Some(AttrKind::Iban));
        assert_eq!(
            AttrKind::recognise_column("card_number"),
            Some(AttrKind::PaymentCard)
        );
        assert_eq!(AttrKind::recognise_column("IP"), Some(AttrKind::IpAddress));
        assert_eq!(AttrKind::recognise_column("jid"), Some(AttrKind::JabberId));
        assert_eq!(
            AttrKind::recognise_column("pHash"),
            Some(AttrKind::ImageHash)
        );
        assert_eq!(
            AttrKind::recognise_column("GPS"),
            Some(AttrKind::GeoPosition)
        );
        assert!(AttrKind::CameraSerial.is_identifier());
        assert!(!AttrKind::GeoPosition.is_identifier());
        assert!(!AttrKind::ImageHash.is_identifier());
        assert_eq!(
            AttrKind::recognise_column("Chromaprint"),
            Some(AttrKind::AudioFingerprint)
        );
        assert!(!AttrKind::AudioFingerprint.is_identifier());
        assert!(AttrKind::AudioFingerprint.is_evidence());
        assert_eq!(
            AttrKind::from_name("audio_fingerprint"),
            Some(AttrKind::AudioFingerprint)
        );
        assert!(!AttrKind::StyleProfile.is_identifier());
        assert_eq!(
            AttrKind::recognise_column("style_profile"),
            Some(AttrKind::StyleProfile)
        );
        assert!(AttrKind::Iban.is_evidence() && !AttrKind::Username.is_evidence());
        assert!(is_id_column("rec_id"));
        assert!(is_id_column("ID"));
        assert!(!is_id_column("cluster_id"));
        assert!(is_truth_column("Cluster ID") && !is_truth_column("clusters"));
    }

    #[test]
    fn weight_probability_inverse() {
        for w in [-40.0, -3.5, 0.0, 2.0, 17.25] {
            let p = weight_to_probability(w);
            assert!((probability_to_weight(p) - w).abs() < 1e-6, "{w} -> {p}");
        }
        assert_eq!(weight_to_probability(0.0), 0.5);
        assert!(weight_to_probability(2000.0) <= 1.0);
        assert!(weight_to_probability(-2000.0) >= 0.0);
    }
}
