//! HTML tables: a complete, standalone HTML5 document a vendor or a person
//! can open in any browser, with every value escaped.

use std::io::Write;

use super::{Charset, FormatError, RowWriter};
use crate::source::{Batch, Column};

const DEFAULT_TITLE: &str = "Data extract";

const STYLE: &str = "<style>\n\
body{font-family:system-ui,sans-serif;margin:1rem}\n\
table{border-collapse:collapse}\n\
th,td{border:1px solid #bbb;padding:.2rem .5rem;text-align:left;vertical-align:top}\n\
thead th{background:#eee}\n\
.num{text-align:right;font-variant-numeric:tabular-nums}\n\
</style>\n";

/// How an HTML extract looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HtmlOptions {
    /// The document's `<title>`; an empty one is replaced by "Data extract"
    /// because HTML requires a non-empty title.
    pub title: String,
    /// Write the column names as a `<thead>` row.
    pub header: bool,
    /// The document's charset, declared in `<meta charset>`. Characters it
    /// cannot hold are written as numeric character references.
    pub charset: Charset,
}

impl Default for HtmlOptions {
    fn default() -> Self {
        HtmlOptions {
            title: DEFAULT_TITLE.to_string(),
            header: true,
            charset: Charset::UTF_8,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    New,
    Begun,
    Finished,
}

/// Writes rows as one HTML `<table>`.
///
/// Each row is built as escaped text in a reused buffer and converted to the
/// charset once, so no value is ever written unescaped and nothing is
/// allocated per value.
pub struct HtmlWriter<W: Write> {
    out: W,
    opts: HtmlOptions,
    numeric: Vec<bool>,
    state: State,
    rows: u64,
    line: String,
    scratch: Vec<u8>,
}

impl<W: Write> HtmlWriter<W> {
    /// A writer of `options` into `out`; nothing is written until `begin`.
    pub fn new(out: W, options: HtmlOptions) -> Self {
        HtmlWriter {
            out,
            opts: options,
            numeric: Vec::new(),
            state: State::New,
            rows: 0,
            line: String::new(),
            scratch: Vec::new(),
        }
    }

    /// Data rows written so far, for the run's history.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Hands back the destination, so the caller can commit the file.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Converts the text built in `line` to the charset and writes it.
    fn emit(&mut self) -> Result<(), FormatError> {
        let bytes = self.opts.charset.encode_with_char_refs(&self.line, &mut self.scratch);
        self.out.write_all(bytes)?;
        self.line.clear();
        Ok(())
    }
}

impl<W: Write> RowWriter for HtmlWriter<W> {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        if self.state != State::New {
            return Err(FormatError::OutOfOrder("begin called twice"));
        }
        self.state = State::Begun;
        self.numeric = columns.iter().map(|c| c.kind.is_numeric()).collect();
        let title = match self.opts.title.trim() {
            "" => DEFAULT_TITLE,
            t => t,
        };
        let l = &mut self.line;
        l.push_str("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"");
        l.push_str(self.opts.charset.name());
        l.push_str("\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        l.push_str("<title>");
        escape_into(l, title, " ");
        l.push_str("</title>\n");
        l.push_str(STYLE);
        l.push_str("</head>\n<body>\n<table>\n");
        if self.opts.header {
            l.push_str("<thead>\n<tr>");
            for c in columns {
                l.push_str(if c.kind.is_numeric() {
                    "<th scope=\"col\" class=\"num\">"
                } else {
                    "<th scope=\"col\">"
                });
                escape_into(l, &c.name, "<br>");
                l.push_str("</th>");
            }
            l.push_str("</tr>\n</thead>\n");
        }
        l.push_str("<tbody>\n");
        self.emit()
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), FormatError> {
        if self.state != State::Begun {
            return Err(FormatError::OutOfOrder("rows written outside begin/finish"));
        }
        if batch.width() != self.numeric.len() {
            return Err(FormatError::WidthMismatch {
                expected: self.numeric.len(),
                got: batch.width(),
            });
        }
        for row in batch.rows() {
            self.line.push_str("<tr>");
            for (value, &numeric) in row.iter().zip(&self.numeric) {
                self.line.push_str(if numeric { "<td class=\"num\">" } else { "<td>" });
                escape_into(&mut self.line, value.unwrap_or(""), "<br>");
                self.line.push_str("</td>");
            }
            self.line.push_str("</tr>\n");
            self.emit()?;
            self.rows += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), FormatError> {
        if self.state != State::Begun {
            return Err(FormatError::OutOfOrder("finish called before begin or twice"));
        }
        self.state = State::Finished;
        self.line.push_str("</tbody>\n</table>\n</body>\n</html>\n");
        self.emit()?;
        self.out.flush()?;
        Ok(())
    }
}

/// Appends `s` to `out` as HTML text: markup characters escaped, each line
/// break (CRLF, CR or LF) as `line_break`, and control characters, which
/// HTML forbids, as U+FFFD.
fn escape_into(out: &mut String, s: &str, line_break: &str) {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str(line_break),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str(line_break);
            }
            '\t' => out.push('\t'),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Kind;

    fn render(options: HtmlOptions, columns: &[Column], cells: &[Option<&str>]) -> Vec<u8> {
        let mut batch = Batch::new(columns.len());
        for c in cells {
            match c {
                Some(s) => batch.push_cell(s),
                None => batch.push_null(),
            }
        }
        let mut w = HtmlWriter::new(Vec::new(), options);
        w.begin(columns).unwrap();
        w.write_batch(&batch).unwrap();
        w.finish().unwrap();
        assert_eq!(w.rows(), batch.len() as u64);
        w.into_inner()
    }

    fn cols() -> Vec<Column> {
        vec![Column::new("id", Kind::Integer), Column::new("name", Kind::Text)]
    }

    #[test]
    fn writes_a_complete_document() {
        let opts = HtmlOptions {
            title: "Roster".into(),
            ..HtmlOptions::default()
        };
        let html = render(opts, &cols(), &[Some("1"), Some("Ann"), Some("2"), None]);
        let want = format!(
            "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>Roster</title>\n{STYLE}</head>\n<body>\n<table>\n\
             <thead>\n<tr><th scope=\"col\" class=\"num\">id</th><th scope=\"col\">name</th></tr>\n</thead>\n\
             <tbody>\n\
             <tr><td class=\"num\">1</td><td>Ann</td></tr>\n\
             <tr><td class=\"num\">2</td><td></td></tr>\n\
             </tbody>\n</table>\n</body>\n</html>\n"
        );
        assert_eq!(String::from_utf8(html).unwrap(), want);
    }

    #[test]
    fn values_titles_and_headers_are_escaped() {
        let opts = HtmlOptions {
            title: "A & B <x>".into(),
            ..HtmlOptions::default()
        };
        let columns = [Column::new("<b>", Kind::Integer), Column::new("n", Kind::Text)];
        let html = render(opts, &columns, &[Some("1"), Some("<a href=\"x\">O'Neil & co</a>")]);
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("<title>A &amp; B &lt;x&gt;</title>"), "{html}");
        assert!(
            html.contains("<th scope=\"col\" class=\"num\">&lt;b&gt;</th>"),
            "{html}"
        );
        assert!(
            html.contains("<td>&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;</td>"),
            "{html}"
        );
    }

    #[test]
    fn line_breaks_become_br_and_controls_are_replaced() {
        let html = render(
            HtmlOptions::default(),
            &cols(),
            &[Some("1"), Some("a\r\nb\nc\rd\u{7}e\tf")],
        );
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("<td>a<br>b<br>c<br>d\u{FFFD}e\tf</td>"), "{html}");
    }

    #[test]
    fn characters_outside_the_charset_become_numeric_references() {
        let opts = HtmlOptions {
            title: "Élèves".into(),
            charset: Charset::US_ASCII,
            ..HtmlOptions::default()
        };
        let html = render(opts, &cols(), &[Some("1"), Some("José 北")]);
        assert!(html.is_ascii());
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("<meta charset=\"us-ascii\">"), "{html}");
        assert!(html.contains("<title>&#201;l&#232;ves</title>"), "{html}");
        assert!(html.contains("<td>Jos&#233; &#21271;</td>"), "{html}");

        let opts = HtmlOptions {
            charset: Charset::parse("windows-1252").unwrap(),
            ..HtmlOptions::default()
        };
        let html = render(opts, &cols(), &[Some("1"), Some("José 北")]);
        let needle = b"<td>Jos\xE9 &#21271;</td>";
        assert!(html.windows(needle.len()).any(|w| w == needle));
        assert!(html.windows(29).any(|w| w == b"<meta charset=\"windows-1252\">"));
    }

    #[test]
    fn header_off_leaves_out_thead_and_empty_title_gets_a_default() {
        let opts = HtmlOptions {
            title: "  ".into(),
            header: false,
            ..HtmlOptions::default()
        };
        let html = String::from_utf8(render(opts, &cols(), &[])).unwrap();
        assert!(!html.contains("<thead>"), "{html}");
        assert!(html.contains("<title>Data extract</title>"), "{html}");
        assert!(
            html.ends_with("<tbody>\n</tbody>\n</table>\n</body>\n</html>\n"),
            "{html}"
        );
    }

    #[test]
    fn misuse_is_reported() {
        let mut w = HtmlWriter::new(Vec::new(), HtmlOptions::default());
        assert!(w.finish().is_err());
        w.begin(&cols()).unwrap();
        let e = w.write_batch(&Batch::new(3)).unwrap_err();
        assert!(matches!(e, FormatError::WidthMismatch { expected: 2, got: 3 }), "{e:?}");
    }
}
