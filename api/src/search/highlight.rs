//! Highlights: for each indexed field a search matched, a snippet of about
//! [`SNIPPET_CHARS`] characters around the first matching word, cut on word boundaries ("…"
//! where cut), HTML-escaped, with every matching word wrapped in `<mark>`…`</mark>`.
use super::analyse::{QueryWord, words};

/// About how many characters of text a snippet shows.
pub const SNIPPET_CHARS: usize = 160;
/// How many characters of text to show before the first hit, when the text is cut.
const BEFORE_HIT: usize = 50;
const ELLIPSIS: &str = "…";

/// The snippet of `text` with the words matching `query` marked, or `None` when none does.
pub fn snippet(text: &str, query: &[QueryWord]) -> Option<String> {
    let all = words(text);
    let hits: Vec<(usize, usize)> = all
        .iter()
        .filter(|w| query.iter().any(|q| q.matches(&w.folded)))
        .map(|w| (w.start, w.end))
        .collect();
    let first = *hits.first()?;
    let (start, end) = window(text, first.0);
    let mut out = String::new();
    if start > 0 {
        out.push_str(ELLIPSIS);
    }
    let mut at = start;
    // A hit the window cuts (a word longer than the window) is marked as far as it shows.
    for (s, e) in hits
        .iter()
        .filter(|(s, e)| *e > start && *s < end)
        .map(|&(s, e)| (s.max(start), e.min(end)))
    {
        escape_into(&mut out, &text[at..s]);
        out.push_str("<mark>");
        escape_into(&mut out, &text[s..e]);
        out.push_str("</mark>");
        at = e;
    }
    escape_into(&mut out, &text[at..end]);
    if end < text.len() {
        out.push_str(ELLIPSIS);
    }
    Some(out)
}

/// The byte range of `text` a snippet around the byte offset `hit` shows: all of a short text;
/// of a long one about [`SNIPPET_CHARS`] characters from a little before the hit, moved to
/// whitespace at both ends (unless a single word is longer than the window), trimmed.
fn window(text: &str, hit: usize) -> (usize, usize) {
    if text.chars().count() <= SNIPPET_CHARS {
        return trimmed(text, 0, text.len());
    }
    // Character positions as byte offsets.
    let offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
    let hit_char = offsets.partition_point(|&o| o < hit);
    let mut from = hit_char.saturating_sub(BEFORE_HIT);
    let mut to = (from + SNIPPET_CHARS).min(offsets.len() - 1);
    if to == offsets.len() - 1 {
        from = to.saturating_sub(SNIPPET_CHARS);
    }
    let is_space = |i: usize| text[offsets[i]..].chars().next().is_some_and(char::is_whitespace);
    // Start after a space (or at the start), end at a space (or at the end).
    if from > 0 {
        let mut f = from;
        while f < hit_char && !is_space(f - 1) {
            f += 1;
        }
        if f < hit_char || is_space(f - 1) {
            from = f;
        }
    }
    if to < offsets.len() - 1 {
        let mut t = to;
        while t > hit_char && !is_space(t) {
            t -= 1;
        }
        if t > hit_char {
            to = t;
        }
    }
    trimmed(text, offsets[from], offsets[to])
}

fn trimmed(text: &str, start: usize, end: usize) -> (usize, usize) {
    let part = &text[start..end];
    let lead = part.len() - part.trim_start().len();
    let trail = part.len() - part.trim_end().len();
    if lead + trail >= part.len() {
        (start, start)
    } else {
        (start + lead, end - trail)
    }
}

/// Appends `text` with `&`, `<`, `>`, `"` and `'` escaped.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::analyse::query;

    #[test]
    fn a_word_longer_than_the_window_is_marked_as_far_as_it_shows() {
        let long = "x".repeat(5000);
        let s = snippet(&long, &query(&"x".repeat(64))).expect("a hit");
        assert!(s.starts_with("<mark>x"), "{}", &s[..20]);
        assert!(s.ends_with("</mark>…"), "{}", &s[s.len() - 20..]);
    }

    #[test]
    fn marks_every_matching_word_and_escapes_the_rest() {
        let s = snippet(
            "<script>alert(1)</script> Shelterpladser & bål",
            &query("shelterplads"),
        )
        .unwrap();
        assert_eq!(
            s,
            "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Shelterpladser</mark> &amp; bål"
        );
        let s = snippet("Bål ved bålpladsen, Båltal", &query("bål")).unwrap();
        assert_eq!(
            s,
            "<mark>Bål</mark> ved <mark>bålpladsen</mark>, <mark>Båltal</mark>"
        );
        assert_eq!(snippet("Intet her", &query("shelter")), None);
    }

    #[test]
    fn long_texts_are_cut_on_word_boundaries_around_the_first_hit() {
        let before = "ord ".repeat(100);
        let after = " mere".repeat(100);
        let text = format!("{before}Legepladsen{after}");
        let s = snippet(&text, &query("legeplads")).unwrap();
        assert!(s.starts_with("…ord "), "{s}");
        assert!(s.ends_with(" mere…") || s.ends_with("mere…"), "{s}");
        assert!(s.contains("<mark>Legepladsen</mark>"));
        let shown = s.replace("<mark>", "").replace("</mark>", "");
        assert!(
            shown.chars().count() <= SNIPPET_CHARS + 2,
            "{}",
            shown.chars().count()
        );
        assert!(!shown.contains("or …") && !shown.contains("…rd"));
        // A hit at the very start: nothing cut before it.
        let text = format!("Legepladsen{after}");
        let s = snippet(&text, &query("legeplads")).unwrap();
        assert!(s.starts_with("<mark>Legepladsen</mark> mere"), "{s}");
    }
}
