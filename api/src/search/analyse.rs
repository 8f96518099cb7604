//! Text analysis, the same for documents and queries, in Rust so that SQLite and PostgreSQL
//! index and match exactly the same terms: split on anything not a letter or digit, lowercase,
//! fold (æ→ae, ø→oe, å→aa; other accents stripped: é→e, ü→u), then Snowball Danish stemming
//! of the folded word (until it no longer changes). "Åbybro" and "Aabybro" give the same
//! terms, as do "Søhuse" and "Soehuse"; "shelterpladser", "shelterpladsen" and
//! "shelterplads" the same stem.
use std::{collections::BTreeMap, sync::LazyLock};

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

/// Words longer than this many characters are cut to it (documents and queries alike).
pub const MAX_WORD_CHARS: usize = 64;
/// Words of a query beyond this many are ignored.
pub const MAX_QUERY_WORDS: usize = 12;
/// The shortest last word of a query that matches as a prefix.
pub const MIN_PREFIX_CHARS: usize = 2;

/// The weight of a word in a title (or name), and in any other text.
pub const TITLE_WEIGHT: i32 = 3;
pub const TEXT_WEIGHT: i32 = 1;

static DANISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Danish));

/// One word as written and as analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word<'a> {
    /// Where it stands in the text (byte offsets).
    pub start: usize,
    pub end: usize,
    pub text: &'a str,
    /// Lowercased and folded, cut to [`MAX_WORD_CHARS`].
    pub folded: String,
}

impl Word<'_> {
    pub fn stem(&self) -> String {
        stem(&self.folded)
    }
}

/// The words of `text` (maximal runs of letters and digits, with the combining marks on
/// them: "a" and U+030A is "å"), with their positions.
pub fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        let in_word = c.is_alphanumeric() || (start.is_some() && is_combining_mark(c));
        match (start, in_word) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                let word = &text[s..i];
                let folded = fold(word);
                if !folded.is_empty() {
                    out.push(Word {
                        start: s,
                        end: i,
                        text: word,
                        folded,
                    });
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Lowercase, æ→ae, ø→oe, å→aa (also when written as "a" and a combining ring), other
/// accents stripped; cut to [`MAX_WORD_CHARS`].
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.nfc().flat_map(char::to_lowercase) {
        match crate::common::danish_in_ascii(c) {
            Some(spelt) => out.push_str(spelt),
            None => out.extend(std::iter::once(c).nfd().filter(|c| !is_combining_mark(*c))),
        }
    }
    // Folding may leave marks only, or characters that are no longer letters or digits.
    out.retain(char::is_alphanumeric);
    match out.char_indices().nth(MAX_WORD_CHARS) {
        Some((cut, _)) => out[..cut].to_owned(),
        None => out,
    }
}

/// The Danish Snowball stem of a folded word, stemmed again until it no longer changes (at
/// most three rounds). Snowball takes one ending off per round, so the singular, plural and
/// definite forms can stop at different stems ("shelterpladsen" → "shelterplads", but
/// "shelterplads" → "shelterplad"); stemmed to the end they meet.
pub fn stem(folded: &str) -> String {
    let mut word = folded.to_owned();
    for _ in 0..3 {
        let next = DANISH.stem(&word);
        if next == word {
            break;
        }
        word = next.into_owned();
    }
    short_stem(word)
}

/// The definite and plural endings of a short word that ends in a vowel, which Snowball
/// leaves on (its region for endings begins after the first consonant that follows a vowel, so
/// "stien", "søen", "byer" have none): taken off where what is left is two to four folded
/// letters ending in a vowel ("ene" stays), so sti, stien, stier and stierne meet, and sø, å, by, bro, ø,
/// træ with theirs. A stem ending in a consonant keeps its ending ("sten", "hen", "fler").
fn short_stem(word: String) -> String {
    // "ern": "stierne" after Snowball took its last "e".
    const ENDINGS: [&str; 6] = ["erne", "ern", "ene", "en", "er", "et"];
    const VOWELS: &[char] = &['a', 'e', 'i', 'o', 'u', 'y'];
    for ending in ENDINGS {
        if let Some(rest) = word.strip_suffix(ending)
            && (2..=4).contains(&rest.chars().count())
            && rest.ends_with(VOWELS)
        {
            return rest.to_owned();
        }
    }
    word
}

/// The terms a document is found by, each with its weight: the stem of each word and the
/// folded word itself (for prefix matching), from the title with [`TITLE_WEIGHT`] and from
/// the other texts with [`TEXT_WEIGHT`]; a term in both keeps the higher weight.
pub fn document_terms(title: &str, texts: &[&str]) -> BTreeMap<String, i32> {
    let mut terms = BTreeMap::new();
    let mut add = |text: &str, weight: i32| {
        for w in words(text) {
            for term in [w.stem(), w.folded] {
                let entry = terms.entry(term).or_insert(weight);
                *entry = (*entry).max(weight);
            }
        }
    };
    add(title, TITLE_WEIGHT);
    for text in texts {
        add(text, TEXT_WEIGHT);
    }
    terms
}

/// A word of a query, analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryWord {
    pub folded: String,
    pub stem: String,
    /// The last word, long enough: it also matches every folded word it begins.
    pub prefix: bool,
}

impl QueryWord {
    /// Whether a document's word (folded) matches this query word: the same word, the same
    /// stem, or (the last word) a word it begins.
    pub fn matches(&self, folded: &str) -> bool {
        folded == self.folded
            || folded == self.stem
            || stem(folded) == self.stem
            || (self.prefix && folded.starts_with(&self.folded))
    }
}

/// The words of a query: at most [`MAX_QUERY_WORDS`], repeats dropped; the last one matches
/// as a prefix when it has at least [`MIN_PREFIX_CHARS`] characters. Any text is a query:
/// what is not a letter or digit only separates words.
pub fn query(text: &str) -> Vec<QueryWord> {
    let mut out: Vec<QueryWord> = Vec::new();
    // Characters as typed: `æ` is one letter, though it folds to two.
    let mut typed = 0;
    for w in words(text).into_iter().take(MAX_QUERY_WORDS) {
        if let Some(i) = out.iter().position(|q| q.folded == w.folded) {
            out.remove(i);
        }
        typed = w.text.chars().filter(|c| !is_combining_mark(*c)).count();
        out.push(QueryWord {
            stem: w.stem(),
            folded: w.folded,
            prefix: false,
        });
    }
    if let Some(last) = out.last_mut() {
        last.prefix = typed >= MIN_PREFIX_CHARS;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character goes through the analysis, alone and inside a word, as a document's
    /// text and as a query (with the highlighting of a hit).
    #[test]
    fn every_character_is_analysed() {
        for code in 0..0x3_0000u32 {
            if let Some(c) = char::from_u32(code) {
                let text = format!("a{c}b {c} {c}{c}");
                let _ = document_terms(&text, &[&text]);
                let q = query(&text);
                let _ = crate::search::highlight::snippet(&text, &q);
            }
        }
    }

    fn stems(text: &str) -> Vec<String> {
        words(text).iter().map(Word::stem).collect()
    }

    #[test]
    fn a_prefix_has_two_letters_as_typed() {
        let prefix = |t: &str| query(t).last().is_some_and(|w| w.prefix);
        assert!(!prefix("æ"), "one letter, though it folds to two");
        assert!(!prefix("a\u{30A}"), "one letter, though typed as two characters");
        assert!(!prefix("s"));
        assert!(prefix("øl"));
        assert!(prefix("st"));
    }

    #[test]
    fn folds_danish_letters_and_accents() {
        assert_eq!(fold("Åbybro"), "aabybro");
        assert_eq!(fold("Aabybro"), "aabybro");
        assert_eq!(fold("SØHUSE"), "soehuse");
        assert_eq!(fold("Soehuse"), "soehuse");
        assert_eq!(fold("Æblehaven"), "aeblehaven");
        assert_eq!(fold("café"), "cafe");
        assert_eq!(fold("Müller"), "muller");
        assert_eq!(fold("naïve"), "naive");
    }

    #[test]
    fn letters_written_with_combining_marks_are_the_letters() {
        // "Ågade" as some keyboards send it: "A" and U+030A, the combining ring above.
        let decomposed = "Sti til A\u{30A}gade";
        assert_eq!(stems(decomposed), stems("Sti til Ågade"));
        assert_eq!(words(decomposed)[2].text, "A\u{30A}gade");
        assert_eq!(fold("o\u{308}l"), "ol", "other marks are stripped as accents are");
        // A mark with no letter before it is no word.
        assert!(words("\u{301} ").is_empty());
    }

    #[test]
    fn stems_danish_inflections_alike() {
        // Singular, plural and definite forms meet (Snowball alone leaves "shelterpladsen" at
        // "shelterplads" but takes "shelterplads" to "shelterplad").
        assert_eq!(stem(&fold("shelterpladser")), stem(&fold("shelterplads")));
        assert_eq!(stem(&fold("shelterpladsen")), stem(&fold("shelterplads")));
        assert_eq!(stem(&fold("legepladsen")), stem(&fold("legeplads")));
        assert_eq!(stem(&fold("Legepladserne")), stem(&fold("legeplads")));
        assert_eq!(stem("shelterplads"), "shelterplad");
        assert_eq!(stems("Forsamlingshuset"), stems("forsamlingshus"));
        assert_eq!(stems("bænkene"), stems("bænke"));
        assert_eq!(stems("Åbybro"), stems("Aabybro"));
    }

    #[test]
    fn short_words_lose_their_endings_too() {
        for forms in [
            ["sti", "stien", "stier", "stierne"],
            ["sø", "søen", "søer", "søerne"],
            ["å", "åen", "åer", "åerne"],
            ["by", "byen", "byer", "byerne"],
            ["bro", "broen", "broer", "broerne"],
            ["ø", "øen", "øer", "øerne"],
            ["træ", "træet", "træer", "træerne"],
            ["Ryå", "Ryåen", "Ryaa", "RYÅEN"],
        ] {
            let stem = stems(forms[0]);
            for form in forms {
                assert_eq!(stems(form), stem, "{form} with {}", forms[0]);
            }
        }
        // A short word ending in a consonant before the ending keeps it: "sten" is not "st".
        for word in ["sten", "hen", "fler", "den", "ske", "skeen"] {
            assert!(stems(word)[0].len() >= 3, "{word}: {:?}", stems(word));
        }
        assert_eq!(stems("sten"), ["sten"]);
        assert_eq!(stems("ene"), ["ene"], "not the letter e");
        assert_eq!(stems("byens"), stems("by"));
    }

    #[test]
    fn splits_on_anything_but_letters_and_digits() {
        let w: Vec<String> = words("Blokhus/Hune: 2027-planen, \"stier\" & <b>bænke</b>")
            .into_iter()
            .map(|w| w.folded)
            .collect();
        assert_eq!(
            w,
            ["blokhus", "hune", "2027", "planen", "stier", "b", "baenke", "b"]
        );
        let text = "Ny sø ved Gjøl";
        let ws = words(text);
        assert_eq!(&text[ws[1].start..ws[1].end], "sø");
    }

    #[test]
    fn hostile_and_huge_queries_are_just_words() {
        assert!(query("").is_empty());
        assert!(query("  \t\n ").is_empty());
        assert!(query("*&|!():'\"\0--;").is_empty());
        let q = query("\"foo\" OR 1=1 --");
        assert_eq!(
            q.iter().map(|w| w.folded.as_str()).collect::<Vec<_>>(),
            ["foo", "or", "1"]
        );
        let huge = "a".repeat(10_000);
        let q = query(&huge);
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].folded.chars().count(), MAX_WORD_CHARS);
        let many = (0..100).map(|i| format!("ord{i}")).collect::<Vec<_>>().join(" ");
        assert_eq!(query(&many).len(), MAX_QUERY_WORDS);
        assert_eq!(query("nul\0byte").len(), 2);
    }

    #[test]
    fn only_the_last_word_of_two_characters_or_more_is_a_prefix() {
        let q = query("legeplads she");
        assert!(!q[0].prefix);
        assert!(q[1].prefix);
        assert!(q[1].matches("shelterplads"));
        assert!(!q[0].matches("legepladsbygning"));
        assert!(q[0].matches("legepladsen"));
        assert!(!query("s")[0].prefix);
    }

    #[test]
    fn document_terms_keep_the_best_weight() {
        let terms = document_terms(
            "Shelterplads i klitplantagen",
            &["Nye shelterpladser ved stranden"],
        );
        assert_eq!(terms["shelterplads"], TITLE_WEIGHT);
        assert_eq!(terms[&stem("shelterplads")], TITLE_WEIGHT);
        assert_eq!(terms["shelterpladser"], TEXT_WEIGHT);
        assert_eq!(terms[&stem("stranden")], TEXT_WEIGHT);
    }
}
