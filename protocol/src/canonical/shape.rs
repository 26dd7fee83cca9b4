//! [`Shape::of_serialized`] without writing JSON: a serde `Serializer` that only
//! counts the objects and arrays serde_json would write for a value. The fast
//! decoder compares this count with the scan's to catch a struct given as a JSON
//! array (see `Body::from_canonical`); formatting the whole body (escaping every
//! string) just to count its brackets cost ~2 µs a record.
//!
//! Counted as serde_json writes them: structs and maps are objects; sequences,
//! tuples, tuple structs and byte strings are arrays; a newtype variant is an
//! object around its value, a tuple variant an object around an array, a struct
//! variant an object around an object; everything else (scalars, strings, unit
//! variants, `None`, unit) counts nothing; `Some` and newtype structs count their
//! content. Map keys are accepted only where serde_json accepts them (strings,
//! chars, integers, bools, finite floats, unit variants, and `Some` or newtypes of
//! those); any other key is
//! an error, as it is for serde_json, so the caller falls back to the exact path.
//! A property test compares it with counting the brackets of serde_json's output.

use serde::ser::{self, Impossible, Serialize};

use super::scan::Shape;

/// Why counting stopped: a map key serde_json would refuse, or an error of the
/// value's own `Serialize`.
#[derive(Debug)]
pub struct NotJson(String);

impl std::fmt::Display for NotJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotJson {}

impl ser::Error for NotJson {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        NotJson(msg.to_string())
    }
}

/// The shape of `value` as serde_json would write it, or an error where serde_json
/// would fail.
pub fn count<T: Serialize + ?Sized>(value: &T) -> Result<Shape, NotJson> {
    let mut c = Counter(Shape::default());
    value.serialize(&mut c)?;
    Ok(c.0)
}

struct Counter(Shape);

impl Counter {
    fn object(&mut self) -> &mut Self {
        self.0.objects += 1;
        self
    }
    fn array(&mut self) -> &mut Self {
        self.0.arrays += 1;
        self
    }
}

type Done = Result<(), NotJson>;

/// The scalars both serializers accept and count nothing for: serde_json writes
/// them as numbers or `true`/`false` (and as member names when they are map keys).
macro_rules! scalars_write_nothing {
    () => {
        scalars_write_nothing!(
            serialize_bool: bool, serialize_i8: i8, serialize_i16: i16,
            serialize_i32: i32, serialize_i64: i64, serialize_i128: i128,
            serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
            serialize_u64: u64, serialize_u128: u128
        );
    };
    ($($name:ident: $t:ty),*) => {
        $(fn $name(self, _: $t) -> Done {
            Ok(())
        })*
    };
}

impl<'a> ser::Serializer for &'a mut Counter {
    type Ok = ();
    type Error = NotJson;
    type SerializeSeq = &'a mut Counter;
    type SerializeTuple = &'a mut Counter;
    type SerializeTupleStruct = &'a mut Counter;
    type SerializeTupleVariant = &'a mut Counter;
    type SerializeMap = &'a mut Counter;
    type SerializeStruct = &'a mut Counter;
    type SerializeStructVariant = &'a mut Counter;

    scalars_write_nothing!();
    fn serialize_f32(self, _: f32) -> Done {
        Ok(())
    }
    fn serialize_f64(self, _: f64) -> Done {
        Ok(())
    }
    fn serialize_char(self, _: char) -> Done {
        Ok(())
    }
    fn serialize_str(self, _: &str) -> Done {
        Ok(())
    }
    /// serde_json writes bytes as an array of numbers.
    fn serialize_bytes(self, _: &[u8]) -> Done {
        self.array();
        Ok(())
    }
    fn serialize_none(self) -> Done {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Done {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Done {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        v: &T,
    ) -> Done {
        v.serialize(self.object())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, NotJson> {
        Ok(self.array())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, NotJson> {
        Ok(self.array())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, NotJson> {
        Ok(self.array())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, NotJson> {
        Ok(self.object().array())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, NotJson> {
        Ok(self.object())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, NotJson> {
        Ok(self.object())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, NotJson> {
        Ok(self.object().object())
    }
}

/// Elements and fields of arrays and objects: counted like any value.
macro_rules! forward_to_counter {
    ($($tr:ident :: $meth:ident ($($name:ty),*)),*) => {
        $(impl ser::$tr for &mut Counter {
            type Ok = ();
            type Error = NotJson;
            fn $meth<T: Serialize + ?Sized>(&mut self, $(_: $name,)* v: &T) -> Done {
                v.serialize(&mut **self)
            }
            fn end(self) -> Done {
                Ok(())
            }
        })*
    };
}

forward_to_counter!(
    SerializeSeq::serialize_element(),
    SerializeTuple::serialize_element(),
    SerializeTupleStruct::serialize_field(),
    SerializeTupleVariant::serialize_field(),
    SerializeStruct::serialize_field(&'static str),
    SerializeStructVariant::serialize_field(&'static str)
);

impl ser::SerializeMap for &mut Counter {
    type Ok = ();
    type Error = NotJson;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Done {
        key.serialize(KeyCheck)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Done {
        v.serialize(&mut **self)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

/// Map keys: what serde_json writes as an object member name (always a string, so
/// nothing to count); an error for every key it refuses.
struct KeyCheck;

fn refused_key() -> NotJson {
    NotJson("key must be a string".into())
}

impl ser::Serializer for KeyCheck {
    type Ok = ();
    type Error = NotJson;
    type SerializeSeq = Impossible<(), NotJson>;
    type SerializeTuple = Impossible<(), NotJson>;
    type SerializeTupleStruct = Impossible<(), NotJson>;
    type SerializeTupleVariant = Impossible<(), NotJson>;
    type SerializeMap = Impossible<(), NotJson>;
    type SerializeStruct = Impossible<(), NotJson>;
    type SerializeStructVariant = Impossible<(), NotJson>;

    scalars_write_nothing!();
    /// serde_json writes finite float keys as strings and refuses the others.
    fn serialize_f32(self, v: f32) -> Done {
        v.is_finite().then_some(()).ok_or_else(refused_key)
    }
    fn serialize_f64(self, v: f64) -> Done {
        v.is_finite().then_some(()).ok_or_else(refused_key)
    }
    fn serialize_char(self, _: char) -> Done {
        Ok(())
    }
    fn serialize_str(self, _: &str) -> Done {
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Done {
        Err(refused_key())
    }
    fn serialize_none(self) -> Done {
        Err(refused_key())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Done {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        Err(refused_key())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        Err(refused_key())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Done {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Done {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Done {
        Err(refused_key())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotJson> {
        Err(refused_key())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotJson> {
        Err(refused_key())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotJson> {
        Err(refused_key())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotJson> {
        Err(refused_key())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotJson> {
        Err(refused_key())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, NotJson> {
        Err(refused_key())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotJson> {
        Err(refused_key())
    }
}
