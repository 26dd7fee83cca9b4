//! Text encodings of CSV files.
//!
//! Excel on Chinese Windows saves "CSV" in GBK (code page 936) and only "CSV UTF-8"
//! in UTF-8, so both arrive. The decision (`--encoding auto`, the default):
//!
//! - a UTF-8 or UTF-16 byte-order mark decides;
//! - text that is valid UTF-8 is UTF-8;
//! - otherwise, text that decodes cleanly as GB18030 (a superset of GBK and GB2312) is
//!   taken as such, with a notice "decoded as GBK/GB18030" (a file that is not UTF-8
//!   and decodes without a single malformed sequence is practically always GBK);
//! - anything else is refused with a message asking for UTF-8.
//!
//! `--encoding utf-8` refuses non-UTF-8 text (saying when it looks like GBK);
//! `--encoding gbk` decodes as GB18030 and refuses malformed bytes.

use std::path::Path;

use anyhow::{bail, Result};

/// How to read the bytes of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8; else GBK/GB18030 when the bytes decode cleanly (with a notice).
    #[default]
    Auto,
    /// UTF-8 only.
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// GBK / GB18030 (Excel "CSV" on Chinese Windows).
    #[value(alias = "gb18030", alias = "gb2312")]
    Gbk,
}

const SAVE_AS_UTF8: &str =
    "save it from Excel as \"CSV UTF-8 (逗号分隔)\" (WPS: \"UTF-8 编码的 CSV\") and import it again";

/// Line (1-based) and byte offset of the first byte that is not UTF-8.
fn first_bad_utf8(bytes: &[u8]) -> (usize, usize) {
    let at = std::str::from_utf8(bytes)
        .err()
        .map(|e| e.valid_up_to())
        .unwrap_or(0);
    let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    (line, at)
}

fn gb18030(bytes: &[u8]) -> Option<String> {
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|c| c.into_owned())
}

/// Decode a CSV file's bytes. Returns the text and a notice to print, if any.
pub fn decode(file: &Path, bytes: &[u8], enc: Encoding) -> Result<(String, Option<String>)> {
    let name = file.display();
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return match std::str::from_utf8(rest) {
            Ok(s) if enc != Encoding::Gbk => Ok((s.to_string(), None)),
            _ => {
                let (line, at) = first_bad_utf8(rest);
                bail!("{name}:{line}: starts with a UTF-8 byte-order mark but byte {} is not UTF-8; {SAVE_AS_UTF8}", at + 3)
            }
        };
    }
    for (bom, codec, label) in [
        (&b"\xFF\xFE"[..], encoding_rs::UTF_16LE, "UTF-16LE"),
        (&b"\xFE\xFF"[..], encoding_rs::UTF_16BE, "UTF-16BE"),
    ] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            return match codec.decode_without_bom_handling_and_without_replacement(rest) {
                Some(s) => Ok((
                    s.into_owned(),
                    Some(format!("{name}: decoded as {label} (byte-order mark)")),
                )),
                None => bail!(
                    "{name}: has a {label} byte-order mark but is not {label} text; {SAVE_AS_UTF8}"
                ),
            };
        }
    }
    match enc {
        Encoding::Gbk => match gb18030(bytes) {
            Some(s) => Ok((s, None)),
            None => bail!("{name}: not GBK/GB18030 text (--encoding gbk); {SAVE_AS_UTF8}"),
        },
        Encoding::Utf8 | Encoding::Auto => {
            if let Ok(s) = std::str::from_utf8(bytes) {
                return Ok((s.to_string(), None));
            }
            let (line, at) = first_bad_utf8(bytes);
            let gbk = gb18030(bytes);
            match (enc, gbk) {
                (Encoding::Auto, Some(s)) => Ok((
                    s,
                    Some(format!(
                        "{name}: not UTF-8; decoded as GBK/GB18030 (the encoding of Excel \"CSV\" on Chinese Windows). To be sure of the text, {SAVE_AS_UTF8}"
                    )),
                )),
                (_, Some(_)) => bail!(
                    "{name}:{line}: not UTF-8 (byte 0x{:02X} at offset {at}); it looks like GBK/GB18030 (Excel \"CSV\" on Chinese Windows): {SAVE_AS_UTF8}, or pass --encoding gbk",
                    bytes[at]
                ),
                (_, None) => bail!(
                    "{name}:{line}: not UTF-8 (byte 0x{:02X} at offset {at}) and not GBK/GB18030 either: {SAVE_AS_UTF8}",
                    bytes[at]
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_gbk_and_garbage() {
        let p = Path::new("x.csv");
        let text = "编号,成果名称\nhb-1,高安全锂离子电池\n";
        let (s, n) = decode(p, text.as_bytes(), Encoding::Auto).unwrap();
        assert_eq!((s.as_str(), n), (text, None));
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(decode(p, &bom, Encoding::Auto).unwrap().0, text);
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let (s, n) = decode(p, &gbk, Encoding::Auto).unwrap();
        assert_eq!(s, text);
        assert!(n.unwrap().contains("decoded as GBK/GB18030"));
        assert_eq!(decode(p, &gbk, Encoding::Gbk).unwrap().0, text);
        let e = decode(p, &gbk, Encoding::Utf8).unwrap_err().to_string();
        assert!(
            e.starts_with("x.csv:1: not UTF-8") && e.contains("--encoding gbk"),
            "{e}"
        );
        let e = decode(p, b"id\n\xFF\xFF\xFF\n", Encoding::Auto)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("x.csv:2: not UTF-8") && e.contains("CSV UTF-8"),
            "{e}"
        );
    }
}
