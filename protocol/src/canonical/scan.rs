//! A fast, allocation-free canonical-form check for the common case.
//!
//! [`scan`] walks the bytes once and answers "certainly canonical" (`Some`) or "not
//! sure" (`None`). It accepts only what [`super::decode_strict`] accepts: every
//! construct it cannot judge cheaply (numbers other than small integers, escapes
//! other than the mandatory ones, member names with escapes, deep nesting) makes it
//! give up, and the caller then takes the exact path (`decode_strict`), which also
//! produces every error message. So the scan never decides what is refused, only
//! how fast a canonical record is accepted.

use std::cmp::Ordering;

/// Deeper than this the scan gives up (serde_json's own limit is 128).
const MAX_DEPTH: usize = 64;

/// Integers of at most this many digits are below 2^53, so they print as themselves.
const MAX_INT_DIGITS: usize = 15;

/// One member of the top-level object: its name (no escapes), its value's bytes, and
/// how many objects and arrays the value holds (itself included).
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    pub shape: Shape,
}

/// How many JSON objects and arrays a value holds, itself included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shape {
    pub objects: usize,
    pub arrays: usize,
}

/// What the scan of a canonical top-level object found.
#[derive(Debug)]
pub struct Scanned<'a, const N: usize> {
    /// The first `count` entries are the top-level members, in order.
    pub members: [Member<'a>; N],
    pub count: usize,
    /// Some value anywhere is `null`, `false`, `[]` or `{}`: the spellings a typed
    /// body may lose when it is written back (left-out optional members).
    pub has_droppable: bool,
}

impl Shape {
    /// The shape of `value` as serde_json writes it (`None` where serde_json would
    /// fail), counted by a serializer that writes nothing ([`super::shape`]).
    pub fn of_serialized<T: serde::Serialize + ?Sized>(value: &T) -> Option<Shape> {
        super::shape::count(value).ok()
    }

    /// The same, counted from serde_json's own output: the reference the counting
    /// serializer is tested against.
    #[cfg(test)]
    pub(crate) fn of_written_json<T: serde::Serialize + ?Sized>(value: &T) -> Option<Shape> {
        let mut w = ShapeWriter::default();
        serde_json::to_writer(&mut w, value).ok()?;
        Some(w.shape)
    }
}

/// Counts `{` and `[` outside strings in compact JSON written to it.
#[cfg(test)]
#[derive(Default)]
struct ShapeWriter {
    shape: Shape,
    in_string: bool,
    escaped: bool,
}

#[cfg(test)]
impl std::io::Write for ShapeWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'{' => self.shape.objects += 1,
                    b'[' => self.shape.arrays += 1,
                    _ => {}
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Check that `bytes` is a JSON object with at most `N` members in canonical form.
/// `Some` only if [`super::decode_strict`] accepts `bytes`; `None` if it would
/// refuse them or the scan cannot tell.
pub fn scan<const N: usize>(bytes: &[u8]) -> Option<Scanned<'_, N>> {
    std::str::from_utf8(bytes).ok()?;
    let mut s = Scanner {
        b: bytes,
        at: 0,
        depth: 0,
        has_droppable: false,
        shape: Shape::default(),
    };
    let empty = Member {
        name: &[],
        value: &[],
        shape: Shape::default(),
    };
    let mut members = [empty; N];
    let mut count = 0;
    s.object(|name, value, shape| {
        let slot = members.get_mut(count)?;
        *slot = Member { name, value, shape };
        count += 1;
        Some(())
    })?;
    if s.at != bytes.len() {
        return None;
    }
    Some(Scanned {
        members,
        count,
        has_droppable: s.has_droppable,
    })
}

struct Scanner<'a> {
    b: &'a [u8],
    at: usize,
    depth: usize,
    has_droppable: bool,
    /// Objects and arrays seen so far.
    shape: Shape,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.at..]
            .starts_with(word)
            .then(|| self.at += word.len())
    }

    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(|_, _, _| Some(())),
            b'[' => self.array(),
            b'"' => self.string().map(|_| ()),
            b't' => self.literal(b"true"),
            b'f' => {
                self.has_droppable = true;
                self.literal(b"false")
            }
            b'n' => {
                self.has_droppable = true;
                self.literal(b"null")
            }
            _ => self.integer(),
        }
    }

    /// `{"name":value,...}` with names strictly increasing in UTF-16 order (which
    /// also rules out duplicates); `member` sees each top-level member.
    fn object(
        &mut self,
        mut member: impl FnMut(&'a [u8], &'a [u8], Shape) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        self.shape.objects += 1;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        if self.eat(b'}').is_some() {
            self.has_droppable = true;
            self.depth -= 1;
            return Some(());
        }
        let mut prev: Option<&'a [u8]> = None;
        loop {
            let name = self.string()?;
            if name.contains(&b'\\') {
                return None;
            }
            if prev.is_some_and(|p| names_order(p, name) != Ordering::Less) {
                return None;
            }
            prev = Some(name);
            self.eat(b':')?;
            let (start, before) = (self.at, self.shape);
            self.value()?;
            let inside = Shape {
                objects: self.shape.objects - before.objects,
                arrays: self.shape.arrays - before.arrays,
            };
            member(name, &self.b[start..self.at], inside)?;
            if self.eat(b',').is_none() {
                break;
            }
        }
        self.eat(b'}')?;
        self.depth -= 1;
        Some(())
    }

    fn array(&mut self) -> Option<()> {
        self.eat(b'[')?;
        self.shape.arrays += 1;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        if self.eat(b']').is_some() {
            self.has_droppable = true;
            self.depth -= 1;
            return Some(());
        }
        loop {
            self.value()?;
            if self.eat(b',').is_none() {
                break;
            }
        }
        self.eat(b']')?;
        self.depth -= 1;
        Some(())
    }

    /// A string in canonical spelling; returns its raw contents (between the quotes).
    /// Canonical: no raw control characters, and the only escapes are `\"`, `\\`,
    /// `\b \t \n \f \r` and `\u00xx` (lowercase) for the other control characters.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.at;
        loop {
            let c = self.peek()?;
            self.at += 1;
            match c {
                b'"' => return Some(&self.b[start..self.at - 1]),
                0x00..=0x1f => return None,
                b'\\' => {
                    let e = self.peek()?;
                    self.at += 1;
                    match e {
                        b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r' => {}
                        b'u' => {
                            let hex = self.b.get(self.at..self.at + 4)?;
                            self.at += 4;
                            if !control_escape(hex) {
                                return None;
                            }
                        }
                        _ => return None,
                    }
                }
                _ => {}
            }
        }
    }

    /// `0` or `-?[1-9][0-9]*` with at most [`MAX_INT_DIGITS`] digits, not followed by
    /// a fraction or exponent.
    fn integer(&mut self) -> Option<()> {
        let neg = self.eat(b'-').is_some();
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        let digits = &self.b[start..self.at];
        let ok = match digits {
            [] => false,
            [b'0'] => !neg,
            [b'0', ..] => false,
            _ => digits.len() <= MAX_INT_DIGITS,
        };
        let next_ok = !matches!(self.peek(), Some(b'.' | b'e' | b'E'));
        (ok && next_ok).then_some(())
    }
}

/// `\u00xx` (lowercase hex) naming a control character that has no short escape.
fn control_escape(hex: &[u8]) -> bool {
    let [b'0', b'0', hi, lo] = hex else {
        return false;
    };
    let lower_hex = |c: &u8| matches!(c, b'0'..=b'9' | b'a'..=b'f');
    if !lower_hex(hi) || !lower_hex(lo) || !matches!(hi, b'0' | b'1') {
        return false;
    }
    let v = u8::from_str_radix(std::str::from_utf8(&hex[2..]).unwrap_or("zz"), 16).unwrap_or(0xff);
    v < 0x20 && !matches!(v, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d)
}

/// Order of two member names without escapes (valid UTF-8): byte order is UTF-16
/// order unless a name has characters from U+E000 up (lead bytes 0xEE and above).
fn names_order(a: &[u8], b: &[u8]) -> Ordering {
    if a.iter().chain(b).all(|&c| c < 0xee) {
        return a.cmp(b);
    }
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(a), Ok(b)) => super::utf16_order(a, b),
        // Cannot happen (the whole input is UTF-8); refuse to order.
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{decode_strict, encode};
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn accepts(b: &[u8]) -> bool {
        scan::<64>(b).is_some()
    }

    #[test]
    fn accepts_canonical_objects_and_reports_top_members() {
        let b = br#"{"a":[1,-2,"x\n\u001f"],"b":{"c":true},"d":"\u00e9"}"#;
        // `\u00e9` is not a control character: not canonical (é is written as is).
        assert!(!accepts(b));
        let b = "{\"a\":[1,-2,\"x\\n\\u001f\"],\"b\":{\"c\":true},\"d\":\"é\"}".as_bytes();
        let s = scan::<3>(b).expect("canonical");
        assert_eq!(s.count, 3);
        assert_eq!(s.members[1].name, b"b");
        assert_eq!(s.members[1].value, br#"{"c":true}"#);
        assert_eq!(
            s.members[0].shape,
            Shape {
                objects: 0,
                arrays: 1
            }
        );
        assert_eq!(
            s.members[1].shape,
            Shape {
                objects: 1,
                arrays: 0
            }
        );
        assert!(!s.has_droppable);
        assert!(scan::<2>(b).is_none(), "more members than room");
    }

    #[test]
    fn flags_values_a_typed_body_may_drop() {
        for b in [
            &br#"{"a":null}"#[..],
            br#"{"a":false}"#,
            br#"{"a":[]}"#,
            br#"{"a":{"b":{}}}"#,
        ] {
            assert!(scan::<4>(b).expect("canonical").has_droppable);
        }
    }

    #[test]
    fn gives_up_on_what_it_cannot_judge_cheaply() {
        for b in [
            &br#"{"a":0.5}"#[..],
            br#"{"a":1e3}"#,
            br#"{"a":1234567890123456}"#,
            br#"{"a":"\/"}"#,
            br#"{"a\n":1}"#,
            br#"[1]"#,
        ] {
            assert!(!accepts(b), "{}", String::from_utf8_lossy(b));
        }
    }

    #[test]
    fn refuses_every_non_canonical_spelling_decode_strict_refuses() {
        for b in [
            &br#"{"b":"x","a":1}"#[..],
            br#"{"a": 1}"#,
            br#"{"a":1.0}"#,
            br#"{"a":-0}"#,
            br#"{"a":01}"#,
            br#"{"a":1,"a":1}"#,
            br#"{"a":"\u0041"}"#,
            br#"{"a":"\u000A"}"#,
            br#"{"a":"\u000a"}"#,
            b"{\"a\":\"\x01\"}",
            b"{\"a\":\"\xff\"}",
            br#"{"a":"\ud800"}"#,
            b"\xef\xbb\xbf{\"a\":1}",
            b"{\"a\":1}\n",
            br#"{"a":1"#,
            br#"{"a":tru}"#,
        ] {
            assert!(!accepts(b), "{}", String::from_utf8_lossy(b));
            assert!(decode_strict(b).is_err(), "{}", String::from_utf8_lossy(b));
        }
    }

    #[test]
    fn shape_of_serialized_values_skips_strings() {
        let v = json!({"a": ["{[", {"b": "\\\"{"}], "c": {}});
        assert_eq!(
            Shape::of_serialized(&v),
            Some(Shape {
                objects: 3,
                arrays: 1
            })
        );
        let bytes = encode(&v);
        let s = scan::<2>(&bytes).expect("canonical");
        let shape = |objects, arrays| Shape { objects, arrays };
        assert_eq!(s.members[0].shape, shape(1, 1));
        assert_eq!(s.members[1].shape, shape(1, 0));
    }

    /// Every serde shape the counter distinguishes, against serde_json's output:
    /// variants, tuples, bytes, options, newtypes, and keys serde_json refuses.
    #[test]
    fn shape_counted_equals_shape_written_for_every_serde_form() {
        use std::collections::BTreeMap;
        #[derive(serde::Serialize)]
        struct Unit;
        #[derive(serde::Serialize)]
        struct Newtype(Vec<u8>);
        #[derive(serde::Serialize)]
        struct Pair(u8, String);
        #[derive(serde::Serialize)]
        enum E {
            U,
            N(Pair),
            T(u8, Vec<bool>),
            S {
                a: Option<Unit>,
                b: BTreeMap<String, Pair>,
            },
        }
        #[derive(serde::Serialize)]
        struct All {
            e: Vec<E>,
            t: (u8, (char, f64)),
            b: serde_bytes::ByteBuf,
            n: Newtype,
            o: Option<Option<i128>>,
            m: BTreeMap<u32, Option<E>>,
            k: BTreeMap<bool, ()>,
        }
        let all = All {
            e: vec![
                E::U,
                E::N(Pair(1, "[{".into())),
                E::T(2, vec![true]),
                E::S {
                    a: Some(Unit),
                    b: [("x".to_string(), Pair(3, "\\\"".into()))].into(),
                },
            ],
            t: (4, ('{', 0.5)),
            b: serde_bytes::ByteBuf::from(vec![1, 2]),
            n: Newtype(vec![5]),
            o: Some(None),
            m: [(6, Some(E::T(7, vec![]))), (8, None)].into(),
            k: [(true, ())].into(),
        };
        assert_eq!(Shape::of_serialized(&all), Shape::of_written_json(&all));
        assert!(Shape::of_serialized(&all).is_some());
        // Keys serde_json refuses: the count fails too.
        let bad_keys: [Box<dyn erased::Shaped>; 3] = [
            Box::new(BTreeMap::from([(vec![1u8], 1)])),
            Box::new(BTreeMap::from([((1, 2), 1)])),
            Box::new(BTreeMap::from([(Some(()), 1)])),
        ];
        for (i, v) in bad_keys.iter().enumerate() {
            assert_eq!(v.counted(), None, "key {i}");
            assert_eq!(v.written(), None, "key {i}");
        }
        let some_key = BTreeMap::from([(Some(1u8), vec![2u8])]);
        assert_eq!(
            Shape::of_serialized(&some_key),
            Shape::of_written_json(&some_key)
        );
        assert!(Shape::of_serialized(&some_key).is_some());
    }

    mod erased {
        use super::Shape;
        pub trait Shaped {
            fn counted(&self) -> Option<Shape>;
            fn written(&self) -> Option<Shape>;
        }
        impl<T: serde::Serialize> Shaped for T {
            fn counted(&self) -> Option<Shape> {
                Shape::of_serialized(self)
            }
            fn written(&self) -> Option<Shape> {
                Shape::of_written_json(self)
            }
        }
    }

    #[test]
    fn names_sort_by_utf16() {
        let v = json!({"\u{ff01}": 1, "\u{1f600}": 2, "a": 3});
        assert!(accepts(&encode(&v)));
        assert!(!accepts("{\"\u{ff01}\":1,\"\u{1f600}\":2}".as_bytes()));
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-1_000_000_000_000_000i64..1_000_000_000_000_000).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            "[a-c\u{1}\u{8}\"\\\\é\u{ff01}\u{1f600}]{0,4}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map("[a-c\u{ff01}\u{1f600}]{0,3}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The scan accepts only what decode_strict accepts, and every canonical
        /// object without floats or big numbers.
        #[test]
        fn agrees_with_decode_strict(v in json_value(), cut in any::<prop::sample::Index>(),
                                     byte in any::<u8>()) {
            let good = encode(&Value::Object([("k".to_string(), v)].into_iter().collect()));
            if accepts(&good) {
                prop_assert!(decode_strict(&good).is_ok());
            }
            let mut bad = good.clone();
            let i = cut.index(bad.len());
            bad[i] = byte;
            if accepts(&bad) {
                prop_assert!(decode_strict(&bad).is_ok(), "{}", String::from_utf8_lossy(&bad));
            }
            let mut short = good.clone();
            short.remove(i);
            if accepts(&short) {
                prop_assert!(decode_strict(&short).is_ok(), "{}", String::from_utf8_lossy(&short));
            }
        }

        /// The counting serializer agrees with counting serde_json's output.
        #[test]
        fn shape_counted_equals_shape_written(v in json_value()) {
            prop_assert_eq!(Shape::of_serialized(&v), Shape::of_written_json(&v));
        }

        #[test]
        fn accepts_canonical_json_of_small_integers_and_plain_strings(
            m in prop::collection::btree_map("[a-z]{1,4}",
                prop_oneof![
                    (-999_999_999_999_999i64..=999_999_999_999_999).prop_map(Value::from),
                    "[a-z\u{1}\n\"é]{0,5}".prop_map(Value::from),
                    Just(Value::Bool(true)),
                ], 1..8)
        ) {
            let good = encode(&Value::Object(m.into_iter().collect()));
            prop_assert!(accepts(&good), "{}", String::from_utf8_lossy(&good));
        }
    }
}
