//! Tokens for full-text search, in every language an entry may be written in.
//!
//! - Han (and kana/hangul) runs: character bigrams plus single characters, so that a
//!   two-character word (`电池`) finds longer text that contains it (`锂离子电池`)
//!   without a dictionary;
//! - other letters and digits: words, lowercased, stemmed with the Snowball stemmer
//!   of the text's language (English, French, Russian, Arabic, …; others unstemmed),
//!   then stripped of Latin accents (`énergie` and `energie` are one term).
//!
//! A query of unknown language is stemmed every way that may apply: each query word
//! becomes a [`QueryGroup`] of alternative terms, any of which may match.

use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

/// The stemmer for a BCP-47 language tag (its primary subtag), if there is one.
fn algorithm(lang: &str) -> Option<Algorithm> {
    let primary = lang.split('-').next().unwrap_or("").to_ascii_lowercase();
    Some(match primary.as_str() {
        "en" => Algorithm::English,
        "fr" => Algorithm::French,
        "ru" => Algorithm::Russian,
        "ar" => Algorithm::Arabic,
        "de" => Algorithm::German,
        "es" => Algorithm::Spanish,
        "pt" => Algorithm::Portuguese,
        "it" => Algorithm::Italian,
        "tr" => Algorithm::Turkish,
        _ => return None,
    })
}

fn stemmer(a: Algorithm) -> &'static Stemmer {
    static S: OnceLock<Vec<(Algorithm, Stemmer)>> = OnceLock::new();
    let all = S.get_or_init(|| {
        [
            Algorithm::English,
            Algorithm::French,
            Algorithm::Russian,
            Algorithm::Arabic,
            Algorithm::German,
            Algorithm::Spanish,
            Algorithm::Portuguese,
            Algorithm::Italian,
            Algorithm::Turkish,
        ]
        .into_iter()
        .map(|a| (a, Stemmer::create(a)))
        .collect()
    });
    all.iter()
        .find(|(x, _)| *x == a)
        .map(|(_, s)| s)
        .unwrap_or(&all[0].1)
}

/// Characters written without spaces between words (segmented by bigrams).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // hangul syllables
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0x20000..=0x2FFFF) // extensions B+
}

/// Latin letters with accents → without (enough for French, Spanish, Portuguese, …).
fn fold(word: &str) -> String {
    word.chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            'ё' => 'е',
            c => c,
        })
        .collect::<String>()
        .replace('œ', "oe")
        .replace('æ', "ae")
}

/// Very common words that carry no meaning for matching.
fn is_stopword(w: &str) -> bool {
    const STOP: &[&str] = &[
        // en
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it",
        "of", "on", "or", "that", "the", "this", "to", "with", "we", "our", "can", "its", "per",
        "using", "use", "based", "new", "need", "needs", "looking", "seek", "seeks", "partner",
        // fr
        "le", "la", "les", "de", "des", "du", "un", "une", "et", "en", "pour", "par", "au", "aux",
        "sur", "dans", "avec", "est", "que", "qui", "d", "l", "nous", "notre", "ou",
        // ru
        "и", "в", "на", "с", "для", "по", "из", "к", "от", "не", "что", "а", "или",
    ];
    STOP.contains(&w)
}

/// One word of a query: alternative terms (stems in several languages; for a Han
/// run its bigrams and characters), with a weight each.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryGroup {
    pub text: String,
    pub terms: Vec<(String, f64)>,
}

enum Run {
    Cjk(Vec<char>),
    Word(String),
}

fn runs(text: &str) -> Vec<Run> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut cjk: Vec<char> = Vec::new();
    let flush_word = |w: &mut String, out: &mut Vec<Run>| {
        if !w.is_empty() {
            out.push(Run::Word(std::mem::take(w)));
        }
    };
    let flush_cjk = |c: &mut Vec<char>, out: &mut Vec<Run>| {
        if !c.is_empty() {
            out.push(Run::Cjk(std::mem::take(c)));
        }
    };
    for c in text.chars() {
        if is_cjk(c) {
            flush_word(&mut word, &mut out);
            cjk.push(c);
        } else if c.is_alphanumeric() {
            flush_cjk(&mut cjk, &mut out);
            word.extend(c.to_lowercase());
        } else {
            flush_word(&mut word, &mut out);
            flush_cjk(&mut cjk, &mut out);
        }
    }
    flush_word(&mut word, &mut out);
    flush_cjk(&mut cjk, &mut out);
    out
}

/// The term of one lowercased word in a known language (None: a stopword).
fn word_term(word: &str, alg: Option<Algorithm>) -> Option<String> {
    if is_stopword(word) {
        return None;
    }
    let stemmed = match alg {
        Some(a) if word.chars().any(char::is_alphabetic) => stemmer(a).stem(word).into_owned(),
        _ => word.to_string(),
    };
    Some(fold(&stemmed))
}

fn cjk_terms(chars: &[char], out: &mut Vec<String>) {
    for c in chars {
        out.push(c.to_string());
    }
    for w in chars.windows(2) {
        out.push(w.iter().collect());
    }
}

/// The terms of a text written in `lang`, in order, with repeats.
pub fn tokens(lang: &str, text: &str) -> Vec<String> {
    let alg = algorithm(lang);
    let mut out = Vec::new();
    for run in runs(text) {
        match run {
            Run::Word(w) => out.extend(word_term(&w, alg)),
            Run::Cjk(chars) => cjk_terms(&chars, &mut out),
        }
    }
    out
}

/// A query of unknown language: each word becomes a group of alternatives (its
/// English, French and Russian stems and the word itself); each Han run a group of
/// its bigrams (weight 1) and characters (weight 0.3, so that a word the text only
/// spells differently still finds something).
pub fn query_groups(text: &str, lang: Option<&str>) -> Vec<QueryGroup> {
    let mut out = Vec::new();
    for run in runs(text) {
        match run {
            Run::Word(w) => {
                if is_stopword(&w) {
                    continue;
                }
                let algs: Vec<Option<Algorithm>> = match lang.and_then(algorithm) {
                    Some(a) => vec![Some(a)],
                    None => {
                        if w.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)) {
                            vec![Some(Algorithm::Russian), None]
                        } else if w.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)) {
                            vec![Some(Algorithm::Arabic), None]
                        } else {
                            vec![Some(Algorithm::English), Some(Algorithm::French), None]
                        }
                    }
                };
                let mut terms: Vec<(String, f64)> = Vec::new();
                for a in algs {
                    if let Some(t) = word_term(&w, a) {
                        if !terms.iter().any(|(x, _)| *x == t) {
                            terms.push((t, 1.0));
                        }
                    }
                }
                if !terms.is_empty() {
                    out.push(QueryGroup { text: w, terms });
                }
            }
            Run::Cjk(chars) => {
                let text: String = chars.iter().collect();
                let mut terms: Vec<(String, f64)> = Vec::new();
                if chars.len() == 1 {
                    terms.push((text.clone(), 1.0));
                } else {
                    for w in chars.windows(2) {
                        let t: String = w.iter().collect();
                        if !terms.iter().any(|(x, _)| *x == t) {
                            terms.push((t, 1.0));
                        }
                    }
                    for c in &chars {
                        let t = c.to_string();
                        if !terms.iter().any(|(x, _)| *x == t) {
                            terms.push((t, 0.3));
                        }
                    }
                }
                out.push(QueryGroup { text, terms });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_stemmed() {
        assert_eq!(
            tokens("en", "Batteries"),
            tokens("en", "battery"),
            "batteries ~ battery"
        );
        let g = query_groups("batteries", None);
        assert!(g[0]
            .terms
            .iter()
            .any(|(t, _)| *t == tokens("en", "battery")[0]));
    }

    #[test]
    fn french_is_stemmed_and_folded() {
        assert_eq!(tokens("fr", "énergies"), tokens("fr", "énergie"));
        let q = query_groups("energie", None);
        let doc = tokens("fr", "L'énergie solaire");
        assert!(
            q[0].terms.iter().any(|(t, _)| doc.contains(t)),
            "{q:?} {doc:?}"
        );
    }

    #[test]
    fn chinese_bigrams_find_longer_words() {
        let doc = tokens("zh", "高安全硅碳负极锂离子电池");
        assert!(doc.contains(&"电池".to_string()));
        let q = query_groups("电池", None);
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].terms[0], ("电池".to_string(), 1.0));
        // Mixed text: numbers and Latin words stay words.
        let mixed = tokens("zh", "能量密度220 Wh/kg的电芯");
        assert!(mixed.contains(&"220".to_string()) && mixed.contains(&"wh".to_string()));
    }
}
