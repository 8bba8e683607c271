#!/usr/bin/env python3
"""Reads a .docx with python-docx (a reader shenbao did not write) and prints
JSON: body order, paragraphs, tables (raw cells with grid span / vertical
merge, and a grid view with merged cells resolved), headers, footers, page
setup and the East Asian fonts used."""
import json
import sys

import docx
from docx.oxml.ns import qn
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph


def table_json(t):
    tbl = t._tbl
    grid = [int(gc.get(qn("w:w")) or 0) for gc in tbl.tblGrid.findall(qn("w:gridCol"))]
    raw, view = [], []
    above = {}  # grid column -> text of the cell that started a vertical merge
    for tr in tbl.tr_lst:
        row, vrow, col = [], [], 0
        for tc in tr.tc_lst:
            span = tc.grid_span
            vm = tc.vMerge  # None, "restart" or "continue"
            text = _Cell(tc, t).text
            row.append({"text": text, "col": col, "span": span, "vmerge": vm})
            if vm == "continue":
                shown = above.get(col, "")
            else:
                shown = text
                above[col] = text
            vrow.append({"text": shown, "col": col, "span": span, "merged": vm == "continue"})
            col += span
        raw.append(row)
        view.append(vrow)
    return {"grid": grid, "rows": raw, "view": view}


def main(path):
    d = docx.Document(path)
    body, paragraphs, tables = [], [], []
    for el in d.element.body.iterchildren():
        if el.tag == qn("w:p"):
            p = Paragraph(el, d)
            paragraphs.append(p.text)
            body.append({"type": "p", "text": p.text})
        elif el.tag == qn("w:tbl"):
            tables.append(table_json(Table(el, d)))
            body.append({"type": "table", "index": len(tables) - 1})
    fonts = set()
    # Fonts set on runs, on paragraph styles and as the document default.
    for r in list(d.element.body.iter(qn("w:rFonts"))) + list(d.styles.element.iter(qn("w:rFonts"))):
        v = r.get(qn("w:eastAsia"))
        if v:
            fonts.add(v)
    s = d.sections[0]
    out = {
        "body": body,
        "paragraphs": paragraphs,
        "tables": tables,
        "headers": [p.text for sec in d.sections for p in sec.header.paragraphs],
        "footers": [p.text for sec in d.sections for p in sec.footer.paragraphs],
        "page": {
            "width": s.page_width.twips if s.page_width else None,
            "height": s.page_height.twips if s.page_height else None,
            "landscape": int(s.orientation) == 1,
        },
        "east_asia_fonts": sorted(fonts),
    }
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
