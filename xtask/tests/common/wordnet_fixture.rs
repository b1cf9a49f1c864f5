//! A few real synset lines of WordNet 3.0 (Debian `wordnet-base` 1:3.0-37, as in Princeton's
//! release) in the exact `data.*` format: the licence header's first lines (starting with two
//! spaces), then synsets with their pointers, verb frames and glosses, two trailing spaces each.

use std::path::Path;

/// `data.noun`.
pub const DATA_NOUN: &str = concat!(
    "  1 This software and database is being provided to you, the LICENSEE, by  \n",
    "  2 Princeton University under the following license.  By obtaining, using  \n",
    "00001930 03 n 01 physical_entity 0 007 @ 00001740 n 0000 ~ 00002452 n 0000 ~ 00002684 n 0000 ~ 00007347 n 0000 ~ 00020827 n 0000 ~ 00029677 n 0000 ~ 14580597 n 0000 | an entity that has physical existence  \n",
    "00035697 04 n 01 agon 0 005 @ 00428000 n 0000 ~ 00516381 n 0000 ~ 00516559 n 0000 ~ 00516720 n 0000 ~ 00516900 n 0000 | a festivity in ancient Greece at which competitors contended for prizes  \n",
    "01314026 05 n 01 conspecific 0 001 @ 00004475 n 0000 | an organism belonging to the same species as another organism  \n",
    "01316288 05 n 02 varmint 0 varment 0 001 @ 00015388 n 0000 | any usually predatory wild animal considered undesirable; e.g., coyote  \n",
    "02403454 05 n 02 cow 1 moo-cow 0 005 @ 02402425 n 0000 %p 02370360 n 0000 ~ 02403644 n 0000 ~ 02403740 n 0000 %p 05539012 n 0000 | female of domestic cattle: \"`moo-cow' is a child's term\"  \n",
);

/// `data.verb`.
pub const DATA_VERB: &str = concat!(
    "  1 This software and database is being provided to you, the LICENSEE, by  \n",
    "  2 Princeton University under the following license.  By obtaining, using  \n",
    "00002724 29 v 01 choke 0 002 @ 00001740 v 0000 + 14058252 n 0101 01 + 02 00 | breathe with great difficulty, as when experiencing a strong emotion; \"She choked with emotion when she spoke about her deceased husband\"  \n",
    "00113853 30 v 04 brutalize 0 brutalise 0 animalize 0 animalise 0 004 @ 00109660 v 0000 + 00271879 n 0202 + 01263445 a 0105 + 00271879 n 0101 01 + 02 00 | become brutal or insensitive and unfeeling  \n",
);

/// `data.adj`.
pub const DATA_ADJ: &str = concat!(
    "  1 This software and database is being provided to you, the LICENSEE, by  \n",
    "  2 Princeton University under the following license.  By obtaining, using  \n",
    "00002843 00 a 01 basiscopic 0 002 ;c 06066555 n 0000 ! 00002730 a 0101 | facing or on the side toward the base  \n",
    "00005599 00 s 02 implicit 0 unquestioning 0 001 & 00005205 a 0000 | being without doubt or reserve; \"implicit trust\"  \n",
    "02599410 01 a 01 Abnaki 0 001 \\ 09645871 n 0101 | of or relating to the Abnakis or their language  \n",
    "03147544 44 a 01 beaten 0 001 < 01624915 v 0101 | formed or made thin by hammering; \"beaten gold\"  \n",
);

/// `data.adv`.
pub const DATA_ADV: &str = concat!(
    "  1 This software and database is being provided to you, the LICENSEE, by  \n",
    "  2 Princeton University under the following license.  By obtaining, using  \n",
    "00001740 02 r 01 a_cappella 0 000 | without musical accompaniment; \"they performed a cappella\"  \n",
    "00001837 02 r 03 AD 0 A.D. 0 anno_Domini 0 000 | in the Christian era; used before dates after the supposed year Christ was born; \"in AD 200\"  \n",
);

/// Writes the four data files into `dir` (created if needed).
pub fn write_dict(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in [
        ("data.noun", DATA_NOUN),
        ("data.verb", DATA_VERB),
        ("data.adj", DATA_ADJ),
        ("data.adv", DATA_ADV),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// `(text, label, synset)` of every synset above, in file order, read off the lines by hand:
/// the gloss before its first `; "`, the lexicographer file of the second field
/// (`lexnames(5WN)`), `offset-type`.
pub const EXPECTED: [(&str, &str, &str); 13] = [
    (
        "an entity that has physical existence",
        "noun.Tops",
        "00001930-n",
    ),
    (
        "a festivity in ancient Greece at which competitors contended for prizes",
        "noun.act",
        "00035697-n",
    ),
    (
        "an organism belonging to the same species as another organism",
        "noun.animal",
        "01314026-n",
    ),
    (
        "any usually predatory wild animal considered undesirable; e.g., coyote",
        "noun.animal",
        "01316288-n",
    ),
    (
        "female of domestic cattle: \"`moo-cow' is a child's term\"",
        "noun.animal",
        "02403454-n",
    ),
    (
        "breathe with great difficulty, as when experiencing a strong emotion",
        "verb.body",
        "00002724-v",
    ),
    (
        "become brutal or insensitive and unfeeling",
        "verb.change",
        "00113853-v",
    ),
    (
        "facing or on the side toward the base",
        "adj.all",
        "00002843-a",
    ),
    ("being without doubt or reserve", "adj.all", "00005599-s"),
    (
        "of or relating to the Abnakis or their language",
        "adj.pert",
        "02599410-a",
    ),
    ("formed or made thin by hammering", "adj.ppl", "03147544-a"),
    ("without musical accompaniment", "adv.all", "00001740-r"),
    (
        "in the Christian era; used before dates after the supposed year Christ was born",
        "adv.all",
        "00001837-r",
    ),
];

/// The `(text, label, synset)` of every line of a written `data.jsonl`.
pub fn read_jsonl(path: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let field = |k: &str| v[k].as_str().unwrap().to_string();
            (field("text"), field("label"), field("synset"))
        })
        .collect()
}

/// [`EXPECTED`] as owned strings, with labels renamed by `label`.
pub fn expected(label: impl Fn(&str) -> String) -> Vec<(String, String, String)> {
    EXPECTED
        .iter()
        .map(|(t, l, s)| (t.to_string(), label(l), s.to_string()))
        .collect()
}

/// Lexicographer file numbers of the fixture's classes, from `lexnames(5WN)`.
pub const LEX_NUMBERS: [(&str, usize); 9] = [
    ("adj.all", 0),
    ("adj.pert", 1),
    ("adv.all", 2),
    ("noun.Tops", 3),
    ("noun.act", 4),
    ("noun.animal", 5),
    ("verb.body", 29),
    ("verb.change", 30),
    ("adj.ppl", 44),
];

/// The lexicographer file number of the fixture class `name`.
pub fn lex_number(name: &str) -> usize {
    LEX_NUMBERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, number)| *number)
        .unwrap()
}
