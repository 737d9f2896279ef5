"""Reads a zip with Python's zipfile and prints what ferry's tests check, as
JSON. Used as an independent reader: it knows nothing of how ferry wrote it.

usage: read_zip.py PATH

Prints {"bad": first entry failing its CRC or null, "entries": [...]} where
each entry has its name, date_time, compress_type, CRC, sizes, mode, flag
bits, the SHA-256 of its content and the SHA-256 of its raw (compressed)
bytes as stored, so two zips can be compared byte for byte apart from times.
"""
import hashlib
import json
import struct
import sys
import zipfile

path = sys.argv[1]
entries = []
with zipfile.ZipFile(path) as z, open(path, "rb") as raw:
    bad = z.testzip()
    for info in z.infolist():
        raw.seek(info.header_offset)
        header = raw.read(30)
        if header[:4] != b"PK\x03\x04":
            raise SystemExit(f"{info.filename}: no local header at {info.header_offset}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        raw.seek(info.header_offset + 30 + name_len + extra_len)
        stored = raw.read(info.compress_size)
        entries.append(
            {
                "name": info.filename,
                "date_time": list(info.date_time),
                "compress_type": info.compress_type,
                "crc": info.CRC,
                "compress_size": info.compress_size,
                "file_size": info.file_size,
                "mode": info.external_attr >> 16,
                "flag_bits": info.flag_bits,
                "sha256": hashlib.sha256(z.read(info)).hexdigest(),
                "raw_sha256": hashlib.sha256(stored).hexdigest(),
            }
        )
json.dump({"bad": bad, "entries": entries}, sys.stdout, ensure_ascii=False)
