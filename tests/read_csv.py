"""Reads a delimited file strictly with Python's csv module and prints its
records as JSON. Used by ferry's tests as an independent parser.

usage: read_csv.py PATH DELIMITER ENCODING
"""
import csv
import json
import sys

path, delimiter, encoding = sys.argv[1], sys.argv[2], sys.argv[3]
# newline='' lets the csv module see line breaks inside quoted values; the
# strict flag turns malformed quoting into an error instead of a guess.
with open(path, newline="", encoding=encoding, errors="strict") as f:
    rows = list(csv.reader(f, delimiter=delimiter, quotechar='"', doublequote=True, strict=True))
json.dump(rows, sys.stdout, ensure_ascii=False)
