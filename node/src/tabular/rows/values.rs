//! Cell values shared by import and export: amounts (元 / 万元), dates, codes.

use techmesh_protocol::time::Date;

use crate::tabular::columns::is_chinese;

pub(super) fn is_negotiable_word(s: &str) -> bool {
    matches!(
        s.trim().to_lowercase().as_str(),
        "面议" | "议价" | "价格面议" | "negotiable" | "tbd" | "n/a"
    )
}

/// `C3841 锂离子电池制造` or `C3841锂离子电池制造` → `C3841`: the code before a name.
pub(super) fn leading_code(item: &str) -> &str {
    match item
        .char_indices()
        .find(|(_, c)| is_chinese(&c.to_string()))
    {
        Some((i, _)) if i > 0 => item[..i].trim(),
        _ => item,
    }
}

/// Split a plain decimal (thousands separators and spaces allowed) into integer and
/// fraction digits.
pub(super) fn decimal_parts(s: &str) -> Option<(String, String)> {
    let s: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | ' ' | '_'))
        .collect();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), f.to_string()),
        None => (s.clone(), String::new()),
    };
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(&int) || !digits(&frac) {
        return None;
    }
    if s.ends_with('.') {
        return None;
    }
    Some((int, frac))
}

pub(super) fn strip_zeros(int: &str) -> String {
    let t = int.trim_start_matches('0');
    if t.is_empty() {
        "0".into()
    } else {
        t.into()
    }
}

/// An amount in currency units, as written (thousands separators and a 元 suffix
/// dropped, leading zeros removed).
pub fn clean_amount(s: &str) -> Option<String> {
    let s = s.trim().trim_end_matches('元').trim();
    let (int, frac) = decimal_parts(s)?;
    let int = strip_zeros(&int);
    Some(if frac.is_empty() {
        int
    } else {
        format!("{int}.{frac}")
    })
}

/// 万元 → currency units: the decimal point moves four places right. Exact, as
/// strings: `150` → `1500000`, `12.5` → `125000`, `0.009950` → `99.50`.
pub fn wan_to_amount(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s
        .strip_suffix("万元")
        .or_else(|| s.strip_suffix('万'))
        .unwrap_or(s);
    let (int, frac) = decimal_parts(s)?;
    let (int, frac) = if frac.len() >= 4 {
        (format!("{int}{}", &frac[..4]), frac[4..].to_string())
    } else {
        (
            format!("{int}{frac}{}", "0".repeat(4 - frac.len())),
            String::new(),
        )
    };
    let int = strip_zeros(&int);
    Some(if frac.is_empty() {
        int
    } else {
        format!("{int}.{frac}")
    })
}

/// Currency units → 万元, the exact inverse of [`wan_to_amount`] on valid amounts:
/// trailing zeros are dropped only from the integer part's last four digits.
pub fn amount_to_wan(amount: &str) -> String {
    let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
    let padded = format!("{}{int}", "0".repeat(5usize.saturating_sub(int.len())));
    let cut = padded.len() - 4;
    let head = strip_zeros(&padded[..cut]);
    let mid = &padded[cut..];
    let tail = if frac.is_empty() {
        mid.trim_end_matches('0').to_string()
    } else {
        format!("{mid}{frac}")
    };
    if tail.is_empty() {
        head
    } else {
        format!("{head}.{tail}")
    }
}

/// Every date in a cell, in order: `2026-03-01`, `2026/3/1`, `2026.3.1`,
/// `2026年3月1日`, `20260301`; each as `YYYY-MM-DD`, or `Err(text)` when it has the
/// shape of a date but is not one (2026-02-30).
pub fn scan_dates(s: &str) -> Vec<Result<String, String>> {
    let c: Vec<char> = s.chars().collect();
    let digit = |i: usize| c.get(i).is_some_and(|ch| ch.is_ascii_digit());
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if !digit(i) || (i > 0 && digit(i - 1)) {
            i += 1;
            continue;
        }
        let run = (i..c.len()).take_while(|&j| digit(j)).count();
        let num =
            |a: usize, b: usize| -> u32 { c[a..b].iter().collect::<String>().parse().unwrap_or(0) };
        let mut matched: Option<(u32, u32, u32, usize)> = None;
        if run == 8 {
            matched = Some((num(i, i + 4), num(i + 4, i + 6), num(i + 6, i + 8), i + 8));
        } else if run == 4 {
            let sep = c.get(i + 4).copied();
            if let Some(sep @ ('-' | '/' | '.' | '年')) = sep {
                let m0 = i + 5;
                let m_len = (m0..c.len()).take_while(|&j| digit(j)).take(3).count();
                let sep2 = if sep == '年' { '月' } else { sep };
                if (1..=2).contains(&m_len) && c.get(m0 + m_len) == Some(&sep2) {
                    let d0 = m0 + m_len + 1;
                    let d_len = (d0..c.len()).take_while(|&j| digit(j)).take(3).count();
                    if (1..=2).contains(&d_len) {
                        let mut end = d0 + d_len;
                        if sep == '年' && matches!(c.get(end), Some('日' | '号')) {
                            end += 1;
                        }
                        matched =
                            Some((num(i, i + 4), num(m0, m0 + m_len), num(d0, d0 + d_len), end));
                    }
                }
            }
        }
        match matched {
            Some((y, m, d, end)) => {
                let iso = format!("{y:04}-{m:02}-{d:02}");
                if Date::parse(&iso).is_some() {
                    out.push(Ok(iso));
                } else {
                    out.push(Err(c[i..end].iter().collect()));
                }
                i = end;
            }
            None => i += run,
        }
    }
    out
}
