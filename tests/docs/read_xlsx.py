#!/usr/bin/env python3
"""Reads an .xlsx with openpyxl (a reader shenbao did not write) and prints
JSON per sheet: cell values by row, merged ranges, column widths and the
page setup."""
import json
import sys

import openpyxl
from openpyxl.utils import get_column_letter


def main(path):
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        rows = [[c for c in r] for r in ws.iter_rows(values_only=True)]
        widths = {}
        # A <col> element may cover a range of columns of equal width.
        for dim in ws.column_dimensions.values():
            if dim.min is None:
                continue
            for i in range(dim.min, (dim.max or dim.min) + 1):
                widths[get_column_letter(i)] = dim.width
        out[ws.title] = {
            "rows": rows,
            "merged": sorted(str(m) for m in ws.merged_cells.ranges),
            "widths": widths,
            "orientation": ws.page_setup.orientation,
            "paper_size": ws.page_setup.paperSize,
            "print_title_rows": ws.print_title_rows,
        }
    json.dump(out, sys.stdout, ensure_ascii=False, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
