#!/usr/bin/env python3
"""Embed files into a C source as byte arrays: embed.py OUT.c SYMBOL NAME=PATH ...

Emits `const struct hx_embedded SYMBOL[]`, terminated by a {NULL, NULL, 0} entry, so the binary
carries its Lua libraries and report templates and runs from anywhere."""
import sys

out, symbol, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
lines = ['#include <stddef.h>', '#include "embed.h"', '']
entries = []
for i, pair in enumerate(pairs):
    name, path = pair.split('=', 1)
    data = open(path, 'rb').read()
    body = ','.join(str(b) for b in data)
    lines.append(f'static const unsigned char d{i}[] = {{{body}{"," if data else ""}0}};')
    entries.append(f'    {{"{name}", (const char *)d{i}, {len(data)}}},')
lines.append(f'const struct hx_embedded {symbol}[] = {{')
lines += entries
lines.append('    {NULL, NULL, 0}};')
open(out, 'w').write('\n'.join(lines) + '\n')
