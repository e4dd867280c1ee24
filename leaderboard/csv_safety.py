"""Spreadsheet formula injection: a cell that starts with = + - @, a tab or a carriage return is
run as a formula by Excel and friends. Such cells get a leading apostrophe (OWASP's advice)."""

DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cells: list) -> list:
    return [
        f"'{cell}" if isinstance(cell, str) and cell.startswith(DANGEROUS_STARTS) else cell
        for cell in cells
    ]
