//! Small helpers over docx-rs: Chinese fonts and sizes, paragraphs, table
//! cells, the header and footer, and packing a document into a .docx.

use std::io::{Cursor, Seek, Write};

use docx_rs::{
    AlignmentType, BorderType, Docx, FieldCharType, Footer, Header, InstrNUMPAGES, InstrPAGE,
    InstrText, LineSpacing, LineSpacingType, PageMargin, Paragraph, Run, RunFonts,
    SpecialIndentType, Table, TableBorder, TableBorderPosition, TableBorders, TableCell,
    TableLayoutType, VAlignType, VMergeType, WidthType,
};
use zip::write::SimpleFileOptions;

use super::values;

/// Body text: 仿宋_GB2312 (Word falls back to 仿宋 / FangSong, see [`FONT_TABLE`]).
pub const BODY: &str = "仿宋_GB2312";
/// Headings and the cover title.
pub const HEADING: &str = "黑体";
/// Table text.
pub const TABLE: &str = "宋体";
/// Latin letters and digits.
pub const LATIN: &str = "Times New Roman";

/// Font sizes in half-points, by their Chinese names.
pub const SIZE_2: usize = 44; // 二号 22pt
pub const SIZE_3: usize = 32; // 三号 16pt
pub const SIZE_4: usize = 28; // 四号 14pt
pub const SIZE_S4: usize = 24; // 小四 12pt
pub const SIZE_5: usize = 21; // 五号 10.5pt
pub const SIZE_S5: usize = 18; // 小五 9pt

/// A4 in twips (1/20 pt).
pub const A4_W: u32 = 11906;
pub const A4_H: u32 = 16838;

/// The font table: each Chinese font names its fallbacks (`w:altName`) and
/// its GB2312 character set, so that Word substitutes sensibly on a machine
/// without it (LibreOffice maps them through its own replacement table).
const FONT_TABLE: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    r#"<w:fonts xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" "#,
    r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
    r#"<w:font w:name="Times New Roman"><w:panose1 w:val="02020603050405020304"/><w:charset w:val="00"/><w:family w:val="roman"/><w:pitch w:val="variable"/></w:font>"#,
    r#"<w:font w:name="宋体"><w:altName w:val="SimSun"/><w:panose1 w:val="02010600030101010101"/><w:charset w:val="86"/><w:family w:val="auto"/><w:pitch w:val="variable"/></w:font>"#,
    r#"<w:font w:name="黑体"><w:altName w:val="SimHei"/><w:panose1 w:val="02010609060101010101"/><w:charset w:val="86"/><w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font>"#,
    r#"<w:font w:name="仿宋_GB2312"><w:altName w:val="仿宋"/><w:charset w:val="86"/><w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font>"#,
    r#"<w:font w:name="仿宋"><w:altName w:val="FangSong"/><w:panose1 w:val="02010609060101010101"/><w:charset w:val="86"/><w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font>"#,
    r#"<w:font w:name="Symbol"><w:charset w:val="02"/><w:family w:val="roman"/><w:pitch w:val="variable"/></w:font>"#,
    r#"</w:fonts>"#
);

pub fn fonts(east_asia: &str) -> RunFonts {
    RunFonts::new()
        .ascii(LATIN)
        .hi_ansi(LATIN)
        .cs(LATIN)
        .east_asia(east_asia)
}

/// A run of `text` in `font` at `size` half-points; tabs kept.
pub fn run(text: &str, font: &str, size: usize) -> Run {
    let mut r = Run::new().fonts(fonts(font)).size(size);
    for (i, part) in values::clean(text).split('\t').enumerate() {
        if i > 0 {
            r = r.add_tab();
        }
        if !part.is_empty() {
            r = r.add_text(part);
        }
    }
    r
}

/// A style for a paragraph: font, size, alignment, bold, first-line indent.
#[derive(Clone, Copy)]
pub struct Style {
    pub font: &'static str,
    pub size: usize,
    pub align: AlignmentType,
    pub bold: bool,
    /// First-line indent in hundredths of a character (200 = two characters).
    pub indent_chars: i32,
    /// Exact line height in twips; 0 for single spacing.
    pub line: i32,
    /// Space before/after in twips.
    pub before: u32,
    pub after: u32,
}

impl Style {
    pub const fn new(font: &'static str, size: usize) -> Style {
        Style {
            font,
            size,
            align: AlignmentType::Left,
            bold: false,
            indent_chars: 0,
            line: 0,
            before: 0,
            after: 0,
        }
    }
    pub const fn align(mut self, a: AlignmentType) -> Style {
        self.align = a;
        self
    }
    pub const fn bold(mut self) -> Style {
        self.bold = true;
        self
    }
    pub const fn indent(mut self, chars: i32) -> Style {
        self.indent_chars = chars;
        self
    }
    pub const fn line(mut self, twips: i32) -> Style {
        self.line = twips;
        self
    }
    pub const fn space(mut self, before: u32, after: u32) -> Style {
        self.before = before;
        self.after = after;
        self
    }
}

/// Paragraph styles every document carries, so that text in these fonts
/// and sizes names its style instead of repeating them on every run:
/// (id, name, font, size). Body text (仿宋_GB2312 四号) is the default.
const STYLES: [(&str, &str, &str, usize); 3] = [
    ("TableText", "表格文字", TABLE, SIZE_5),
    ("TableSmall", "表格小字", TABLE, SIZE_S5),
    ("TableHead", "表头", HEADING, SIZE_S5),
];

/// A document with the default font and size of the body text and the
/// shared paragraph styles.
pub fn document() -> Docx {
    let mut d = Docx::new().default_fonts(fonts(BODY)).default_size(SIZE_4);
    for (id, name, font, size) in STYLES {
        d = d.add_style(
            docx_rs::Style::new(id, docx_rs::StyleType::Paragraph)
                .name(name)
                .based_on("Normal")
                .fonts(fonts(font))
                .size(size),
        );
    }
    d
}

/// The style that sets `font` at `size`: `Some("")` for the defaults.
fn style_of(font: &str, size: usize) -> Option<&'static str> {
    if font == BODY && size == SIZE_4 {
        return Some("");
    }
    STYLES
        .iter()
        .find(|s| s.2 == font && s.3 == size)
        .map(|s| s.0)
}

/// A run of `text` taking its font and size from its paragraph; tabs kept.
fn plain_run(text: &str) -> Run {
    let mut r = Run::new();
    for (i, part) in values::clean(text).split('\t').enumerate() {
        if i > 0 {
            r = r.add_tab();
        }
        if !part.is_empty() {
            r = r.add_text(part);
        }
    }
    r
}

/// One paragraph of `text` (line breaks inside become breaks).
pub fn para(text: &str, st: Style) -> Paragraph {
    let named = style_of(st.font, st.size);
    let mut p = Paragraph::new();
    match named {
        Some("") => {}
        Some(id) => p = p.style(id),
        None => p = p.fonts(fonts(st.font)).size(st.size),
    }
    if !matches!(st.align, AlignmentType::Left) {
        p = p.align(st.align);
    }
    if st.before > 0 || st.after > 0 || st.line > 0 {
        let mut spacing = LineSpacing::new().before(st.before).after(st.after);
        if st.line > 0 {
            spacing = spacing.line_rule(LineSpacingType::Exact).line(st.line);
        }
        p = p.line_spacing(spacing);
    }
    if st.indent_chars > 0 {
        p = p.indent(
            None,
            Some(SpecialIndentType::FirstLine(
                st.indent_chars * st.size as i32 / 10,
            )),
            None,
            None,
        );
    }
    for (i, line) in text.split('\n').enumerate() {
        let mut r = if named.is_some() {
            plain_run(line)
        } else {
            run(line, st.font, st.size)
        };
        if st.bold {
            r = r.bold();
        }
        if i > 0 {
            p = p.add_run(Run::new().add_break(docx_rs::BreakType::TextWrapping));
        }
        if !line.is_empty() {
            p = p.add_run(r);
        }
    }
    p
}

/// Paragraphs of a long text, each with a two-character first-line indent
/// unless it starts with white space of its own.
pub fn text_block(text: &str, st: Style) -> Vec<Paragraph> {
    values::paragraphs(text)
        .iter()
        .map(|l| {
            let own_indent = l.starts_with(|c: char| c.is_whitespace());
            para(l, if own_indent { st.indent(0) } else { st })
        })
        .collect()
}

/// A table cell of `width` twips spanning `span` grid columns.
pub fn cell(paras: Vec<Paragraph>, width: usize, span: usize) -> TableCell {
    let mut c = TableCell::new()
        .width(width, WidthType::Dxa)
        .vertical_align(VAlignType::Center);
    if span > 1 {
        c = c.grid_span(span);
    }
    for p in paras {
        c = c.add_paragraph(p);
    }
    c
}

/// The first cell of a vertical merge (its text shows) or a continuation.
pub fn vmerge(c: TableCell, first: bool) -> TableCell {
    c.vertical_merge(if first {
        VMergeType::Restart
    } else {
        VMergeType::Continue
    })
}

/// A bordered, fixed-layout table on `grid` (column widths in twips).
pub fn table(rows: Vec<docx_rs::TableRow>, grid: Vec<usize>) -> Table {
    let width = grid.iter().sum();
    let border = |p| {
        TableBorder::new(p)
            .size(6)
            .border_type(BorderType::Single)
            .color("000000")
    };
    let borders = TableBorders::new()
        .set(border(TableBorderPosition::Top))
        .set(border(TableBorderPosition::Left))
        .set(border(TableBorderPosition::Bottom))
        .set(border(TableBorderPosition::Right))
        .set(border(TableBorderPosition::InsideH))
        .set(border(TableBorderPosition::InsideV));
    Table::new(rows)
        .set_grid(grid)
        .width(width, WidthType::Dxa)
        .layout(TableLayoutType::Fixed)
        .align(docx_rs::TableAlignmentType::Center)
        .set_borders(borders)
}

/// Page margins in twips.
pub fn margins(top: i32, right: i32, bottom: i32, left: i32) -> PageMargin {
    PageMargin {
        top,
        left,
        bottom,
        right,
        header: 851,
        footer: 851,
        gutter: 0,
    }
}

/// The footer: an identification line (may be empty) and 第 N 页 共 M 页.
pub fn footer(ident: &str) -> Footer {
    let st = Style::new(BODY, SIZE_S5);
    let mut f = Footer::new();
    if !ident.is_empty() {
        f = f.add_paragraph(para(ident, st.align(AlignmentType::Center)));
    }
    let page = Paragraph::new()
        .align(AlignmentType::Center)
        .add_run(run("第 ", BODY, SIZE_S5))
        .add_run(field(InstrText::PAGE(InstrPAGE::new())))
        .add_run(run(" 页　共 ", BODY, SIZE_S5))
        .add_run(field(InstrText::NUMPAGES(InstrNUMPAGES::new())))
        .add_run(run(" 页", BODY, SIZE_S5));
    f.add_paragraph(page)
}

/// A PAGE / NUMPAGES field in the footer's font and size.
fn field(instr: InstrText) -> Run {
    Run::new()
        .fonts(fonts(BODY))
        .size(SIZE_S5)
        .add_field_char(FieldCharType::Begin, false)
        .add_instr_text(instr)
        .add_field_char(FieldCharType::Separate, false)
        .add_text("1")
        .add_field_char(FieldCharType::End, false)
}

/// Roughly how wide `text` sets at `size` half-points, in twips: a CJK
/// character or symbol (☐) is one em, a digit or lower-case letter half of one.
pub fn text_twips(text: &str, size: usize) -> usize {
    let halves: usize = text
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'm' | 'w' | '@' | '%' => 14,
            c if (c as u32) < 0x2000 => 10,
            _ => 20,
        })
        .sum();
    halves * size / 2
}

/// The 草稿 header.
pub fn draft_header() -> Header {
    let p = Paragraph::new().align(AlignmentType::Right).add_run(
        run("草稿　仅供核对，不作为正式申报材料", HEADING, SIZE_4)
            .bold()
            .color("C00000"),
    );
    Header::new().add_paragraph(p)
}

/// Packs `docx` into .docx bytes: XML parts deflated (fast level), the font
/// table replaced by [`FONT_TABLE`].
pub fn pack(docx: Docx) -> Vec<u8> {
    pack_patched(docx, |xml| xml)
}

/// [`pack`], with `patch` applied to the text of `word/document.xml` (for the
/// few elements docx-rs cannot write).
pub fn pack_patched(docx: Docx, patch: impl FnOnce(String) -> String) -> Vec<u8> {
    let mut x = docx.build();
    x.document = match String::from_utf8(std::mem::take(&mut x.document)) {
        Ok(text) => patch(text).into_bytes(),
        Err(e) => e.into_bytes(),
    };
    // Chinese text: renderers then pick the Simplified Chinese glyph forms.
    if let Ok(styles) = std::str::from_utf8(&x.styles) {
        x.styles = styles
            .replacen(
                "</w:rPr></w:rPrDefault>",
                r#"<w:lang w:val="zh-CN" w:eastAsia="zh-CN" /></w:rPr></w:rPrDefault>"#,
                1,
            )
            .into_bytes();
    }
    let mut buf = Cursor::new(Vec::with_capacity(64 * 1024));
    // Writing to memory cannot fail.
    pack_into(x, &mut buf).expect("packing a .docx into memory");
    buf.into_inner()
}

fn pack_into<W: Write + Seek>(x: docx_rs::XMLDocx, w: W) -> zip::result::ZipResult<()> {
    let mut z = zip::ZipWriter::new(w);
    let o = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    let mut part = |name: &str, bytes: &[u8]| -> zip::result::ZipResult<()> {
        z.start_file(name, o)?;
        z.write_all(bytes)?;
        Ok(())
    };
    part("[Content_Types].xml", &x.content_type)?;
    part("_rels/.rels", &x.rels)?;
    part("docProps/app.xml", &x.doc_props.app)?;
    part("docProps/core.xml", &x.doc_props.core)?;
    part("docProps/custom.xml", &x.doc_props.custom)?;
    part("word/_rels/document.xml.rels", &x.document_rels)?;
    part("word/document.xml", &x.document)?;
    part("word/styles.xml", &x.styles)?;
    part("word/settings.xml", &x.settings)?;
    part("word/fontTable.xml", FONT_TABLE.as_bytes())?;
    part("word/comments.xml", &x.comments)?;
    part("word/numbering.xml", &x.numberings)?;
    part("word/commentsExtended.xml", &x.comments_extended)?;
    part("word/footnotes.xml", &x.footnotes)?;
    for (i, h) in x.headers.iter().enumerate() {
        part(&format!("word/header{}.xml", i + 1), h)?;
        if let Some(r) = x.header_rels.get(i) {
            part(&format!("word/_rels/header{}.xml.rels", i + 1), r)?;
        }
    }
    for (i, f) in x.footers.iter().enumerate() {
        part(&format!("word/footer{}.xml", i + 1), f)?;
        if let Some(r) = x.footer_rels.get(i) {
            part(&format!("word/_rels/footer{}.xml.rels", i + 1), r)?;
        }
    }
    z.finish()?;
    Ok(())
}

/// `items` (check boxes with their options) laid out in lines that fit
/// `room` twips at `size`, separated by ideographic spaces: a line never
/// ends between a box and its option.
pub fn flow(items: &[String], room: usize, size: usize) -> String {
    let sep = text_twips("　", size);
    let mut out = String::new();
    let mut width = 0;
    for item in items {
        let w = text_twips(item, size);
        if width > 0 && width + sep + w > room {
            out.push('\n');
            width = 0;
        } else if width > 0 {
            out.push('　');
            width += sep;
        }
        out.push_str(item);
        width += w;
    }
    out
}
