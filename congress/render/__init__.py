"""Printed matter of the congress service (reportlab): badges, personal slips, QR posters.

Pure functions: data in, PDF bytes out. Text is NFC and checked against the font's glyphs
before drawing (runtime.pdf), so a character the font lacks fails loudly, never as a box.
"""
