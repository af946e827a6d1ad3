//! The user's 32-byte master key and Atuin's text forms of it.
//!
//! `atuin key` prints the key as a 24-word BIP39 English phrase ([`Key::to_mnemonic`]);
//! `atuin key --base64` and the key file hold [`Key::to_atuin_string`]; `atuin login` accepts
//! either ([`Key::from_atuin_input`]).
//!
//! The base64 form is standard base64 (with padding) of a msgpack array16 of its 32 bytes, each byte written as the smallest msgpack uint
//! (positive fixint below 128, else `0xcc b`). Reading, Atuin (18.24.4) accepts, after
//! trimming trailing whitespace:
//! - base64 of the 32 raw bytes (legacy);
//! - base64 of msgpack `bin8` of length 32 (`0xc4 0x20` + 32 bytes; what v11..v14 wrote),
//!   with nothing after it;
//! - base64 of msgpack `array16` of length 32 whose elements are msgpack integers of any
//!   width that fit in a byte; bytes after the 32nd element are ignored.
//!
//! Atuin's base64 decoder is strict: padding is required and trailing bits must be zero.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::OnceCell;
use core::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::payload::{MsgpackError, Reader};
use crate::random::{Entropy, EntropyError};

/// Why a key could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key is not valid base64 (standard alphabet, padded)")]
    Base64,
    #[error("the key is empty")]
    Empty,
    #[error("a key has 32 bytes, this one has {len}")]
    WrongLength { len: usize },
    #[error("the encoded key declares {len} bytes, a key has 32")]
    DeclaredLength { len: u64 },
    #[error("the encoded key is cut short or has bytes after the key")]
    Truncated,
    #[error("element {index} of the encoded key is not a msgpack integer from 0 to 255")]
    BadElement { index: usize },
    #[error(
        "unsupported key encoding (msgpack marker 0x{marker:02x}); expected base64 of a msgpack \
         array of 32 bytes, a msgpack bin8 or 32 raw bytes"
    )]
    UnsupportedEncoding { marker: u8 },
    #[error("word {index} of the key phrase is not a BIP39 English word")]
    UnknownWord { index: usize },
    #[error("a key phrase has 24 words, this one has {words}")]
    MnemonicLength { words: usize },
    #[error("the key phrase's checksum does not match (a word is wrong or out of order)")]
    MnemonicChecksum,
}

/// A 32-byte symmetric key: the user's master key or a record's content key.
///
/// Zeroed on drop; compared in constant time; `Debug` never shows it. Its key id is worked out
/// once, when first asked for (every record decrypted compares it).
#[derive(Clone)]
pub struct Key([u8; 32], OnceCell<String>);

impl Key {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes, OnceCell::new())
    }

    /// A key from a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self::from_bytes)
            .map_err(|_| KeyError::WrongLength { len: bytes.len() })
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A fresh random key.
    pub fn generate<E: Entropy + ?Sized>(entropy: &mut E) -> Result<Self, EntropyError> {
        let mut bytes = [0u8; 32];
        entropy.fill(&mut bytes)?;
        let key = Self::from_bytes(bytes);
        bytes.zeroize();
        Ok(key)
    }

    /// The key as `atuin key` prints it (and as Atuin's key file holds it).
    pub fn to_atuin_string(&self) -> String {
        let mut buf = Zeroizing::new(Vec::with_capacity(3 + 2 * 32));
        buf.extend_from_slice(&[0xdc, 0x00, 0x20]);
        for &b in &self.0 {
            if b >= 0x80 {
                buf.push(0xcc);
            }
            buf.push(b);
        }
        STANDARD.encode(buf.as_slice())
    }

    /// Parse a key string as Atuin does (see the module docs for the accepted forms).
    pub fn from_atuin_string(s: &str) -> Result<Self, KeyError> {
        let buf = Zeroizing::new(
            STANDARD
                .decode(s.trim_end())
                .map_err(|_| KeyError::Base64)?,
        );
        if buf.len() == 32 {
            return Self::from_slice(&buf);
        }
        let (&marker, rest) = buf.split_first().ok_or(KeyError::Empty)?;
        match marker {
            // bin8: length byte, then exactly the key.
            0xc4 => {
                let (&len, key) = rest.split_first().ok_or(KeyError::Truncated)?;
                if len != 32 {
                    return Err(KeyError::DeclaredLength { len: len.into() });
                }
                if key.len() != 32 {
                    return Err(KeyError::Truncated);
                }
                Self::from_slice(key)
            }
            // array16: big-endian u16 length, then 32 msgpack integers.
            0xdc => {
                let len = match rest {
                    [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
                    _ => return Err(KeyError::Truncated),
                };
                if len != 32 {
                    return Err(KeyError::DeclaredLength { len: len.into() });
                }
                // Each element any msgpack integer encoding (as rmp's `read_int`), 0 to 255.
                let mut reader = Reader::new(&rest[2..]);
                let mut key = Zeroizing::new([0u8; 32]);
                for (index, slot) in key.iter_mut().enumerate() {
                    *slot = reader.u8_any().map_err(|e| match e {
                        MsgpackError::Eof => KeyError::Truncated,
                        _ => KeyError::BadElement { index },
                    })?;
                }
                Ok(Self::from_bytes(*key))
            }
            other => Err(KeyError::UnsupportedEncoding { marker: other }),
        }
    }

    /// The key as the 24-word BIP39 (English) phrase that `atuin key` prints by default:
    /// the 256 key bits and the first byte of their SHA-256, cut into 24 groups of 11 bits.
    pub fn to_mnemonic(&self) -> String {
        let mut bits = Zeroizing::new([0u8; 33]);
        bits[..32].copy_from_slice(&self.0);
        bits[32] = Sha256::digest(self.0)[0];
        let words = wordlist();
        let mut out = String::with_capacity(24 * 9);
        for i in 0..24 {
            let mut index = 0usize;
            for b in i * 11..(i + 1) * 11 {
                index = (index << 1) | usize::from((bits[b / 8] >> (7 - b % 8)) & 1);
            }
            if i > 0 {
                out.push(' ');
            }
            out.push_str(words[index]);
        }
        out
    }

    /// Parse a 24-word BIP39 (English) phrase. Words are separated by any whitespace and must
    /// be lower-case as in the word list (Atuin also applies Unicode NFKD first, which only
    /// matters for exotic input such as full-width letters; we do not).
    pub fn from_mnemonic(phrase: &str) -> Result<Self, KeyError> {
        let words = wordlist();
        let mut bits = Zeroizing::new([0u8; 33]);
        let mut count = 0usize;
        for (i, word) in phrase.split_whitespace().enumerate() {
            let index = words
                .binary_search(&word)
                .map_err(|_| KeyError::UnknownWord { index: i })?;
            if i < 24 {
                for k in 0..11 {
                    if (index >> (10 - k)) & 1 == 1 {
                        let b = i * 11 + k;
                        bits[b / 8] |= 0x80 >> (b % 8);
                    }
                }
            }
            count += 1;
        }
        if count != 24 {
            return Err(KeyError::MnemonicLength { words: count });
        }
        if Sha256::digest(&bits[..32])[0] != bits[32] {
            return Err(KeyError::MnemonicChecksum);
        }
        Self::from_slice(&bits[..32])
    }

    /// Parse what a user may paste as their key, as `atuin login` does: a BIP39 phrase, or,
    /// when the input is not made of BIP39 words, the base64 key string
    /// ([`Self::from_atuin_string`]).
    pub fn from_atuin_input(s: &str) -> Result<Self, KeyError> {
        if s.split_whitespace().next().is_none() {
            return Self::from_atuin_string(s);
        }
        match Self::from_mnemonic(s) {
            Err(KeyError::UnknownWord { .. }) => Self::from_atuin_string(s),
            other => other,
        }
    }

    /// This key's PASERK id, `k4.lid.…` (what Atuin stores as `kid` beside each record).
    pub fn id(&self) -> &str {
        self.1.get_or_init(|| super::pie::lid(self))
    }
}

/// The BIP39 English word list (2048 words, sorted), as a vector for indexing and binary search.
fn wordlist() -> Vec<&'static str> {
    BIP39_ENGLISH.split_ascii_whitespace().collect()
}

/// The BIP39 English word list (public data from the BIP39 specification), in order.
const BIP39_ENGLISH: &str = "
abandon ability able about above absent absorb abstract absurd abuse access accident
account accuse achieve acid acoustic acquire across act action actor actress actual
adapt add addict address adjust admit adult advance advice aerobic affair afford afraid
again age agent agree ahead aim air airport aisle alarm album alcohol alert alien all
alley allow almost alone alpha already also alter always amateur amazing among amount
amused analyst anchor ancient anger angle angry animal ankle announce annual another
answer antenna antique anxiety any apart apology appear apple approve april arch arctic
area arena argue arm armed armor army around arrange arrest arrive arrow art artefact
artist artwork ask aspect assault asset assist assume asthma athlete atom attack attend
attitude attract auction audit august aunt author auto autumn average avocado avoid
awake aware away awesome awful awkward axis baby bachelor bacon badge bag balance
balcony ball bamboo banana banner bar barely bargain barrel base basic basket battle
beach bean beauty because become beef before begin behave behind believe below belt
bench benefit best betray better between beyond bicycle bid bike bind biology bird birth
bitter black blade blame blanket blast bleak bless blind blood blossom blouse blue blur
blush board boat body boil bomb bone bonus book boost border boring borrow boss bottom
bounce box boy bracket brain brand brass brave bread breeze brick bridge brief bright
bring brisk broccoli broken bronze broom brother brown brush bubble buddy budget buffalo
build bulb bulk bullet bundle bunker burden burger burst bus business busy butter buyer
buzz cabbage cabin cable cactus cage cake call calm camera camp can canal cancel candy
cannon canoe canvas canyon capable capital captain car carbon card cargo carpet carry
cart case cash casino castle casual cat catalog catch category cattle caught cause
caution cave ceiling celery cement census century cereal certain chair chalk champion
change chaos chapter charge chase chat cheap check cheese chef cherry chest chicken
chief child chimney choice choose chronic chuckle chunk churn cigar cinnamon circle
citizen city civil claim clap clarify claw clay clean clerk clever click client cliff
climb clinic clip clock clog close cloth cloud clown club clump cluster clutch coach
coast coconut code coffee coil coin collect color column combine come comfort comic
common company concert conduct confirm congress connect consider control convince cook
cool copper copy coral core corn correct cost cotton couch country couple course cousin
cover coyote crack cradle craft cram crane crash crater crawl crazy cream credit creek
crew cricket crime crisp critic crop cross crouch crowd crucial cruel cruise crumble
crunch crush cry crystal cube culture cup cupboard curious current curtain curve cushion
custom cute cycle dad damage damp dance danger daring dash daughter dawn day deal debate
debris decade december decide decline decorate decrease deer defense define defy degree
delay deliver demand demise denial dentist deny depart depend deposit depth deputy
derive describe desert design desk despair destroy detail detect develop device devote
diagram dial diamond diary dice diesel diet differ digital dignity dilemma dinner
dinosaur direct dirt disagree discover disease dish dismiss disorder display distance
divert divide divorce dizzy doctor document dog doll dolphin domain donate donkey donor
door dose double dove draft dragon drama drastic draw dream dress drift drill drink drip
drive drop drum dry duck dumb dune during dust dutch duty dwarf dynamic eager eagle
early earn earth easily east easy echo ecology economy edge edit educate effort egg
eight either elbow elder electric elegant element elephant elevator elite else embark
embody embrace emerge emotion employ empower empty enable enact end endless endorse
enemy energy enforce engage engine enhance enjoy enlist enough enrich enroll ensure
enter entire entry envelope episode equal equip era erase erode erosion error erupt
escape essay essence estate eternal ethics evidence evil evoke evolve exact example
excess exchange excite exclude excuse execute exercise exhaust exhibit exile exist exit
exotic expand expect expire explain expose express extend extra eye eyebrow fabric face
faculty fade faint faith fall false fame family famous fan fancy fantasy farm fashion
fat fatal father fatigue fault favorite feature february federal fee feed feel female
fence festival fetch fever few fiber fiction field figure file film filter final find
fine finger finish fire firm first fiscal fish fit fitness fix flag flame flash flat
flavor flee flight flip float flock floor flower fluid flush fly foam focus fog foil
fold follow food foot force forest forget fork fortune forum forward fossil foster found
fox fragile frame frequent fresh friend fringe frog front frost frown frozen fruit fuel
fun funny furnace fury future gadget gain galaxy gallery game gap garage garbage garden
garlic garment gas gasp gate gather gauge gaze general genius genre gentle genuine
gesture ghost giant gift giggle ginger giraffe girl give glad glance glare glass glide
glimpse globe gloom glory glove glow glue goat goddess gold good goose gorilla gospel
gossip govern gown grab grace grain grant grape grass gravity great green grid grief
grit grocery group grow grunt guard guess guide guilt guitar gun gym habit hair half
hammer hamster hand happy harbor hard harsh harvest hat have hawk hazard head health
heart heavy hedgehog height hello helmet help hen hero hidden high hill hint hip hire
history hobby hockey hold hole holiday hollow home honey hood hope horn horror horse
hospital host hotel hour hover hub huge human humble humor hundred hungry hunt hurdle
hurry hurt husband hybrid ice icon idea identify idle ignore ill illegal illness image
imitate immense immune impact impose improve impulse inch include income increase index
indicate indoor industry infant inflict inform inhale inherit initial inject injury
inmate inner innocent input inquiry insane insect inside inspire install intact interest
into invest invite involve iron island isolate issue item ivory jacket jaguar jar jazz
jealous jeans jelly jewel job join joke journey joy judge juice jump jungle junior junk
just kangaroo keen keep ketchup key kick kid kidney kind kingdom kiss kit kitchen kite
kitten kiwi knee knife knock know lab label labor ladder lady lake lamp language laptop
large later latin laugh laundry lava law lawn lawsuit layer lazy leader leaf learn leave
lecture left leg legal legend leisure lemon lend length lens leopard lesson letter level
liar liberty library license life lift light like limb limit link lion liquid list
little live lizard load loan lobster local lock logic lonely long loop lottery loud
lounge love loyal lucky luggage lumber lunar lunch luxury lyrics machine mad magic
magnet maid mail main major make mammal man manage mandate mango mansion manual maple
marble march margin marine market marriage mask mass master match material math matrix
matter maximum maze meadow mean measure meat mechanic medal media melody melt member
memory mention menu mercy merge merit merry mesh message metal method middle midnight
milk million mimic mind minimum minor minute miracle mirror misery miss mistake mix
mixed mixture mobile model modify mom moment monitor monkey monster month moon moral
more morning mosquito mother motion motor mountain mouse move movie much muffin mule
multiply muscle museum mushroom music must mutual myself mystery myth naive name napkin
narrow nasty nation nature near neck need negative neglect neither nephew nerve nest net
network neutral never news next nice night noble noise nominee noodle normal north nose
notable note nothing notice novel now nuclear number nurse nut oak obey object oblige
obscure observe obtain obvious occur ocean october odor off offer office often oil okay
old olive olympic omit once one onion online only open opera opinion oppose option
orange orbit orchard order ordinary organ orient original orphan ostrich other outdoor
outer output outside oval oven over own owner oxygen oyster ozone pact paddle page pair
palace palm panda panel panic panther paper parade parent park parrot party pass patch
path patient patrol pattern pause pave payment peace peanut pear peasant pelican pen
penalty pencil people pepper perfect permit person pet phone photo phrase physical piano
picnic picture piece pig pigeon pill pilot pink pioneer pipe pistol pitch pizza place
planet plastic plate play please pledge pluck plug plunge poem poet point polar pole
police pond pony pool popular portion position possible post potato pottery poverty
powder power practice praise predict prefer prepare present pretty prevent price pride
primary print priority prison private prize problem process produce profit program
project promote proof property prosper protect proud provide public pudding pull pulp
pulse pumpkin punch pupil puppy purchase purity purpose purse push put puzzle pyramid
quality quantum quarter question quick quit quiz quote rabbit raccoon race rack radar
radio rail rain raise rally ramp ranch random range rapid rare rate rather raven raw
razor ready real reason rebel rebuild recall receive recipe record recycle reduce
reflect reform refuse region regret regular reject relax release relief rely remain
remember remind remove render renew rent reopen repair repeat replace report require
rescue resemble resist resource response result retire retreat return reunion reveal
review reward rhythm rib ribbon rice rich ride ridge rifle right rigid ring riot ripple
risk ritual rival river road roast robot robust rocket romance roof rookie room rose
rotate rough round route royal rubber rude rug rule run runway rural sad saddle sadness
safe sail salad salmon salon salt salute same sample sand satisfy satoshi sauce sausage
save say scale scan scare scatter scene scheme school science scissors scorpion scout
scrap screen script scrub sea search season seat second secret section security seed
seek segment select sell seminar senior sense sentence series service session settle
setup seven shadow shaft shallow share shed shell sheriff shield shift shine ship shiver
shock shoe shoot shop short shoulder shove shrimp shrug shuffle shy sibling sick side
siege sight sign silent silk silly silver similar simple since sing siren sister situate
six size skate sketch ski skill skin skirt skull slab slam sleep slender slice slide
slight slim slogan slot slow slush small smart smile smoke smooth snack snake snap sniff
snow soap soccer social sock soda soft solar soldier solid solution solve someone song
soon sorry sort soul sound soup source south space spare spatial spawn speak special
speed spell spend sphere spice spider spike spin spirit split spoil sponsor spoon sport
spot spray spread spring spy square squeeze squirrel stable stadium staff stage stairs
stamp stand start state stay steak steel stem step stereo stick still sting stock
stomach stone stool story stove strategy street strike strong struggle student stuff
stumble style subject submit subway success such sudden suffer sugar suggest suit summer
sun sunny sunset super supply supreme sure surface surge surprise surround survey
suspect sustain swallow swamp swap swarm swear sweet swift swim swing switch sword
symbol symptom syrup system table tackle tag tail talent talk tank tape target task
taste tattoo taxi teach team tell ten tenant tennis tent term test text thank that theme
then theory there they thing this thought three thrive throw thumb thunder ticket tide
tiger tilt timber time tiny tip tired tissue title toast tobacco today toddler toe
together toilet token tomato tomorrow tone tongue tonight tool tooth top topic topple
torch tornado tortoise toss total tourist toward tower town toy track trade traffic
tragic train transfer trap trash travel tray treat tree trend trial tribe trick trigger
trim trip trophy trouble truck true truly trumpet trust truth try tube tuition tumble
tuna tunnel turkey turn turtle twelve twenty twice twin twist two type typical ugly
umbrella unable unaware uncle uncover under undo unfair unfold unhappy uniform unique
unit universe unknown unlock until unusual unveil update upgrade uphold upon upper upset
urban urge usage use used useful useless usual utility vacant vacuum vague valid valley
valve van vanish vapor various vast vault vehicle velvet vendor venture venue verb
verify version very vessel veteran viable vibrant vicious victory video view village
vintage violin virtual virus visa visit visual vital vivid vocal voice void volcano
volume vote voyage wage wagon wait walk wall walnut want warfare warm warrior wash wasp
waste water wave way wealth weapon wear weasel weather web wedding weekend weird welcome
west wet whale what wheat wheel when where whip whisper wide width wife wild will win
window wine wing wink winner winter wire wisdom wise wish witness wolf woman wonder wood
wool word work world worry worth wrap wreck wrestle wrist write wrong yard year yellow
you young youth zebra zero zone zoo
";

impl Drop for Key {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let k = Key::from_bytes([0xab; 32]);
        let s = alloc::format!("{k:?}");
        assert_eq!(s, "Key(***)");
    }

    #[test]
    fn word_list_is_complete_and_sorted() {
        let w = wordlist();
        assert_eq!(w.len(), 2048);
        assert!(w.windows(2).all(|p| p[0] < p[1]));
        assert_eq!((w[0], w[2047]), ("abandon", "zoo"));
    }

    #[test]
    fn wide_ints_are_accepted_like_rmp() {
        let mut buf = alloc::vec![0xdc, 0x00, 0x20];
        buf.extend_from_slice(&[0xcd, 0x00, 0x07]); // u16 7
        buf.extend_from_slice(&[0xd0, 0x05]); // i8 5
        buf.extend_from_slice(&[0xd3, 0, 0, 0, 0, 0, 0, 0, 0xff]); // i64 255
        buf.extend(core::iter::repeat_n(0x01u8, 29));
        buf.extend_from_slice(b"trailing is ignored");
        let k = Key::from_atuin_string(&STANDARD.encode(&buf)).unwrap();
        assert_eq!(&k.as_bytes()[..4], &[7, 5, 255, 1]);

        let mut neg = alloc::vec![0xdc, 0x00, 0x20, 0xff];
        neg.extend(core::iter::repeat_n(0x01u8, 31));
        assert_eq!(
            Key::from_atuin_string(&STANDARD.encode(&neg)),
            Err(KeyError::BadElement { index: 0 })
        );
    }
}
